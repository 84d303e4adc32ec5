//! Exploring the catalogue with every strategy: how many seeds or runs each needs
//! to find each race, whether enumeration exhausts the fixed variants, and how far
//! the proptest path shrinks each failure.
//!
//! `cargo run --release -p scenarios --example catalogue_exploration` prints the table
//! of `docs/exploration.md` from these functions.

use std::collections::BTreeSet;
use std::sync::Arc;

use sim_core::check::{Check, Report, Search, StopAt};
use sim_core::explore::PropSummary;
use sim_core::tooling::env::EnvOverrides;
use sim_core::tooling::strategy::{explore_all, Strategy};
use sim_core::tooling::strategy::{explore_reduced, ExploreError};
use sim_core::{Config, Failure, Sim, StrategyKind, Tape};

use crate::scenario::Outcome;
use crate::world::{Ctx, Timeline};
use crate::Scenario;

/// Runs the scenario's world on `sim` (built there, run as `main`, checked by its harness).
pub fn run_on(scenario: &Scenario, ctx: &Ctx, sim: &mut Sim) -> Result<(), Box<Failure>> {
    let world = sim.enter(|| scenario.build(ctx));
    sim.block_on(world.harness)
}

/// The scenario as a property over simulations (for the proptest path and shrinking).
pub fn property(scenario: &Scenario) -> impl Fn(&mut Sim) -> Result<(), Box<Failure>> + '_ {
    let canonical: Option<Arc<Timeline>> = scenario.ctx().canonical;
    move |sim| run_on(scenario, &Ctx { canonical: canonical.clone() }, sim)
}

/// The first seed below `max` whose run fails under `search` (random or PCT), on `jobs` threads.
pub fn first_failing_seed(scenario: &Scenario, search: Search, max: u64, jobs: usize) -> Option<u64> {
    let cfg = Check::new(search, max).jobs(jobs).stop(StopAt::FirstFailure);
    scenario.check(cfg, &|| {}).first_failure().and_then(|f| f.seed)
}

/// What enumerating one class of orders per set of commuting events found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reduced {
    /// Complete runs (one per class).
    pub runs: usize,
    /// Runs cut short as redundant.
    pub redundant: usize,
    /// Failing runs (one per failing class).
    pub failing: usize,
    /// The 1-based number of the first failing complete run, if any.
    pub first_failing_run: Option<usize>,
    /// Whether the whole space was explored.
    pub exhausted: bool,
    /// Steps executed over all runs.
    pub steps: u64,
    /// Steps that re-executed a prefix an earlier run had executed.
    pub replayed_steps: u64,
}

/// Enumerates the scenario's orders with partial-order reduction, up to `limit` runs.
///
/// # Errors
/// [`ExploreError`] when the scenario does not replay its own prefixes.
pub fn reduced(scenario: &Scenario, limit: usize) -> Result<Reduced, ExploreError> {
    let result = explore_reduced(limit, |strategy: Box<dyn Strategy>| scenario.run_with(strategy).result.is_err())?;
    Ok(Reduced {
        runs: result.runs,
        redundant: result.redundant,
        failing: result.failing,
        first_failing_run: result.first_failing,
        exhausted: result.exhausted,
        steps: result.steps,
        replayed_steps: result.replayed_steps,
    })
}

/// What a run ended with, in a form two enumerations can compare: its failure
/// (kind, with the tasks blocked or the violation's message) or `pass`, and what
/// the world emitted, when.
pub fn summary(outcome: &Outcome) -> String {
    let result = match &outcome.result {
        Ok(()) => "pass".to_string(),
        Err(failure) => format!("{:?}", failure.kind),
    };
    format!("{result} | {:?}", outcome.output)
}

/// The distinct [`summary`]s of every order of the scenario, or `None` when it
/// has more than `limit` orders.
pub fn outcomes_of_every_order(scenario: &Scenario, limit: usize) -> Option<BTreeSet<String>> {
    let mut outcomes = BTreeSet::new();
    let exploration = explore_all(limit, |prefix| {
        let outcome = scenario.run_tape(prefix.clone());
        outcomes.insert(summary(&outcome));
        outcome.recorded
    });
    exploration.exhausted.then_some(outcomes)
}

/// The distinct [`summary`]s of one order per class (the reduced enumeration), or
/// `None` when it has more than `limit` classes.
///
/// # Errors
/// [`ExploreError`] when the scenario does not replay its own prefixes.
pub fn outcomes_of_reduced_orders(scenario: &Scenario, limit: usize) -> Result<Option<BTreeSet<String>>, ExploreError> {
    let mut outcomes = BTreeSet::new();
    let exploration = explore_reduced(limit, |strategy| {
        let outcome = scenario.run_with(strategy);
        outcomes.insert(summary(&outcome));
        outcome.result.is_err()
    })?;
    Ok(exploration.exhausted.then_some(outcomes))
}

/// Runs the proptest path over `cases` generated schedules.
pub fn proptest_path(scenario: &Scenario, cases: u32) -> PropSummary<()> {
    let cfg = Check::proptest(cases).name(scenario.name).sim(scenario.config(StrategyKind::Fifo));
    let canonical = scenario.ctx().canonical;
    let world = move || scenario.build(&Ctx { canonical: canonical.clone() }).harness;
    match cfg.run_with_env(&EnvOverrides::none(), world) {
        Report::Proptest(summary) => summary,
        _ => unreachable!("a proptest check reports a proptest summary"),
    }
}

/// Replays `tape` on the scenario: its failure class (`pass` when it passes).
pub fn replay_class(scenario: &Scenario, tape: &Tape) -> &'static str {
    let mut sim = Sim::new(scenario.config(StrategyKind::Replay(tape.clone())));
    match run_on(scenario, &scenario.ctx(), &mut sim) {
        Ok(()) => "pass",
        Err(failure) => failure.kind.class(),
    }
}

/// The configuration of a plain run of `scenario` (re-exported for examples).
pub fn config(scenario: &Scenario) -> Config {
    scenario.config(StrategyKind::Fifo)
}
