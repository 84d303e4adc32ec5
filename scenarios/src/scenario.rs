//! The [`Scenario`] abstraction: one variant of one catalogue race, with what it
//! must show, and the ways to run it (one configuration, many seeds, every order).

use std::fmt;
use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use sim_core::artefacts::Artefacts;
use sim_core::check::{Check, CheckSummary, Report, Search};
use sim_core::tooling::env::EnvOverrides;
use sim_core::tooling::strategy::{explore_all, Strategy};
use sim_core::{Config, Failure, Fingerprint, Sim, StepLimit, StrategyKind, Tape, TimeLimit, Trace};

use crate::world::{Ctx, Observer, Timeline, World};

/// How the catalogue's `lockstep` tool is run: the start of its replay commands.
pub const CATALOGUE_COMMAND: &str = "cargo run --release -p scenarios --bin lockstep --";
/// The command that replays one seed of a scenario; `{name}` and `{seed}` are filled in.
pub const REPLAY_SEED: &str = "cargo run --release -p scenarios --bin lockstep -- replay {name} --seed {seed}";
/// The command that replays one tape of a scenario; `{name}` and `{tape}` are filled in.
pub const REPLAY_TAPE: &str = "cargo run --release -p scenarios --bin lockstep -- replay {name} --tape '{tape}'";

static POLL_TIMEOUT: OnceLock<Duration> = OnceLock::new();

/// Sets the poll watchdog's bound of every scenario run of this process (the
/// `lockstep` tool sets it from `LOCKSTEP_POLL_TIMEOUT`; zero: no watchdog). The
/// first call wins. Default: [`sim_core::tooling::watchdog::DEFAULT_BOUND`].
pub fn set_poll_timeout(bound: Duration) {
    let _ = POLL_TIMEOUT.set(bound);
}

fn poll_timeout() -> Duration {
    POLL_TIMEOUT.get().copied().unwrap_or(sim_core::tooling::watchdog::DEFAULT_BOUND)
}

/// Which variant of a race a scenario is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Variant {
    /// Reproduces the race: some order of same-instant events fails.
    Buggy,
    /// The fix: no order fails.
    Fixed,
    /// The drain race without a straggler: the buggy consumer, but every producer
    /// finishes before "done", so no order loses anything (no false alarm).
    NoStraggler,
}

impl Variant {
    /// The variant's name as in scenario names: `buggy`, `fixed`, `no-straggler`.
    pub fn label(self) -> &'static str {
        match self {
            Variant::Buggy => "buggy",
            Variant::Fixed => "fixed",
            Variant::NoStraggler => "no-straggler",
        }
    }
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// What a scenario must show over many seeds of the random strategy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expectation {
    /// A buggy variant: some seed among the first `within` fails (the detection bound).
    Caught {
        /// The detection bound, in seeds.
        within: u64,
    },
    /// A variant that must pass every one of its first `seeds` seeds (its budget).
    Clean {
        /// The seed budget.
        seeds: u64,
    },
}

impl Expectation {
    /// The number of seeds a default run covers: the bound or the budget.
    pub fn seeds(self) -> u64 {
        match self {
            Expectation::Caught { within } => within,
            Expectation::Clean { seeds } => seeds,
        }
    }

    /// Whether the scenario must fail.
    pub fn must_fail(self) -> bool {
        matches!(self, Expectation::Caught { .. })
    }

    /// Whether a run over seeds that found `failures` failures met this expectation.
    pub fn met_by(self, failures: usize) -> bool {
        self.must_fail() == (failures > 0)
    }
}

impl fmt::Display for Expectation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expectation::Caught { within } => write!(f, "caught within {within} seeds"),
            Expectation::Clean { seeds } => write!(f, "clean over {seeds} seeds"),
        }
    }
}

/// Builds a scenario's world on the current simulation.
pub type Build = fn(Variant, &Ctx) -> World;

/// A user scenario's body: makes the future that runs as the task `main`.
type Body = Arc<dyn Fn() -> futures::future::LocalBoxFuture<'static, ()> + Send + Sync>;

/// What a scenario runs: a catalogue world, or a user's future.
enum Runs {
    World(Build),
    Body(Body),
}

/// One scenario: a variant of a catalogue race ([`registry::all`](crate::registry::all)),
/// or a user's own ([`Scenario::from_fn`], registered in a [`Registry`](crate::Registry)).
pub struct Scenario {
    /// `family/variant`, as in `throttle-hang/buggy`.
    pub name: &'static str,
    /// The family's name, as in `throttle-hang` (the part before the first `/`).
    pub family: &'static str,
    /// The race's number in the race catalogue (`docs/scenarios.md`); 0 for a user's scenario.
    pub race: u8,
    /// Which variant this is (for a user's scenario: [`Variant::Buggy`] when it must be
    /// caught, [`Variant::Fixed`] when it must stay clean).
    pub variant: Variant,
    /// One line: what the world does.
    pub summary: &'static str,
    /// What it must show.
    pub expect: Expectation,
    /// Whether the output timeline must equal the canonical order's under every
    /// order (schedule independence); false where same-instant sends may
    /// legitimately interleave in any order.
    pub schedule_independent: bool,
    /// When the world is small enough to enumerate every order: at most this many runs.
    pub explore_limit: Option<usize>,
    runs: Runs,
    /// How the tool that holds this scenario is run (the start of its replay commands);
    /// `None`: the catalogue's `lockstep` ([`CATALOGUE_COMMAND`]).
    command: Option<Arc<str>>,
    canonical: OnceLock<Option<Arc<Timeline>>>,
}

impl fmt::Debug for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scenario")
            .field("name", &self.name)
            .field("variant", &self.variant)
            .field("expect", &self.expect)
            .finish_non_exhaustive()
    }
}

/// How one run ended, and what it left behind.
#[derive(Debug)]
#[non_exhaustive]
pub struct Outcome {
    /// The run's failure, if it failed.
    pub result: Result<(), Box<Failure>>,
    /// The fingerprint of the whole run.
    pub fingerprint: Fingerprint,
    /// The choices that replay the run (trailing canonical ones left out).
    pub tape: Tape,
    /// Every choice made, canonical ones included (for enumeration).
    pub recorded: Tape,
    /// The trace kept (all of it when the configuration asked for
    /// [`sim_core::TraceMode::Full`]).
    pub trace: Trace,
    /// What the world emitted.
    pub output: Timeline,
    /// Problems found after a run that stopped early (a deadlock): the message
    /// ledger does not balance. Empty for runs that ended normally, whose harness
    /// checked the ledger itself.
    pub findings: Vec<String>,
    /// Whether the run replayed a tape that does not fit it ([`Sim::tape_diverged`]):
    /// then it is no replay of the recorded run.
    pub diverged: bool,
}

impl Outcome {
    /// The failure's class (`deadlock`, `violation`, …), or `pass`.
    pub fn class(&self) -> &'static str {
        self.result.as_ref().err().map_or("pass", |f| f.kind.class())
    }
}

/// What enumerating every order of a scenario found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exploration {
    /// Distinct orders run.
    pub runs: usize,
    /// How many of them failed.
    pub failing: usize,
    /// Whether every order was run (false when the limit cut it short).
    pub exhausted: bool,
    /// The tape of the first failing order, if any.
    pub first_failing: Option<Tape>,
}

impl Scenario {
    /// A scenario; see the fields.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        name: &'static str,
        race: u8,
        variant: Variant,
        summary: &'static str,
        expect: Expectation,
        schedule_independent: bool,
        explore_limit: Option<usize>,
        build: Build,
    ) -> Scenario {
        Scenario::make(name, race, variant, summary, expect, schedule_independent, explore_limit, Runs::World(build))
    }

    #[allow(clippy::too_many_arguments)]
    fn make(
        name: &'static str,
        race: u8,
        variant: Variant,
        summary: &'static str,
        expect: Expectation,
        schedule_independent: bool,
        explore_limit: Option<usize>,
        runs: Runs,
    ) -> Scenario {
        let family = name.split('/').next().unwrap_or(name);
        Scenario {
            name,
            family,
            race,
            variant,
            summary,
            expect,
            schedule_independent,
            explore_limit,
            runs,
            command: None,
            canonical: OnceLock::new(),
        }
    }

    /// A user's scenario: `body` makes the future that runs as the task `main` of each
    /// run (spawning the scenario's tasks, with sim-tokio or [`sim_core`]); a run fails
    /// when a task panics (an `assert!`), calls [`sim_core::fail`], deadlocks or
    /// exceeds the limits of [`Scenario::config`]. `name` is `family/variant` (or one
    /// word), without spaces or quotes, since it is a word of the replay command;
    /// [`Registry::register`](crate::Registry::register) checks it.
    ///
    /// ```
    /// use scenarios::{Expectation, Scenario};
    ///
    /// let ping = Scenario::from_fn("ping/fixed", "a reply within the timeout", Expectation::Clean { seeds: 100 }, || async {
    ///     let (tx, rx) = sim_core::sync::oneshot::channel();
    ///     sim_core::spawn(async move { tx.send(1).unwrap() });
    ///     assert_eq!(rx.await.unwrap(), 1);
    /// });
    /// assert!(ping.run_seed(7).result.is_ok());
    /// ```
    pub fn from_fn<F, Fut>(name: &'static str, summary: &'static str, expect: Expectation, body: F) -> Scenario
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + 'static,
    {
        let variant = if expect.must_fail() { Variant::Buggy } else { Variant::Fixed };
        let body: Body = Arc::new(move || Box::pin(body()));
        Scenario::make(name, 0, variant, summary, expect, false, None, Runs::Body(body))
    }

    /// How the tool that holds this scenario is run: the start of every replay command
    /// printed for it (set by [`Registry`](crate::Registry)).
    pub fn command(&self) -> &str {
        self.command.as_deref().unwrap_or(CATALOGUE_COMMAND)
    }

    pub(crate) fn set_command(&mut self, command: Arc<str>) {
        self.command = Some(command);
    }

    /// The configuration of one run of this scenario under `strategy`: its name,
    /// limits that turn a livelock into a failure quickly, and the replay command.
    pub fn config(&self, strategy: StrategyKind) -> Config {
        let hint = match (&strategy, &self.command) {
            (StrategyKind::Random { .. }, None) => REPLAY_SEED.to_string(),
            (_, None) => REPLAY_TAPE.to_string(),
            (StrategyKind::Random { .. }, Some(command)) => format!("{command} replay {{name}} --seed {{seed}}"),
            (_, Some(command)) => format!("{command} replay {{name}} --tape '{{tape}}'"),
        };
        let mut config = Config::default()
            .name(self.name)
            .strategy(strategy)
            .max_steps(StepLimit::FailAfter(2_000_000))
            .max_time(TimeLimit::FailAfter(std::time::Duration::from_secs(3600)))
            .poll_timeout(poll_timeout())
            // The catalogue's buggy variants fail on purpose; the tool writes a run's
            // trace and timeline when asked (`replay --trace --timeline`).
            .artefacts(Artefacts::Off);
        config.replay_hint = Some(hint);
        config
    }

    /// The context a world is built with: the canonical output to compare with.
    pub fn ctx(&self) -> Ctx {
        Ctx { canonical: if self.schedule_independent { self.canonical() } else { None } }
    }

    /// The output of the canonical (FIFO) order, when that run passes. Computed once.
    pub fn canonical(&self) -> Option<Arc<Timeline>> {
        self.canonical
            .get_or_init(|| {
                let outcome = self.run_in(self.config(StrategyKind::Fifo), &Ctx::default());
                outcome.result.is_ok().then(|| Arc::new(outcome.output))
            })
            .clone()
    }

    /// Builds the world on the current simulation (the check runner's closure).
    ///
    /// # Panics
    /// When no simulation is current.
    pub fn build(&self, ctx: &Ctx) -> World {
        match &self.runs {
            Runs::World(build) => build(self.variant, ctx),
            Runs::Body(body) => World { harness: body(), observer: Observer::new() },
        }
    }

    /// Runs the scenario once under `config` (its name and limits are taken as
    /// given: start from [`Scenario::config`]).
    pub fn run(&self, config: Config) -> Outcome {
        self.run_in(config, &self.ctx())
    }

    /// Runs the world once under `strategy` (an explorer's run).
    pub fn run_with(&self, strategy: Box<dyn Strategy>) -> Outcome {
        self.run_on(sim_core::tooling::strategy::sim_with(self.config(StrategyKind::Fifo), strategy), &self.ctx())
    }

    fn run_in(&self, config: Config, ctx: &Ctx) -> Outcome {
        self.run_on(Sim::new(config), ctx)
    }

    fn run_on(&self, mut sim: Sim, ctx: &Ctx) -> Outcome {
        let world = sim.enter(|| self.build(ctx));
        let result = sim.block_on(world.harness);
        let findings = if result.is_err() { world.observer.conservation() } else { Vec::new() };
        Outcome {
            fingerprint: sim.fingerprint(),
            tape: sim.tape(),
            recorded: sim.recorded_tape(),
            trace: sim.trace(),
            output: world.observer.output(),
            findings,
            diverged: sim.tape_diverged(),
            result,
        }
    }

    /// Runs one seed of the random strategy.
    pub fn run_seed(&self, seed: u64) -> Outcome {
        self.run(self.config(StrategyKind::Random { seed }))
    }

    /// Replays a tape.
    pub fn run_tape(&self, tape: Tape) -> Outcome {
        self.run(self.config(StrategyKind::Replay(tape)))
    }

    /// Runs the seeds of `cfg` (a random or PCT check; its name and run template are
    /// replaced by this scenario's) on `cfg.jobs` threads with the check runner;
    /// `on_run` is called as each run starts (for a progress bar). Ignores
    /// `LOCKSTEP_*` variables.
    ///
    /// # Panics
    /// When `cfg` is not a seeded search (random or PCT), or a panic escapes a run (a
    /// bug in the scenario's code outside its tasks).
    pub fn check(&self, cfg: Check, on_run: &(dyn Fn() + Sync)) -> CheckSummary {
        // The template's strategy is replaced per run; its replay command is that of the
        // seeded strategy (by seed for random tie-breaking, by tape for PCT).
        let strategy = match cfg.search {
            Search::Random => StrategyKind::Random { seed: 0 },
            _ => StrategyKind::Pct { seed: 0, depth: 1, steps: 1 },
        };
        let cfg = cfg.name(self.name).sim(self.config(strategy));
        let ctx = self.ctx();
        let canonical = ctx.canonical;
        let report = cfg.run_with_env(&EnvOverrides::none(), move || {
            on_run();
            self.build(&Ctx { canonical: canonical.clone() }).harness
        });
        match report {
            Report::Seeds(summary) => summary,
            _ => panic!("`Scenario::check` runs a random or PCT check"),
        }
    }

    /// Runs every order of same-instant events (depth first), up to `limit` runs.
    pub fn explore(&self, limit: usize) -> Exploration {
        let mut failing = 0;
        let mut first_failing = None;
        let exploration = explore_all(limit, |prefix| {
            let outcome = self.run(self.config(StrategyKind::Replay(prefix.clone())));
            if outcome.result.is_err() {
                failing += 1;
                first_failing.get_or_insert_with(|| outcome.tape.clone());
            }
            outcome.recorded
        });
        Exploration { runs: exploration.runs, failing, exhausted: exploration.exhausted, first_failing }
    }
}
