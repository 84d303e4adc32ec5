//! How a primitive reaches the simulation it belongs to (see the pattern in
//! [`crate::sync`]'s module documentation).
//!
//! A primitive holds a [`Binding`], never a handle to the simulation: the binding is
//! `Send + Sync` (a name, a creation site, and once registered, the simulation and
//! the primitive's id there). Each operation asks [`Binding::reach`] for the
//! simulation current on this thread:
//! - none: the primitive works as plain async code (wakers only, nothing recorded);
//! - the one it is registered in: the operation is traced, footprinted, waited on;
//! - it is not registered yet (created outside any simulation, a `static` made by a
//!   `const fn`): it registers now, in this one, and is recorded from this first use on;
//! - it is registered in a simulation that has ended (the next seed, the determinism
//!   check's replay, the next test): it moves to this one, as above. Its state
//!   carries over, as a tokio primitive's does from one runtime to the next in one
//!   process; the waits of the ended simulation's tasks left with their futures,
//!   which that simulation dropped, and a waker of theirs still kept somewhere wakes
//!   nothing (their simulation is gone);
//! - it is registered in another simulation that is still running (on another thread,
//!   or alive on this one): the run stops with [`FailureKind::Escape`](crate::FailureKind::Escape)
//!   naming the task and the primitive (its ids, waits and trace belong to that one),
//!   and the operation goes on unrecorded until the run stops after the current step.
//!
//! A check's runs never meet there by accident of timing: its first run goes alone,
//! and if it used a primitive that other simulations share, the check runs on one
//! thread (`crate::check`); a shared primitive reached in a run the check started in
//! parallel ends that run as an escape (see [`ParallelRun`]).

use std::cell::Cell;
use std::panic::Location;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::access::Access;
use crate::context::{self, Handle, Life};
use crate::core::location_name;
use crate::trace::{MessageValue, RecordKind};
use crate::{ChannelId, Wait};

/// [`Binding::sim`] of a primitive registered nowhere.
const UNBOUND: u64 = u64::MAX;

/// The simulation a primitive is registered in, reached at each operation.
pub(crate) struct Binding {
    /// The explicit name, or the enclosing `named` scope's at creation.
    name: Option<String>,
    /// The creation site, the default name.
    at: &'static Location<'static>,
    /// The number of the simulation it is registered in ([`UNBOUND`] if none), read
    /// without locking by every operation. It names a simulation only after `id`
    /// holds the primitive's id there, and changes only when the primitive moves,
    /// which needs that simulation to have ended: an operation that finds its own
    /// simulation here reads a stable `id`.
    sim: AtomicU64,
    /// The primitive's id in that simulation.
    id: AtomicU32,
    /// That simulation; registering and moving happen under this lock.
    owner: Mutex<Option<Arc<Life>>>,
    /// Whether it stays in the simulation it is registered in even after that one
    /// ended (a channel with a latency: its messages in flight are that simulation's
    /// events).
    pinned: AtomicBool,
}

thread_local! {
    /// Whether this thread runs one of a check's runs alongside others (see [`ParallelRun`]).
    static PARALLEL: Cell<bool> = const { Cell::new(false) };
}

/// Marks the runs of this thread, until dropped, as one of a check's runs going in
/// parallel on several threads. A check goes parallel only when its first run, which
/// goes alone, used no primitive shared with other simulations; reaching one in a
/// parallel run (from a `static` the first run did not use, or one a parallel run
/// created and left behind) ends that run as an escape, whatever the timing of the
/// other threads, rather than let two runs share its state at the mercy of the
/// scheduler.
pub(crate) struct ParallelRun {
    outer: bool,
}

impl ParallelRun {
    pub(crate) fn new() -> ParallelRun {
        ParallelRun { outer: PARALLEL.replace(true) }
    }
}

impl Drop for ParallelRun {
    fn drop(&mut self) {
        PARALLEL.set(self.outer);
    }
}

/// A primitive in its own simulation, current on this thread.
pub(crate) struct Bound {
    pub(crate) handle: Handle,
    pub(crate) id: ChannelId,
}

impl Bound {
    /// Notes the primitive in the running step's footprint (when footprints are collected).
    #[inline]
    pub(crate) fn touch(&self) {
        self.handle.touch(Access::Channel(self.id));
    }

    /// Records an operation by the running task.
    pub(crate) fn record(&self, kind: RecordKind) {
        self.handle.engine().record_channel(kind, self.id);
    }

    /// Records a send or receive, with what the primitive records of the value.
    pub(crate) fn record_message(&self, kind: RecordKind, value: MessageValue) {
        self.handle.engine().record_message(kind, self.id, value);
    }

    /// Records that the running task waits on this primitive (for deadlock reports).
    pub(crate) fn wait_on(&self, wait: impl FnOnce(ChannelId) -> Wait) {
        self.handle.engine().wait_on(wait(self.id));
    }
}

impl Binding {
    /// A binding named `name` (else the enclosing scope's name, else the caller's
    /// line), registered at once in the current simulation if there is one.
    #[track_caller]
    pub(crate) fn new(name: Option<String>) -> Binding {
        Binding::at(name, Location::caller())
    }

    /// As [`Binding::new`], created at `at`.
    pub(crate) fn at(name: Option<String>, at: &'static Location<'static>) -> Binding {
        let mut binding = Binding::unregistered(at);
        binding.name = name.or_else(crate::core::scoped_name);
        if let Some(handle) = context::try_current() {
            drop(binding.register(handle, false));
        }
        binding
    }

    /// A binding created at `at` under its default name, registered at its first use
    /// in a simulation (for `const` constructors, which cannot reach one).
    pub(crate) const fn unregistered(at: &'static Location<'static>) -> Binding {
        Binding {
            name: None,
            at,
            sim: AtomicU64::new(UNBOUND),
            id: AtomicU32::new(0),
            owner: parking_lot::const_mutex(None),
            pinned: AtomicBool::new(false),
        }
    }

    /// Keeps the primitive in the simulation it is registered in, even once that one
    /// has ended (a later simulation that uses it then stops with an escape).
    pub(crate) fn pin(&self) {
        self.pinned.store(true, Ordering::Relaxed);
    }

    /// The primitive's id in the simulation it is registered in, if any.
    pub(crate) fn id(&self) -> Option<ChannelId> {
        (self.sim.load(Ordering::Acquire) != UNBOUND).then(|| ChannelId(self.id.load(Ordering::Relaxed)))
    }

    /// The name the primitive has (or will have) in traces.
    pub(crate) fn name(&self) -> String {
        self.name.clone().unwrap_or_else(|| location_name(self.at))
    }

    /// The current simulation, when the primitive belongs to it (registering it on
    /// first use, or moving it there from a simulation that has ended); `None`
    /// outside any simulation, or when it cannot belong to this one (which then
    /// stops with an escape).
    #[inline]
    pub(crate) fn reach(&self) -> Option<Bound> {
        let handle = context::try_current()?;
        if self.sim.load(Ordering::Acquire) == handle.id {
            let id = ChannelId(self.id.load(Ordering::Relaxed));
            return Some(Bound { handle, id });
        }
        self.register(handle, true)
    }

    /// Registers the primitive in `handle`'s simulation, unless it belongs to another
    /// that is still running. `shared`: it comes from outside this simulation (created
    /// outside any, or registered in another before).
    #[cold]
    fn register(&self, handle: Handle, shared: bool) -> Option<Bound> {
        let mut owner = self.owner.lock();
        let refusal = match owner.as_ref() {
            // Registered meanwhile by this simulation (cannot happen from another thread).
            Some(life) if life.id == handle.id => {
                return Some(Bound { id: ChannelId(self.id.load(Ordering::Relaxed)), handle });
            }
            Some(life) if life.alive.load(Ordering::Acquire) => Some(format!(
                "`{}` is in use by another simulation that is still running: a primitive belongs to one running \
                 simulation at a time, and moves to the next once its simulation has ended (a `static` used by two \
                 simulations at once: run them one after the other, or make one per simulation)",
                self.name()
            )),
            Some(_) if self.pinned.load(Ordering::Relaxed) => Some(format!(
                "`{}` is a channel with a latency: it belongs to the simulation that created it (its messages in \
                 flight are that simulation's events); make one per simulation",
                self.name()
            )),
            _ if shared && PARALLEL.get() => Some(format!(
                "`{}` is shared by the runs of this check (created outside them, e.g. a `static`, or left behind by \
                 another run), but the check's first run did not use it, so its runs were started on several threads \
                 at once: run the check on one thread (`.jobs(1)`, `LOCKSTEP_JOBS=1`), or make one per run",
                self.name()
            )),
            _ => None,
        };
        if let Some(cause) = refusal {
            drop(owner);
            let mut core = handle.engine();
            let task = core.current();
            core.escape(task, cause);
            return None;
        }
        let id = handle.engine().register_channel(self.name.clone(), self.at);
        let life = &handle.life;
        if let Some(previous) = owner.replace(life.clone()) {
            previous.bound.fetch_sub(1, Ordering::AcqRel);
        }
        life.bound.fetch_add(1, Ordering::AcqRel);
        if shared {
            life.shared_primitive.lock().get_or_insert_with(|| self.name());
            handle.outside.borrow_mut().push(id);
        }
        self.id.store(id.0, Ordering::Relaxed);
        self.sim.store(handle.id, Ordering::Release);
        drop(owner);
        Some(Bound { handle, id })
    }

    /// Notes the primitive in the running step's footprint.
    #[inline]
    pub(crate) fn touch(&self) {
        if let Some(b) = self.reach() {
            b.touch();
        }
    }

    /// Records an operation by the running task.
    pub(crate) fn record(&self, kind: RecordKind) {
        if let Some(b) = self.reach() {
            b.record(kind);
        }
    }

    /// Records a send or receive.
    pub(crate) fn record_message(&self, kind: RecordKind, value: MessageValue) {
        if let Some(b) = self.reach() {
            b.record_message(kind, value);
        }
    }

    /// Records that the running task waits on this primitive.
    pub(crate) fn wait_on(&self, wait: impl FnOnce(ChannelId) -> Wait) {
        if let Some(b) = self.reach() {
            b.wait_on(wait);
        }
    }
}

impl Drop for Binding {
    fn drop(&mut self) {
        if let Some(life) = self.owner.get_mut().take() {
            life.bound.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

impl std::fmt::Debug for Binding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.id() {
            Some(id) => write!(f, "{}", id.0),
            None => f.write_str("unregistered"),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::sync::mpsc;
    use crate::{Config, Sim};

    /// The engine never runs a primitive's code while it holds the simulation's state;
    /// if it ever did, the operation's trace record would be lost. That fails loudly,
    /// never silently (this test holds the state by hand to get there).
    #[test]
    #[should_panic(expected = "while the engine held the simulation's state")]
    fn a_primitive_used_while_the_engine_holds_its_state_fails_loudly() {
        let sim = Sim::new(Config::default());
        let (tx, _rx) = crate::named("late", || mpsc::unbounded_channel::<u32>());
        let handle = crate::context::current();
        let _held = handle.core.borrow_mut();
        let _ = tx.send(1);
        drop(sim);
    }
}
