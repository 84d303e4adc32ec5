//! [`JoinSet`]: a collection of tasks, joined in the order they end.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use parking_lot::Mutex;

use super::{AbortHandle, Builder, JoinError, JoinHandle};
use crate::access::Access;
use crate::context;
use crate::core::location_name;
use crate::trace::RecordKind;
use crate::Wait;
use crate::{ChannelId, TaskId};

/// A set of tasks spawned on the current simulation, joined in the order they end
/// (finished or aborted), shaped like `tokio::task::JoinSet`.
///
/// - [`join_next`](JoinSet::join_next) waits for the next task to end and hands out its
///   result; the order is the order of the steps that ended the tasks, so it is
///   explored like every other order of the run.
/// - Dropping the set aborts every task still in it; [`detach_all`](JoinSet::detach_all)
///   lets them run on without it.
///
/// A set is named in traces and deadlock reports after the line that created it,
/// `set@worker.rs:12` (or the name of an enclosing [`named`](crate::named) scope): a task blocked in `join_next` is reported as
/// "join_next on `set@worker.rs:12`". Handing out a result is traced as `join`, and
/// every operation and every end of one of its tasks is part of the step's footprint.
///
/// ```
/// use sim_core::task::JoinSet;
/// use sim_core::{Config, Sim};
///
/// let mut sim = Sim::new(Config::default());
/// let total = sim
///     .block_on(async {
///         let mut set = JoinSet::new();
///         for i in 1..=3u32 {
///             set.spawn(async move { i * 10 });
///         }
///         let mut total = 0;
///         while let Some(result) = set.join_next().await {
///             total += result.unwrap();
///         }
///         total
///     })
///     .unwrap();
/// assert_eq!(total, 60);
/// ```
pub struct JoinSet<T> {
    name: Option<String>,
    at: &'static Location<'static>,
    /// Registered in the simulation at the first spawn.
    id: Option<ChannelId>,
    /// That simulation's number: another one current later (this one gone) is never
    /// told of the set.
    sim: Option<u64>,
    /// The tasks not yet joined, in spawn order, under their keys.
    tasks: Vec<(u64, JoinHandle<T>)>,
    state: Arc<Mutex<SetState>>,
}

/// What the set shares with its tasks: the keys of the tasks that ended, in the
/// order they ended, and the waker of a `join_next` waiting for one.
struct SetState {
    ended: VecDeque<u64>,
    waker: Option<Waker>,
    next_key: u64,
}

/// Lives inside a task of the set: dropped when the task's future is (it finished,
/// or it was aborted), it tells the set.
struct EndGuard {
    key: u64,
    set: ChannelId,
    state: Arc<Mutex<SetState>>,
}

impl Drop for EndGuard {
    fn drop(&mut self) {
        if let Some(handle) = context::try_current() {
            handle.touch(Access::Channel(self.set));
        }
        let waker = {
            let mut st = self.state.lock();
            st.ended.push_back(self.key);
            st.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl<T> JoinSet<T> {
    /// An empty set, named after the caller's line (`set@worker.rs:12`). It may be
    /// created outside a simulation: it joins the one current at its first spawn.
    #[track_caller]
    pub fn new() -> JoinSet<T> {
        JoinSet::make(None, Location::caller())
    }

    /// An empty set created at `at` (its default name), for wrappers that pass their
    /// caller's location on ([`tooling::task::join_set_at`](crate::tooling::task::join_set_at)).
    pub(crate) fn new_at(name: Option<String>, at: &'static Location<'static>) -> JoinSet<T> {
        JoinSet::make(name, at)
    }

    fn make(name: Option<String>, at: &'static Location<'static>) -> JoinSet<T> {
        let name = name.or_else(crate::core::scoped_name);
        let state = Arc::new(Mutex::new(SetState { ended: VecDeque::new(), waker: None, next_key: 0 }));
        JoinSet { name, at, id: None, sim: None, tasks: Vec::new(), state }
    }

    /// How many tasks are in the set (running, or ended and not yet joined).
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// Whether the set holds no task.
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }
}

impl<T: 'static> JoinSet<T> {
    /// Spawns `future` as a task of the set, named after the line that spawns it
    /// (`worker.rs:12`) or by an enclosing [`named`](crate::named) scope.
    ///
    /// # Panics
    /// Outside a simulation.
    #[track_caller]
    pub fn spawn<F>(&mut self, future: F) -> AbortHandle
    where
        F: Future<Output = T> + 'static,
    {
        self.spawn_with(Builder::new(), future)
    }

    /// Spawns `future` as a task of the set, configured by `builder`.
    ///
    /// # Panics
    /// Outside a simulation.
    #[track_caller]
    pub(crate) fn spawn_with<F>(&mut self, builder: Builder, future: F) -> AbortHandle
    where
        F: Future<Output = T> + 'static,
    {
        let handle = context::current();
        let set = self.register(&handle);
        handle.touch(Access::Channel(set));
        let key = {
            let mut st = self.state.lock();
            st.next_key += 1;
            st.next_key - 1
        };
        let guard = EndGuard { key, set, state: self.state.clone() };
        let task = builder.spawn(async move {
            let _guard = guard;
            future.await
        });
        let abort = task.abort_handle();
        self.tasks.push((key, task));
        abort
    }

    /// The set's id in `handle`'s simulation, registering it there first.
    fn register(&mut self, handle: &context::Handle) -> ChannelId {
        if let Some(id) = self.id {
            return id;
        }
        let name = Some(self.name.clone().unwrap_or_else(|| format!("set@{}", location_name(self.at))));
        let id = handle.core.borrow_mut().register_channel(name, self.at);
        self.id = Some(id);
        self.sim = Some(handle.id);
        id
    }

    /// Waits for the next task to end and returns its result; `None` when the set is
    /// empty. Cancel safe: a result is taken only when it is returned.
    pub async fn join_next(&mut self) -> Option<Result<T, JoinError>> {
        self.join_next_with_id().await.map(|(_, result)| result)
    }

    /// As [`join_next`](JoinSet::join_next), with the id of the task.
    pub async fn join_next_with_id(&mut self) -> Option<(TaskId, Result<T, JoinError>)> {
        std::future::poll_fn(|cx| self.poll_join_next_with_id(cx)).await
    }

    /// The result of a task that has ended, if there is one, without waiting.
    pub fn try_join_next(&mut self) -> Option<Result<T, JoinError>> {
        self.try_join_next_with_id().map(|(_, result)| result)
    }

    /// As [`try_join_next`](JoinSet::try_join_next), with the id of the task.
    pub fn try_join_next_with_id(&mut self) -> Option<(TaskId, Result<T, JoinError>)> {
        match self.next_ended(None) {
            Poll::Ready(next) => next,
            Poll::Pending => None,
        }
    }

    /// Polls for the next task to end: `Ready(None)` when the set is empty, `Pending`
    /// (waking `cx` when one ends) while none has ended.
    pub fn poll_join_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, JoinError>>> {
        self.poll_join_next_with_id(cx).map(|next| next.map(|(_, result)| result))
    }

    /// As [`poll_join_next`](JoinSet::poll_join_next), with the id of the task.
    pub fn poll_join_next_with_id(&mut self, cx: &mut Context<'_>) -> Poll<Option<(TaskId, Result<T, JoinError>)>> {
        self.next_ended(Some(cx.waker()))
    }

    fn next_ended(&mut self, waker: Option<&Waker>) -> Poll<Option<(TaskId, Result<T, JoinError>)>> {
        let Some(set) = self.id else { return Poll::Ready(None) };
        // Its own simulation, if current (it may be gone: its tasks then end as aborted).
        let handle = context::try_current().filter(|h| Some(h.id) == self.sim);
        if let Some(h) = &handle {
            h.touch(Access::Channel(set));
        }
        if self.tasks.is_empty() {
            return Poll::Ready(None);
        }
        loop {
            let key = {
                let mut st = self.state.lock();
                match st.ended.pop_front() {
                    Some(key) => key,
                    None => {
                        if let Some(w) = waker {
                            match &st.waker {
                                Some(old) if old.will_wake(w) => {}
                                _ => st.waker = Some(w.clone()),
                            }
                        }
                        break;
                    }
                }
            };
            // A key of a detached task is skipped.
            let Some(pos) = self.tasks.iter().position(|(k, _)| *k == key) else { continue };
            let (_, mut task) = self.tasks.remove(pos);
            let id = task.id();
            let mut noop = Context::from_waker(Waker::noop());
            let Poll::Ready(result) = Pin::new(&mut task).poll(&mut noop) else {
                unreachable!("a task of a JoinSet said it ended before it did")
            };
            if let Some(h) = &handle {
                h.core.borrow_mut().record_channel(RecordKind::Join, set);
            }
            return Poll::Ready(Some((id, result)));
        }
        if waker.is_some() {
            if let Some(h) = &handle {
                h.core.borrow_mut().wait_on(Wait::JoinNext(set));
            }
        }
        Poll::Pending
    }

    /// Aborts every task in the set. They stay in it: each is joined as aborted
    /// (unless it had finished).
    pub fn abort_all(&mut self) {
        for (_, task) in &self.tasks {
            task.abort();
        }
    }

    /// Removes every task from the set without aborting it: they run on, and their
    /// results are lost.
    pub fn detach_all(&mut self) {
        if let (Some(set), Some(h)) = (self.id, context::try_current().filter(|h| Some(h.id) == self.sim)) {
            h.touch(Access::Channel(set));
        }
        self.tasks.clear();
        self.state.lock().ended.clear();
    }

    /// Aborts every task and waits until they have all ended; the set is then empty.
    pub async fn shutdown(&mut self) {
        self.abort_all();
        while self.join_next().await.is_some() {}
    }

    /// Waits for every task and returns their outputs in the order they ended.
    ///
    /// # Panics
    /// When a task was aborted (the other tasks are aborted first, as the set is dropped).
    pub async fn join_all(mut self) -> Vec<T> {
        let mut outputs = Vec::with_capacity(self.len());
        while let Some(result) = self.join_next().await {
            match result {
                Ok(value) => outputs.push(value),
                Err(e) => panic!("a task of the JoinSet failed: {e}"),
            }
        }
        outputs
    }
}

impl<T> Drop for JoinSet<T> {
    fn drop(&mut self) {
        // Abort what is left, when its simulation can still be reached.
        if self.tasks.is_empty() || context::try_current().is_none() {
            return;
        }
        for (_, task) in std::mem::take(&mut self.tasks) {
            task.abort();
        }
    }
}

impl<T: 'static> Default for JoinSet<T> {
    #[track_caller]
    fn default() -> JoinSet<T> {
        JoinSet::new()
    }
}

impl<T> fmt::Debug for JoinSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinSet").field("id", &self.id).field("len", &self.tasks.len()).finish()
    }
}

impl<T: 'static, F: Future<Output = T> + 'static> FromIterator<F> for JoinSet<T> {
    #[track_caller]
    fn from_iter<I: IntoIterator<Item = F>>(iter: I) -> JoinSet<T> {
        let mut set = JoinSet::new();
        set.extend(iter);
        set
    }
}

impl<T: 'static, F: Future<Output = T> + 'static> Extend<F> for JoinSet<T> {
    #[track_caller]
    fn extend<I: IntoIterator<Item = F>>(&mut self, iter: I) {
        for future in iter {
            self.spawn(future);
        }
    }
}
