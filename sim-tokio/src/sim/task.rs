//! `tokio::task` over the simulator: every task is a simulated task, named after
//! where it was spawned (`file.rs:42`) unless [`named`](crate::lockstep::named).
//!
//! A task's panic goes to its [`JoinHandle`] as a [`JoinError`], as in tokio; a
//! panic nobody can observe (the handle was dropped) fails the run with the task's
//! name. Futures need not be `Send`: the simulation runs on one thread.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::panic::{resume_unwind, AssertUnwindSafe, Location};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use ::futures::FutureExt;

use crate::lockstep::naming;

mod join_set;
mod local;
mod task_local;

pub use join_set::JoinSet;
pub use local::{LocalEnterGuard, LocalSet};
pub use task_local::{AccessError, LocalKey};

pub mod futures {
    //! The futures of `tokio::task`.
    pub use super::task_local::TaskLocalFuture;
}

/// A task's id (unique within its simulation).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Id(u64);

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({})", self.0)
    }
}

impl From<sim_core::TaskId> for Id {
    fn from(id: sim_core::TaskId) -> Id {
        Id(u64::from(id.as_u32()))
    }
}

/// The id of the running task.
///
/// # Panics
/// Outside a task.
#[track_caller]
pub fn id() -> Id {
    try_id().expect("task::id() called outside of a task")
}

/// The id of the running task, if any.
pub fn try_id() -> Option<Id> {
    sim_core::tooling::task::current_task().map(Id::from)
}

/// What a task and its handle share: whether the handle still exists, and a panic
/// waiting to be observed through it.
struct Shared {
    name: String,
    handle_alive: AtomicBool,
    panic: Mutex<Option<Box<dyn Any + Send>>>,
    /// Whether that panic came from the future's destructor, as the task was aborted:
    /// tokio contains it (the handle reports it; dropping the handle is no failure).
    in_drop: AtomicBool,
}

impl Shared {
    fn new(name: String) -> Shared {
        Shared { name, handle_alive: AtomicBool::new(true), panic: Mutex::new(None), in_drop: AtomicBool::new(false) }
    }

    /// The state of a task nobody tracks any more.
    fn detached() -> Shared {
        let shared = Shared::new(String::new());
        shared.handle_alive.store(false, Ordering::Relaxed);
        shared
    }

    /// The error of an ended task that gave no value: the panic it left (a
    /// destructor's when it was aborted), else cancelled.
    fn ended_without_value(&self, id: Id, aborted: bool) -> JoinError {
        let panicked = self.panic.lock().unwrap_or_else(PoisonError::into_inner).is_some();
        if aborted && !panicked {
            JoinError::cancelled(id)
        } else {
            JoinError::panicked(id, self)
        }
    }
}

pin_project_lite::pin_project! {
    #[project = SlotProj]
    enum Slot<F> {
        Live { #[pin] future: F },
        Gone,
    }
}

pin_project_lite::pin_project! {
    /// A task's future, whose destructor's panic (when the task is aborted, or the
    /// simulation ends with it pending) is caught and kept for the task's handle, as
    /// tokio does: the aborting task and the run go on.
    struct ContainDrop<F> {
        #[pin]
        slot: Slot<F>,
        shared: Arc<Shared>,
    }

    impl<F> PinnedDrop for ContainDrop<F> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            let mut slot = this.slot;
            if let Err(payload) = std::panic::catch_unwind(AssertUnwindSafe(|| slot.set(Slot::Gone))) {
                let mut panic = this.shared.panic.lock().unwrap_or_else(PoisonError::into_inner);
                if panic.is_none() {
                    *panic = Some(payload);
                    this.shared.in_drop.store(true, Ordering::Relaxed);
                }
            }
        }
    }
}

impl<F: Future> Future for ContainDrop<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        match self.project().slot.project() {
            SlotProj::Live { future } => future.poll(cx),
            SlotProj::Gone => Poll::Pending,
        }
    }
}

/// What tokio's timers and I/O resources panic with outside a tokio runtime: such a
/// panic is an escape, for the engine to report, never a task's result.
const TOKIO_CONTEXT_PANIC: &str = "must be called from the context of a Tokio 1.x runtime";

fn panic_text(payload: &(dyn Any + Send)) -> Option<&str> {
    payload.downcast_ref::<&str>().copied().or_else(|| payload.downcast_ref::<String>().map(String::as_str))
}

/// Spawns a task on the current simulation. Unlike tokio's, the future need not
/// be `Send`.
///
/// # Panics
/// Outside a simulation.
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    spawn_at(Location::caller(), future)
}

/// Spawns a task on the current simulation (as [`spawn`]: every task is local to
/// the simulation's thread). Inside a [`LocalSet`] (its `run_until`, `enter`, or one
/// of its tasks) the task belongs to that set: awaiting the set waits for it, and
/// dropping the set aborts it.
///
/// # Panics
/// Outside a simulation; and, as tokio's, outside a `LocalSet` in a simulation that a
/// `current_thread` or `multi_thread` runtime runs (`Runtime`, `#[tokio::main]`,
/// `#[tokio::test]`): only `flavor = "local"` (or a raw `Sim`) allows it there.
#[track_caller]
pub fn spawn_local<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    match local::current() {
        Some(set) => set.spawn_at(Location::caller(), future),
        None if !crate::sim::runtime::spawn_local_outside_local_set() => {
            panic!("{}", crate::sim::runtime::SPAWN_LOCAL_OUTSIDE)
        }
        None => spawn_at(Location::caller(), future),
    }
}

pub(crate) fn spawn_at<F>(location: &Location<'_>, future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let (name, shared, future) = prepare(location, future);
    let inner = sim_core::task::Builder::new().name(name).spawn(future);
    JoinHandle { id: Id::from(inner.id()), inner, shared }
}

/// What a spawn builds before it spawns: the task's name (after `location`, or an
/// enclosing `lockstep::named`), the state it shares with its handle, and the future
/// that hands a panic to the handle.
fn prepare<F>(
    location: &Location<'_>,
    future: F,
) -> (String, Arc<Shared>, impl Future<Output = Option<F::Output>> + 'static)
where
    F: Future + 'static,
    F::Output: 'static,
{
    let name = naming::name_for(location);
    let shared = Arc::new(Shared::new(name.clone()));
    let task_side = shared.clone();
    let future = ContainDrop { slot: Slot::Live { future }, shared: shared.clone() };
    let future = async move {
        match AssertUnwindSafe(future).catch_unwind().await {
            Ok(value) => Some(value),
            Err(payload) => {
                let escape = panic_text(&*payload).is_some_and(|m| m.contains(TOKIO_CONTEXT_PANIC));
                if escape || !task_side.handle_alive.load(Ordering::Relaxed) {
                    // Nobody can observe it (or it is an escape): the run fails with it.
                    resume_unwind(payload);
                }
                *task_side.panic.lock().unwrap_or_else(PoisonError::into_inner) = Some(payload);
                None
            }
        }
    };
    (name, shared, future)
}

/// Runs `f` on tokio's blocking thread pool. Under simulation there is no such
/// pool: the run stops with an escape naming the calling task.
///
/// # Panics
/// Outside a simulation.
#[track_caller]
pub fn spawn_blocking<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    drop(f);
    sim_core::tooling::task::escape(
        "spawn_blocking: the closure would run on tokio's blocking thread pool, which the simulation cannot order",
    );
    spawn_at(Location::caller(), std::future::pending::<R>())
}

/// Runs `f` in place, telling tokio's scheduler the thread blocks. Under simulation
/// the run stops with an escape naming the calling task (after `f` returns).
///
/// # Panics
/// Outside a simulation.
#[track_caller]
pub fn block_in_place<F, R>(f: F) -> R
where
    F: FnOnce() -> R,
{
    sim_core::tooling::task::escape(
        "block_in_place: the task blocks its thread, which the simulation cannot order (nor tokio's current-thread runtime allow)",
    );
    f()
}

pub use super::coop;
pub use super::coop::{consume_budget, unconstrained, Unconstrained};

/// Yields once: the task runs again after the other events already due at this
/// instant.
pub async fn yield_now() {
    sim_core::yield_now().await;
}

/// Awaits a task's output: `Ok(value)`, or a [`JoinError`] if the task panicked or
/// was aborted. Dropping the handle detaches the task.
pub struct JoinHandle<T> {
    id: Id,
    inner: sim_core::JoinHandle<Option<T>>,
    shared: Arc<Shared>,
}

impl<T> JoinHandle<T> {
    /// Aborts the task: its future is dropped and it is never polled again; awaiting
    /// the handle then gives a cancelled [`JoinError`] (unless it had finished).
    pub fn abort(&self) {
        self.inner.abort();
    }

    /// Whether the task has ended (finished, panicked or aborted).
    pub fn is_finished(&self) -> bool {
        self.inner.is_finished()
    }

    /// A handle that aborts the task without awaiting it.
    pub fn abort_handle(&self) -> AbortHandle {
        AbortHandle { id: self.id, inner: self.inner.abort_handle() }
    }

    /// The task's id.
    pub fn id(&self) -> Id {
        self.id
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    /// As tokio's, handing out the task's result spends a unit of the awaiting task's
    /// cooperative budget: with none left it returns `Pending` (and wakes the task at
    /// once), so a loop over finished handles lets the other tasks run.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let coop = std::task::ready!(sim_core::tooling::coop::poll_proceed(cx));
        let result = Pin::new(&mut this.inner).poll(cx);
        if result.is_ready() {
            coop.made_progress();
        }
        match result {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(Some(value))) => Poll::Ready(Ok(value)),
            Poll::Ready(Ok(None)) => Poll::Ready(Err(this.shared.ended_without_value(this.id, false))),
            Poll::Ready(Err(_aborted)) => Poll::Ready(Err(this.shared.ended_without_value(this.id, true))),
        }
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        self.shared.handle_alive.store(false, Ordering::Relaxed);
        let unobserved = self.shared.panic.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(payload) = unobserved {
            // A destructor's panic at an abort is contained, as tokio's.
            if sim_core::tooling::task::current_task().is_some() && !self.shared.in_drop.load(Ordering::Relaxed) {
                let message = panic_text(&*payload).unwrap_or("(non-string panic payload)");
                sim_core::fail(format!(
                    "task `{}` panicked and its JoinHandle was dropped without being awaited: {message}",
                    self.shared.name
                ));
            }
        }
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle").field("id", &self.id).finish()
    }
}

/// Aborts a task without awaiting it.
#[derive(Clone)]
pub struct AbortHandle {
    id: Id,
    inner: sim_core::task::AbortHandle,
}

impl AbortHandle {
    /// Aborts the task (see [`JoinHandle::abort`]).
    pub fn abort(&self) {
        self.inner.abort();
    }

    /// Whether the task has ended.
    pub fn is_finished(&self) -> bool {
        self.inner.is_finished()
    }

    /// The task's id.
    pub fn id(&self) -> Id {
        self.id
    }
}

impl fmt::Debug for AbortHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AbortHandle").field("id", &self.id).finish()
    }
}

impl JoinError {
    /// The error of a task that was aborted.
    pub(crate) fn cancelled(id: Id) -> JoinError {
        JoinError { id, repr: Repr::Cancelled }
    }

    /// The error of a task that panicked, with the payload it left in `shared`.
    fn panicked(id: Id, shared: &Shared) -> JoinError {
        let payload = shared.panic.lock().unwrap_or_else(PoisonError::into_inner).take();
        let payload = payload.unwrap_or_else(|| Box::new("the task's panic was already taken"));
        JoinError { id, repr: Repr::Panic(Mutex::new(payload)) }
    }
}

enum Repr {
    Cancelled,
    Panic(Mutex<Box<dyn Any + Send + 'static>>),
}

/// Why a task produced no value: it was cancelled (aborted) or it panicked.
pub struct JoinError {
    id: Id,
    repr: Repr,
}

impl JoinError {
    /// Whether the task was cancelled.
    pub fn is_cancelled(&self) -> bool {
        matches!(self.repr, Repr::Cancelled)
    }

    /// Whether the task panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self.repr, Repr::Panic(_))
    }

    /// The panic's payload.
    ///
    /// # Panics
    /// When the task was cancelled.
    #[track_caller]
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        self.try_into_panic().expect("`JoinError` reason is not a panic.")
    }

    /// The panic's payload, or the error back when the task was cancelled.
    ///
    /// # Errors
    /// `self`, when the task was cancelled.
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self.repr {
            Repr::Panic(p) => Ok(p.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner)),
            Repr::Cancelled => Err(self),
        }
    }

    /// The task's id.
    pub fn id(&self) -> Id {
        self.id
    }

    fn panic_str(&self) -> Option<String> {
        match &self.repr {
            Repr::Panic(p) => {
                let p = p.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                panic_text(&**p).map(str::to_string)
            }
            Repr::Cancelled => None,
        }
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.repr, self.panic_str()) {
            (Repr::Cancelled, _) => write!(f, "task {} was cancelled", self.id),
            (Repr::Panic(_), Some(message)) => write!(f, "task {} panicked with message {message:?}", self.id),
            (Repr::Panic(_), None) => write!(f, "task {} panicked", self.id),
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.repr, self.panic_str()) {
            (Repr::Cancelled, _) => write!(f, "JoinError::Cancelled({:?})", self.id),
            (Repr::Panic(_), Some(message)) => write!(f, "JoinError::Panic({:?}, {message:?}, ...)", self.id),
            (Repr::Panic(_), None) => write!(f, "JoinError::Panic({:?}, ...)", self.id),
        }
    }
}

impl std::error::Error for JoinError {}

impl From<JoinError> for std::io::Error {
    fn from(e: JoinError) -> std::io::Error {
        let message = if e.is_cancelled() { "task was cancelled" } else { "task panicked" };
        std::io::Error::other(message)
    }
}
