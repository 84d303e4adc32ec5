//! PCT: probabilistic concurrency testing with priority change points
//! (Burckhardt, Kothari, Musuvathi, Nagarakatte, ASPLOS 2010), adapted to events.
//!
//! Every *priority holder* gets a random priority the first time one of its events
//! appears among the candidates of a scheduling choice point; at each such point the
//! candidate whose holder has the highest priority goes first. Before the run,
//! `depth - 1` *change points* are drawn uniformly among the first `steps`
//! scheduling choice points; at the `i`-th one, the holder that would go first drops
//! to priority `depth - i`, below every initial priority (and below the holders
//! dropped before it).
//!
//! The holders: a task (its wake-ups: it has at most one pending at a time), each
//! timer (by the task that created it and its number), and each event that belongs
//! to neither (a delivery on a channel with latency, a timer set outside any task).
//! So no two candidates of one choice point share a holder, and every pair of
//! events due at the same instant can go either way: a task's poll against its own
//! timer included.
//!
//! # The guarantee
//! For a program whose scheduling choice points involve at most `n` priority holders
//! in all, with at most `k` scheduling choice points per run, PCT finds a bug of
//! depth `d` (one that shows whenever `d` ordering constraints between events due at
//! the same instant hold) with probability at least `1 / (n * k^(d-1))` per run, when
//! run with `depth = d` and `steps >= k`, given that the code-level choices (below) go
//! the bug's way. Random tie-breaking gives no such bound: a bug that needs one task
//! to stay ahead of another for many choice points in a row is found with a
//! probability that falls exponentially with their number.
//!
//! # What the adaptation to events changes
//! - **Steps are scheduling choice points**, not every step: a step with a single
//!   eligible event decides nothing, so `k` counts only choice points, which makes
//!   it (and the bound) smaller than in the paper.
//! - **"Threads" are priority holders**: tasks, timers and ownerless events, as
//!   above. A holder that never appears at a choice point draws no priority and does
//!   not count towards `n`.
//! - **Choices made by code** (a [`select`](crate::select::select) among ready
//!   branches, [`choose`](crate::choose)) are not scheduling: they are drawn
//!   uniformly from the same seeded generator, as seeded random tie-breaking does. The
//!   bound holds for the scheduling constraints of a bug, given that such choices go
//!   the bug's way.
//! - Change points beyond the run's last choice point are never reached; an
//!   estimate of `steps` far above the real count weakens the bound accordingly.

use std::collections::BTreeMap;

use super::random::SimRng;
use super::{ChoiceKind, ChoicePoint, Policy};
use crate::identity::IdentityKind;
use crate::TaskId;

/// The default estimate of scheduling choice points per run (`k`).
pub const DEFAULT_STEPS: u64 = 100;

/// Who holds a priority: a task (its wake-ups), a timer (by its creator and its
/// number), or an event that belongs to neither.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Holder {
    Task(TaskId),
    Timer(TaskId, u32),
    Event(u64),
}

/// Random task priorities with `depth - 1` priority change points.
#[derive(Clone, Debug)]
pub(crate) struct Pct {
    seed: u64,
    depth: u32,
    steps: u64,
    rng: SimRng,
    priorities: BTreeMap<Holder, u64>,
    /// Choice-point numbers (from 1) at which a priority drops, in increasing order.
    change_points: Vec<u64>,
    /// Scheduling choice points seen so far.
    seen: u64,
    /// Change points passed so far.
    changes: u32,
}

impl Pct {
    /// PCT for `seed`, finding bugs of depth up to `depth` (at least 1) in runs of
    /// about `steps` scheduling choice points (at least 1).
    pub fn new(seed: u64, depth: u32, steps: u64) -> Pct {
        let depth = depth.max(1);
        let steps = steps.max(1);
        let mut rng = SimRng::new(seed);
        let wanted = u64::from(depth - 1).min(steps);
        let mut change_points: Vec<u64> = Vec::new();
        while (change_points.len() as u64) < wanted {
            let point = rng.below(steps) + 1;
            if !change_points.contains(&point) {
                change_points.push(point);
            }
        }
        change_points.sort_unstable();
        Pct { seed, depth, steps, rng, priorities: BTreeMap::new(), change_points, seen: 0, changes: 0 }
    }

    /// The choice points (numbered from 1) at which a priority drops.
    #[cfg(test)]
    pub(crate) fn change_points(&self) -> &[u64] {
        &self.change_points
    }

    fn holder(point: &ChoicePoint<'_>, index: usize) -> Holder {
        let candidate = point.candidates[index];
        match (candidate.event.kind, candidate.task) {
            (IdentityKind::Timer, Some(owner)) => Holder::Timer(owner, candidate.event.seq),
            (_, Some(task)) => Holder::Task(task),
            (_, None) => Holder::Event(candidate.seq),
        }
    }

    /// The priority of `holder`, drawn on first sight above every change-point priority.
    fn priority(&mut self, holder: Holder) -> u64 {
        let floor = u64::from(self.depth);
        let rng = &mut self.rng;
        *self.priorities.entry(holder).or_insert_with(|| floor + (rng.next_u64() >> 1))
    }

    /// The index of the candidate with the highest priority (the oldest on a tie).
    fn highest(&mut self, point: &ChoicePoint<'_>) -> usize {
        let mut best = 0;
        let mut best_priority = self.priority(Pct::holder(point, 0));
        for index in 1..point.candidates.len() {
            let priority = self.priority(Pct::holder(point, index));
            if priority > best_priority {
                best = index;
                best_priority = priority;
            }
        }
        best
    }

    fn schedule(&mut self, point: &ChoicePoint<'_>) -> usize {
        self.seen += 1;
        let best = self.highest(point);
        if self.change_points.get(self.changes as usize) != Some(&self.seen) {
            return best;
        }
        self.changes += 1;
        let lowered = u64::from(self.depth - self.changes);
        self.priorities.insert(Pct::holder(point, best), lowered);
        self.highest(point)
    }
}

impl Policy for Pct {
    fn choose(&mut self, point: &ChoicePoint<'_>) -> usize {
        if point.kind == ChoiceKind::Schedule && point.candidates.len() == point.options {
            self.schedule(point)
        } else {
            self.rng.below(point.options as u64) as usize
        }
    }

    fn describe(&self) -> String {
        format!("pct(seed={},depth={},steps={})", self.seed, self.depth, self.steps)
    }

    fn wants_candidates(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategy::Candidate;

    fn point(candidates: &[Candidate]) -> ChoicePoint<'_> {
        ChoicePoint {
            options: candidates.len(),
            kind: ChoiceKind::Schedule,
            step: 1,
            candidates,
            identities: &[],
            identity: None,
        }
    }

    fn task(id: u32, seq: u64) -> Candidate {
        let event = crate::identity::EventKey {
            kind: crate::identity::IdentityKind::Poll,
            task: Some(TaskId(id)),
            channel: None,
            seq: 0,
            waiter: Some(TaskId(id)),
        };
        Candidate { task: Some(TaskId(id)), seq, event }
    }

    fn timer(owner: u32, number: u32, seq: u64) -> Candidate {
        let event = crate::identity::EventKey {
            kind: IdentityKind::Timer,
            task: Some(TaskId(owner)),
            channel: None,
            seq: number,
            waiter: Some(TaskId(owner)),
        };
        Candidate { task: Some(TaskId(owner)), seq, event }
    }

    #[test]
    fn a_task_and_its_own_timers_hold_priorities_of_their_own() {
        // Task 0's wake-up against its own timers 0 and 1: three holders, so at depth 1
        // each of the three goes first under some seed (never a tie kept canonical).
        let mut first = std::collections::BTreeSet::new();
        for seed in 0..60 {
            let mut pct = Pct::new(seed, 1, 10);
            let candidates = [timer(0, 0, 0), timer(0, 1, 1), task(0, 2)];
            first.insert(pct.choose(&point(&candidates)));
        }
        assert_eq!(first.into_iter().collect::<Vec<_>>(), [0, 1, 2]);
    }

    #[test]
    fn change_points_are_distinct_and_within_the_estimate() {
        for seed in 0..200 {
            let pct = Pct::new(seed, 4, 5);
            let points = pct.change_points();
            assert_eq!(points.len(), 3);
            assert!(points.windows(2).all(|w| w[0] < w[1]), "{points:?}");
            assert!(points.iter().all(|&p| (1..=5).contains(&p)), "{points:?}");
        }
        assert_eq!(Pct::new(0, 9, 3).change_points(), [1, 2, 3], "capped at the estimate");
        assert!(Pct::new(0, 1, 100).change_points().is_empty(), "depth 1: no change point");
    }

    #[test]
    fn without_change_points_the_same_task_always_wins() {
        for seed in 0..50 {
            let mut pct = Pct::new(seed, 1, 10);
            let first = pct.choose(&point(&[task(0, 0), task(1, 1)]));
            let winner = [0, 1][first];
            for round in 0..20 {
                let candidates = [task(1, 2 * round + 2), task(0, 2 * round + 3)];
                let pick = pct.choose(&point(&candidates));
                assert_eq!(candidates[pick].task, Some(TaskId(winner)), "seed {seed}");
            }
        }
    }

    #[test]
    fn at_a_change_point_the_leading_task_drops_below_the_others() {
        let seed = (0..).find(|&s| Pct::new(s, 2, 3).change_points() == [2]).unwrap();
        let mut pct = Pct::new(seed, 2, 3);
        let candidates = [task(0, 0), task(1, 1)];
        let leader = pct.choose(&point(&candidates));
        let after = pct.choose(&point(&candidates));
        assert_ne!(leader, after, "the leader dropped at choice point 2");
        assert_eq!(pct.choose(&point(&candidates)), after, "and stays below");
    }
}
