//! Scheduling strategies: who decides at a choice point.
//!
//! A choice point arises whenever more than one event is eligible at the current
//! instant, or when a [`select`](crate::select::select) finds several branches ready, or when
//! code calls [`choose`](crate::choose). The strategy picks an index; index 0 is the
//! canonical order. Every pick is recorded on the run's [`Tape`], so a
//! run replays exactly whatever strategy made it.
//!
//! Users pick a strategy by its kind, [`StrategyKind`] (at the crate root), in a
//! [`Config`](crate::Config); tools get the rest through `tooling::strategy`. One file
//! per strategy: `fifo`, `random`, `replay`, `pct` (random priorities with change points,
//! for deep bugs), `scripted` (raw numbers per choice point, which property tests
//! generate and shrink), and `exhaustive` (the depth-first enumerators).

pub(crate) mod exhaustive;
mod fifo;
pub(crate) mod pct;
pub(crate) mod random;
pub(crate) mod replay;
pub(crate) mod scripted;

use crate::Tape;

pub use exhaustive::{explore_all, explore_reduced, Exploration, ExploreError, ReducedExploration};
pub use random::SimRng;

pub(crate) use fifo::Fifo;
pub(crate) use pct::Pct;
pub(crate) use random::Random;
pub(crate) use replay::Replay;
pub(crate) use scripted::Scripted;

/// A scheduling strategy: what resolves a run's choice points. Users name one with a
/// [`StrategyKind`] ([`Config::strategy`](crate::Config::strategy)); tool builders get
/// them from the enumerators ([`explore_all`], [`explore_reduced`]) and hand them to
/// [`sim_with`](crate::tooling::strategy::sim_with). The trait is sealed: its
/// methods are the engine's business, and every strategy is one of the kinds.
pub trait Strategy: sealed::Policy {}

impl<T: sealed::Policy + ?Sized> Strategy for T {}

pub(crate) use sealed::{Candidate, ChoiceKind, ChoicePoint, Policy};

/// The engine's side of a strategy: public items of a private module, so the trait can
/// name them while nothing outside the crate can.
mod sealed {
    use crate::access::Footprint;
    use crate::identity::{EventIdentity, EventKey};
    use crate::TaskId;

    /// What is being decided at a choice point.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum ChoiceKind {
        /// Which of several events due at the current instant the scheduler applies next.
        Schedule,
        /// Which of several ready branches a [`select`](crate::select::select) takes.
        Select,
        /// A value asked for with [`choose`](crate::choose).
        User,
    }

    /// One candidate at a scheduling choice point.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Candidate {
        /// The task the event would poll or wake, when there is one.
        pub task: Option<TaskId>,
        /// The order in which the event was queued (smaller is older).
        pub seq: u64,
        /// The event's key: stable across re-executions, and what it touches.
        pub event: EventKey,
    }

    /// Everything a strategy may look at when it picks.
    #[derive(Debug)]
    pub struct ChoicePoint<'a> {
        /// How many options there are (at least 2).
        pub options: usize,
        /// What is being decided.
        pub kind: ChoiceKind,
        /// The step about to be taken.
        pub step: u64,
        /// For [`ChoiceKind::Schedule`] and a strategy whose [`Policy::wants_identities`]
        /// is true, the identity of each candidate, in canonical order; empty otherwise.
        pub identities: &'a [EventIdentity],
        /// For a code-level choice ([`ChoiceKind::Select`], [`ChoiceKind::User`]) and a
        /// strategy whose [`Policy::wants_identities`] is true, the choice's identity.
        pub identity: Option<&'a EventIdentity>,
        /// For [`ChoiceKind::Schedule`] and a strategy whose [`Policy::wants_candidates`]
        /// is true, the candidates in canonical order; empty otherwise.
        pub candidates: &'a [Candidate],
    }

    /// A policy that resolves choice points. It must be deterministic given its own
    /// construction parameters: no clock, no OS randomness.
    pub trait Policy {
        /// Picks an index below `point.options`.
        fn choose(&mut self, point: &ChoicePoint<'_>) -> usize;

        /// A short description for reports, such as `random(seed=7)`.
        fn describe(&self) -> String;

        /// Whether [`ChoicePoint::candidates`] should be filled in (it costs a pass over
        /// the events due now at every choice point).
        fn wants_candidates(&self) -> bool {
            false
        }

        /// Called, for strategies whose [`Policy::wants_candidates`] is true, with each
        /// event the scheduler applies without a choice (the only one due). Explorers
        /// use it to track what ran between choice points.
        fn observe(&mut self, _event: &Candidate) {}

        /// Whether the engine should collect what each step touches and hand it to
        /// [`Policy::after_step`] (it costs a little on every channel and timer
        /// operation).
        fn wants_footprints(&self) -> bool {
            false
        }

        /// Called, for strategies whose [`Policy::wants_footprints`] is true, at the end
        /// of every step with what the step touched (see [`crate::footprint`]).
        fn after_step(&mut self, _footprint: &Footprint) {}

        /// Whether [`ChoicePoint::identities`] and [`ChoicePoint::identity`] should be
        /// filled in (it costs resolving names at every choice point).
        fn wants_identities(&self) -> bool {
            false
        }

        /// The seed, for strategies that have one.
        fn seed(&self) -> Option<u64> {
            None
        }

        /// Whether a replayed tape no longer matched the run (the option counts differed).
        fn diverged(&self) -> bool {
            false
        }
    }
}

/// The strategies a [`Config`](crate::Config) can name.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StrategyKind {
    /// Always the canonical order (index 0).
    Fifo,
    /// Uniformly random picks from a value-stable generator seeded with `seed`.
    Random {
        /// The seed.
        seed: u64,
    },
    /// Replays a tape; once it runs out, continues canonically.
    Replay(Tape),
    /// PCT: random task priorities with `depth - 1` change points among the first
    /// `steps` scheduling choice points (see `docs/exploration.md`). Its reports replay by tape,
    /// not by seed ([`StrategyKind::seed`] is `None`): `LOCKSTEP_SEED` means
    /// seeded random tie-breaking.
    Pct {
        /// The seed.
        seed: u64,
        /// The bug depth aimed at (at least 1): `depth - 1` change points.
        depth: u32,
        /// The estimated number of scheduling choice points of a run (`k`), over
        /// which change points are drawn;
        /// [`PCT_DEFAULT_STEPS`](crate::tooling::strategy::PCT_DEFAULT_STEPS) is a start.
        steps: u64,
    },
    /// Picks `min(values[j], options - 1)` at the `j`-th choice point; past the
    /// end, canonically. What a property-test framework drives.
    Scripted(Vec<u32>),
}

impl StrategyKind {
    /// Builds the strategy.
    pub(crate) fn build(&self) -> Box<dyn Strategy> {
        match self {
            StrategyKind::Fifo => Box::new(Fifo),
            StrategyKind::Random { seed } => Box::new(Random::new(*seed)),
            StrategyKind::Replay(tape) => Box::new(Replay::new(tape.clone())),
            StrategyKind::Pct { seed, depth, steps } => Box::new(Pct::new(*seed, *depth, *steps)),
            StrategyKind::Scripted(values) => Box::new(Scripted::new(values.clone())),
        }
    }

    /// The seed, for seeded strategies.
    pub fn seed(&self) -> Option<u64> {
        match self {
            StrategyKind::Random { seed } => Some(*seed),
            _ => None,
        }
    }
}
