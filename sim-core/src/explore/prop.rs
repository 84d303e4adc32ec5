//! Running a property over schedules (and inputs) generated and shrunk by proptest.

use std::cell::{Cell, RefCell};
use std::fmt;

use proptest::strategy::{Just, Strategy};
use proptest::test_runner::{
    Config as RunnerConfig, RngAlgorithm, RngSeed, TestCaseError, TestError, TestRng, TestRunner,
};

use super::critical::{critical_pair, CriticalPair};
use super::schedule::{schedules, Schedule};
use super::shrink::{shrink_tape_bounded, Minimality, DEFAULT_MINIMAL_SEARCH};
use super::{default_name, replay_printed, run_config, watched, with_tape_hint};
use crate::artefacts::{self, Written};
use crate::determinism::{confirm, Observed};
use crate::env::EnvOverrides;
use crate::prefix::{mismatch_failure, PrefixTrie, RunShape};
use crate::share::Share;
use crate::strategy::random::SimRng;
use crate::{Config, Failure, Sim, StrategyKind, Tape};

/// How [`proptest_check`] runs a property.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct PropCheck {
    /// The test name, used in reports. Default: the name of the current thread,
    /// which `cargo test` sets to the test's path (none on a thread called `main`).
    /// The replay command selects the test by its thread, whatever this name is.
    pub name: Option<String>,
    /// How many generated cases must pass. Default: 256.
    pub cases: u32,
    /// The longest schedule generated, in choice points (later ones are canonical).
    /// Default: 64.
    pub max_choices: usize,
    /// The seed of proptest's own generator: the same seed generates the same cases,
    /// so a check is reproducible as a whole. Default: 0; `LOCKSTEP_SEED` overrides it.
    pub seed: u64,
    /// At most this many runs are spent shrinking the first failure. Default: 2,048.
    pub max_shrink_iters: u32,
    /// At most this many runs search the tapes with fewer departures than the shrunk
    /// one for a globally minimal one ([`shrink_tape_bounded`](super::shrink_tape_bounded)).
    /// Default: [`DEFAULT_MINIMAL_SEARCH`](super::DEFAULT_MINIMAL_SEARCH).
    pub minimal_search: u32,
    /// Whether to look for the [critical pair](super::critical_pair) of the shrunk
    /// failure (a few more runs). Default: true.
    pub critical_pair: bool,
    /// The template of every simulation (limits, trace mode, replay hint); its
    /// strategy is replaced, and its poll watchdog bound is `LOCKSTEP_POLL_TIMEOUT`,
    /// else its own, else [`DEFAULT_BOUND`](crate::watchdog::DEFAULT_BOUND), as for
    /// `check`. Default: [`Config::default`].
    pub sim: Config,
    /// The share of generated cases run a second time and compared with their
    /// first run (fingerprint, outcome, trace); the first case always is, unless the
    /// share is 0. The first failing case and the shrunk one are always replayed. A
    /// mismatch ends the check with a failure of kind
    /// [`FailureKind::Nondeterministic`](crate::FailureKind::Nondeterministic),
    /// never a pass. Default: 5% ([`Share::DEFAULT_DETERMINISM`]);
    /// `LOCKSTEP_DETERMINISM` overrides it.
    pub determinism: Share,
}

impl Default for PropCheck {
    fn default() -> PropCheck {
        PropCheck {
            name: default_name(),
            cases: 256,
            max_choices: 64,
            seed: 0,
            max_shrink_iters: 2048,
            minimal_search: DEFAULT_MINIMAL_SEARCH,
            critical_pair: true,
            sim: Config::default(),
            determinism: Share::DEFAULT_DETERMINISM,
        }
    }
}

impl PropCheck {
    /// Sets the test name.
    pub fn name(mut self, name: impl Into<String>) -> PropCheck {
        self.name = Some(name.into());
        self
    }

    /// Sets the number of cases.
    pub fn cases(mut self, cases: u32) -> PropCheck {
        self.cases = cases;
        self
    }

    /// Sets the longest schedule generated.
    pub fn max_choices(mut self, max_choices: usize) -> PropCheck {
        self.max_choices = max_choices;
        self
    }

    /// Sets the seed of the case generator.
    pub fn seed(mut self, seed: u64) -> PropCheck {
        self.seed = seed;
        self
    }

    /// Sets the bound on the runs that search for a globally minimal failing tape.
    pub fn minimal_search(mut self, runs: u32) -> PropCheck {
        self.minimal_search = runs;
        self
    }

    /// Sets the share of cases run twice and compared (see [`PropCheck::determinism`]).
    pub fn determinism(mut self, share: Share) -> PropCheck {
        self.determinism = share;
        self
    }

    /// Sets the simulation template.
    pub fn sim(mut self, sim: Config) -> PropCheck {
        self.sim = sim;
        self
    }

    /// The simulation configuration of one run.
    fn config(&self, strategy: StrategyKind) -> Config {
        run_config(&self.sim, self.name.as_deref(), strategy)
    }

    /// proptest's runner: seeded, no failure files, no forking.
    fn runner(&self) -> TestRunner {
        let config = RunnerConfig {
            cases: self.cases,
            max_shrink_iters: self.max_shrink_iters,
            max_shrink_time: 0,
            failure_persistence: None,
            fork: false,
            timeout: 0,
            rng_algorithm: RngAlgorithm::ChaCha,
            rng_seed: RngSeed::Fixed(self.seed),
            verbose: 0,
            ..RunnerConfig::default()
        };
        let mut rng = SimRng::new(self.seed);
        let mut key = [0u8; 32];
        for chunk in key.chunks_exact_mut(8) {
            chunk.copy_from_slice(&rng.next_u64().to_le_bytes());
        }
        TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &key))
    }
}

/// A shrunk failing case.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Counterexample<V> {
    /// The shrunk inputs (`()` for [`proptest_check`]).
    pub inputs: V,
    /// The shrunk schedule as generated.
    pub schedule: Schedule,
    /// The tape of the shrunk run (trailing canonical choices left out), after
    /// [`shrink_tape_bounded`](super::shrink_tape_bounded) shrank it further (see
    /// [`Counterexample::minimality`]): it replays the failure with [`Config::replay`].
    pub tape: Tape,
    /// The shrunk run's failure report.
    pub failure: Box<Failure>,
    /// The generated case that failed first (from 1).
    pub failing_case: u32,
    /// Runs spent shrinking (proptest's, the greedy pass's, the search's).
    pub shrink_runs: u32,
    /// Whether the tape has the fewest departures that fail this way (among
    /// schedules of the shrunk inputs), or is only 1-minimal; `None` for a replayed tape.
    pub minimality: Option<Minimality>,
    /// The two events whose order decides the outcome, when found.
    pub critical: Option<CriticalPair>,
    /// How to replay it: a command when run by `cargo test`.
    pub replay: String,
    /// For a check with inputs, the Rust call that replays the shrunk case:
    /// `property(&<inputs>, &mut Sim::new(Config::replay("t2:…".parse()?)))`, where
    /// `property` is the closure given to the check (`None` for a case reported as
    /// it failed, without shrinking).
    pub replay_call: Option<String>,
    /// Where its artefacts (report, tape, trace, timeline) were written
    /// ([`crate::artefacts`]); `None` when they are off.
    pub artefacts: Option<Written>,
}

impl<V: fmt::Debug> fmt::Display for Counterexample<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.failure.name.as_deref().unwrap_or("property");
        let departures = self.tape.departures();
        writeln!(
            f,
            "lockstep: `{name}`: {} on generated case {}; shrunk in {} runs to {departures} departure{} from the canonical order",
            self.failure.kind.class(),
            self.failing_case,
            self.shrink_runs,
            if departures == 1 { "" } else { "s" }
        )?;
        if let Some(minimality) = self.minimality {
            writeln!(f, "  {minimality}")?;
        }
        let inputs = format!("{:?}", self.inputs);
        if inputs != "()" {
            writeln!(f, "  inputs: {inputs}")?;
        }
        writeln!(f, "  shrunk tape: {}", self.tape)?;
        if let Some(pair) = &self.critical {
            writeln!(f, "  critical pair: {pair}")?;
        }
        writeln!(f, "  replay: {}", self.replay)?;
        if let Some(written) = &self.artefacts {
            writeln!(f, "  artefacts: {written}")?;
        }
        if let Some(call) = self.replay_call.as_ref().filter(|call| **call != self.replay) {
            writeln!(f, "  in Rust: {call}")?;
        }
        writeln!(f, "the shrunk run's report:")?;
        write!(f, "{}", self.failure)
    }
}

/// What [`proptest_check`] found.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct PropSummary<V> {
    /// The test name.
    pub name: Option<String>,
    /// Generated cases run, up to and including the first failing one.
    pub cases_run: u32,
    /// The shrunk failure, if a case failed.
    pub counterexample: Option<Box<Counterexample<V>>>,
}

impl<V: fmt::Debug> PropSummary<V> {
    /// Whether every case passed.
    pub fn is_ok(&self) -> bool {
        self.counterexample.is_none()
    }

    /// Panics with the shrunk failure (tape, critical pair, replay command) if a case failed.
    ///
    /// # Panics
    /// When [`PropSummary::is_ok`] is false.
    #[track_caller]
    pub fn assert_ok(&self) {
        if !self.is_ok() {
            panic!("{self}");
        }
    }
}

impl<V: fmt::Debug> fmt::Display for PropSummary<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.counterexample {
            Some(counterexample) => write!(f, "{counterexample}"),
            None => {
                let name = self.name.as_deref().unwrap_or("property");
                write!(f, "lockstep: `{name}`: {} generated schedules passed", self.cases_run)
            }
        }
    }
}

/// Runs `property` over `cfg.cases` generated schedules, one simulation per case,
/// and shrinks the first failure toward the canonical order: to a globally minimal
/// tape when the search fits [`PropCheck::minimal_search`], else a 1-minimal one (see
/// [`shrink_tape_bounded`](super::shrink_tape_bounded)).
///
/// `property` receives a fresh simulation (current, configured with the case's
/// schedule and `cfg.sim`'s limits): it builds its world, runs it and returns the
/// failure, if any (a [`Sim::run`] error, or [`Sim::failure`] for a broken
/// property). While shrinking, only failures of the first failure's class
/// (deadlock, panic, …) count, so the shrunk case fails the same way.
///
/// The summary's counterexample carries the shrunk tape, which replays the failure
/// under [`Config::replay`], its [critical pair](super::critical_pair), and the
/// replay command; it is also printed to standard error. With `LOCKSTEP_TAPE` set,
/// only that tape runs (the printed command does this when `cfg.name` is the test's
/// name).
///
/// # Panics
/// When a `LOCKSTEP_*` variable holds a bad value.
///
/// ```
/// use std::time::Duration;
/// use sim_core::explore::{proptest_check, PropCheck};
/// use sim_core::time::sleep;
/// use sim_core::{fail, spawn};
///
/// // Two tasks wake at 10 ms; the property breaks when `b` goes first.
/// let summary = proptest_check(PropCheck::default().cases(64), |sim| {
///     let order = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
///     for name in ["a", "b"] {
///         let order = order.clone();
///         sim.spawn_named(name, async move {
///             sleep(Duration::from_millis(10)).await;
///             order.borrow_mut().push(name);
///         });
///     }
///     sim.spawn_named("check", async move {
///         sleep(Duration::from_millis(20)).await;
///         if order.borrow()[0] == "b" {
///             fail("b went first");
///         }
///     });
///     sim.run()
/// });
/// let found = summary.counterexample.expect("some schedule puts b first");
/// assert_eq!(found.tape.departures(), 1);
/// let pair = found.critical.expect("flipping the departure passes");
/// assert_eq!((pair.failing.as_str(), pair.passing.as_str()), ("poll of task `b` at 10ms", "poll of task `a` at 10ms"));
/// ```
pub fn proptest_check(cfg: PropCheck, property: impl Fn(&mut Sim) -> Result<(), Box<Failure>>) -> PropSummary<()> {
    let env = EnvOverrides::from_env().unwrap_or_else(|e| panic!("lockstep: {e}"));
    let cfg = PropCheck { sim: with_tape_hint(&cfg.sim, &env), ..cfg };
    if let Some(tape) = &env.tape {
        return replay_one(&cfg, tape.clone(), &property);
    }
    run_cases(cfg, &env, Just(()), |(), sim| property(sim))
}

/// [`proptest_check`] with the environment's overrides given rather than read; a
/// `LOCKSTEP_TAPE` in them is not looked at (the runner replays tapes itself).
pub(crate) fn prop_check_with(
    cfg: PropCheck,
    env: &EnvOverrides,
    property: impl Fn(&mut Sim) -> Result<(), Box<Failure>>,
) -> PropSummary<()> {
    let cfg = PropCheck { sim: with_tape_hint(&cfg.sim, env), ..cfg };
    run_cases(cfg, env, Just(()), |(), sim| property(sim))
}

/// [`proptest_check`] with inputs: each case draws `inputs` and a schedule
/// together, and shrinking minimises both (the inputs first, then the schedule).
///
/// The printed replay includes the Rust call that replays the shrunk case
/// ([`Counterexample::replay_call`], printed `in Rust:`):
/// `property(&<inputs>, &mut Sim::new(Config::replay("t2:…".parse()?)))`, where
/// `property` is the closure given here and the inputs are written as their `Debug`
/// form prints them (Rust syntax for numbers, strings, tuples; a `Vec` prints as an
/// array literal, which a property over a slice takes as it is); it is the
/// `replay:` line outside `cargo test`.
///
/// Run by `cargo test`, the `replay:` line is a command that runs the calling test
/// again with the check's generator seed, `LOCKSTEP_SEED=<seed> cargo test … -- --exact <test>`:
/// the same seed generates the same cases and shrinks them the same way, so the
/// check fails again with the same shrunk case. `LOCKSTEP_SEED` sets
/// [`PropCheck::seed`] (in [`proptest_check`] too), and `LOCKSTEP_DETERMINISM`
/// [`PropCheck::determinism`].
///
/// Every run is compared, at no cost in runs, with the earlier runs of the same
/// inputs (the same `Debug` text) that made the same choices: up to each choice
/// point they share, the two must have taken the same steps with the same trace,
/// and two runs that made all the same choices must end the same way. A mismatch
/// is a failure of kind [`FailureKind::Nondeterministic`](crate::FailureKind::Nondeterministic).
///
/// # Panics
/// When a `LOCKSTEP_*` variable holds a bad value, or `LOCKSTEP_TAPE` is set: a tape
/// replays a schedule, not the inputs (use the printed `LOCKSTEP_SEED` command).
pub fn proptest_check_with<S, V>(
    cfg: PropCheck,
    inputs: S,
    property: impl Fn(&V, &mut Sim) -> Result<(), Box<Failure>>,
) -> PropSummary<V>
where
    S: Strategy<Value = V>,
    V: Clone + fmt::Debug,
{
    let env = EnvOverrides::from_env().unwrap_or_else(|e| panic!("lockstep: {e}"));
    if let Some(tape) = &env.tape {
        panic!(
            "lockstep: LOCKSTEP_TAPE={tape} replays a schedule, not the inputs of `proptest_check_with`: \
             run the check again with its seed (the `LOCKSTEP_SEED=… cargo test` command its report prints)"
        );
    }
    run_cases(cfg, &env, inputs, property)
}

/// The body of [`proptest_check_with`], under the overrides `env`.
fn run_cases<S, V>(
    cfg: PropCheck,
    env: &EnvOverrides,
    inputs: S,
    property: impl Fn(&V, &mut Sim) -> Result<(), Box<Failure>>,
) -> PropSummary<V>
where
    S: Strategy<Value = V>,
    V: Clone + fmt::Debug,
{
    let seed = env.seed.unwrap_or(cfg.seed);
    let determinism = env.determinism.unwrap_or(cfg.determinism);
    let mut sim = watched(&cfg.sim, env);
    if let (None, Some(command)) = (&sim.replay_hint, &env.test_command) {
        sim.replay_hint = Some(format!("LOCKSTEP_SEED={seed} {command}"));
    }
    let cfg = PropCheck { seed, determinism, sim, ..cfg };
    // Every run so far, by inputs and choices: a run must do what an earlier run
    // with the same inputs did, up to the choices they share.
    let prefixes = RefCell::new(PrefixTrie::default());
    let runs = Cell::new(0u32);
    let first_failure: Cell<Option<(u32, &'static str)>> = Cell::new(None);
    // A run that did not replay: its case number and the failure that says so.
    let nondeterministic: RefCell<Option<(u32, Box<Failure>)>> = RefCell::new(None);
    // The latest failing run of the first failure's class: the shrunk case's, at the end.
    let last_failing: RefCell<Option<(Config, Observed)>> = RefCell::new(None);
    let mut runner = cfg.runner();
    // The schedule shrinks first: dropping its numbers moves departures to earlier
    // choice points, which shorter inputs still reach when they shrink next.
    let cases = (schedules(cfg.max_choices), inputs);
    let outcome = runner.run(&cases, |(schedule, inputs)| {
        if nondeterministic.borrow().is_some() {
            // Stop shrinking: the case that did not replay stays the one reported.
            return Ok(());
        }
        runs.set(runs.get() + 1);
        let config = cfg.config(schedule.strategy());
        let mut sim = Sim::new(config.clone());
        let result = property(&inputs, &mut sim);
        let first_fail = result.is_err() && first_failure.get().is_none();
        let sampled =
            cfg.determinism != Share::NONE && (runs.get() == 1 || cfg.determinism.picks(u64::from(runs.get())));
        let observed = (result.is_err() || sampled).then(|| Observed::of(&sim, &result));
        let shape = RunShape::of(&sim, &result);
        let replay = cfg.config(StrategyKind::Replay(sim.tape()));
        drop(sim);
        let mut rerun = |config: Config| {
            let mut sim = Sim::new(config);
            let result = property(&inputs, &mut sim);
            Observed::of(&sim, &result)
        };
        let mismatch = prefixes.borrow_mut().check(&format!("{inputs:?}"), runs.get() as usize, &shape);
        if let Some(mismatch) = mismatch {
            *nondeterministic.borrow_mut() = Some((runs.get(), mismatch_failure(&replay, &mismatch, &mut rerun)));
            return Err(TestCaseError::fail("nondeterminism"));
        }
        if let (Some(observed), true) = (&observed, first_fail || sampled) {
            if let Err(failure) = confirm(&config, observed, &mut rerun) {
                *nondeterministic.borrow_mut() = Some((runs.get(), failure));
                return Err(TestCaseError::fail("nondeterminism"));
            }
        }
        let Err(failure) = result else { return Ok(()) };
        let class = failure.kind.class();
        match first_failure.get() {
            None => first_failure.set(Some((runs.get(), class))),
            Some((_, first)) if first != class => return Ok(()),
            Some(_) => {}
        }
        *last_failing.borrow_mut() = observed.map(|o| (config, o));
        Err(TestCaseError::fail(class))
    });
    let name = cfg.name.clone();
    let (schedule, inputs) = match outcome {
        Ok(()) => return PropSummary { name, cases_run: runs.get(), counterexample: None },
        Err(TestError::Fail(_, value)) => value,
        Err(TestError::Abort(reason)) => panic!("lockstep: proptest gave up: {reason}"),
    };
    let mut counterexample = match nondeterministic.into_inner() {
        Some((case, failure)) => {
            Counterexample::unexplained(inputs, schedule, failure, case, runs.get().saturating_sub(case))
        }
        None => {
            let (failing_case, _) = first_failure.get().expect("a case failed");
            let shrink_runs = runs.get() - failing_case;
            let last = last_failing.into_inner().expect("the shrunk case failed");
            shrunk(&cfg, inputs, schedule, failing_case, shrink_runs, last, &property)
        }
    };
    let with_inputs = |sim: &mut Sim| property(&counterexample.inputs, sim);
    counterexample.artefacts =
        artefacts::for_check(&cfg.config(StrategyKind::Fifo), &counterexample.failure, &with_inputs);
    eprintln!("{counterexample}");
    PropSummary { name, cases_run: counterexample.failing_case, counterexample: Some(Box::new(counterexample)) }
}

impl<V> Counterexample<V> {
    /// A failing case reported as it failed, without shrinking its tape or looking
    /// for its critical pair (a run that did not replay, or a tape that did not
    /// fail again).
    fn unexplained(
        inputs: V,
        schedule: Schedule,
        failure: Box<Failure>,
        case: u32,
        shrink_runs: u32,
    ) -> Counterexample<V> {
        Counterexample {
            inputs,
            schedule,
            tape: failure.tape.clone(),
            replay: failure.replay.clone(),
            replay_call: None,
            failure,
            failing_case: case,
            shrink_runs,
            minimality: None,
            critical: None,
            artefacts: None,
        }
    }
}

/// Replays the shrunk case to check that it fails again the same way, records its
/// tape, makes sure every departure on it is needed, and finds its critical pair. A
/// shrunk case that does not fail again is a nondeterminism failure, never a pass.
fn shrunk<V: Clone + fmt::Debug>(
    cfg: &PropCheck,
    inputs: V,
    schedule: Schedule,
    failing_case: u32,
    shrink_runs: u32,
    (config, last): (Config, Observed),
    property: &impl Fn(&V, &mut Sim) -> Result<(), Box<Failure>>,
) -> Counterexample<V> {
    let with_inputs = |sim: &mut Sim| property(&inputs, sim);
    let mut rerun = |config: Config| {
        let mut sim = Sim::new(config);
        let result = with_inputs(&mut sim);
        Observed::of(&sim, &result)
    };
    let failure = match confirm(&config, &last, &mut rerun) {
        Err(failure) => return Counterexample::unexplained(inputs, schedule, failure, failing_case, shrink_runs + 1),
        Ok(()) => last.failure.clone().expect("the shrunk case failed"),
    };
    // proptest shrank the numbers; shrink the tape to 1-minimal, then look for the fewest departures.
    let template = cfg.config(StrategyKind::Fifo);
    let Some(shrunk) = shrink_tape_bounded(&template, &failure.tape, cfg.minimal_search, with_inputs) else {
        // The run's own tape did not fail again: report the run as it failed.
        return Counterexample::unexplained(inputs, schedule, failure, failing_case, shrink_runs + 2);
    };
    let minimality = Some(shrunk.minimality);
    let (tape, failure) = (shrunk.tape, shrunk.failure);
    let shrink_runs = shrink_runs + 1 + shrunk.runs + shrunk.search_runs;
    let critical = cfg.critical_pair.then(|| critical_pair(&template, &tape, with_inputs)).flatten();
    let no_inputs = format!("{inputs:?}") == "()";
    let replay_call = (!no_inputs)
        .then(|| format!("property(&{inputs:?}, &mut Sim::new(Config::replay({:?}.parse()?)))", tape.to_string()));
    let replay = match &replay_call {
        Some(call) if cfg.sim.replay_hint.is_none() => call.clone(),
        _ => failure.replay.clone(),
    };
    Counterexample {
        inputs,
        schedule,
        tape,
        failure,
        failing_case,
        shrink_runs,
        minimality,
        critical,
        replay,
        replay_call,
        artefacts: None,
    }
}

/// Replays one tape (from `LOCKSTEP_TAPE`) with its full trace printed.
fn replay_one(
    cfg: &PropCheck,
    tape: Tape,
    property: &impl Fn(&mut Sim) -> Result<(), Box<Failure>>,
) -> PropSummary<()> {
    let run = replay_printed(cfg.config(StrategyKind::Fifo), &tape, property);
    let counterexample = run.result.err().map(|failure| {
        let artefacts = artefacts::for_check(&cfg.config(StrategyKind::Fifo), &failure, property);
        Box::new(Counterexample {
            inputs: (),
            schedule: Schedule::default(),
            tape: run.recorded.trimmed(),
            replay: failure.replay.clone(),
            replay_call: None,
            failure,
            failing_case: 1,
            shrink_runs: 0,
            minimality: None,
            critical: None,
            artefacts,
        })
    });
    PropSummary { name: cfg.name.clone(), cases_run: 1, counterexample }
}
