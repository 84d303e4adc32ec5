//! The simulation current on this thread, for the free functions (`spawn`, `sleep`,
//! `mpsc::channel`, …) that mirror tokio's.
//!
//! A simulation is current while it is being driven (every task poll runs inside
//! it) and, outside that, from its creation until it is dropped, so setup code can
//! create channels before the first step. When several simulations live on one
//! thread, the one created or driven last is current.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use crate::core::{Core, FastWakeGuard};

pub(crate) type BoxFuture = Pin<Box<dyn Future<Output = ()>>>;

pub(crate) struct Shared {
    /// Unique among the simulations of this process: a primitive remembers the
    /// simulation it is registered in by this number (see `crate::sync::bind`).
    pub(crate) id: u64,
    /// What its tasks' handles see of it from any thread (see [`crate::task`]).
    pub(crate) life: std::sync::Arc<Life>,
    pub(crate) core: RefCell<Core>,
    pub(crate) futures: RefCell<Vec<Option<BoxFuture>>>,
    /// Whether the strategy collects footprints: primitives check it before
    /// borrowing the core to note an access.
    pub(crate) footprints: bool,
    /// The primitives registered here that were created outside the simulation or
    /// taken over from an ended one: a thread outside it may hold them (a
    /// `std::thread` with the other end of a channel), so a deadlock in which a task
    /// waits on one first waits for that thread (see `Sim::deadlock`).
    pub(crate) outside: RefCell<Vec<crate::ChannelId>>,
    /// Per task (by id), the flag its handles share with it: while more than the
    /// task itself hold it, a `JoinHandle` or `AbortHandle` of it exists, which another
    /// thread may use to abort it (see `Sim::deadlock`).
    pub(crate) handles: RefCell<Vec<std::sync::Weak<std::sync::atomic::AtomicBool>>>,
}

/// A simulation as its tasks' handles see it from any thread (`Send` and `Sync`,
/// unlike the simulation itself).
pub(crate) struct Life {
    /// The simulation's number ([`crate::context::Shared::id`]).
    pub(crate) id: u64,
    /// False once the simulation was dropped.
    pub(crate) alive: std::sync::atomic::AtomicBool,
    /// Aborts asked through handles on other threads (tokio allows them: an abort
    /// from any thread). The simulation applies them only when it has nothing else
    /// to do (no event due at any time), so where they land in the run does not
    /// depend on when the other thread asked: a run that reaches that point takes
    /// them there, in the order asked. Each with its task's `ended` flag.
    pub(crate) remote_aborts: parking_lot::Mutex<Vec<(crate::TaskId, std::sync::Arc<std::sync::atomic::AtomicBool>)>>,
    /// Whether `remote_aborts` may hold something (checked without locking).
    pub(crate) remote_pending: std::sync::atomic::AtomicBool,
    /// How many primitives are registered in the simulation now (see
    /// [`crate::sync::bind`]): once it is gone, those left outlived it.
    pub(crate) bound: std::sync::atomic::AtomicUsize,
    /// The name of the first primitive the run used that it shares with other
    /// simulations: one created outside any simulation, or one it took over from a
    /// simulation that had ended.
    pub(crate) shared_primitive: parking_lot::Mutex<Option<String>>,
}

impl Life {
    pub(crate) fn new(id: u64) -> Life {
        Life {
            id,
            alive: std::sync::atomic::AtomicBool::new(true),
            remote_aborts: parking_lot::Mutex::new(Vec::new()),
            remote_pending: std::sync::atomic::AtomicBool::new(false),
            bound: std::sync::atomic::AtomicUsize::new(0),
            shared_primitive: parking_lot::Mutex::new(None),
        }
    }

    /// The primitive the simulation shares with others, if any: one it used that was
    /// created outside it or taken over from an ended one (by name), or, once it has
    /// ended, one registered in it that outlived it (in a `static`, a `LazyLock`, a
    /// leaked `Arc`).
    pub(crate) fn shared_primitive(&self) -> Option<String> {
        use std::sync::atomic::Ordering;
        if let Some(name) = self.shared_primitive.lock().clone() {
            return Some(format!("`{name}`"));
        }
        let outlived = !self.alive.load(Ordering::Acquire) && self.bound.load(Ordering::Acquire) > 0;
        outlived.then(|| "a primitive that outlived its simulation".to_string())
    }
}

/// The next simulation's [`Shared::id`].
static NEXT_SIM: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// A fresh simulation number.
pub(crate) fn next_sim_id() -> u64 {
    NEXT_SIM.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

impl Shared {
    /// Notes that the running step touched `access`, when footprints are collected.
    #[inline(always)]
    pub(crate) fn touch(&self, access: crate::access::Access) {
        if self.footprints {
            self.touch_slow(access);
        }
    }

    #[cold]
    #[inline(never)]
    fn touch_slow(&self, access: crate::access::Access) {
        self.engine().touch(access);
    }

    /// The engine's state, for an operation of a primitive (a send, a receive, a
    /// timer's cancellation) that must be recorded.
    ///
    /// # Panics
    /// When the engine holds its state already. The engine never runs a primitive's
    /// code while it does (it calls and drops wakers only after letting go), so that
    /// would be a bug in Lockstep; the operation's trace record, footprint or wait
    /// would be lost, and a run is never silently wrong: it fails loudly instead.
    #[track_caller]
    pub(crate) fn engine(&self) -> std::cell::RefMut<'_, Core> {
        match self.core.try_borrow_mut() {
            Ok(core) => core,
            Err(_) => panic!("{ENGINE_BUSY}"),
        }
    }
}

/// Why [`Shared::engine`] panics.
pub(crate) const ENGINE_BUSY: &str = "lockstep: a primitive's operation ran while the engine held the simulation's \
     state (inside the engine's own code), so its trace record would be lost; this is a bug in Lockstep, please \
     report it with the code that triggered it";

pub(crate) type Handle = Rc<Shared>;

thread_local! {
    static CURRENT: RefCell<Vec<Handle>> = const { RefCell::new(Vec::new()) };
}

/// The current simulation.
///
/// # Panics
/// Panics when no simulation is current on this thread.
#[track_caller]
pub(crate) fn current() -> Handle {
    try_current().expect(
        "no Lockstep simulation is current on this thread: call this inside a simulated task, \
         or while a `Sim` is alive on this thread",
    )
}

pub(crate) fn try_current() -> Option<Handle> {
    CURRENT.with(|c| c.borrow().last().cloned())
}

/// The simulation numbered `sim` ([`Shared::id`]), if it is the current one.
pub(crate) fn home(sim: u64) -> Option<Handle> {
    try_current().filter(|h| h.id == sim)
}

/// Runs `f` on the current simulation's core.
#[track_caller]
pub(crate) fn with_core<R>(f: impl FnOnce(&mut Core) -> R) -> R {
    let h = current();
    let mut core = h.core.borrow_mut();
    f(&mut core)
}

pub(crate) fn push(handle: Handle) {
    CURRENT.with(|c| c.borrow_mut().push(handle));
}

/// Removes the most recent entry of `handle` from the stack.
pub(crate) fn remove(handle: &Handle) {
    CURRENT.with(|c| {
        let mut stack = c.borrow_mut();
        if let Some(pos) = stack.iter().rposition(|h| Rc::ptr_eq(h, handle)) {
            stack.remove(pos);
        }
    });
}

thread_local! {
    /// Whether this thread is inside a task's poll, where a panic is caught and becomes
    /// the run's failure ([`crate::task::in_task_poll`]).
    static IN_TASK_POLL: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether this thread is inside a task's poll (see [`crate::task::in_task_poll`]).
pub(crate) fn in_task_poll() -> bool {
    IN_TASK_POLL.with(std::cell::Cell::get)
}

/// Runs a task's code (its poll, or the drop of a future that panicked), catching a
/// panic, with [`in_task_poll`] true meanwhile.
pub(crate) fn in_task<R>(f: impl FnOnce() -> R) -> std::thread::Result<R> {
    let outer = IN_TASK_POLL.replace(true);
    let result = crate::coop::with_budget(|| std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)));
    IN_TASK_POLL.set(outer);
    result
}

/// Makes a simulation current, with its wake-ups on the fast path, until dropped.
pub(crate) struct EnterGuard {
    handle: Handle,
    _wakes: FastWakeGuard,
}

impl EnterGuard {
    pub(crate) fn new(handle: &Handle) -> EnterGuard {
        push(handle.clone());
        let wakes = FastWakeGuard::new(handle.core.borrow().wake_queue());
        EnterGuard { handle: handle.clone(), _wakes: wakes }
    }
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        remove(&self.handle);
    }
}
