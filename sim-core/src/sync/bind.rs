//! How a primitive reaches the simulation it belongs to (see the pattern in
//! [`crate::sync`]'s module documentation).
//!
//! A primitive holds a [`Binding`], never a handle to the simulation: the binding is
//! `Send + Sync` (a name, a creation site, and once registered, the simulation's
//! number and the primitive's id there). Each operation asks [`Binding::reach`] for
//! the simulation current on this thread:
//! - none: the primitive works as plain async code (wakers only, nothing recorded);
//! - the one it is registered in: the operation is traced, footprinted, waited on;
//! - it is not registered yet (created outside any simulation): it registers now, in
//!   this one, and is recorded from this first use on;
//! - another simulation: the run stops with [`FailureKind::Escape`](crate::FailureKind::Escape)
//!   naming the task and the primitive (its ids, waits and trace belong to the first
//!   simulation, so recording it here would be wrong), and the operation goes on
//!   unrecorded until the run stops after the current step.

use std::panic::Location;
use std::sync::OnceLock;

use crate::access::Access;
use crate::context::{self, Handle};
use crate::core::location_name;
use crate::trace::{MessageValue, RecordKind};
use crate::{ChannelId, Wait};

/// The simulation a primitive is registered in, reached at each operation.
pub(crate) struct Binding {
    /// The explicit name, or the enclosing `named` scope's at creation.
    name: Option<String>,
    /// The creation site, the default name.
    at: &'static Location<'static>,
    /// The simulation's number and the primitive's id there, from its first use in one.
    slot: OnceLock<(u64, ChannelId)>,
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
        let binding = Binding { name: name.or_else(crate::core::scoped_name), at, slot: OnceLock::new() };
        drop(binding.reach());
        binding
    }

    /// A binding created at `at` under its default name, registered at its first use
    /// in a simulation (for `const` constructors, which cannot reach one).
    pub(crate) const fn unregistered(at: &'static Location<'static>) -> Binding {
        Binding { name: None, at, slot: OnceLock::new() }
    }

    /// The primitive's id in the simulation it is registered in, if any.
    pub(crate) fn id(&self) -> Option<ChannelId> {
        self.slot.get().map(|&(_, id)| id)
    }

    /// The name the primitive has (or will have) in traces.
    pub(crate) fn name(&self) -> String {
        self.name.clone().unwrap_or_else(|| location_name(self.at))
    }

    /// The current simulation, when the primitive belongs to it (registering it on
    /// first use); `None` outside any simulation, or in another one (which then
    /// stops with an escape).
    pub(crate) fn reach(&self) -> Option<Bound> {
        let handle = context::try_current()?;
        match self.slot.get() {
            Some(&(sim, id)) if sim == handle.id => Some(Bound { handle, id }),
            Some(_) => {
                {
                    let mut core = handle.engine();
                    let task = core.current();
                    core.escape(
                        task,
                        format!(
                            "`{}` was registered in another simulation: a sync primitive belongs to the first \
                             simulation that uses it (create one per simulation)",
                            self.name()
                        ),
                    );
                }
                None
            }
            None => {
                let id = handle.engine().register_channel(self.name.clone(), self.at);
                match self.slot.set((handle.id, id)) {
                    Ok(()) => Some(Bound { handle, id }),
                    // Registered meanwhile from another thread's simulation.
                    Err(_) => {
                        drop(handle);
                        self.reach()
                    }
                }
            }
        }
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
        let (tx, _rx) = mpsc::unbounded_channel_named::<u32>("late");
        let handle = crate::context::current();
        let _held = handle.core.borrow_mut();
        let _ = tx.send(1);
        drop(sim);
    }
}
