//! `LocalSet` under simulation: every task already runs on the simulation's one
//! thread, so a `LocalSet` is a group of tasks that ends together: awaiting it waits
//! for every task spawned on it, and dropping it aborts those still running.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll};

use sim_core::sync::Notify;

use super::{spawn_at, JoinHandle};
use crate::lockstep::naming;

thread_local! {
    /// The `LocalSet`s whose context the running code is in, innermost last.
    static CURRENT: RefCell<Vec<Rc<Inner>>> = const { RefCell::new(Vec::new()) };
}

/// The `LocalSet` whose context the running code is in, if any.
pub(super) fn current() -> Option<Rc<Inner>> {
    CURRENT.with(|c| c.borrow().last().cloned())
}

/// Makes `set` the current `LocalSet` until dropped.
struct Entered;

impl Entered {
    fn new(set: Rc<Inner>) -> Entered {
        CURRENT.with(|c| c.borrow_mut().push(set));
        Entered
    }
}

impl Drop for Entered {
    fn drop(&mut self) {
        CURRENT.with(|c| c.borrow_mut().pop());
    }
}

/// A set of tasks that ends together, shaped like `tokio::task::LocalSet`.
///
/// Under simulation every task is local to the simulation's thread and runs whether
/// or not its `LocalSet` is driven; what a `LocalSet` adds is the group:
/// - [`spawn_local`](LocalSet::spawn_local), and `task::spawn_local` called inside
///   [`run_until`](LocalSet::run_until), [`enter`](LocalSet::enter) or one of the set's
///   own tasks, add a task to the set;
/// - awaiting the set (it is a future) waits until every task of it has ended; a task
///   blocked there is reported as "notified on `local@worker.rs:12`" (the line that
///   created the set, or an enclosing `lockstep::named`);
/// - dropping the set aborts its tasks still running, as tokio drops them.
///
/// Tasks can be spawned on a set only while a simulation is current (a `Runtime`
/// exists on the thread).
pub struct LocalSet {
    inner: Rc<Inner>,
    /// The future of an `.await` on the set, kept between polls.
    waiting: Option<Pin<Box<dyn Future<Output = ()>>>>,
}

pub(super) struct Inner {
    name: String,
    /// Tasks of the set that have not ended.
    live: Cell<usize>,
    /// Abort handles of the set's tasks, to abort them when the set is dropped.
    tasks: RefCell<Vec<sim_core::task::AbortHandle>>,
    /// Notified when the last live task ends; created at the first spawn.
    done: RefCell<Option<Rc<Notify>>>,
}

impl Inner {
    /// Spawns `future` as a task of this set.
    pub(super) fn spawn_at<F>(self: &Rc<Self>, location: &Location<'_>, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let future = self.adopt(future);
        let handle = spawn_at(location, future);
        self.adopted(handle.inner.abort_handle());
        handle
    }

    /// Wraps `future` as a task of this set: the set is current while it is polled,
    /// and counts it live until the future is dropped (it ended or was aborted).
    pub(super) fn adopt<F: Future + 'static>(self: &Rc<Self>, future: F) -> InSet<F> {
        if self.done.borrow().is_none() {
            let notify = sim_core::named(self.name.clone(), Notify::new);
            *self.done.borrow_mut() = Some(Rc::new(notify));
        }
        self.live.set(self.live.get() + 1);
        InSet { set: Rc::downgrade(self), member: Member { set: Rc::downgrade(self) }, future: Box::pin(future) }
    }

    /// Keeps the abort handle of a task spawned with [`Inner::adopt`].
    pub(super) fn adopted(&self, abort: sim_core::task::AbortHandle) {
        self.tasks.borrow_mut().push(abort);
    }
}

/// Counts a task of the set live until dropped.
struct Member {
    set: Weak<Inner>,
}

impl Drop for Member {
    fn drop(&mut self) {
        let Some(set) = self.set.upgrade() else { return };
        let live = set.live.get().saturating_sub(1);
        set.live.set(live);
        if live == 0 {
            let done = set.done.borrow().clone();
            if let Some(done) = done {
                done.notify_waiters();
            }
        }
    }
}

/// A task of a `LocalSet`: its set is current while it is polled.
pub(super) struct InSet<F> {
    set: Weak<Inner>,
    member: Member,
    future: Pin<Box<F>>,
}

impl<F: Future> Future for InSet<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        let _entered = this.set.upgrade().map(Entered::new);
        let _ = &this.member;
        this.future.as_mut().poll(cx)
    }
}

impl LocalSet {
    /// An empty set, named after the caller's line (`local@worker.rs:12`).
    #[track_caller]
    pub fn new() -> LocalSet {
        let location = Location::caller();
        let name = naming::scoped_name().unwrap_or_else(|| format!("local@{}", naming::name_for(location)));
        LocalSet {
            inner: Rc::new(Inner {
                name,
                live: Cell::new(0),
                tasks: RefCell::new(Vec::new()),
                done: RefCell::new(None),
            }),
            waiting: None,
        }
    }

    /// Spawns `future` as a task of this set.
    ///
    /// # Panics
    /// Outside a simulation.
    #[track_caller]
    pub fn spawn_local<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.inner.spawn_at(Location::caller(), future)
    }

    /// Runs `future` in this set's context (a `task::spawn_local` inside it adds to
    /// the set) until it completes. The set's tasks run alongside, as every task does.
    pub async fn run_until<F: Future>(&self, future: F) -> F::Output {
        let mut future = std::pin::pin!(future);
        std::future::poll_fn(|cx| {
            let _entered = Entered::new(self.inner.clone());
            future.as_mut().poll(cx)
        })
        .await
    }

    /// Runs `future` on `rt` in this set's context, as `rt.block_on(self.run_until(future))`.
    ///
    /// # Panics
    /// As [`Runtime::block_on`](crate::runtime::Runtime::block_on).
    #[track_caller]
    pub fn block_on<F: Future>(&self, rt: &crate::runtime::Runtime, future: F) -> F::Output {
        rt.block_on(self.run_until(future))
    }

    /// Makes this set current (a `task::spawn_local` adds to it) until the guard is dropped.
    pub fn enter(&self) -> LocalEnterGuard {
        LocalEnterGuard { _entered: Entered::new(self.inner.clone()) }
    }

    pub(super) fn inner(&self) -> &Rc<Inner> {
        &self.inner
    }
}

impl Default for LocalSet {
    #[track_caller]
    fn default() -> LocalSet {
        LocalSet::new()
    }
}

impl Future for LocalSet {
    type Output = ();

    /// Ready once every task spawned on the set has ended.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.inner.live.get() == 0 {
            this.waiting = None;
            return Poll::Ready(());
        }
        let waiting = this.waiting.get_or_insert_with(|| {
            let set = this.inner.clone();
            Box::pin(async move {
                let done = set.done.borrow().clone();
                let Some(done) = done else { return };
                while set.live.get() > 0 {
                    done.notified().await;
                }
            })
        });
        let ready = waiting.as_mut().poll(cx);
        if ready.is_ready() {
            this.waiting = None;
        }
        ready
    }
}

impl Drop for LocalSet {
    fn drop(&mut self) {
        self.waiting = None;
        let tasks = std::mem::take(&mut *self.inner.tasks.borrow_mut());
        if !sim_core::tooling::task::in_simulation() {
            return;
        }
        for task in tasks {
            task.abort();
        }
    }
}

impl fmt::Debug for LocalSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalSet").field("name", &self.inner.name).field("live", &self.inner.live.get()).finish()
    }
}

/// Returned by [`LocalSet::enter`]: the set is current until it is dropped.
pub struct LocalEnterGuard {
    _entered: Entered,
}

impl fmt::Debug for LocalEnterGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalEnterGuard").finish_non_exhaustive()
    }
}
