//! Footprints: what one step of a run touched, and when two steps commute.
//!
//! The reduced enumeration ([`explore_reduced`](crate::tooling::strategy::explore_reduced))
//! skips an order when it only swaps two steps that touch disjoint things. It learns
//! what a step touched by watching it run: the engine collects an [`Access`] for
//! every channel, timer and task the step reads or changes, every task it wakes, and
//! every task or channel it creates. Two steps whose footprints do not
//! [conflict](Footprint::conflicts_with) leave the same state in either order.

use std::fmt;

use crate::context;
use crate::{ChannelId, TaskId};

/// One thing a step touched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Access {
    /// Read or changed a channel's state (sent, received, probed, closed, cloned or
    /// dropped a sender, delivered).
    Channel(ChannelId),
    /// Fired, polled or cancelled a timer, named by the task that created it and its
    /// number among that task's timers (stable across orders, unlike timer ids).
    Timer(Option<TaskId>, u32),
    /// Polled, joined, aborted or ended the task.
    Task(TaskId),
    /// Woke the task. Wake-ups of one task commute with each other (a task is
    /// scheduled once) but not with a poll of it.
    Wake(TaskId),
    /// Created a task or a channel (ids and names are handed out in creation order).
    Create,
    /// Ended a task (finished or aborted). Task ends are ordered against each other:
    /// which of them is the last decides where [`Sim::run`](crate::Sim::run) stops,
    /// and the events still pending then are never applied.
    End,
    /// Touched memory declared with [`touch`] (the hash of its name).
    Shared(u64),
    /// Ended the run (a violation, a panic, or the step after which the driver
    /// stops): orders it with everything.
    Stop,
}

impl Access {
    /// Whether a step with `self` and a step with `other` may not commute.
    pub fn conflicts_with(&self, other: &Access) -> bool {
        use Access::{Stop, Task, Wake};
        match (self, other) {
            (Stop, _) | (_, Stop) => true,
            (Wake(_), Wake(_)) => false,
            (Wake(a), Task(b)) | (Task(a), Wake(b)) => a == b,
            (a, b) => a == b,
        }
    }
}

/// Everything one step touched: sorted, without repeats.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Footprint {
    accesses: Vec<Access>,
}

impl Footprint {
    /// A footprint of these accesses.
    pub fn new(mut accesses: Vec<Access>) -> Footprint {
        accesses.sort_unstable();
        accesses.dedup();
        Footprint { accesses }
    }

    /// The accesses, sorted.
    pub fn accesses(&self) -> &[Access] {
        &self.accesses
    }

    /// Whether the two steps may not commute: some access of one conflicts with
    /// some access of the other.
    pub fn conflicts_with(&self, other: &Footprint) -> bool {
        self.accesses.iter().any(|a| other.accesses.iter().any(|b| a.conflicts_with(b)))
    }

    pub(crate) fn into_accesses(self) -> Vec<Access> {
        self.accesses
    }

    /// Adds the accesses of `other` (a step that ran differently in another run).
    pub fn merge(&mut self, other: &Footprint) {
        self.accesses.extend_from_slice(&other.accesses);
        self.accesses.sort_unstable();
        self.accesses.dedup();
    }
}

impl fmt::Debug for Footprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(&self.accesses).finish()
    }
}

/// Declares that the running step reads or writes the shared memory called `name`,
/// so that the reduced enumeration orders it against every other step that touches
/// `name`. Outside a simulation, or while nothing collects footprints, it does
/// nothing (it costs one check).
///
/// # What the engine cannot see
/// Memory the tasks share outside Lockstep's primitives (an `Rc<RefCell<Vec<_>>>`
/// log, a counter in a `Cell`) is invisible to the engine. Declare it with
/// [`touch`] wherever a task reads or writes it, or the reduction may treat two
/// steps that both push to the log as commuting and explore only one order of
/// them: a "proof" that missed orders. State whose order cannot matter (a counter
/// only ever incremented and read after the run) needs no declaration.
///
/// ```
/// use std::cell::RefCell;
/// use std::rc::Rc;
/// use sim_core::{touch, spawn, Sim, Config};
///
/// let mut sim = Sim::new(Config::default());
/// let log = Rc::new(RefCell::new(Vec::new()));
/// for name in ["a", "b"] {
///     let log = log.clone();
///     sim.spawn_named(name, async move {
///         touch("log"); // the two pushes do not commute
///         log.borrow_mut().push(name);
///     });
/// }
/// sim.run().unwrap();
/// ```
pub fn touch(name: &str) {
    if let Some(handle) = context::try_current() {
        if handle.footprints {
            handle.touch(Access::Shared(name_hash(name)));
        }
    }
}

/// FNV-1a: a hash of the name that is the same in every run and on every platform.
fn name_hash(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wakes_commute_with_wakes_but_not_with_a_poll_of_their_task() {
        let (a, b) = (TaskId(0), TaskId(1));
        assert!(!Access::Wake(a).conflicts_with(&Access::Wake(a)));
        assert!(Access::Wake(a).conflicts_with(&Access::Task(a)));
        assert!(Access::Task(a).conflicts_with(&Access::Wake(a)));
        assert!(!Access::Wake(a).conflicts_with(&Access::Task(b)));
        assert!(Access::Stop.conflicts_with(&Access::Create));
        assert!(Access::Channel(ChannelId(3)).conflicts_with(&Access::Channel(ChannelId(3))));
        assert!(!Access::Channel(ChannelId(3)).conflicts_with(&Access::Channel(ChannelId(4))));
    }

    #[test]
    fn footprints_conflict_when_any_pair_of_accesses_does() {
        let f = Footprint::new(vec![Access::Task(TaskId(0)), Access::Channel(ChannelId(1)), Access::Task(TaskId(0))]);
        assert_eq!(f.accesses().len(), 2, "sorted without repeats");
        let g = Footprint::new(vec![Access::Task(TaskId(2)), Access::Channel(ChannelId(1))]);
        let h = Footprint::new(vec![Access::Task(TaskId(2)), Access::Wake(TaskId(5))]);
        assert!(f.conflicts_with(&g));
        assert!(!f.conflicts_with(&h));
        let mut m = h.clone();
        m.merge(&f);
        assert!(m.conflicts_with(&g));
        assert_eq!(name_hash("log"), name_hash("log"));
        assert_ne!(name_hash("log"), name_hash("out"));
    }
}
