//! `tokio::task::JoinSet` under simulation, over sim-core's `JoinSet`.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::local::{self, LocalSet};
use super::{prepare, AbortHandle, Id, JoinError, Shared};
use crate::runtime::Handle;

/// A collection of tasks, joined in the order they end, shaped like
/// `tokio::task::JoinSet`.
///
/// The order in which tasks end is the order of the simulation's steps, so it is
/// explored (and recorded) like every other order. The set is named after the line
/// that created it (`set@worker.rs:12`, or an enclosing `lockstep::named`): a task
/// blocked in `join_next` is reported as "join_next on `set@worker.rs:12`", and every
/// result it hands out is traced as `join`. Dropping the set aborts its tasks.
pub struct JoinSet<T> {
    inner: sim_core::task::JoinSet<Option<T>>,
    /// What each task shares with its handle (its panic), by task.
    shared: BTreeMap<sim_core::TaskId, Arc<Shared>>,
}

impl<T> JoinSet<T> {
    /// An empty set, named after the caller's line. It may be created outside a
    /// simulation: it joins the one current at its first spawn.
    #[track_caller]
    pub fn new() -> JoinSet<T> {
        JoinSet { inner: sim_core::tooling::task::join_set_at(None, Location::caller()), shared: BTreeMap::new() }
    }

    /// How many tasks are in the set (running, or ended and not yet joined).
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// Whether the set holds no task.
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }
}

impl<T: 'static> JoinSet<T> {
    /// Spawns `future` as a task of the set, named after the caller's line. Unlike
    /// tokio's, the future need not be `Send`.
    ///
    /// # Panics
    /// Outside a simulation.
    #[track_caller]
    pub fn spawn<F>(&mut self, future: F) -> AbortHandle
    where
        F: Future<Output = T> + 'static,
    {
        self.spawn_at(Location::caller(), future, None)
    }

    /// Spawns `future` as a task of the set, and of the current `LocalSet` when
    /// there is one (see [`task::spawn_local`](super::spawn_local)).
    ///
    /// # Panics
    /// Outside a simulation, or outside a `LocalSet` where `task::spawn_local` panics.
    #[track_caller]
    pub fn spawn_local<F>(&mut self, future: F) -> AbortHandle
    where
        F: Future<Output = T> + 'static,
    {
        let local = local::current();
        assert!(
            sim_core::tooling::task::in_simulation()
                && (local.is_some() || crate::sim::runtime::spawn_local_outside_local_set()),
            "{}",
            crate::sim::runtime::SPAWN_LOCAL_OUTSIDE
        );
        self.spawn_at(Location::caller(), future, local)
    }

    /// Spawns `future` as a task of the set and of `local`.
    ///
    /// # Panics
    /// Outside a simulation.
    #[track_caller]
    pub fn spawn_local_on<F>(&mut self, future: F, local: &LocalSet) -> AbortHandle
    where
        F: Future<Output = T> + 'static,
    {
        self.spawn_at(Location::caller(), future, Some(local.inner().clone()))
    }

    /// Spawns `future` as a task of the set (every handle names the one simulation).
    ///
    /// # Panics
    /// Outside a simulation.
    #[track_caller]
    pub fn spawn_on<F>(&mut self, future: F, handle: &Handle) -> AbortHandle
    where
        F: Future<Output = T> + 'static,
    {
        let _ = handle;
        self.spawn_at(Location::caller(), future, None)
    }

    /// Under simulation: an escape (see [`task::spawn_blocking`](super::spawn_blocking)).
    #[track_caller]
    pub fn spawn_blocking<F>(&mut self, f: F) -> AbortHandle
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send,
    {
        drop(f);
        sim_core::tooling::task::escape(
            "JoinSet::spawn_blocking: the closure would run on tokio's blocking thread pool, which the simulation \
             cannot order",
        );
        self.spawn_at(Location::caller(), std::future::pending(), None)
    }

    /// Under simulation: an escape (see [`task::spawn_blocking`](super::spawn_blocking)).
    #[track_caller]
    pub fn spawn_blocking_on<F>(&mut self, f: F, handle: &Handle) -> AbortHandle
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send,
    {
        let _ = handle;
        self.spawn_blocking(f)
    }

    fn spawn_at<F>(&mut self, location: &Location<'_>, future: F, local: Option<Rc<local::Inner>>) -> AbortHandle
    where
        F: Future<Output = T> + 'static,
    {
        let (name, shared, future) = match &local {
            Some(set) => {
                let (name, shared, future) = prepare(location, set.adopt(future));
                (name, shared, Box::pin(future) as std::pin::Pin<Box<dyn Future<Output = Option<T>>>>)
            }
            None => {
                let (name, shared, future) = prepare(location, future);
                (name, shared, Box::pin(future) as std::pin::Pin<Box<dyn Future<Output = Option<T>>>>)
            }
        };
        let inner = sim_core::named(name, || self.inner.spawn(future));
        if let Some(set) = local {
            set.adopted(inner.clone());
        }
        self.shared.insert(inner.id(), shared);
        AbortHandle { id: Id::from(inner.id()), inner }
    }

    /// Waits for the next task to end and returns its result: its output, or a
    /// [`JoinError`] if it panicked or was aborted; `None` when the set is empty.
    /// Cancel safe.
    pub async fn join_next(&mut self) -> Option<Result<T, JoinError>> {
        std::future::poll_fn(|cx| self.poll_join_next(cx)).await
    }

    /// As [`join_next`](JoinSet::join_next), with the task's id.
    pub async fn join_next_with_id(&mut self) -> Option<Result<(Id, T), JoinError>> {
        std::future::poll_fn(|cx| self.poll_join_next_with_id(cx)).await
    }

    /// The result of a task that has ended, if any, without waiting.
    pub fn try_join_next(&mut self) -> Option<Result<T, JoinError>> {
        self.try_join_next_with_id().map(|r| r.map(|(_, value)| value))
    }

    /// As [`try_join_next`](JoinSet::try_join_next), with the task's id.
    pub fn try_join_next_with_id(&mut self) -> Option<Result<(Id, T), JoinError>> {
        let (id, result) = self.inner.try_join_next_with_id()?;
        Some(self.result(id, result))
    }

    /// Polls for the next task to end (see [`join_next`](JoinSet::join_next)).
    pub fn poll_join_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<T, JoinError>>> {
        self.poll_join_next_with_id(cx).map(|next| next.map(|r| r.map(|(_, value)| value)))
    }

    /// As [`poll_join_next`](JoinSet::poll_join_next), with the task's id.
    ///
    /// As tokio's, handing out a result spends a unit of the task's cooperative
    /// budget: with none left it returns `Pending` (and wakes the task at once).
    pub fn poll_join_next_with_id(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<(Id, T), JoinError>>> {
        if self.inner.is_empty() {
            return Poll::Ready(None);
        }
        let coop = std::task::ready!(sim_core::tooling::coop::poll_proceed(cx));
        let next = self.inner.poll_join_next_with_id(cx);
        if next.is_ready() {
            coop.made_progress();
        }
        next.map(|next| next.map(|(id, result)| self.result(id, result)))
    }

    fn result(
        &mut self,
        id: sim_core::TaskId,
        result: Result<Option<T>, sim_core::JoinError>,
    ) -> Result<(Id, T), JoinError> {
        let shared = self.shared.remove(&id);
        let tid = Id::from(id);
        match result {
            Ok(Some(value)) => Ok((tid, value)),
            Ok(None) => Err(shared.unwrap_or_else(|| Arc::new(Shared::detached())).ended_without_value(tid, false)),
            Err(_aborted) => Err(match shared {
                Some(shared) => shared.ended_without_value(tid, true),
                None => JoinError::cancelled(tid),
            }),
        }
    }

    /// Aborts every task of the set; each is then joined as cancelled (unless it
    /// had finished).
    pub fn abort_all(&mut self) {
        self.inner.abort_all();
    }

    /// Removes every task from the set without aborting it. A task detached this
    /// way that panics later fails the run, as a task whose handle was dropped does.
    pub fn detach_all(&mut self) {
        self.inner.detach_all();
        for shared in std::mem::take(&mut self.shared).into_values() {
            shared.handle_alive.store(false, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// Aborts every task and waits until they have all ended.
    pub async fn shutdown(&mut self) {
        self.abort_all();
        while self.join_next().await.is_some() {}
    }

    /// Waits for every task and returns their outputs in the order they ended.
    ///
    /// # Panics
    /// When a task panicked (with its panic, as tokio) or was aborted; the other
    /// tasks are aborted first.
    pub async fn join_all(mut self) -> Vec<T> {
        let mut outputs = Vec::with_capacity(self.len());
        while let Some(result) = self.join_next().await {
            match result {
                Ok(value) => outputs.push(value),
                Err(e) if e.is_panic() => {
                    self.abort_all();
                    std::panic::resume_unwind(e.into_panic())
                }
                Err(e) => {
                    self.abort_all();
                    panic!("{e}")
                }
            }
        }
        outputs
    }
}

impl<T: 'static> Default for JoinSet<T> {
    #[track_caller]
    fn default() -> JoinSet<T> {
        JoinSet::new()
    }
}

// For every `T`, as tokio's: tokio-stream's `JoinSetStream<T>` derives `Debug` without
// a `'static` bound.
impl<T> fmt::Debug for JoinSet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.inner, f)
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
        let location = Location::caller();
        for future in iter {
            self.spawn_at(location, future, None);
        }
    }
}
