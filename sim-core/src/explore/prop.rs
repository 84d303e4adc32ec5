//! Running a property over schedules (and inputs) generated and shrunk by proptest.

use std::cell::{Cell, RefCell};
use std::fmt;

use proptest::strategy::{Just, Strategy};
use proptest::test_runner::{
    Config as RunnerConfig, RngAlgorithm, RngSeed, TestCaseError, TestError, TestRng, TestRunner,
};

use super::critical::{critical_pair, CriticalPair};
use super::schedule::{schedules, Schedule};
use super::shrink::{shrink_tape_bounded, Minimality};
use super::{run_config, watched, with_tape_hint};
use crate::artefacts::{self, Written};
use crate::determinism::{confirm, Observed};
use crate::env::EnvOverrides;
use crate::prefix::{mismatch_failure, PrefixTrie, RunShape};
use crate::share::Share;
use crate::strategy::random::SimRng;
use crate::{Config, Failure, Sim, StrategyKind, Tape};

/// How the proptest search of a [`Check`](crate::check::Check) runs a world: the
/// check's settings, as the search needs them.
#[derive(Clone, Debug)]
pub(crate) struct PropCheck {
    /// The test name, used in reports. The replay command selects the test by its
    /// thread, whatever this name is.
    pub name: Option<String>,
    /// How many generated cases must pass.
    pub cases: u32,
    /// The longest schedule generated, in choice points (later ones are canonical).
    pub max_choices: usize,
    /// The seed of proptest's own generator: the same seed generates the same cases,
    /// so a check is reproducible as a whole. `LOCKSTEP_SEED` overrides it.
    pub seed: u64,
    /// At most this many runs are spent shrinking the first failure.
    pub max_shrink_iters: u32,
    /// At most this many runs search the tapes with fewer departures than the shrunk
    /// one for a globally minimal one ([`shrink_tape_bounded`](super::shrink_tape_bounded)).
    pub minimal_search: u32,
    /// Whether to look for the [critical pair](super::critical_pair) of the shrunk
    /// failure (a few more runs).
    pub critical_pair: bool,
    /// The template of every simulation (limits, trace mode, replay hint); its
    /// strategy is replaced, and its poll watchdog bound is `LOCKSTEP_POLL_TIMEOUT`,
    /// else its own, else [`DEFAULT_BOUND`](crate::watchdog::DEFAULT_BOUND).
    pub sim: Config,
    /// The share of generated cases run a second time and compared with their
    /// first run (fingerprint, outcome, trace); the first case always is, unless the
    /// share is 0. The first failing case and the shrunk one are always replayed. A
    /// mismatch ends the check with a failure of kind
    /// [`FailureKind::Nondeterministic`](crate::FailureKind::Nondeterministic),
    /// never a pass. `LOCKSTEP_DETERMINISM` overrides it.
    pub determinism: Share,
}

impl PropCheck {
    /// How many runs proptest spends, at most, shrinking the first failure.
    pub(crate) const MAX_SHRINK_ITERS: u32 = 2048;

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
    /// The shrunk inputs (`()` for a world without inputs).
    pub inputs: V,
    /// The shrunk schedule as generated.
    pub schedule: Schedule,
    /// The tape of the shrunk run (trailing canonical choices left out), after
    /// [`shrink_tape_bounded`](super::shrink_tape_bounded) shrank it further (see
    /// [`Counterexample::minimality`]): what [`replay`](crate::replay) takes to run it again.
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
    /// How to replay the shrunk run: without inputs, run by `cargo test`, the
    /// command that runs the test again with `LOCKSTEP_TAPE` set to its tape; with
    /// inputs (a tape holds no inputs), or outside `cargo test`, the Rust call
    /// `sim_core::replay(|| f(<inputs>), "t2:…")`, where `f` is the check's closure
    /// and the inputs are written as their `Debug` form prints them (with `.into()`
    /// after a list or a string, so that a `Vec` or `String` input compiles as printed).
    pub replay: String,
    /// For a check with inputs run by `cargo test`: the command that runs the whole
    /// check again with its generator seed (`LOCKSTEP_SEED=<seed> cargo test … --exact
    /// <test>`), which generates the same cases and shrinks them the same way.
    pub rerun: Option<String>,
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
        if let Some(rerun) = &self.rerun {
            writeln!(f, "  rerun: {rerun}")?;
        }
        if let Some(written) = &self.artefacts {
            writeln!(f, "  artefacts: {written}")?;
        }
        writeln!(f, "the shrunk run's report:")?;
        write!(f, "{}", self.failure)
    }
}

/// What the proptest search of a [`Check`](crate::check::Check) found
/// ([`Report::Proptest`](crate::check::Report::Proptest)).
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

/// Runs `property` over `cfg.cases` generated schedules under the overrides `env`
/// (a `LOCKSTEP_TAPE` in them is not looked at: the runner replays tapes itself).
pub(crate) fn prop_check_with(
    cfg: PropCheck,
    env: &EnvOverrides,
    property: impl Fn(&mut Sim) -> Result<(), Box<Failure>>,
) -> PropSummary<()> {
    let cfg = PropCheck { sim: with_tape_hint(&cfg.sim, env), ..cfg };
    run_cases(cfg, env, Just(()), |(), sim| property(sim))
}

/// Runs `property` over `cfg.cases` cases, each drawing `inputs` and a schedule
/// together, and shrinks the first failure: the inputs and the schedule together,
/// then the tape toward the canonical order (to a globally minimal tape when the
/// search fits [`PropCheck::minimal_search`], else a 1-minimal one). While
/// shrinking, only failures of the first failure's class count, so the shrunk case
/// fails the same way.
///
/// Every run is compared, at no cost in runs, with the earlier runs of the same
/// inputs (the same `Debug` text) that made the same choices: up to each choice
/// point they share, the two must have taken the same steps with the same trace,
/// and two runs that made all the same choices must end the same way. A mismatch
/// is a failure of kind [`FailureKind::Nondeterministic`](crate::FailureKind::Nondeterministic).
///
/// `env.seed` sets the generator's seed; `env.tape` is not looked at (the runner
/// refuses a tape with inputs: it replays a schedule, not the inputs).
pub(crate) fn run_cases<S, V>(
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
    let sim = watched(&cfg.sim, env);
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
    if format!("{:?}", counterexample.inputs) != "()" {
        // A tape holds no inputs: the one run replays in Rust, the check reruns by its seed.
        let call = rust_replay_with_inputs(&counterexample.inputs, &counterexample.tape);
        if cfg.sim.replay_hint.is_none() {
            counterexample.failure.replay = call;
            counterexample.replay = counterexample.failure.replay.clone();
        }
        counterexample.rerun = env.test_command.as_ref().map(|command| format!("LOCKSTEP_SEED={seed} {command}"));
    }
    let with_inputs = |sim: &mut Sim| property(&counterexample.inputs, sim);
    counterexample.artefacts =
        artefacts::for_check(&cfg.config(StrategyKind::Fifo), &counterexample.failure, &with_inputs);
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
            rerun: None,
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
    let replay = failure.replay.clone();
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
        rerun: None,
        artefacts: None,
    }
}

/// `sim_core::replay(|| f(<inputs>), "<tape>")`: the Rust call that replays one run of
/// the check's closure `f` with these inputs, written as their `Debug` form prints
/// them, with `.into()` after a list or a string (a `Vec`, an array, a `String`).
pub(crate) fn rust_replay_with_inputs<V: fmt::Debug>(inputs: &V, tape: &Tape) -> String {
    let mut inputs = format!("{inputs:?}");
    if inputs.starts_with('[') || inputs.starts_with('"') {
        inputs.push_str(".into()");
    }
    format!("sim_core::replay(|| f({inputs}), {:?})", tape.to_string())
}
