//! The seed runner under [`Check`](super::Check): a range of seeds (random or
//! PCT), one seed, or one tape, on several worker threads, each run confirmed by
//! the determinism check when it fails or the share picks it.
//!
//! Each simulation stays on the thread that created it; the threads exist only out
//! here, between simulations. The closure is called with the run's simulation
//! current, so it may create channels or spawn tasks before returning the future,
//! which runs as the task `main` ([`Sim::block_on`]).
//!
//! # Primitives shared by the runs
//! The first position runs alone. When its runs used a primitive other
//! simulations share (a `static`, one created outside the closure, or one a run
//! left behind: see `crate::sync::bind`), every position runs on this thread, in
//! order, so each run finds the state the runs before it left, the same whatever
//! the timing. Otherwise the workers run the rest in parallel, and a run that
//! reaches such a primitive ends as an escape saying so.
//!
//! # Stopping at the first failure
//! With [`StopAt::FirstFailure`] the reported failure is always the *lowest* failing
//! seed, whatever the number of workers: workers hand out seeds in increasing order
//! and, once a seed fails, finish every seed below it before stopping.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::num::NonZeroUsize;
use std::ops::Range;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

use parking_lot::Mutex;

use crate::artefacts::{self, Written};
use crate::determinism::SeedGuard;
use crate::determinism::{confirm, Observed};
use crate::env::EnvOverrides;
use crate::share::{Shard, Share};
use crate::strategy::StrategyKind;
use crate::trace::{Trace, TraceMode};
use crate::{context, Config, Failure, Sim, Tape};

/// When a check stops running seeds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum StopAt {
    /// Stop at the first failure, reporting the lowest failing seed (deterministic,
    /// whatever the number of workers).
    #[default]
    FirstFailure,
    /// Run every seed; count every failure and keep the lowest
    /// [`Check::keep`](super::Check::keep) of them (memory stays bounded over any number of seeds).
    Never,
}

/// How a check runs. Build it from [`CheckConfig::default`] and the setters.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub(crate) struct CheckConfig {
    /// The test name, used in reports and in the replay command. Default: the name
    /// of the current thread, which `cargo test` sets to the test's path (none on a
    /// thread called `main`).
    pub name: Option<String>,
    /// The seeds to run. Default: `0..1000`. `LOCKSTEP_SEEDS` overrides the count.
    pub seeds: Range<u64>,
    /// Run only this shard of `seeds`. Default: all of them. `LOCKSTEP_SHARD` overrides it.
    pub shard: Option<Shard>,
    /// Worker threads. Default: the available parallelism. `LOCKSTEP_JOBS` overrides it.
    pub jobs: NonZeroUsize,
    /// When to stop. Default: [`StopAt::FirstFailure`].
    pub stop: StopAt,
    /// With [`StopAt::Never`], how many failures (the lowest seeds) the summary
    /// keeps; the rest are only counted ([`CheckSummary::failure_count`]). Default:
    /// [`CheckConfig::DEFAULT_KEEP`].
    pub keep: usize,
    /// The template for every run's [`Config`]: limits, trace mode, replay hint. Its
    /// strategy is replaced per run (a seed's strategy, or a tape's replay) and its
    /// name by [`CheckConfig::name`] when that is set.
    pub sim: Config,
    /// Which seeded strategy each seed of the range runs. Default:
    /// [`Seeded::Random`]. (`LOCKSTEP_SEED` always means seeded random.)
    pub seeded: Seeded,
    /// The share of passing seeds run a second time, with the full trace kept, and
    /// compared with their first run (fingerprint, outcome, trace): a mismatch is a
    /// failure of kind [`FailureKind::Nondeterministic`](crate::FailureKind::Nondeterministic)
    /// naming the first differing step. The seeds are picked by a fixed hash of the
    /// seed ([`Share::picks`]), and the first seed of the plan is always among them
    /// unless the share is 0. Every failing seed is replayed too, whatever the
    /// share: a failure that does not reproduce is reported as nondeterministic, never
    /// as a pass. Default: [`Share::DEFAULT_DETERMINISM`] (5%, as FoundationDB).
    /// `LOCKSTEP_DETERMINISM` overrides it.
    pub determinism: Share,
}

/// The seeded strategy a check runs for each seed of its range.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) enum Seeded {
    /// Uniformly random tie-breaking ([`StrategyKind::Random`]).
    #[default]
    Random,
    /// PCT ([`StrategyKind::Pct`]) aimed at bugs of `depth`, with change points drawn
    /// over the first `steps` choice points. Its failures replay by tape.
    Pct {
        /// The bug depth aimed at (at least 1).
        depth: u32,
        /// The estimated number of scheduling choice points of a run.
        steps: u64,
    },
}

impl Seeded {
    /// The strategy for `seed`.
    pub fn strategy(self, seed: u64) -> StrategyKind {
        match self {
            Seeded::Random => StrategyKind::Random { seed },
            Seeded::Pct { depth, steps } => StrategyKind::Pct { seed, depth, steps },
        }
    }
}

impl Default for CheckConfig {
    fn default() -> CheckConfig {
        let thread = std::thread::current();
        CheckConfig {
            name: thread.name().filter(|n| *n != "main").map(str::to_string),
            seeds: 0..1000,
            shard: None,
            jobs: std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN),
            stop: StopAt::FirstFailure,
            keep: CheckConfig::DEFAULT_KEEP,
            sim: Config::default(),
            seeded: Seeded::Random,
            determinism: Share::DEFAULT_DETERMINISM,
        }
    }
}

impl CheckConfig {
    /// How many failures a check that runs every seed keeps by default: 100.
    pub const DEFAULT_KEEP: usize = 100;

    /// Sets how many failures (the lowest seeds) a [`StopAt::Never`] check keeps
    /// (at least 1); the others are counted.
    pub fn keep(mut self, keep: usize) -> CheckConfig {
        self.keep = keep.max(1);
        self
    }

    /// Sets the seed range.
    pub fn seeds(mut self, seeds: Range<u64>) -> CheckConfig {
        self.seeds = seeds;
        self
    }

    /// Sets the number of worker threads (0 counts as 1).
    pub fn jobs(mut self, jobs: usize) -> CheckConfig {
        self.jobs = NonZeroUsize::new(jobs).unwrap_or(NonZeroUsize::MIN);
        self
    }

    /// Sets when to stop.
    pub fn stop(mut self, stop: StopAt) -> CheckConfig {
        self.stop = stop;
        self
    }

    /// Sets the template for every run's configuration.
    pub fn sim(mut self, sim: Config) -> CheckConfig {
        self.sim = sim;
        self
    }

    /// Sets the share of passing seeds run twice and compared (see
    /// [`Check::determinism`](super::Check::determinism)).
    pub fn determinism(mut self, share: Share) -> CheckConfig {
        self.determinism = share;
        self
    }

    /// Sets the seeded strategy of the range (random or PCT).
    pub fn seeded(mut self, seeded: Seeded) -> CheckConfig {
        self.seeded = seeded;
        self
    }

    /// Applies environment overrides and says what to run.
    fn plan(&mut self, env: &EnvOverrides) -> Plan {
        if let Some(jobs) = env.jobs {
            self.jobs = jobs;
        }
        if let Some(count) = env.seeds {
            self.seeds = self.seeds.start..self.seeds.start.saturating_add(count);
        }
        if let Some(shard) = env.shard {
            self.shard = Some(shard);
        }
        if let Some(bound) = env.poll_timeout {
            self.sim.poll_timeout = Some(bound);
        }
        if self.sim.poll_timeout.is_none() {
            self.sim.poll_timeout = Some(crate::watchdog::DEFAULT_BOUND);
        }
        if let Some(share) = env.determinism {
            self.determinism = share;
        }
        match (&env.tape, env.seed) {
            (Some(tape), _) => Plan::Tape(tape.clone()),
            (None, Some(seed)) => Plan::Seed(seed),
            (None, None) => Plan::Range { seeds: self.seeds.clone(), shard: self.shard.unwrap_or(Shard::ALL) },
        }
    }
}

/// What a check runs.
#[derive(Clone, Debug)]
enum Plan {
    /// A shard of a seed range.
    Range { seeds: Range<u64>, shard: Shard },
    /// One seed, full trace.
    Seed(u64),
    /// One tape, full trace.
    Tape(Tape),
}

impl Plan {
    fn len(&self) -> u64 {
        match self {
            Plan::Range { seeds, shard } => shard.len_of(seeds),
            Plan::Seed(_) | Plan::Tape(_) => 1,
        }
    }

    fn is_single(&self) -> bool {
        !matches!(self, Plan::Range { .. })
    }

    /// The configuration of the run at position `pos`, and its seed. `command` is the
    /// `cargo test` command of the calling test, when known: the replay hint then
    /// runs it with `LOCKSTEP_SEED` (seeded random) or `LOCKSTEP_TAPE` (anything else).
    fn config(&self, template: &CheckConfig, command: Option<&str>, pos: u64) -> Option<(Config, Option<u64>)> {
        let (strategy, seed) = match self {
            Plan::Range { seeds, shard } => {
                let seed = shard.nth_of(seeds, pos)?;
                (template.seeded.strategy(seed), Some(seed))
            }
            Plan::Seed(seed) => (StrategyKind::Random { seed: *seed }, Some(*seed)),
            Plan::Tape(tape) => (StrategyKind::Replay(tape.clone()), None),
        };
        let mut config = template.sim.clone().strategy(strategy);
        if let Some(name) = &template.name {
            config = config.name(name.clone());
        }
        if self.is_single() {
            config = config.trace(TraceMode::Full);
        }
        if let (None, Some(command)) = (&config.replay_hint, command) {
            config.replay_hint = Some(match config.strategy {
                StrategyKind::Random { .. } => format!("LOCKSTEP_SEED={{seed}} {command}"),
                _ => format!("LOCKSTEP_TAPE='{{tape}}' {command}"),
            });
        }
        Some((config, seed))
    }

    fn describe(&self) -> String {
        match self {
            Plan::Range { seeds, shard } if *shard == Shard::ALL => format!("seeds {seeds:?}"),
            Plan::Range { seeds, shard } => format!("seeds {seeds:?}, shard {shard}"),
            Plan::Seed(seed) => format!("seed {seed}"),
            Plan::Tape(tape) => format!("tape {tape}"),
        }
    }
}

/// A failed run of a check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeedFailure {
    /// The seed; `None` when a tape was replayed.
    pub seed: Option<u64>,
    /// The failure report.
    pub failure: Box<Failure>,
}

/// What a check found.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct CheckSummary {
    /// The test name.
    pub name: Option<String>,
    /// What was run, as in `seeds 0..1000, shard 1/4`.
    pub plan: String,
    /// How many seeds ran. When the check stopped at a failure, the seeds up to and
    /// including the lowest failing one (workers may have run a few more, whose
    /// results are dropped so that the summary is the same on every machine).
    pub seeds_run: u64,
    /// The failures kept, lowest seed first: only the lowest with
    /// [`StopAt::FirstFailure`], the lowest [`Check::keep`](super::Check::keep) with [`StopAt::Never`].
    pub failures: Vec<SeedFailure>,
    /// How many runs failed, kept or not.
    pub failure_count: u64,
    /// The stop policy used.
    pub stop: StopAt,
    /// The whole trace, when a single seed or tape was run.
    pub trace: Option<Trace>,
    /// Of the runs counted in `seeds_run`, how many were run a second time and
    /// compared with their first run: every failing one and the share
    /// [`Check::determinism`](super::Check::determinism) picks.
    pub replayed: u64,
    /// Where the lowest failure's artefacts (report, tape, trace, timeline) were
    /// written, or why they could not be; `None` when it passed or they are off
    /// ([`crate::artefacts`]).
    pub artefacts: Option<Written>,
    /// The primitive the runs shared with other simulations (named as in traces), when
    /// the first run used one: a `static`, one created outside the check's closure, or
    /// one a run left behind. The runs then went one after the other on one thread, each
    /// from the state the runs before it left (as tokio's runtimes in one process do),
    /// so the same plan runs the same way every time, but a run and its replay may
    /// start from different states: a passing run whose replay differed is counted in
    /// `differed`, not failed.
    pub shared: Option<String>,
    /// Passing runs whose replay differed from them, when the runs share a primitive
    /// (see `shared`).
    pub differed: u64,
}

impl CheckSummary {
    /// Whether every run passed.
    pub fn is_ok(&self) -> bool {
        self.failures.is_empty()
    }

    /// The failure of the lowest failing seed.
    pub fn first_failure(&self) -> Option<&SeedFailure> {
        self.failures.first()
    }

    /// The failing seeds kept, lowest first.
    pub fn failing_seeds(&self) -> Vec<u64> {
        self.failures.iter().filter_map(|f| f.seed).collect()
    }

    /// Panics with the full report (which includes the replay command) when a run failed.
    ///
    /// # Panics
    /// When [`CheckSummary::is_ok`] is false.
    #[track_caller]
    pub fn assert_ok(&self) {
        if !self.is_ok() {
            panic!("{self}");
        }
    }
}

impl fmt::Display for CheckSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.name.as_deref().unwrap_or("check");
        let Some(first) = self.failures.first() else {
            let s = if self.seeds_run == 1 { "" } else { "s" };
            write!(
                f,
                "lockstep: `{name}`: {} run{s} passed ({}; {} replayed and compared",
                self.seeds_run, self.plan, self.replayed
            )?;
            if let Some(shared) = &self.shared {
                write!(f, "; the runs share {shared}, so they ran in order on one thread")?;
                if self.differed > 0 {
                    write!(
                        f,
                        ", and {} replay{} started from its state as another run left it and differed",
                        self.differed,
                        if self.differed == 1 { "" } else { "s" }
                    )?;
                }
            }
            return f.write_str(")");
        };
        let which = first.seed.map_or_else(|| "the tape".to_string(), |s| format!("seed {s}"));
        match self.stop {
            StopAt::FirstFailure => writeln!(
                f,
                "lockstep: `{name}`: {which} failed ({}; stopped at the first failure after {} run{})",
                self.plan,
                self.seeds_run,
                if self.seeds_run == 1 { "" } else { "s" }
            )?,
            StopAt::Never => {
                let seeds = self.failing_seeds();
                let shown: Vec<String> = seeds.iter().take(20).map(u64::to_string).collect();
                let more = if self.failure_count > shown.len() as u64 { ", …" } else { "" };
                writeln!(
                    f,
                    "lockstep: `{name}`: {} of {} runs failed ({}); failing seeds: {}{more}",
                    self.failure_count,
                    self.seeds_run,
                    self.plan,
                    shown.join(", ")
                )?;
                writeln!(f, "the lowest failing run:")?;
            }
        }
        write!(f, "{}", first.failure)?;
        if let Some(written) = &self.artefacts {
            write!(f, "\n  artefacts: {written}")?;
        }
        Ok(())
    }
}

/// The seed of the simulation current on this thread, when it runs a seeded strategy.
pub fn current_seed() -> Option<u64> {
    let handle = context::try_current()?;
    let core = handle.core.try_borrow().ok()?;
    core.strategy().seed()
}

/// The runner: runs `f` as `cfg` and `env` say, on `cfg.jobs` worker threads.
///
/// With `env.seed` or `env.tape` set, runs that one seed or tape with
/// [`TraceMode::Full`] and prints its trace to standard error.
///
/// # Panics
/// When a panic escapes a run (the [`SeedGuard`] names its seed first); the panic
/// of the lowest such run is resumed on the calling thread once the workers stopped.
pub(crate) fn check_with<F, Fut>(cfg: CheckConfig, env: &EnvOverrides, f: F) -> CheckSummary
where
    F: Fn() -> Fut + Sync + Send,
    Fut: Future<Output = ()> + 'static,
{
    let mut cfg = cfg;
    let plan = cfg.plan(env);
    let command = env.test_command.as_deref();
    let runner = Runner {
        cfg: &cfg,
        plan: &plan,
        command,
        f: &f,
        state: Mutex::new(State::default()),
        shared: Default::default(),
    };
    runner.run_workers();
    let shared = runner.shared.into_inner();
    let state = runner.state.into_inner();
    if let Some((_, payload)) = state.panic {
        resume_unwind(payload);
    }
    let mut summary = summarize(&cfg, &plan, state, shared);
    if let Some(first) = summary.failures.first() {
        let template = cfg.sim.clone();
        let property = |sim: &mut Sim| {
            let future = sim.enter(&f);
            sim.block_on(future)
        };
        summary.artefacts = artefacts::for_check(&template, &first.failure, &property);
    }
    summary
}

/// Progress shared by the workers.
#[derive(Default)]
struct State {
    /// The next position to hand out.
    next: u64,
    /// Runs completed.
    done: u64,
    /// The lowest failing position so far.
    lowest_failure: Option<u64>,
    /// The lowest failures, at most twice the number kept (trimmed in batches).
    failures: Vec<(u64, SeedFailure)>,
    /// Every failure, kept or not.
    failure_count: u64,
    /// The lowest position whose panic escaped, and its payload.
    panic: Option<(u64, Box<dyn Any + Send>)>,
    trace: Option<Trace>,
    /// The positions that were replayed and compared.
    verified: Vec<u64>,
    /// Passing runs whose replay differed, in a world whose runs share a primitive.
    differed: u64,
}

struct Runner<'a, F> {
    cfg: &'a CheckConfig,
    plan: &'a Plan,
    /// The calling test's `cargo test` command, when known.
    command: Option<&'a str>,
    f: &'a F,
    state: Mutex<State>,
    /// The first primitive a run shared with other simulations, if any.
    shared: Mutex<Option<String>>,
}

impl<F, Fut> Runner<'_, F>
where
    F: Fn() -> Fut + Sync + Send,
    Fut: Future<Output = ()> + 'static,
{
    fn run_workers(&self) {
        let workers = u64::try_from(self.cfg.jobs.get()).unwrap_or(u64::MAX).min(self.plan.len());
        if workers <= 1 {
            return self.work();
        }
        // The first position alone: if its runs share a primitive with other
        // simulations, the others run on this thread too, in order.
        match self.take() {
            Some(pos) if self.run_at(pos) => {}
            _ => return,
        }
        if self.shared.lock().is_some() {
            return self.work();
        }
        std::thread::scope(|scope| {
            let spawned: Vec<_> = (0..workers)
                .map_while(|i| {
                    let builder = std::thread::Builder::new().name(format!("lockstep-worker-{i}"));
                    builder
                        .spawn_scoped(scope, || {
                            let _parallel = crate::sync::bind::ParallelRun::new();
                            self.work();
                        })
                        .ok()
                })
                .collect();
            if spawned.is_empty() {
                // No thread could be started: do the work here.
                self.work();
            }
        });
    }

    /// Takes positions in increasing order and runs them until the plan is done or
    /// the check must stop.
    fn work(&self) {
        while let Some(pos) = self.take() {
            if !self.run_at(pos) {
                return;
            }
        }
    }

    /// Runs position `pos`; false when the check must stop (a run panicked outside
    /// the simulation, or the plan ends here).
    fn run_at(&self, pos: u64) -> bool {
        let Some((config, seed)) = self.plan.config(self.cfg, self.command, pos) else { return false };
        let verify =
            self.cfg.determinism != Share::NONE && (pos == 0 || self.cfg.determinism.picks(seed.unwrap_or(pos)));
        match catch_unwind(AssertUnwindSafe(|| self.run_one(&config, verify))) {
            Ok((result, trace, verified)) => {
                self.finish(pos, seed, result, trace, verified);
                true
            }
            Err(payload) => {
                let mut state = self.state.lock();
                if state.panic.as_ref().is_none_or(|(p, _)| pos < *p) {
                    state.panic = Some((pos, payload));
                }
                false
            }
        }
    }

    fn take(&self) -> Option<u64> {
        let mut state = self.state.lock();
        let stopped = self.cfg.stop == StopAt::FirstFailure && state.lowest_failure.is_some_and(|l| state.next > l);
        if state.panic.is_some() || stopped || state.next >= self.plan.len() {
            return None;
        }
        state.next += 1;
        Some(state.next - 1)
    }

    /// Runs `config` once; replays it and compares (see [`Check::determinism`](super::Check::determinism))
    /// when it failed or `verify` says so. Also says whether it was replayed.
    fn run_one(&self, config: &Config, verify: bool) -> (Result<(), Box<Failure>>, Option<Trace>, bool) {
        let (result, trace, first) = {
            let _guard = SeedGuard::new(config);
            let mut sim = Sim::new(config.clone());
            let life = sim.life();
            let future = sim.enter(self.f);
            let result = sim.block_on(future);
            let trace = self.plan.is_single().then(|| sim.trace());
            let first = (verify || result.is_err()).then(|| Observed::of(&sim, &result));
            drop(sim);
            self.note_sharing(&life);
            (result, trace, first)
        };
        let Some(first) = first else { return (result, trace, false) };
        let mut rerun = |config: Config| {
            let _guard = SeedGuard::new(&config);
            let mut sim = Sim::new(config.clone());
            let life = sim.life();
            let future = sim.enter(self.f);
            let outcome = sim.block_on(future);
            let observed = Observed::of(&sim, &outcome);
            drop(sim);
            self.note_sharing(&life);
            observed
        };
        if result.is_ok() && self.shared.lock().is_some() {
            // The runs share a primitive: each starts from the state the runs before it
            // left, so a passing run's replay that passes too may well differ from it;
            // counted, not failed (see `CheckSummary::shared`). A failing replay is a
            // failing run: the determinism check reports it below.
            let second = rerun(config.clone().trace(TraceMode::Full));
            if second.failure.is_none() {
                if !first.same(&second) {
                    self.state.lock().differed += 1;
                }
                return (result, trace, true);
            }
        }
        match confirm(config, &first, &mut rerun) {
            Ok(()) => (result, trace, true),
            Err(failure) => (Err(failure), trace, true),
        }
    }

    /// Notes whether a run (its simulation gone) shared a primitive with others.
    fn note_sharing(&self, life: &context::Life) {
        if let Some(name) = life.shared_primitive() {
            self.shared.lock().get_or_insert(name);
        }
    }

    fn finish(
        &self,
        pos: u64,
        seed: Option<u64>,
        mut result: Result<(), Box<Failure>>,
        trace: Option<Trace>,
        verified: bool,
    ) {
        if let (Err(failure), None, None) = (&mut result, self.command, &self.cfg.sim.replay_hint) {
            // Not a test `cargo test` started: the Rust that replays the check's closure `f`.
            failure.replay = super::rust_replay(failure, "f");
        }
        if let Some(trace) = &trace {
            print_single(self.cfg, self.plan, trace, &result);
        }
        let mut state = self.state.lock();
        state.done += 1;
        if verified {
            state.verified.push(pos);
        }
        state.trace = trace;
        if let Err(failure) = result {
            state.lowest_failure = Some(state.lowest_failure.map_or(pos, |l| l.min(pos)));
            state.failure_count += 1;
            state.failures.push((pos, SeedFailure { seed, failure }));
            // Keep the lowest `keep` (at least the lowest one, for FirstFailure), trimming
            // in batches: memory is bounded by twice that, whatever the number of failures.
            let keep = self.cfg.keep.max(1);
            if state.failures.len() >= 2 * keep {
                state.failures.sort_by_key(|(pos, _)| *pos);
                state.failures.truncate(keep);
            }
        }
    }
}

fn print_single(cfg: &CheckConfig, plan: &Plan, trace: &Trace, result: &Result<(), Box<Failure>>) {
    let name = cfg.name.as_deref().unwrap_or("check");
    let outcome = match result {
        Ok(()) => "passed".to_string(),
        Err(failure) => format!("failed: {}", failure.kind),
    };
    let fingerprint = trace.fingerprint.map(|f| f.to_string()).unwrap_or_default();
    eprintln!("lockstep: `{name}`: {}: {outcome}; fingerprint {fingerprint}; full trace:", plan.describe());
    eprint!("{trace}");
}

fn summarize(cfg: &CheckConfig, plan: &Plan, state: State, shared: Option<String>) -> CheckSummary {
    let mut failures = state.failures;
    failures.sort_by_key(|(pos, _)| *pos);
    let (seeds_run, failure_count) = match (cfg.stop, state.lowest_failure) {
        (StopAt::FirstFailure, Some(lowest)) => {
            failures.truncate(1);
            (lowest + 1, 1)
        }
        _ => {
            failures.truncate(cfg.keep.max(1));
            (state.done, state.failure_count)
        }
    };
    let replayed = state.verified.iter().filter(|&&pos| pos < seeds_run || cfg.stop == StopAt::Never).count() as u64;
    CheckSummary {
        name: cfg.name.clone(),
        plan: plan.describe(),
        replayed,
        seeds_run,
        failures: failures.into_iter().map(|(_, f)| f).collect(),
        failure_count,
        stop: cfg.stop,
        trace: state.trace,
        artefacts: None,
        shared,
        differed: state.differed,
    }
}
