//! Tasks: `spawn`, named tasks, join handles, [`JoinSet`], yielding.

use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use parking_lot::Mutex;

use crate::access::Access;
use crate::context::{self, Handle, Life};
use crate::core::TaskState;
use crate::TaskId;
use crate::Wait;

mod join_set;
pub use join_set::JoinSet;

/// Spawns a task on the current simulation. The future need not be `Send`.
///
/// The task is named after the line that spawned it (`debounce.rs:42`), or by an
/// enclosing [`named`](crate::named) scope; [`Builder::name`] and
/// [`Sim::spawn_named`](crate::Sim::spawn_named) name it explicitly.
///
/// # Panics
/// Panics when no simulation is current on this thread.
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
{
    Builder::new().spawn(future)
}

/// Configures a task before spawning it (mirrors `tokio::task::Builder`).
#[derive(Clone, Debug, Default)]
pub struct Builder {
    name: Option<String>,
}

impl Builder {
    /// A builder for a task named after the line that spawns it (`debounce.rs:42`),
    /// or by an enclosing [`named`](crate::named) scope, unless [`name`](Builder::name)d.
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Names the task; the name appears in every trace line and report.
    pub fn name(mut self, name: impl Into<String>) -> Builder {
        self.name = Some(name.into());
        self
    }

    /// Spawns the task on the current simulation.
    ///
    /// # Panics
    /// Panics when no simulation is current on this thread.
    #[track_caller]
    pub fn spawn<F>(self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
    {
        let name = default_name(self.name, Location::caller());
        spawn_on(&context::current(), Some(name), future)
    }
}

/// A task's name: the explicit one, else the enclosing [`named`](crate::named) scope's,
/// else the spawn site's (`debounce.rs:42`).
pub(crate) fn default_name(explicit: Option<String>, spawned_at: &Location<'_>) -> String {
    explicit.or_else(crate::core::scoped_name).unwrap_or_else(|| crate::core::location_name(spawned_at))
}

pub(crate) fn spawn_on<F>(handle: &Handle, name: Option<String>, future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
{
    let slot: Arc<Mutex<Option<F::Output>>> = Arc::new(Mutex::new(None));
    let out = slot.clone();
    let ended = Arc::new(AtomicBool::new(false));
    let ends = ended.clone();
    let wrapped = Box::pin(async move {
        let value = future.await;
        *out.lock() = Some(value);
        ends.store(true, Ordering::Release);
    });
    let id = handle.core.borrow_mut().register_task(name);
    let mut futures = handle.futures.borrow_mut();
    let index = id.0 as usize;
    if futures.len() <= index {
        futures.resize_with(index + 1, || None);
    }
    futures[index] = Some(wrapped);
    drop(futures);
    let mut handles = handle.handles.borrow_mut();
    if handles.len() <= index {
        handles.resize_with(index + 1, std::sync::Weak::new);
    }
    handles[index] = Arc::downgrade(&ended);
    JoinHandle { id, slot, link: Link { life: handle.life.clone(), ended } }
}

/// What a task's handles keep of its simulation: enough to tell, from any thread,
/// whether it still exists, and to ask it for an abort.
#[derive(Clone)]
struct Link {
    life: Arc<Life>,
    /// Set when the task ends (finished, or aborted through a handle).
    ended: Arc<AtomicBool>,
}

/// Where a handle is used, relative to its task's simulation.
enum Reach {
    /// Its simulation is current on this thread.
    Home(Handle),
    /// Its simulation was dropped: the task was dropped with it.
    Gone,
    /// Its simulation exists, on another thread or not current on this one.
    Elsewhere,
}

impl Link {
    fn reach(&self) -> Reach {
        if let Some(handle) = context::home(self.life.id) {
            Reach::Home(handle)
        } else if self.life.alive.load(Ordering::Acquire) {
            Reach::Elsewhere
        } else {
            Reach::Gone
        }
    }

    fn is_finished(&self, id: TaskId) -> bool {
        match self.reach() {
            Reach::Home(handle) => is_finished(&handle, id),
            Reach::Gone => true,
            Reach::Elsewhere => self.ended.load(Ordering::Acquire),
        }
    }

    /// Aborts the task: at once on its simulation's thread; from elsewhere, the
    /// simulation applies it when it next runs out of events (see
    /// [`Life::remote_aborts`]); nothing when the simulation is gone.
    fn abort(&self, id: TaskId) {
        match self.reach() {
            Reach::Home(handle) => {
                abort_task(&handle, id);
                self.ended.store(true, Ordering::Release);
            }
            Reach::Gone => {}
            Reach::Elsewhere => {
                self.life.remote_aborts.lock().push((id, self.ended.clone()));
                self.life.remote_pending.store(true, Ordering::Release);
            }
        }
    }
}

/// Applies the aborts asked from other threads (see [`Life::remote_aborts`]);
/// whether there were any.
pub(crate) fn apply_remote_aborts(handle: &Handle) -> bool {
    if !handle.life.remote_pending.swap(false, Ordering::AcqRel) {
        return false;
    }
    let asked = std::mem::take(&mut *handle.life.remote_aborts.lock());
    let any = !asked.is_empty();
    for (id, ended) in asked {
        if handle.core.borrow().task_state(id) == TaskState::Running {
            abort_task(handle, id);
        }
        ended.store(true, Ordering::Release);
    }
    any
}

/// Why a joined task produced no value.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum JoinError {
    /// The task was aborted.
    Aborted,
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JoinError::Aborted => f.write_str("task was aborted"),
        }
    }
}

impl std::error::Error for JoinError {}

/// Awaits a task's output. Dropping the handle detaches the task.
///
/// A task that panics fails the whole run (with its name in the report), so a
/// join never observes a panic.
///
/// It is `Send` and `Sync` when `T: Send`, as tokio's is. As tokio's, it may be used
/// after its simulation is gone (the task was dropped with it: polling gives its
/// output if it finished, else [`JoinError::Aborted`]; `is_finished` is true), and
/// `abort` / `is_finished` work from another thread while it runs (an abort asked
/// there is applied when the simulation runs out of events).
///
/// # Panics
/// Polling it panics when its simulation exists but is not current on this thread.
pub struct JoinHandle<T> {
    id: TaskId,
    slot: Arc<Mutex<Option<T>>>,
    link: Link,
}

/// The simulation numbered `sim`, if it is current on this thread.
///
/// # Panics
/// When it is not.
#[track_caller]
fn home(sim: u64, id: TaskId) -> Handle {
    context::home(sim).unwrap_or_else(|| {
        panic!(
            "the JoinHandle or AbortHandle of task {} was used while its simulation is not current on this thread",
            id.0
        )
    })
}

impl<T> JoinHandle<T> {
    /// The task's id.
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// Whether the task has ended (finished or aborted).
    pub fn is_finished(&self) -> bool {
        self.link.is_finished(self.id)
    }

    /// Aborts the task: its future is dropped and it is never polled again. A
    /// task may abort itself; it then stops at the end of its current poll.
    pub fn abort(&self) {
        self.link.abort(self.id);
    }

    /// A handle that aborts the task without awaiting it.
    pub fn abort_handle(&self) -> AbortHandle {
        AbortHandle { id: self.id, link: self.link.clone() }
    }
}

fn is_finished(handle: &Handle, id: TaskId) -> bool {
    let mut core = handle.core.borrow_mut();
    core.touch(Access::Task(id));
    core.task_state(id) != TaskState::Running
}

fn abort_task(handle: &Handle, id: TaskId) {
    let joiner = handle.core.borrow_mut().end_task(id, TaskState::Aborted);
    let future = handle.futures.borrow_mut().get_mut(id.0 as usize).and_then(Option::take);
    drop(future);
    if let Some(w) = joiner {
        w.wake();
    }
}

/// Aborts a task without owning its [`JoinHandle`] (mirrors `tokio::task::AbortHandle`).
///
/// `Send` and `Sync`; usable from any thread and after the simulation is gone, as
/// [`JoinHandle`]'s methods are.
#[derive(Clone)]
pub struct AbortHandle {
    id: TaskId,
    link: Link,
}

impl AbortHandle {
    /// The task's id.
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// Aborts the task, as [`JoinHandle::abort`] does.
    pub fn abort(&self) {
        self.link.abort(self.id);
    }

    /// Whether the task has ended (finished or aborted).
    pub fn is_finished(&self) -> bool {
        self.link.is_finished(self.id)
    }
}

impl fmt::Debug for AbortHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AbortHandle").field("id", &self.id).finish()
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let handle = match self.link.reach() {
            Reach::Home(handle) => handle,
            // The simulation dropped the task with it: its output if it had finished.
            Reach::Gone => return Poll::Ready(self.slot.lock().take().ok_or(JoinError::Aborted)),
            Reach::Elsewhere => home(self.link.life.id, self.id),
        };
        handle.touch(Access::Task(self.id));
        if let Some(value) = self.slot.lock().take() {
            return Poll::Ready(Ok(value));
        }
        let mut core = handle.core.borrow_mut();
        match core.task_state(self.id) {
            TaskState::Aborted => Poll::Ready(Err(JoinError::Aborted)),
            TaskState::Done => panic!("JoinHandle polled after it returned the task's output"),
            TaskState::Running => {
                let replaced = core.set_join_waker(self.id, cx.waker().clone());
                core.wait_on(Wait::Join(self.id));
                drop(core);
                // Dropped once the core is let go: a waker's drop may run code that
                // uses the simulation.
                drop(replaced);
                Poll::Pending
            }
        }
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle").field("id", &self.id).finish()
    }
}

/// Yields once: the task is woken at once and polled again after the other events
/// already due at this instant have had their turn.
pub async fn yield_now() {
    let mut yielded = false;
    std::future::poll_fn(move |cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            // tokio defers a yielding task's wake-up to its next driver turn; the tokio
            // model needs to know (see `crate::model`).
            if let Some(handle) = context::try_current() {
                handle.core.borrow_mut().defer_current();
            }
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await;
}

/// Reports a property violation from inside a simulation. The run stops after the
/// current step and fails with [`FailureKind::Violation`](crate::FailureKind::Violation).
///
/// # Panics
/// Panics when no simulation is current on this thread.
#[track_caller]
pub fn fail(message: impl Into<String>) {
    context::with_core(|core| core.violation(message.into()));
}

/// Reports that the running task escaped the simulation: it did something Lockstep
/// cannot order (a blocking thread pool, a real timer, I/O). The run stops after the
/// current step and fails with [`FailureKind::Escape`](crate::FailureKind::Escape)
/// naming the task and `cause`.
///
/// # Panics
/// Panics when no simulation is current on this thread.
#[track_caller]
pub(crate) fn escape(cause: impl Into<String>) {
    context::with_core(|core| {
        let task = core.current();
        core.escape(task, cause.into());
    });
}

/// Draws a value in `0..n` as a recorded choice point: the strategy picks it, the
/// tape records it, replay repeats it. This is the only sanctioned source of
/// randomness inside a simulation. Returns 0 when `n <= 1` (no choice is recorded).
///
/// # Panics
/// Panics when no simulation is current on this thread.
#[track_caller]
pub fn choose(n: usize) -> usize {
    context::with_core(|core| core.choose(crate::strategy::ChoiceKind::User, n))
}

/// Whether this thread is inside the poll of a simulated task right now: a panic
/// there is caught and becomes the run's failure (`FailureKind::Panic`, message
/// included). It borrows nothing and never panics, so a panic hook may call it: the
/// `lockstep` tool's hook stays quiet for such panics, which its reports already show.
pub(crate) fn in_task_poll() -> bool {
    context::in_task_poll()
}

/// The id of the task being polled, if any.
pub(crate) fn current_task() -> Option<TaskId> {
    context::try_current().and_then(|h| h.core.borrow().current())
}

/// Whether a simulation is current on this thread (being driven, or alive: see
/// [`Sim`](crate::Sim)), so that tasks and primitives created now belong to it.
pub(crate) fn in_simulation() -> bool {
    context::try_current().is_some()
}
