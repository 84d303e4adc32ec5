//! The tool builders' layer under the check runner: exploring schedules of a world
//! that the caller builds on a [`Sim`] itself (`Fn(&mut Sim) -> Result`), shrinking a
//! tape, the critical pair of a failure, and schedule independence as a check.
//!
//! **Tests use `sim_core::check`**: `check_exhaustive`, `check_proptest` and
//! `Check` run an async-closure world under these same explorers, with one
//! configuration, and are what the docs show. The entry points here that take a
//! `&mut Sim` closure (`exhaustive_check`, `proptest_check`, `proptest_check_with`)
//! are that machinery, for tools that own the simulation (the engine's own tests of
//! the explorers use them).
//!
//! - [`schedules`] and [`Schedule`]: a [`proptest`] strategy for schedules (a number per
//!   choice point, biased toward 0, the canonical order), run through
//!   [`StrategyKind::Scripted`]. Shrinking the numbers toward 0 removes departures from
//!   the canonical order.
//! - [`proptest_check`] and [`proptest_check_with`]: run a property over generated
//!   cases, one simulation per case, shrink the first failure (the inputs with the
//!   schedule), and report the shrunk tape, the replay command and the critical pair.
//! - [`shrink_tape`]: shrink a failing tape from anywhere (a seed's report, a PCT run)
//!   by setting departures back to canonical while the run still fails the same way,
//!   then searching every tape with fewer departures (bounded) for the fewest
//!   ([`Minimality`] says which it reached).
//! - [`critical_pair`]: flip each departure of a failing tape to find the nearest
//!   passing schedule and name the two events whose order decides the outcome.
//! - [`exhaustive_check`]: run a property under every order (one per class of orders
//!   that differ only by commuting steps), and say whether it is proven, or shrink
//!   and explain its first failing order.
//! - [`schedule_independence`] and [`timeline_independence`]: run a closure that returns
//!   an output under FIFO and several seeds and report the first two runs whose
//!   outputs differ.
//!
//! Deep bugs are the business of PCT ([`crate::StrategyKind::Pct`]),
//! exhaustive enumeration that of [`crate::tooling::strategy`].
//!
//! Every helper here takes the property as a closure over a simulation it has
//! created (`Fn(&mut Sim) -> …`): the simulation is current while the closure runs,
//! so it spawns its world, runs it and checks it. The helper owns the configuration
//! (the schedule, the trace mode, the name) so that it can run the same world again
//! under another schedule and read the trace of any run.

mod critical;
mod exhaustive;
mod independence;
#[cfg(feature = "proptest")]
mod prop;
#[cfg(feature = "proptest")]
mod schedule;
mod shrink;

pub use critical::{critical_pair, describe_event, CriticalPair};
pub use exhaustive::{exhaustive_check, exhaustive_check_with, ExhaustiveCheck, ExhaustiveSummary, FailingOrder};
pub use independence::{
    schedule_independence, timeline_independence, Independence, OutputDifference, ScheduleDependence, ScheduleRun,
};
#[cfg(feature = "proptest")]
pub(crate) use prop::prop_check_with;
#[cfg(feature = "proptest")]
pub use prop::{proptest_check, proptest_check_with, Counterexample, PropCheck, PropSummary};
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

/// The name of a check by default: the current thread's, which `cargo test` sets to
/// the test's path (none on a thread called `main`).
fn default_name() -> Option<String> {
    std::thread::current().name().filter(|n| *n != "main").map(str::to_string)
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

/// Replays one tape (from `LOCKSTEP_TAPE`) under `config` with its full trace kept,
/// and prints the trace to standard error.
fn replay_printed(config: Config, tape: &Tape, property: &dyn Fn(&mut Sim) -> Result<(), Box<Failure>>) -> Run {
    let run = run_once(config.strategy(StrategyKind::Replay(tape.clone())).trace(TraceMode::Full), property);
    if let Some(trace) = &run.trace {
        eprintln!("lockstep: replaying tape {tape}; full trace:");
        eprint!("{trace}");
    }
    run
}

/// Runs `property` once in a fresh simulation configured by `config`.
fn run_once(config: Config, property: &dyn Fn(&mut Sim) -> Result<(), Box<Failure>>) -> Run {
    let mut sim = Sim::new(config);
    let result = property(&mut sim);
    let trace = (sim.config().trace == TraceMode::Full).then(|| sim.trace());
    Run { result, recorded: sim.recorded_tape(), trace }
}
