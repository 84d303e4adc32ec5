//! What the exhaustive and proptest searches report, and the explorers' pieces that
//! work on a tape: shrinking, the critical pair, schedules as proptest values, and
//! schedule independence.
//!
//! **Checks run through [`crate::check`]**: `check_exhaustive`, `check_proptest` and
//! [`Check`](crate::check::Check) run an async-closure world under the explorers here,
//! with one configuration; their [`Report`](crate::check::Report) holds an
//! [`ExhaustiveSummary`] or a [`PropSummary`]. What remains public here:
//!
//! - [`ExhaustiveSummary`], [`FailingOrder`], [`PropSummary`], [`Counterexample`]: what
//!   those searches found (the `lockstep` tool prints them too).
//! - [`schedules`] and [`Schedule`]: a [`proptest`] strategy for schedules (a number per
//!   choice point, biased toward 0, the canonical order), run through
//!   [`StrategyKind::Scripted`], to draw beside inputs in a plain proptest runner.
//!   Shrinking the numbers toward 0 removes departures from the canonical order.
//! - [`shrink_tape`]: shrink a failing tape from anywhere (a seed's report, a PCT run)
//!   by setting departures back to canonical while the run still fails the same way,
//!   then searching every tape with fewer departures (bounded) for the fewest
//!   ([`Minimality`] says which it reached).
//! - [`critical_pair`]: flip each departure of a failing tape to find the nearest
//!   passing schedule and name the two events whose order decides the outcome.
//! - [`schedule_independence`] and [`timeline_independence`]: run a closure that returns
//!   an output under FIFO and several seeds and report the first two runs whose
//!   outputs differ.
//!
//! These take the world as a closure over a simulation they create (`Fn(&mut Sim) ->
//! …`), since they run one tape, or compare outputs, rather than check a property: the
//! simulation is current while the closure runs, so it spawns its world, runs it and
//! returns what it found. Deep bugs are the business of PCT ([`crate::StrategyKind::Pct`]),
//! the enumerators that of [`crate::tooling::strategy`].

mod critical;
mod exhaustive;
mod independence;
#[cfg(feature = "proptest")]
mod prop;
#[cfg(feature = "proptest")]
mod schedule;
mod shrink;

pub use critical::{critical_pair, describe_event, CriticalPair};
pub(crate) use exhaustive::{exhaustive_check_with, ExhaustiveCheck};
pub use exhaustive::{ExhaustiveSummary, FailingOrder};
pub use independence::{
    schedule_independence, timeline_independence, Independence, OutputDifference, ScheduleDependence, ScheduleRun,
};
#[cfg(feature = "proptest")]
pub(crate) use prop::{prop_check_with, run_cases, PropCheck};
#[cfg(feature = "proptest")]
pub use prop::{Counterexample, PropSummary};
#[cfg(feature = "proptest")]
pub use schedule::{schedules, Schedule, DEPARTURE_WEIGHT};
pub use shrink::{shrink_tape, shrink_tape_bounded, Minimality, Shrunk, DEFAULT_MINIMAL_SEARCH};

use crate::env::EnvOverrides;
use crate::trace::{Trace, TraceMode};
use crate::{Config, Failure, Sim, StrategyKind, Tape};

/// What one run of a property did.
struct Run {
    result: Result<(), Box<Failure>>,
    /// Every choice made, canonical ones included.
    recorded: Tape,
    /// The whole trace, when the configuration kept it ([`TraceMode::Full`]).
    trace: Option<Trace>,
}

/// The configuration of one run of a check: its template with `strategy`, and the
/// check's name when it has one.
fn run_config(template: &Config, name: Option<&str>, strategy: StrategyKind) -> Config {
    let config = template.clone().strategy(strategy);
    match name {
        Some(name) => config.name(name),
        None => config,
    }
}

/// `template` with the replay hint of a check run by the calling test when it has
/// none (`LOCKSTEP_TAPE='<tape>' <command>`), and watched by the poll watchdog
/// (`LOCKSTEP_POLL_TIMEOUT`, else its own bound, else the default), as `check` does.
fn with_tape_hint(template: &Config, env: &EnvOverrides) -> Config {
    let mut config = watched(template, env);
    if let (None, Some(command)) = (&config.replay_hint, &env.test_command) {
        config.replay_hint = Some(format!("LOCKSTEP_TAPE='{{tape}}' {command}"));
    }
    config
}

/// `template` watched by the poll watchdog: `LOCKSTEP_POLL_TIMEOUT`, else its own
/// bound, else [`DEFAULT_BOUND`](crate::watchdog::DEFAULT_BOUND).
fn watched(template: &Config, env: &EnvOverrides) -> Config {
    let mut config = template.clone();
    config.poll_timeout = env.poll_timeout.or(config.poll_timeout).or(Some(crate::watchdog::DEFAULT_BOUND));
    config
}

/// Runs `property` once in a fresh simulation configured by `config`.
fn run_once(config: Config, property: &dyn Fn(&mut Sim) -> Result<(), Box<Failure>>) -> Run {
    let mut sim = Sim::new(config);
    let result = property(&mut sim);
    let trace = (sim.config().trace == TraceMode::Full).then(|| sim.trace());
    Run { result, recorded: sim.recorded_tape(), trace }
}
