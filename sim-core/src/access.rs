//! What one step of a run touched ([`Access`], [`Footprint`]), and when two steps
//! commute: plain values, below the engine that collects them and the strategies
//! that use them. Documented for users in [`crate::footprint`].

use std::fmt;

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
    /// Touched memory declared with [`touch`](crate::footprint::touch) (the hash of its name).
    Shared(u64),
    /// Ended the run (a violation, a panic, or the step after which the driver
    /// stops): orders it with everything.
    Stop,
}

impl Access {
    /// Whether a step with `self` and a step with `other` may not commute.
    pub(crate) fn conflicts_with(&self, other: &Access) -> bool {
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
    pub(crate) fn new(mut accesses: Vec<Access>) -> Footprint {
        accesses.sort_unstable();
        accesses.dedup();
        Footprint { accesses }
    }

    /// The accesses, sorted.
    #[cfg(test)]
    fn accesses(&self) -> &[Access] {
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
    pub(crate) fn merge(&mut self, other: &Footprint) {
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
    }
}
