//! Schedules as property-test values.

use std::fmt;

use proptest::collection::vec;
use proptest::prelude::{prop_oneof, Just, Strategy};

use crate::strategy::scripted::describe_script;
use crate::{Config, StrategyKind};

/// Out of [`DEPARTURE_WEIGHT`]` + 1` generated numbers, one on average is a
/// departure from the canonical order (a number in `1..8`), the others are 0.
pub const DEPARTURE_WEIGHT: u32 = 3;

/// A schedule: one number per choice point, run as `min(value, options - 1)` at the
/// `j`-th choice point and canonically past the end (see
/// [`StrategyKind::Scripted`](crate::StrategyKind::Scripted)). Its `Debug` form is `script[0,1,0,2]`.
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Schedule {
    values: Vec<u32>,
}

impl Schedule {
    /// A schedule of these numbers.
    pub fn new(values: Vec<u32>) -> Schedule {
        Schedule { values }
    }

    /// The numbers, one per choice point.
    pub fn values(&self) -> &[u32] {
        &self.values
    }

    /// How many numbers ask for a departure from the canonical order (an upper
    /// bound on the departures of a run: numbers past its last choice point count
    /// here but not on its tape).
    pub fn departures(&self) -> usize {
        self.values.iter().filter(|&&v| v != 0).count()
    }

    /// The strategy that runs this schedule.
    pub fn strategy(&self) -> StrategyKind {
        StrategyKind::Scripted(self.values.clone())
    }

    /// `template` with this schedule as its strategy.
    pub fn config(&self, template: Config) -> Config {
        template.strategy(self.strategy())
    }
}

impl fmt::Debug for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&describe_script(&self.values))
    }
}

/// A [`proptest`] strategy for schedules of up to `max_choices` numbers, each 0
/// (canonical) with probability 3/4 and otherwise in `1..8`.
///
/// Shrinking drops numbers and lowers each toward 0, so a failing schedule shrinks
/// toward the fewest departures from the canonical order. Draw it beside the inputs
/// to shrink both: `(inputs(), schedules(64))`.
///
/// ```
/// use proptest::strategy::{Strategy, ValueTree};
/// use proptest::test_runner::TestRunner;
/// use sim_core::explore::schedules;
///
/// let mut runner = TestRunner::deterministic();
/// let schedule = schedules(16).new_tree(&mut runner).unwrap().current();
/// assert!(schedule.values().len() <= 16);
/// assert!(schedule.values().iter().all(|&v| v < 8));
/// ```
pub fn schedules(max_choices: usize) -> impl Strategy<Value = Schedule> + Clone {
    let value = prop_oneof![DEPARTURE_WEIGHT => Just(0u32), 1 => 1u32..8];
    vec(value, 0..=max_choices).prop_map(Schedule::new)
}
