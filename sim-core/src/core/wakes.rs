//! Task wake-ups: the wakers handed to task polls, and the queue they push to.
//!
//! A waker must be `Send + Sync`, so it pushes its task's id to a locked queue,
//! except on the thread driving its simulation, where it pushes to a thread-local
//! list without atomics or locks (the fast path, armed by [`FastWakeGuard`]). The
//! engine drains both, in the order the wake-ups happened, before it looks at the
//! event queue. A wake-up from another OS thread is noted: the simulation cannot
//! order it.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Wake, Waker};

use parking_lot::Mutex;

use super::{Core, Event};
use crate::access::Access;
use crate::TaskId;

/// The cause given for a wake-up from another OS thread.
const FOREIGN_WAKE: &str = "woken from another OS thread (a timer thread such as futures-timer's, \
     a thread pool, blocking I/O, a `std::thread` calling `blocking_send` on a channel created outside the \
     simulation): the simulation cannot order this wake-up";

thread_local! {
    /// Wake-ups of the simulation being driven on this thread: pushed without atomics
    /// or locks. Wakes from other threads, or while no simulation is driven, take the
    /// locked path through [`WakeQueue`].
    static LOCAL_WAKES: RefCell<LocalWakes> = const { RefCell::new(LocalWakes { owner: None, woken: Vec::new() }) };
}

struct LocalWakes {
    /// The wake queue of the simulation being driven on this thread.
    owner: Option<Arc<WakeQueue>>,
    woken: Vec<TaskId>,
}

impl LocalWakes {
    fn owned_by(&self, queue: &Arc<WakeQueue>) -> bool {
        self.owner.as_ref().is_some_and(|o| Arc::ptr_eq(o, queue))
    }

    /// Moves the fast-path wakes to their simulation's locked path, in order.
    fn flush(&mut self) {
        if let Some(owner) = &self.owner {
            if !self.woken.is_empty() {
                owner.woken.lock().append(&mut self.woken);
                owner.pending.store(true, Ordering::Release);
            }
        }
    }
}

/// Routes this thread's wake-ups for one simulation through the fast path until
/// dropped (restoring the previously driven simulation, if any).
pub(crate) struct FastWakeGuard {
    previous: Option<Arc<WakeQueue>>,
}

impl FastWakeGuard {
    pub(crate) fn new(queue: &Arc<WakeQueue>) -> FastWakeGuard {
        LOCAL_WAKES.with(|l| {
            let mut l = l.borrow_mut();
            l.flush();
            FastWakeGuard { previous: l.owner.replace(queue.clone()) }
        })
    }
}

impl Drop for FastWakeGuard {
    fn drop(&mut self) {
        LOCAL_WAKES.with(|l| {
            let mut l = l.borrow_mut();
            l.flush();
            l.owner = self.previous.take();
        });
    }
}

/// Task wake-ups, pushed by wakers (which must be `Send + Sync`) and moved into the
/// event queue by the engine, in the order they happened.
pub(crate) struct WakeQueue {
    woken: Mutex<Vec<TaskId>>,
    pending: AtomicBool,
    foreign: AtomicBool,
    /// The first task woken from another OS thread.
    foreign_task: Mutex<Option<TaskId>>,
    /// The thread that drives the simulation: a wake from any other is foreign.
    thread: std::thread::ThreadId,
}

struct TaskWaker {
    id: TaskId,
    queue: Arc<WakeQueue>,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let fast = LOCAL_WAKES.with(|l| match l.try_borrow_mut() {
            Ok(mut l) if l.owned_by(&self.queue) => {
                l.woken.push(self.id);
                true
            }
            _ => false,
        });
        if fast {
            return;
        }
        if std::thread::current().id() != self.queue.thread {
            self.queue.foreign_task.lock().get_or_insert(self.id);
            self.queue.foreign.store(true, Ordering::Release);
        }
        self.queue.woken.lock().push(self.id);
        self.queue.pending.store(true, Ordering::Release);
    }
}

/// A task's waker, and a count of its clones.
pub(super) struct TaskWakerHandle {
    /// The waker the engine keeps (lent to each poll).
    pub(super) waker: Waker,
    shared: Arc<TaskWaker>,
}

impl TaskWakerHandle {
    /// How many wakers of the task exist beyond the one the engine keeps.
    pub(super) fn clones(&self) -> usize {
        Arc::strong_count(&self.shared).saturating_sub(2)
    }
}

/// The wake-ups of one simulation.
pub(super) struct Wakes {
    queue: Arc<WakeQueue>,
    /// Scratch space for draining, kept between drains.
    buf: Vec<TaskId>,
    /// Whether a wake-up from another OS thread was seen.
    foreign_seen: bool,
}

/// What a drain found.
pub(super) struct Drained {
    /// The woken tasks, in wake order (hand the vector back with [`Wakes::recycle`]).
    pub(super) woken: Vec<TaskId>,
    /// The first wake-up from another OS thread, the first time one is drained (with
    /// the task it woke, when known).
    pub(super) foreign: Option<Option<TaskId>>,
}

impl Wakes {
    /// The wake-ups of a simulation driven by this thread.
    pub(super) fn new() -> Wakes {
        let queue = Arc::new(WakeQueue {
            woken: Mutex::new(Vec::new()),
            pending: AtomicBool::new(false),
            foreign: AtomicBool::new(false),
            foreign_task: Mutex::new(None),
            thread: std::thread::current().id(),
        });
        Wakes { queue, buf: Vec::new(), foreign_seen: false }
    }

    /// A new waker for task `id`.
    pub(super) fn waker(&self, id: TaskId) -> TaskWakerHandle {
        let shared = Arc::new(TaskWaker { id, queue: self.queue.clone() });
        TaskWakerHandle { waker: Waker::from(shared.clone()), shared }
    }

    /// The queue, for [`FastWakeGuard`].
    pub(super) fn queue(&self) -> &Arc<WakeQueue> {
        &self.queue
    }

    /// Takes the wake-ups since the last drain: the locked path's, then this thread's
    /// fast path's.
    pub(super) fn drain(&mut self) -> Drained {
        let mut woken = std::mem::take(&mut self.buf);
        let mut foreign = None;
        if self.queue.pending.load(Ordering::Relaxed) && self.queue.pending.swap(false, Ordering::Acquire) {
            if self.queue.foreign.swap(false, Ordering::Acquire) && !self.foreign_seen {
                self.foreign_seen = true;
                foreign = Some(self.queue.foreign_task.lock().take());
            }
            woken.append(&mut self.queue.woken.lock());
        }
        LOCAL_WAKES.with(|l| {
            let mut l = l.borrow_mut();
            if l.owned_by(&self.queue) {
                woken.append(&mut l.woken);
            }
        });
        Drained { woken, foreign }
    }

    /// Hands back a drained vector, to reuse its allocation.
    pub(super) fn recycle(&mut self, mut woken: Vec<TaskId>) {
        woken.clear();
        self.buf = woken;
    }

    /// Whether a wake-up from another OS thread is waiting to be drained.
    pub(super) fn foreign_pending(&self) -> bool {
        self.queue.foreign.load(Ordering::Acquire)
    }

    /// Whether a wake-up from another OS thread was drained.
    pub(super) fn saw_foreign(&self) -> bool {
        self.foreign_seen
    }
}

impl Core {
    /// Moves wake-ups pushed by wakers into the queue, one event per task not
    /// already scheduled. A wake-up from another OS thread ends the run as an escape.
    pub(crate) fn drain_wakes(&mut self) {
        let drained = self.wakes.drain();
        if let Some(task) = drained.foreign {
            self.trace.foreign_wake(self.here(), task);
            self.escape(task, FOREIGN_WAKE.to_string());
        }
        for &id in &drained.woken {
            self.touch(Access::Wake(id));
            match self.ids.schedule(id) {
                Some(true) => self.push_event(self.now(), Event::Wake(id)),
                Some(false) => self.sched.tokio.rewoken(id),
                None => {}
            }
        }
        self.wakes.recycle(drained.woken);
    }

    pub(crate) fn wake_queue(&self) -> &Arc<WakeQueue> {
        self.wakes.queue()
    }

    /// Whether a wake-up from another OS thread is waiting to be drained.
    pub(crate) fn foreign_wake_pending(&self) -> bool {
        self.wakes.foreign_pending()
    }

    /// Whether a wake-up from another OS thread was seen (a determinism leak).
    pub(crate) fn saw_foreign_wake(&self) -> bool {
        self.wakes.saw_foreign()
    }
}
