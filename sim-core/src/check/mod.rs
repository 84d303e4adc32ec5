//! The one runner: every way of running a property, one configuration, one closure.
//!
//! A property is a **world**: an async closure `Fn() -> Fut` that builds the world
//! (spawns tasks, makes channels) and drives it, returning `()` or a `Result` (a
//! panic anywhere in the world, a returned `Err`, [`fail`](crate::fail), a deadlock
//! or a limit is the failure). With generated inputs it is `Fn(V) -> Fut`. The same
//! closure runs under every search:
//!
//! | entry point | search | what a failure reports |
//! | --- | --- | --- |
//! | [`check_random`]`(f, runs)` | seeded random tie-breaking over seeds `0..runs` | the lowest failing seed |
//! | [`check_pct`]`(f, runs, depth)` | PCT aimed at bugs of `depth`; its `steps` estimated from a canonical run and 16 pilot runs | the lowest failing seed's tape |
//! | [`check_exhaustive`]`(f)` | every class of orders that differ only by commuting steps ([`Check::every_order`] for every order) | "proven", or the first failing order shrunk, with its critical pair |
//! | [`check_proptest`]`(inputs, f)` | proptest-generated inputs and schedules, shrunk together | the shrunk inputs and tape, with its critical pair |
//! | [`replay`]`(f, printed)` | the one run a report printed (a tape; a seed is its shorthand) | the same failure, with its full trace |
//!
//! The entry points panic with the report when the property fails; [`Check`] is the
//! configuration under them all (name, runs, seeds, jobs, shard, stop, keep,
//! determinism share, artefacts, the simulation's limits and model), and
//! [`Check::run`] returns a [`Report`] instead of panicking. Every search goes
//! through the same confirmation: a failing run is replayed and compared (a run that
//! does not replay is [nondeterministic](crate::FailureKind::Nondeterministic), never a
//! pass), a share of passing runs too ([`Check::determinism`]), each run is watched
//! by the [poll watchdog](crate::watchdog), and the failure leaves its
//! [artefacts](crate::artefacts) (report, tape, trace, timeline) under `target/lockstep/`.
//!
//! ```
//! use std::cell::RefCell;
//! use std::rc::Rc;
//! use std::time::Duration;
//! use sim_core::check::{Check, Report};
//! use sim_core::time::sleep;
//!
//! // Two tasks wake at the same instant; the world fails when `b` goes first.
//! let world = || async {
//!     let order = Rc::new(RefCell::new(Vec::new()));
//!     let tasks: Vec<_> = ["a", "b"]
//!         .into_iter()
//!         .map(|name| {
//!             let order = order.clone();
//!             sim_core::spawn(async move {
//!                 sleep(Duration::from_millis(10)).await;
//!                 order.borrow_mut().push(name);
//!             })
//!         })
//!         .collect();
//!     for task in tasks {
//!         task.await.unwrap();
//!     }
//!     let first = order.borrow()[0];
//!     if first == "b" {
//!         return Err(format!("{first} ran first"));
//!     }
//!     Ok(())
//! };
//! // The same closure under every search: each finds the bug.
//! for check in [Check::random(50), Check::pct(50, 1), Check::exhaustive(), Check::proptest(64)] {
//!     let report = check.name("two_tasks").run(world);
//!     let failure = report.failure().expect("b goes first in some order");
//!     // Outside `cargo test`'s own tests (here, a doctest) the replay is Rust; in a
//!     // test it is `LOCKSTEP_TAPE='t2:…' cargo test -p <package> --test <target> -- --exact <test>`.
//!     assert!(failure.replay.starts_with("sim_core::replay(f, "), "{}", failure.replay);
//!     // Run as printed: the same failure, step for step.
//!     let printed = failure.tape.to_string();
//!     let replayed = std::panic::catch_unwind(|| sim_core::replay(world, printed.as_str())).unwrap_err();
//!     let text = replayed.downcast_ref::<String>().unwrap();
//!     assert!(text.contains(&format!("fingerprint: {}", failure.fingerprint)), "{text}");
//! }
//! ```
//!
//! # Environment
//! Every search honours the overrides of [`crate::env`]: `LOCKSTEP_TAPE` runs that one
//! tape with its full trace printed, whatever the search; `LOCKSTEP_SEED` runs that
//! seed of seeded random (the proptest search: its generator seed);
//! `LOCKSTEP_SEEDS`, `LOCKSTEP_SHARD` and `LOCKSTEP_JOBS` change the range, the shard
//! and the number of workers of the seeded searches; `LOCKSTEP_DETERMINISM` the share.
//!
//! # Replay commands
//! In a test that `cargo test` runs, a failure's replay command runs that test alone
//! with the failing seed or tape: `LOCKSTEP_SEED=17 cargo test -p my-crate --test
//! my_tests -- --exact module::my_test` (PCT, exhaustive and proptest failures replay
//! by `LOCKSTEP_TAPE`). The test is found from the test's thread, not from
//! [`Check::name`], so a display name of your own does not break it (see
//! [`crate::env::cargo_test_command`]). Elsewhere (a doctest, a binary) it is the
//! Rust call that replays the check's closure `f`: `sim_core::replay(f, 17)` or
//! `sim_core::replay(f, "t2:…")`. With generated inputs it is always the Rust call
//! `sim_core::replay(|| f(<inputs>), "t2:…")`, since a tape holds no inputs; in a test
//! the report adds a `rerun:` command, `LOCKSTEP_SEED=<generator seed> cargo test …`,
//! which runs the whole check again. A replay is always the one run a report printed;
//! a rerun is the whole check.

mod seeds;

use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::num::NonZeroUsize;
use std::ops::Range;
use std::rc::Rc;

pub use crate::determinism::SeedGuard;
pub use crate::share::{Shard, ShardError, Share};
pub use seeds::{current_seed, CheckSummary, SeedFailure, StopAt};
use seeds::{CheckConfig, Seeded};

use crate::artefacts::{Artefacts, Written};
use crate::env::{EnvError, EnvOverrides};
#[cfg(feature = "proptest")]
use crate::explore::PropSummary;
use crate::explore::{ExhaustiveCheck, ExhaustiveSummary};
use crate::strategy::{ChoiceKind, ChoicePoint, Policy};
use crate::{Config, Failure, Model, Sim, Tape};

/// What a world's future may return: `()`, or a `Result` whose `Err` fails the run
/// (as a violation whose message is the error's `Debug` form).
pub trait Outcome {
    /// `Err` with the failure message when the run must fail.
    fn into_failure(self) -> Result<(), String>;
}

impl Outcome for () {
    fn into_failure(self) -> Result<(), String> {
        Ok(())
    }
}

impl<T, E: fmt::Debug> Outcome for Result<T, E> {
    fn into_failure(self) -> Result<(), String> {
        self.map(drop).map_err(|e| format!("Error: {e:?}"))
    }
}

/// Why [`Check::run_inputs`] did not run.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum InputsError {
    /// The search is not [`Search::Proptest`]: only proptest generates inputs (make
    /// the check with [`Check::proptest`]).
    NotProptest(Search),
    /// `LOCKSTEP_TAPE` is set: a tape replays a schedule, not the inputs (run the
    /// check again with its generator seed, the `rerun:` command of its report).
    Tape(Tape),
    /// A `LOCKSTEP_*` variable holds a bad value.
    Env(EnvError),
}

impl fmt::Display for InputsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputsError::NotProptest(search) => write!(
                f,
                "`Check::run_inputs` generates inputs with proptest: make the check with `Check::proptest(cases)`, not {search:?}"
            ),
            InputsError::Tape(tape) => write!(
                f,
                "LOCKSTEP_TAPE={tape} replays a schedule, not the inputs of `Check::run_inputs`: \
                 run the check again with its seed (the `rerun:` command its report prints)"
            ),
            InputsError::Env(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for InputsError {}

/// How a check explores the orders (and inputs) of its world.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Search {
    /// Seeded random tie-breaking, one seed per run.
    Random,
    /// PCT (see `docs/exploration.md`) aimed at bugs of `depth`
    /// (at least 1), one seed per run, with change points drawn over the first
    /// `steps` scheduling choice points: `None` estimates them from the world (the
    /// most scheduling choice points its canonical run and 16 pilot PCT runs passed,
    /// at least 1).
    Pct {
        /// The bug depth aimed at: `depth - 1` priority change points.
        depth: u32,
        /// The scheduling choice points per run, or `None` to estimate them.
        steps: Option<u64>,
    },
    /// Every class of orders that differ only by commuting steps (`every_order:
    /// false`, the default), or every order; [`Check::runs`] bounds the complete runs.
    Exhaustive {
        /// Run every order instead of one per class.
        every_order: bool,
    },
    /// Generated schedules (and inputs, with [`Check::run_inputs`]) that proptest
    /// shrinks together; [`Check::runs`] is the number of cases.
    #[cfg(feature = "proptest")]
    Proptest {
        /// The longest schedule generated, in choice points (later ones are canonical).
        max_choices: usize,
    },
}

/// The one configuration of a check. Start from a search ([`Check::random`],
/// [`Check::pct`], [`Check::exhaustive`], [`Check::proptest`]) and set what differs.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Check {
    /// The test name, used in reports and artefact directories. Default: the name
    /// of the current thread, which `cargo test` sets to the test's path (none on a
    /// thread called `main`). The replay command selects the test by its thread.
    pub name: Option<String>,
    /// How the orders are explored.
    pub search: Search,
    /// How many runs: seeds for [`Search::Random`] and [`Search::Pct`] (`LOCKSTEP_SEEDS`
    /// overrides it), generated cases for proptest, at most this many complete runs
    /// for [`Search::Exhaustive`] (past it nothing is proven).
    pub runs: u64,
    /// The first seed of a seeded search (seeds `first_seed..first_seed + runs`), the
    /// proptest generator's seed. Default: 0.
    pub first_seed: u64,
    /// Run only this shard of the seeds. Default: all. `LOCKSTEP_SHARD` overrides it.
    pub shard: Option<Shard>,
    /// Worker threads of a seeded search. Default: the available parallelism.
    /// `LOCKSTEP_JOBS` overrides it.
    pub jobs: NonZeroUsize,
    /// When a seeded search stops. Default: [`StopAt::FirstFailure`].
    pub stop: StopAt,
    /// With [`StopAt::Never`], how many failures (the lowest seeds) are kept.
    pub keep: usize,
    /// The share of passing runs run a second time and compared with their first
    /// run; every failing run is. Default: 5% ([`Share::DEFAULT_DETERMINISM`]).
    /// `LOCKSTEP_DETERMINISM` overrides it.
    pub determinism: Share,
    /// Whether the exhaustive and proptest searches shrink the first failure and
    /// look for its critical pair. Default: true.
    pub explain: bool,
    /// The template of every run's simulation: limits, trace mode, model, artefacts,
    /// replay hint. Its strategy is replaced per run.
    pub sim: Config,
}

impl Default for Check {
    /// [`Check::random`] over 1,000 seeds.
    fn default() -> Check {
        Check::random(1000)
    }
}

impl Check {
    /// How many failures a check that runs every seed keeps by default: 100.
    pub const DEFAULT_KEEP: usize = 100;

    /// A check of `runs` runs under `search` (the constructors below are shorter).
    pub fn new(search: Search, runs: u64) -> Check {
        let thread = std::thread::current();
        Check {
            name: thread.name().filter(|n| *n != "main").map(str::to_string),
            search,
            runs,
            first_seed: 0,
            shard: None,
            jobs: std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN),
            stop: StopAt::FirstFailure,
            keep: Check::DEFAULT_KEEP,
            determinism: Share::DEFAULT_DETERMINISM,
            explain: true,
            sim: Config::default(),
        }
    }

    /// Seeded random tie-breaking over seeds `0..runs`.
    pub fn random(runs: u64) -> Check {
        Check::new(Search::Random, runs)
    }

    /// PCT aimed at bugs of `depth` over seeds `0..runs`, its steps estimated from a
    /// canonical run and 16 pilot PCT runs (set them with [`Check::steps`]).
    pub fn pct(runs: u64, depth: u32) -> Check {
        Check::new(Search::Pct { depth: depth.max(1), steps: None }, runs)
    }

    /// Every class of orders (one per set of orders that differ only by commuting
    /// steps), up to 100,000 complete runs.
    pub fn exhaustive() -> Check {
        Check::new(Search::Exhaustive { every_order: false }, 100_000)
    }

    /// `cases` generated schedules (and inputs, with [`Check::run_inputs`]) of up to
    /// 64 choice points.
    #[cfg(feature = "proptest")]
    pub fn proptest(cases: u32) -> Check {
        Check::new(Search::Proptest { max_choices: 64 }, u64::from(cases))
    }

    /// Sets the search.
    pub fn search(mut self, search: Search) -> Check {
        self.search = search;
        self
    }

    /// The seeds a seeded search runs, in order (its shard applied; environment
    /// overrides not).
    pub fn planned_seeds(&self) -> impl Iterator<Item = u64> + '_ {
        let shard = self.shard.unwrap_or(Shard::ALL);
        let seeds = self.first_seed..self.first_seed.saturating_add(self.runs);
        (0..shard.len_of(&seeds)).map_while(move |k| shard.nth_of(&seeds, k))
    }

    /// Sets the name used in reports.
    pub fn name(mut self, name: impl Into<String>) -> Check {
        self.name = Some(name.into());
        self
    }

    /// Sets the number of runs (seeds, cases, or the bound on complete runs).
    pub fn runs(mut self, runs: u64) -> Check {
        self.runs = runs;
        self
    }

    /// Sets the seeds of a seeded search (and the proptest generator's seed to the start).
    pub fn seeds(mut self, seeds: Range<u64>) -> Check {
        self.first_seed = seeds.start;
        self.runs = seeds.end.saturating_sub(seeds.start);
        self
    }

    /// Sets PCT's scheduling choice points per run instead of estimating them.
    pub fn steps(mut self, steps: u64) -> Check {
        if let Search::Pct { steps: s, .. } = &mut self.search {
            *s = Some(steps.max(1));
        }
        self
    }

    /// Makes the exhaustive search run every order, without the reduction.
    pub fn every_order(mut self, every_order: bool) -> Check {
        if let Search::Exhaustive { every_order: e } = &mut self.search {
            *e = every_order;
        }
        self
    }

    /// Sets the longest schedule the proptest search generates.
    #[cfg(feature = "proptest")]
    pub fn max_choices(mut self, max_choices: usize) -> Check {
        if let Search::Proptest { max_choices: m } = &mut self.search {
            *m = max_choices;
        }
        self
    }

    /// Runs only `shard` of the seeds.
    pub fn shard(mut self, shard: Shard) -> Check {
        self.shard = Some(shard);
        self
    }

    /// Sets the number of worker threads (0 counts as 1).
    pub fn jobs(mut self, jobs: usize) -> Check {
        self.jobs = NonZeroUsize::new(jobs).unwrap_or(NonZeroUsize::MIN);
        self
    }

    /// Sets when a seeded search stops.
    pub fn stop(mut self, stop: StopAt) -> Check {
        self.stop = stop;
        self
    }

    /// Sets how many failures a [`StopAt::Never`] search keeps (at least 1).
    pub fn keep(mut self, keep: usize) -> Check {
        self.keep = keep.max(1);
        self
    }

    /// Sets the share of passing runs replayed and compared.
    pub fn determinism(mut self, share: Share) -> Check {
        self.determinism = share;
        self
    }

    /// Shrinks and explains the first failure (exhaustive, proptest), or not.
    pub fn explain(mut self, explain: bool) -> Check {
        self.explain = explain;
        self
    }

    /// Sets where a failure's artefacts go.
    pub fn artefacts(mut self, artefacts: Artefacts) -> Check {
        self.sim = self.sim.artefacts(artefacts);
        self
    }

    /// Sets which orders of same-instant events the runs may take.
    pub fn model(mut self, model: Model) -> Check {
        self.sim = self.sim.model(model);
        self
    }

    /// Sets the template of every run's simulation (limits, trace, model, artefacts).
    pub fn sim(mut self, sim: Config) -> Check {
        self.sim = sim;
        self
    }

    /// Runs the world `f` under this check, with the environment's overrides
    /// applied, and returns what it found. Nothing is printed: the [`Report`] is the
    /// output ([`Report::assert_ok`] panics with it). Only a single seed or tape from
    /// `LOCKSTEP_SEED` / `LOCKSTEP_TAPE` prints its full trace to standard error.
    ///
    /// # Panics
    /// When a `LOCKSTEP_*` variable holds a bad value, or a panic escapes a run
    /// outside the world's tasks (the closure itself panicking while building it).
    #[track_caller]
    pub fn run<F, Fut>(&self, f: F) -> Report
    where
        F: Fn() -> Fut + Sync + Send,
        Fut: Future + 'static,
        Fut::Output: Outcome,
    {
        let env = EnvOverrides::from_env().unwrap_or_else(|e| panic!("lockstep: {e}"));
        self.run_with_env(&env, f)
    }

    /// [`Check::run`] with the overrides given rather than read from the environment
    /// (`EnvOverrides::none()` for a tool that must not obey `LOCKSTEP_TAPE`).
    pub fn run_with_env<F, Fut>(&self, env: &EnvOverrides, f: F) -> Report
    where
        F: Fn() -> Fut + Sync + Send,
        Fut: Future + 'static,
        Fut::Output: Outcome,
    {
        let world = || into_world(f());
        let property = |sim: &mut Sim| {
            let future = sim.enter(world);
            sim.block_on(future)
        };
        let seeded = |seeded: Seeded| {
            let mut summary = seeds::check_with(self.seeds_config(seeded), env, world);
            if let Seeded::Pct { depth, steps } = seeded {
                summary.plan = format!("{}, PCT depth {depth} over {steps} choice points", summary.plan);
            }
            Report::Seeds(summary)
        };
        if env.tape.is_some() {
            // Whatever the search, a tape runs once: the one replay.
            return seeded(Seeded::Random);
        }
        let mut report = match &self.search {
            Search::Random => seeded(Seeded::Random),
            Search::Pct { depth, steps } => {
                let steps = match steps {
                    Some(steps) => *steps,
                    None if env.seed.is_some() => crate::strategy::pct::DEFAULT_STEPS,
                    None => self.estimate_steps(*depth, &property),
                };
                seeded(Seeded::Pct { depth: *depth, steps })
            }
            Search::Exhaustive { every_order } => {
                let cfg = self.exhaustive_config(*every_order);
                Report::Exhaustive(crate::explore::exhaustive_check_with(cfg, env, property))
            }
            #[cfg(feature = "proptest")]
            Search::Proptest { max_choices } => {
                let cfg = self.prop_config(*max_choices);
                Report::Proptest(crate::explore::prop_check_with(cfg, env, property))
            }
        };
        report.rust_replays(env, "f");
        report
    }

    /// Runs the world `f` over inputs that `inputs` generates, with a schedule per
    /// case, under the proptest search; the first failure's inputs and schedule
    /// shrink together. `LOCKSTEP_SEED` sets the generator's seed.
    ///
    /// The report's `replay:` line is the Rust call that runs the shrunk run again,
    /// `sim_core::replay(|| f(<inputs>), "t2:…")` (a tape holds no inputs, so there is
    /// no `LOCKSTEP_TAPE` command for it); run by `cargo test`, its `rerun:` line is the
    /// command that runs the whole check again with its generator seed,
    /// `LOCKSTEP_SEED=<seed> cargo test … -- --exact <test>`, which generates the same
    /// cases and fails with the same shrunk case.
    ///
    /// # Errors
    /// [`InputsError::NotProptest`] when the search is not [`Search::Proptest`] (only
    /// proptest generates inputs), [`InputsError::Tape`] when `LOCKSTEP_TAPE` is set (a
    /// tape replays a schedule, not the inputs: use the `rerun:` command), and
    /// [`InputsError::Env`] when a `LOCKSTEP_*` variable holds a bad value.
    #[cfg(feature = "proptest")]
    pub fn run_inputs<S, V, F, Fut>(&self, inputs: S, f: F) -> Result<Report<V>, InputsError>
    where
        S: proptest::strategy::Strategy<Value = V>,
        V: Clone + fmt::Debug,
        F: Fn(V) -> Fut,
        Fut: Future + 'static,
        Fut::Output: Outcome,
    {
        let env = EnvOverrides::from_env().map_err(InputsError::Env)?;
        self.run_inputs_with_env(&env, inputs, f)
    }

    /// [`Check::run_inputs`] with the overrides given rather than read from the
    /// environment.
    ///
    /// # Errors
    /// As [`Check::run_inputs`], but for the environment's values.
    #[cfg(feature = "proptest")]
    pub fn run_inputs_with_env<S, V, F, Fut>(
        &self,
        env: &EnvOverrides,
        inputs: S,
        f: F,
    ) -> Result<Report<V>, InputsError>
    where
        S: proptest::strategy::Strategy<Value = V>,
        V: Clone + fmt::Debug,
        F: Fn(V) -> Fut,
        Fut: Future + 'static,
        Fut::Output: Outcome,
    {
        let Search::Proptest { max_choices } = self.search else {
            return Err(InputsError::NotProptest(self.search.clone()));
        };
        if let Some(tape) = &env.tape {
            return Err(InputsError::Tape(tape.clone()));
        }
        let property = |inputs: &V, sim: &mut Sim| {
            let future = sim.enter(|| into_world(f(inputs.clone())));
            sim.block_on(future)
        };
        let mut report =
            Report::Proptest(crate::explore::run_cases(self.prop_config(max_choices), env, inputs, property));
        report.rust_replays(env, "f");
        Ok(report)
    }

    fn seeds_config(&self, seeded: Seeded) -> CheckConfig {
        let mut cfg = CheckConfig::default()
            .seeds(self.first_seed..self.first_seed.saturating_add(self.runs))
            .jobs(self.jobs.get())
            .stop(self.stop)
            .keep(self.keep)
            .sim(self.sim.clone())
            .determinism(self.determinism)
            .seeded(seeded);
        cfg.name = self.name.clone();
        cfg.shard = self.shard;
        cfg
    }

    fn exhaustive_config(&self, every_order: bool) -> ExhaustiveCheck {
        ExhaustiveCheck {
            name: self.name.clone(),
            max_runs: usize::try_from(self.runs).unwrap_or(usize::MAX),
            every_order,
            explain: self.explain,
            minimal_search: crate::explore::DEFAULT_MINIMAL_SEARCH,
            sim: self.sim.clone(),
            determinism: self.determinism,
        }
    }

    #[cfg(feature = "proptest")]
    fn prop_config(&self, max_choices: usize) -> crate::explore::PropCheck {
        crate::explore::PropCheck {
            name: self.name.clone(),
            cases: u32::try_from(self.runs).unwrap_or(u32::MAX),
            max_choices,
            seed: self.first_seed,
            max_shrink_iters: crate::explore::PropCheck::MAX_SHRINK_ITERS,
            minimal_search: crate::explore::DEFAULT_MINIMAL_SEARCH,
            critical_pair: self.explain,
            sim: self.sim.clone(),
            determinism: self.determinism,
        }
    }

    /// PCT's `steps` for a world: the most scheduling choice points that its canonical
    /// run and [`PCT_PILOTS`] pilot PCT runs of `depth` (their change points drawn over
    /// the canonical run's count, seeds from `u64::MAX` down, outside any usual range)
    /// passed, at least 1.
    ///
    /// The canonical run alone is a biased estimate. Under PCT a task held back by a
    /// low priority stays due beside the others, so runs pass more choice points than
    /// the canonical order, which lets each task run as soon as it can: a torn
    /// snapshot (a reader reading twice around a writer's ten yields) passes 3 in its
    /// canonical run and up to 12 under PCT, more than 3 in half of 500 PCT runs.
    /// Change points are drawn over the first `steps` choice points only, so with too
    /// few a bug that needs a late change is never found, and PCT's bound (`steps` at
    /// least the choice points of a run) does not hold. The pilots' maximum reaches
    /// the real count there (12; no run of the 500 passes more), at the cost of 16
    /// runs; it is a sample's maximum, so a few runs may still pass a little more
    /// (four lost updates: 36 of 500 runs pass 10 or 11 against an estimate of 9). See
    /// `docs/exploration.md` for the measurement.
    fn estimate_steps(&self, depth: u32, property: &dyn Fn(&mut Sim) -> Result<(), Box<Failure>>) -> u64 {
        let mut config = self.sim.clone();
        config.name = self.name.clone();
        let count = |policy: &dyn Fn(Rc<Cell<u64>>) -> Box<dyn crate::strategy::Strategy>| {
            let count = Rc::new(Cell::new(0));
            let mut sim = Sim::with_strategy(config.clone(), policy(count.clone()));
            // A run may fail: its choice points count all the same.
            let _ = property(&mut sim);
            count.get()
        };
        let canonical = count(&|count| Box::new(Counting { inner: crate::strategy::Fifo, count }));
        let pilots = (0..PCT_PILOTS).map(|i| {
            let pct = crate::strategy::Pct::new(u64::MAX - i, depth, canonical.max(1));
            count(&|count| Box::new(Counting { inner: pct.clone(), count }))
        });
        pilots.fold(canonical, u64::max).max(1)
    }
}

/// How many pilot PCT runs estimate a world's `steps` beside its canonical run.
pub(crate) const PCT_PILOTS: u64 = 16;

/// `inner`, counting the scheduling choice points it decides.
pub(crate) struct Counting<P> {
    pub(crate) inner: P,
    pub(crate) count: Rc<Cell<u64>>,
}

impl<P: Policy> Policy for Counting<P> {
    fn choose(&mut self, point: &ChoicePoint<'_>) -> usize {
        if point.kind == ChoiceKind::Schedule {
            self.count.set(self.count.get() + 1);
        }
        self.inner.choose(point)
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn wants_candidates(&self) -> bool {
        self.inner.wants_candidates()
    }

    fn observe(&mut self, event: &crate::strategy::Candidate) {
        self.inner.observe(event)
    }

    fn wants_footprints(&self) -> bool {
        self.inner.wants_footprints()
    }

    fn after_step(&mut self, footprint: &crate::access::Footprint) {
        self.inner.after_step(footprint)
    }

    fn wants_identities(&self) -> bool {
        self.inner.wants_identities()
    }

    fn seed(&self) -> Option<u64> {
        self.inner.seed()
    }

    fn diverged(&self) -> bool {
        self.inner.diverged()
    }
}

/// The world's future with its outcome turned into a failure.
async fn into_world<Fut>(future: Fut)
where
    Fut: Future,
    Fut::Output: Outcome,
{
    if let Err(message) = future.await.into_failure() {
        crate::fail(message);
    }
}

/// What a check found: the summary of its search.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Report<V = ()> {
    /// A seeded search (random, PCT), or one seed or tape from the environment.
    Seeds(CheckSummary),
    /// The exhaustive search.
    Exhaustive(ExhaustiveSummary),
    /// The proptest search; `V` is the inputs' type.
    #[cfg(feature = "proptest")]
    Proptest(PropSummary<V>),
    #[doc(hidden)]
    _Inputs(std::marker::PhantomData<V>, std::convert::Infallible),
}

impl<V: fmt::Debug> Report<V> {
    /// Whether no run failed (the exhaustive search: whether it is proven, every
    /// order run and passing).
    pub fn is_ok(&self) -> bool {
        match self {
            Report::Seeds(s) => s.is_ok(),
            Report::Exhaustive(s) => s.is_proven(),
            #[cfg(feature = "proptest")]
            Report::Proptest(s) => s.is_ok(),
            Report::_Inputs(_, never) => match *never {},
        }
    }

    /// The failure reported: the lowest failing seed's, or the shrunk one.
    pub fn failure(&self) -> Option<&Failure> {
        match self {
            Report::Seeds(s) => s.first_failure().map(|f| &*f.failure),
            Report::Exhaustive(s) => s.first_failing.as_ref().map(|f| &*f.failure),
            #[cfg(feature = "proptest")]
            Report::Proptest(s) => s.counterexample.as_ref().map(|c| &*c.failure),
            Report::_Inputs(_, never) => match *never {},
        }
    }

    /// The complete runs made (seeds, orders or classes of orders, cases; shrinking not counted).
    pub fn runs(&self) -> u64 {
        match self {
            Report::Seeds(s) => s.seeds_run,
            Report::Exhaustive(s) => s.runs as u64,
            #[cfg(feature = "proptest")]
            Report::Proptest(s) => u64::from(s.cases_run),
            Report::_Inputs(_, never) => match *never {},
        }
    }

    /// Where the failure's artefacts were written, when it failed and they are on.
    pub fn artefacts(&self) -> Option<&Written> {
        match self {
            Report::Seeds(s) => s.artefacts.as_ref(),
            Report::Exhaustive(s) => s.artefacts.as_ref(),
            #[cfg(feature = "proptest")]
            Report::Proptest(s) => s.counterexample.as_ref().and_then(|c| c.artefacts.as_ref()),
            Report::_Inputs(_, never) => match *never {},
        }
    }

    /// Panics with the report (which holds the replay command) unless [`Report::is_ok`].
    ///
    /// # Panics
    /// When a run failed, or the exhaustive search proved nothing.
    #[track_caller]
    pub fn assert_ok(&self) {
        if !self.is_ok() {
            panic!("{self}");
        }
    }

    /// Outside a test that `cargo test` started (and with no replay hint of the
    /// configuration's own), the replay is the Rust call that replays `closure`.
    fn rust_replays(&mut self, env: &EnvOverrides, closure: &str) {
        if env.test_command.is_some() {
            return;
        }
        match self {
            Report::Seeds(_) => {} // the seed runner writes its own
            Report::Exhaustive(s) => {
                if let Some(found) = &mut s.first_failing {
                    if !hinted(&found.failure) {
                        found.failure.replay = rust_replay(&found.failure, closure);
                    }
                }
            }
            #[cfg(feature = "proptest")]
            Report::Proptest(s) => {
                // With inputs, the search wrote the Rust call already (a tape holds no inputs).
                if let Some(c) = s.counterexample.as_mut().filter(|c| format!("{:?}", c.inputs) == "()") {
                    if !hinted(&c.failure) {
                        c.failure.replay = rust_replay(&c.failure, closure);
                        c.replay = c.failure.replay.clone();
                    }
                }
            }
            Report::_Inputs(_, never) => match *never {},
        }
    }
}

/// Whether `failure`'s replay is a command a configuration asked for.
fn hinted(failure: &Failure) -> bool {
    !failure.replay.starts_with("Sim::new(") && !failure.replay.starts_with("sim_core::")
}

/// `sim_core::replay(<closure>, <seed or "tape">)`.
fn rust_replay(failure: &Failure, closure: &str) -> String {
    match failure.seed {
        Some(seed) => format!("sim_core::replay({closure}, {seed})"),
        None => format!("sim_core::replay({closure}, {:?})", failure.tape.to_string()),
    }
}

impl<V: fmt::Debug> fmt::Display for Report<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Report::Seeds(s) => s.fmt(f),
            Report::Exhaustive(s) => s.fmt(f),
            #[cfg(feature = "proptest")]
            Report::Proptest(s) => s.fmt(f),
            Report::_Inputs(_, never) => match *never {},
        }
    }
}

/// Runs the world `f` over seeds `0..runs` with seeded random tie-breaking, on every
/// core, and panics with the lowest failing seed's report.
///
/// # Panics
/// When a run fails, or a `LOCKSTEP_*` variable holds a bad value.
#[track_caller]
pub fn check_random<F, Fut>(f: F, runs: u64)
where
    F: Fn() -> Fut + Sync + Send,
    Fut: Future + 'static,
    Fut::Output: Outcome,
{
    Check::random(runs).run(f).assert_ok();
}

/// Runs the world `f` under PCT aimed at bugs of `depth` over seeds `0..runs`, its
/// steps estimated from a canonical run and 16 pilot PCT runs, and panics with the lowest failing seed's
/// report (which replays by tape).
///
/// # Panics
/// When a run fails, or a `LOCKSTEP_*` variable holds a bad value.
#[track_caller]
pub fn check_pct<F, Fut>(f: F, runs: u64, depth: u32)
where
    F: Fn() -> Fut + Sync + Send,
    Fut: Future + 'static,
    Fut::Output: Outcome,
{
    Check::pct(runs, depth).run(f).assert_ok();
}

/// Runs the world `f` under every class of orders (up to 100,000 runs) and panics
/// unless it is proven: with the first failing order shrunk and its critical pair,
/// or with why nothing was proven.
///
/// # Panics
/// When an order fails or the bound cut the enumeration short, or a `LOCKSTEP_*`
/// variable holds a bad value.
#[track_caller]
pub fn check_exhaustive<F, Fut>(f: F)
where
    F: Fn() -> Fut + Sync + Send,
    Fut: Future + 'static,
    Fut::Output: Outcome,
{
    Check::exhaustive().run(f).assert_ok();
}

/// Runs the world `f` over 256 cases of inputs that `inputs` generates, each with a
/// generated schedule, and panics with the first failure shrunk (inputs and
/// schedule together). For a world without inputs, pass `Just(())` and `|()| …`, or
/// use `Check::proptest(cases).run(f)`.
///
/// # Panics
/// When a case fails, or with the error of [`Check::run_inputs`] (`LOCKSTEP_TAPE`
/// set, or a `LOCKSTEP_*` variable with a bad value).
#[cfg(feature = "proptest")]
#[track_caller]
pub fn check_proptest<S, V, F, Fut>(inputs: S, f: F)
where
    S: proptest::strategy::Strategy<Value = V>,
    V: Clone + fmt::Debug,
    F: Fn(V) -> Fut,
    Fut: Future + 'static,
    Fut::Output: Outcome,
{
    match Check::proptest(256).run_inputs(inputs, f) {
        Ok(report) => report.assert_ok(),
        Err(e) => panic!("lockstep: {e}"),
    }
}

/// What a report prints to replay one run: its tape (`t2:…`), or for seeded random
/// its seed, a shorthand for the tape that seed makes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Printed {
    /// A seed of seeded random tie-breaking.
    Seed(u64),
    /// A tape.
    Tape(Tape),
    /// Text to parse: a decimal seed or a tape.
    Text(String),
}

impl From<u64> for Printed {
    fn from(seed: u64) -> Printed {
        Printed::Seed(seed)
    }
}

impl From<Tape> for Printed {
    fn from(tape: Tape) -> Printed {
        Printed::Tape(tape)
    }
}

impl From<&str> for Printed {
    fn from(text: &str) -> Printed {
        Printed::Text(text.to_string())
    }
}

impl From<String> for Printed {
    fn from(text: String) -> Printed {
        Printed::Text(text)
    }
}

/// Runs the world `f` once, as a report printed it (`sim_core::replay(f, "t2:…")`,
/// or `sim_core::replay(f, 17)` for a seed of seeded random), with its full trace
/// kept and printed to standard error, and panics with the report if it fails.
/// Ignores the environment. Whatever the search that found it, a failure replays here.
///
/// # Panics
/// When the run fails, or `printed` is text that is neither a seed nor a tape.
#[track_caller]
pub fn replay<F, Fut>(f: F, printed: impl Into<Printed>)
where
    F: Fn() -> Fut + Sync + Send,
    Fut: Future + 'static,
    Fut::Output: Outcome,
{
    let mut env = EnvOverrides::none();
    match printed.into() {
        Printed::Seed(seed) => env.seed = Some(seed),
        Printed::Tape(tape) => env.tape = Some(tape),
        Printed::Text(text) => match text.trim().parse::<u64>() {
            Ok(seed) => env.seed = Some(seed),
            Err(_) => match text.parse::<Tape>() {
                Ok(tape) => env.tape = Some(tape),
                Err(e) => panic!("lockstep: cannot replay {text:?}: neither a seed nor a tape ({e})"),
            },
        },
    }
    Check::random(1).run_with_env(&env, f).assert_ok();
}

#[cfg(test)]
mod steps_tests;
