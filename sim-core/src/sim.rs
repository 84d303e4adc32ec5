//! The simulation and its step loop: the one place where events are taken from the
//! queue and applied.

use std::any::Any;
use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::context::{self, in_task, EnterGuard, Handle, Shared};
use crate::core::{Core, Event, Stop, TaskState, Woken};
use crate::model::{Model, TokioReach};
use crate::report::{replay_command, BlockedTask, Failure, FailureKind};
use crate::strategy::StrategyKind;
use crate::task::{spawn_on, JoinHandle};
use crate::time::Instant;
use crate::trace::{Fingerprint, Trace, TraceBuf, TraceLine, TraceMode, TraceRecord};
use crate::watchdog::Stamp;
use crate::{Tape, TaskId, Wait};

/// When a run stops for taking too many steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StepLimit {
    /// Fail with [`FailureKind::StepLimit`] once this many steps were taken.
    FailAfter(u64),
    /// Never.
    Unlimited,
}

/// When a run stops for reaching too far in virtual time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeLimit {
    /// Fail with [`FailureKind::TimeLimit`] when the next event lies beyond this much
    /// virtual time after the origin.
    FailAfter(Duration),
    /// Never.
    Unlimited,
}

/// Where a failing check writes its artefacts (see [`crate::artefacts`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Artefacts {
    /// Nowhere.
    Off,
    /// Under `lockstep/` in the workspace's target directory (the default).
    #[default]
    Target,
    /// Under this directory.
    Dir(std::path::PathBuf),
}

/// How a simulation is set up.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Config {
    /// The test or scenario name, used in reports and in the replay command.
    pub name: Option<String>,
    /// Who resolves choice points. Default: [`StrategyKind::Fifo`].
    pub strategy: StrategyKind,
    /// Default: fail after 50 million steps.
    pub max_steps: StepLimit,
    /// Default: fail beyond one virtual day.
    pub max_time: TimeLimit,
    /// How much trace to keep (the fingerprint covers all of it). Default: the last 32 records.
    pub trace: TraceMode,
    /// The replay command printed in reports; `{seed}`, `{name}` and `{tape}` are
    /// filled in (`{tape}` with each `'` written `'\''`, for a single-quoted shell
    /// word, as in `--tape '{tape}'`). Default: none, and a report prints the Rust
    /// that replays it, `Sim::new(Config::replay("t2:…".parse()?))`. The check
    /// runner sets it, when run by
    /// `cargo test`, to the command that runs only their test with `LOCKSTEP_SEED`
    /// or `LOCKSTEP_TAPE` set ([`env::cargo_test_command`](crate::env::cargo_test_command)).
    pub replay_hint: Option<String>,
    /// How long (real time) a run that would end in a deadlock waits for a wake-up
    /// from another OS thread, when a blocked task awaits a future that is not a
    /// Lockstep primitive and someone outside the engine holds its waker. A wake
    /// that comes turns the deadlock into [`FailureKind::Escape`]; the wall clock
    /// only ever picks between these two failures. Default: 200 ms.
    pub foreign_wake_grace: Duration,
    /// The poll watchdog's bound (wall clock): a poll that has not returned after
    /// this long is reported and ends the process ([`crate::watchdog`]). Default:
    /// `None`, no watchdog for a raw simulation; the check runner arms its runs with
    /// [`crate::watchdog::DEFAULT_BOUND`] (or `LOCKSTEP_POLL_TIMEOUT`). Zero: none.
    pub poll_timeout: Option<Duration>,
    /// Which orders of same-instant events the run may take. Default: [`Model::Any`]
    /// (every order); [`Model::Tokio`] allows only tokio's current-thread order.
    pub model: Model,
    /// Where a failing check (or sim-tokio entry point) run with this configuration
    /// writes its tape, trace and timeline. Default: [`Artefacts::Target`],
    /// `target/lockstep/…`; `LOCKSTEP_ARTEFACTS` overrides it ([`crate::artefacts`]).
    /// A raw [`Sim`] writes nothing: the checks do.
    pub artefacts: Artefacts,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            name: None,
            strategy: StrategyKind::Fifo,
            max_steps: StepLimit::FailAfter(50_000_000),
            max_time: TimeLimit::FailAfter(Duration::from_secs(24 * 3600)),
            trace: TraceMode::default(),
            replay_hint: None,
            foreign_wake_grace: Duration::from_millis(200),
            poll_timeout: None,
            model: Model::Any,
            artefacts: Artefacts::Target,
        }
    }
}

impl Config {
    /// Seeded random tie-breaking.
    pub fn random(seed: u64) -> Config {
        Config { strategy: StrategyKind::Random { seed }, ..Config::default() }
    }

    /// Replays `tape`, then continues canonically.
    pub fn replay(tape: Tape) -> Config {
        Config { strategy: StrategyKind::Replay(tape), ..Config::default() }
    }

    /// Sets the name used in reports.
    pub fn name(mut self, name: impl Into<String>) -> Config {
        self.name = Some(name.into());
        self
    }

    /// Sets the strategy.
    pub fn strategy(mut self, strategy: StrategyKind) -> Config {
        self.strategy = strategy;
        self
    }

    /// Sets where a failing check writes its artefacts ([`Artefacts::Off`]: nowhere).
    pub fn artefacts(mut self, artefacts: Artefacts) -> Config {
        self.artefacts = artefacts;
        self
    }

    /// Sets the trace mode.
    pub fn trace(mut self, trace: TraceMode) -> Config {
        self.trace = trace;
        self
    }

    /// Sets the step limit.
    pub fn max_steps(mut self, limit: StepLimit) -> Config {
        self.max_steps = limit;
        self
    }

    /// Sets how long a deadlock waits for a foreign wake-up (see [`Config::foreign_wake_grace`]).
    pub fn foreign_wake_grace(mut self, grace: Duration) -> Config {
        self.foreign_wake_grace = grace;
        self
    }

    /// Sets the virtual-time limit.
    pub fn max_time(mut self, limit: TimeLimit) -> Config {
        self.max_time = limit;
        self
    }

    /// Arms the poll watchdog with `bound` (zero: no watchdog).
    pub fn poll_timeout(mut self, bound: Duration) -> Config {
        self.poll_timeout = Some(bound);
        self
    }

    /// Sets the model of the world: which orders of same-instant events the run may
    /// take (see [`crate::model`]).
    pub fn model(mut self, model: Model) -> Config {
        self.model = model;
        self
    }
}

/// A deterministic simulation: virtual time, one event queue, tasks, channels, timers.
///
/// A run is a pure function of the code and the configuration's strategy (a seed or a
/// tape). See the [crate docs](crate) for a tour.
pub struct Sim {
    shared: Handle,
    config: Config,
    max_steps: u64,
    max_time: Instant,
    /// The poll watchdog's view of this run, when armed.
    watch: Option<Watch>,
}

/// What names a watched run, for the watchdog's report.
struct RunInfo {
    name: Option<String>,
    strategy: StrategyKind,
    replay_hint: Option<String>,
    seed: Option<u64>,
    model: Model,
}

impl RunInfo {
    /// Which run (`seed 3 of \`name\``), and its replay command: by seed, or by
    /// `recorded`, the tape of the choices the run made before the poll that hung
    /// (recorded for every run that no seed replays).
    fn describe(&self, recorded: Option<&Tape>) -> (String, String) {
        let name = self.name.as_deref();
        let canonical = Tape::new();
        let (which, replay) = match &self.strategy {
            StrategyKind::Pct { seed, depth, steps } => (
                format!("PCT seed {seed} (depth {depth}, {steps} steps)"),
                replay_command(self.replay_hint.as_deref(), name, None, recorded.or(Some(&canonical)), self.model),
            ),
            strategy => {
                let tape = match (strategy, self.seed) {
                    (_, Some(_)) => None,
                    (StrategyKind::Replay(tape), None) => Some(recorded.unwrap_or(tape)),
                    (_, None) => Some(recorded.unwrap_or(&canonical)),
                };
                let which = match (self.seed, tape) {
                    (Some(seed), _) => format!("seed {seed}"),
                    (None, Some(tape)) if !tape.is_empty() => format!("tape {tape}"),
                    (None, _) => "the canonical order".to_string(),
                };
                (which, replay_command(self.replay_hint.as_deref(), name, self.seed, tape, self.model))
            }
        };
        (format!("{which} of `{}`", name.unwrap_or("simulation")), replay)
    }
}

/// An armed run: its stamp, the polls started so far, the task names it was told.
struct Watch {
    stamp: Arc<Stamp>,
    polls: u64,
    names_known: usize,
}

impl Watch {
    /// Arms the watchdog for a run configured by `config`, when it asks for one.
    fn arm(config: &Config, seed: Option<u64>) -> Option<Watch> {
        let bound = config.poll_timeout.filter(|b| !b.is_zero())?;
        // Only what names the run is kept; the report is written if it is ever needed.
        let describe = RunInfo {
            name: config.name.clone(),
            strategy: config.strategy.clone(),
            replay_hint: config.replay_hint.clone(),
            seed,
            model: config.model,
        };
        let stamp = Stamp::arm(bound, seed.is_none(), Box::new(move |tape| describe.describe(tape)));
        Some(Watch { stamp, polls: 0, names_known: 0 })
    }

    /// A poll of `id` starts (`core` names the tasks the stamp does not know yet).
    fn begin(watch: &mut Option<Watch>, core: &Core, id: TaskId) {
        let Some(watch) = watch else { return };
        let known = id.0 as usize + 1;
        if known > watch.names_known {
            let names = (watch.names_known..known).map(|i| core.task_name(TaskId(i as u32)).to_string());
            watch.stamp.add_names(names);
            watch.names_known = known;
        }
        watch.polls += 1;
        watch.stamp.begin(id.0, watch.polls);
    }

    /// The poll returned.
    fn end(watch: &Option<Watch>) {
        if let Some(watch) = watch {
            watch.stamp.end(watch.polls);
        }
    }
}

/// How far a bounded drive got.
enum Progress {
    /// Nothing more is due within the bound.
    Idle,
    /// The awaited condition holds.
    Done,
}

impl Sim {
    /// A new simulation at virtual time zero. It becomes this thread's current
    /// simulation (see [`Sim::enter`]) until it is dropped.
    pub fn new(config: Config) -> Sim {
        let strategy = config.strategy.build();
        Sim::with_strategy(config, strategy)
    }

    /// A new simulation whose choice points are resolved by `strategy` instead of
    /// `config.strategy` (for explorers and custom policies).
    pub(crate) fn with_strategy(config: Config, strategy: Box<dyn crate::strategy::Strategy>) -> Sim {
        let footprints = strategy.wants_footprints();
        let watch = Watch::arm(&config, strategy.seed());
        let mut core = Core::new(strategy, TraceBuf::new(config.trace), config.model);
        core.set_watch(watch.as_ref().map(|w| w.stamp.clone()).filter(|s| s.records_choices()));
        let id = context::next_sim_id();
        let shared = Rc::new(Shared {
            id,
            life: Arc::new(context::Life::new(id)),
            core: RefCell::new(core),
            futures: RefCell::new(Vec::new()),
            footprints,
            outside: RefCell::new(Vec::new()),
            handles: RefCell::new(Vec::new()),
        });
        context::push(shared.clone());
        let max_steps = match config.max_steps {
            StepLimit::FailAfter(n) => n,
            StepLimit::Unlimited => u64::MAX,
        };
        let max_time = match config.max_time {
            TimeLimit::FailAfter(d) => Instant::ZERO.saturating_add(d),
            TimeLimit::Unlimited => Instant::MAX,
        };
        Sim { shared, config, max_steps, max_time, watch }
    }

    /// Runs `f` with this simulation current, for setup code that creates channels
    /// or spawns tasks while another simulation is current on the thread.
    pub fn enter<R>(&self, f: impl FnOnce() -> R) -> R {
        let _guard = EnterGuard::new(&self.shared);
        f()
    }

    /// Spawns a task named after the line that spawns it (`world.rs:42`), or by an
    /// enclosing [`named`](crate::named) scope.
    #[track_caller]
    pub fn spawn<F: Future + 'static>(&self, future: F) -> JoinHandle<F::Output> {
        let name = crate::task::default_name(None, std::panic::Location::caller());
        spawn_on(&self.shared, Some(name), future)
    }

    /// Spawns a named task; the name appears in traces and reports.
    pub fn spawn_named<F: Future + 'static>(&self, name: impl Into<String>, future: F) -> JoinHandle<F::Output> {
        spawn_on(&self.shared, Some(name.into()), future)
    }

    /// The current virtual time.
    pub fn now(&self) -> Instant {
        self.shared.core.borrow().now()
    }

    /// Steps taken so far.
    pub fn steps(&self) -> u64 {
        self.shared.core.borrow().step()
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The seed, for seeded strategies.
    pub fn seed(&self) -> Option<u64> {
        self.shared.core.borrow().strategy().seed()
    }

    /// Every choice made so far, canonical ones included, each with the identity of
    /// what it picked (see [`crate::identity`]).
    pub fn recorded_tape(&self) -> Tape {
        let core = self.shared.core.borrow();
        Tape::with_identities(core.tape().to_vec(), core.tape_identities())
    }

    /// Where the run stood at each recorded choice, just before it was made.
    pub(crate) fn marks(&self) -> Vec<crate::core::Mark> {
        self.shared.core.borrow().marks().to_vec()
    }

    /// The choices made so far, trailing canonical ones left out: replays this run.
    pub fn tape(&self) -> Tape {
        self.recorded_tape().trimmed()
    }

    /// Whether a replayed tape stopped matching the run (its option counts differed).
    pub fn tape_diverged(&self) -> bool {
        self.shared.core.borrow().strategy().diverged()
    }

    /// Whether the run so far is an order tokio's current-thread runtime could take.
    pub(crate) fn tokio_reach(&self) -> TokioReach {
        self.shared.core.borrow().tokio_reach()
    }

    /// The strategy, as in `random(seed=7)`.
    pub(crate) fn strategy_description(&self) -> String {
        self.shared.core.borrow().strategy().describe()
    }

    /// Task names by id, then channel names by id.
    pub(crate) fn names(&self) -> (Vec<String>, Vec<String>) {
        let core = self.shared.core.borrow();
        let tasks = (0..core.task_count()).map(|i| core.task_name(TaskId(i as u32)).to_string()).collect();
        let channels =
            (0..core.channel_count()).map(|i| core.channel_name(crate::ChannelId(i as u32)).to_string()).collect();
        (tasks, channels)
    }

    /// Whether the run's order so far is one tokio's current-thread runtime could take
    /// (see [`crate::model`]). Always reachable under [`Model::Tokio`].
    pub fn tokio_model(&self) -> TokioReach {
        self.shared.core.borrow().tokio_reach()
    }

    /// What the simulation's handles see of it from any thread (it outlives the simulation).
    pub(crate) fn life(&self) -> Arc<context::Life> {
        self.shared.life.clone()
    }

    /// Whether a waker was invoked from another OS thread (a determinism leak).
    pub(crate) fn saw_foreign_wake(&self) -> bool {
        self.shared.core.borrow().saw_foreign_wake()
    }

    /// The fingerprint of everything recorded so far.
    pub fn fingerprint(&self) -> Fingerprint {
        self.shared.core.borrow().trace().fingerprint()
    }

    /// The trace kept so far (all of it with [`TraceMode::Full`], else the tail).
    pub fn trace(&self) -> Trace {
        let core = self.shared.core.borrow();
        Trace {
            lines: core.trace().records().map(|(r, text)| resolve(&core, r, text)).collect(),
            fingerprint: Some(core.trace().fingerprint()),
            complete: core.trace().is_full(),
        }
    }

    // ---- driving ----

    /// Takes and applies one event, advancing time to it if needed. Returns
    /// `Ok(false)` when nothing is pending.
    ///
    /// # Errors
    /// The run's failure, if this step failed it (panic, violation, limit).
    pub fn step(&mut self) -> Result<bool, Box<Failure>> {
        let _guard = EnterGuard::new(&self.shared);
        self.step_once(Instant::MAX, &mut |_| false)
    }

    /// Applies every event due at the current instant (and those they cause),
    /// without moving time.
    ///
    /// # Errors
    /// The run's failure, if one happened.
    pub fn run_until_idle(&mut self) -> Result<(), Box<Failure>> {
        let now = self.now();
        self.run_until(now)
    }

    /// Moves time forward by `d`: every event due by `now + d` is applied and every
    /// task it woke has run; then time is `now + d`.
    ///
    /// # Errors
    /// The run's failure, if one happened.
    pub fn advance(&mut self, d: Duration) -> Result<(), Box<Failure>> {
        let target = self.now().saturating_add(d);
        self.run_until(target)
    }

    /// Applies every event due by `t`, then sets the time to `t` (if later).
    ///
    /// # Errors
    /// The run's failure, if one happened.
    pub fn run_until(&mut self, t: Instant) -> Result<(), Box<Failure>> {
        let _guard = EnterGuard::new(&self.shared);
        self.drive(t, |_| false)?;
        self.shared.core.borrow_mut().advance_clock(t);
        Ok(())
    }

    /// Runs until every task has ended.
    ///
    /// # Errors
    /// [`FailureKind::Deadlock`] when tasks remain and nothing is pending, or any
    /// other failure of the run.
    pub fn run(&mut self) -> Result<(), Box<Failure>> {
        let _guard = EnterGuard::new(&self.shared);
        match self.drive(Instant::MAX, |core| core.live_tasks() == 0)? {
            Progress::Done => Ok(()),
            Progress::Idle => Err(self.deadlock()),
        }
    }

    /// Spawns `future` as the task `main` and runs until it completes; other tasks
    /// still running then are left as they are.
    ///
    /// # Errors
    /// [`FailureKind::Deadlock`] when `main` has not completed and nothing is
    /// pending, or any other failure of the run.
    pub fn block_on<F: Future + 'static>(&mut self, future: F) -> Result<F::Output, Box<Failure>> {
        let slot = Rc::new(RefCell::new(None));
        let out = slot.clone();
        let main = self.spawn_named("main", async move {
            *out.borrow_mut() = Some(future.await);
        });
        self.shared.core.borrow_mut().set_block_on(main.id());
        let _guard = EnterGuard::new(&self.shared);
        match self.drive(Instant::MAX, |_| slot.borrow().is_some())? {
            Progress::Done => Ok(slot.borrow_mut().take().expect("main finished")),
            Progress::Idle => Err(self.deadlock()),
        }
    }

    /// Runs `future` as the task `main` until it completes, like [`Sim::block_on`],
    /// but keeps the future on the caller's stack, so it may borrow from it (as
    /// `tokio::runtime::Runtime::block_on` allows). Other tasks still running when it
    /// completes are left as they are. The trace is the same as [`Sim::block_on`]'s.
    ///
    /// # Errors
    /// [`FailureKind::Deadlock`] when `main` has not completed and nothing is
    /// pending, or any other failure of the run.
    pub fn block_on_local<F: Future>(&mut self, future: F) -> Result<F::Output, Box<Failure>> {
        let mut future = std::pin::pin!(future);
        let mut output = None;
        let id = {
            let mut core = self.shared.core.borrow_mut();
            let id = core.register_task(Some("main".to_string()));
            core.set_block_on(id);
            id
        };
        let mut poll = |cx: &mut Context<'_>| match future.as_mut().poll(cx) {
            Poll::Ready(v) => {
                output = Some(v);
                Poll::Ready(())
            }
            Poll::Pending => Poll::Pending,
        };
        let _guard = EnterGuard::new(&self.shared);
        let mut local = Some(Local { id, poll: &mut poll });
        let done = |core: &Core| core.task_state(id) != TaskState::Running;
        let progress = loop {
            if done(&self.shared.core.borrow()) {
                break Progress::Done;
            }
            if !self.step_local(Instant::MAX, &mut done.clone(), &mut local)? {
                break Progress::Idle;
            }
        };
        match (progress, output) {
            (_, Some(v)) => Ok(v),
            // `main` ends only by completing (output set) or panicking (a failure
            // returned by the step): a `Done` without output cannot happen.
            (Progress::Done | Progress::Idle, None) => Err(self.deadlock()),
        }
    }

    /// Builds a failure report for `kind` at the current point of the run.
    pub(crate) fn failure(&self, kind: FailureKind) -> Box<Failure> {
        let core = self.shared.core.borrow();
        let tape = Tape::with_identities(core.tape().to_vec(), core.tape_identities()).trimmed();
        let seed = core.strategy().seed();
        let name = self.config.name.as_deref();
        let mut trace_tail: Vec<TraceLine> = core.trace().records().map(|(r, text)| resolve(&core, r, text)).collect();
        let keep = 16;
        if trace_tail.len() > keep {
            trace_tail.drain(..trace_tail.len() - keep);
        }
        Box::new(Failure {
            time: core.now(),
            step: core.step(),
            name: self.config.name.clone(),
            seed,
            strategy: core.strategy().describe(),
            replay: replay_command(self.config.replay_hint.as_deref(), name, seed, Some(&tape), self.config.model),
            model: self.config.model,
            tokio_model: core.tokio_reach(),
            tape,
            fingerprint: core.trace().fingerprint(),
            trace_tail,
            kind,
        })
    }

    /// The failure of a run with tasks left and nothing pending: a deadlock, unless a
    /// task blocked on a non-Lockstep future whose waker is held outside the engine
    /// gets a wake-up from another OS thread within the grace period (an escape).
    fn deadlock(&mut self) -> Box<Failure> {
        if let Some(escape) = self.await_foreign_wake() {
            return escape;
        }
        let blocked = {
            let core = self.shared.core.borrow();
            (0..core.task_count())
                .map(|i| TaskId(i as u32))
                .filter(|&id| core.task_state(id) == TaskState::Running)
                .map(|id| BlockedTask {
                    id,
                    name: core.task_name(id).to_string(),
                    waits: core.waits(id).iter().map(|w| core.describe_wait(w)).collect(),
                })
                .collect()
        };
        self.failure(FailureKind::Deadlock { blocked })
    }

    /// Waits up to the grace period for what another OS thread may still do, when the
    /// deadlock may be waiting for it:
    /// - a blocked task's waker has more clones than its Lockstep waits account for
    ///   (something that is not a Lockstep primitive holds it);
    /// - a task waits on a primitive created outside the simulation (or taken over from
    ///   an ended one): a `std::thread` may hold its other end (`blocking_send`);
    /// - a task blocked on a future that is not a Lockstep primitive has a `JoinHandle`
    ///   or `AbortHandle`, which another thread may abort it with.
    ///
    /// A wake-up or an abort from another thread within the grace period ends the run as
    /// an escape naming the task: the simulation cannot order that thread, and waiting
    /// for it on the wall clock would let the clock decide whether the run passes.
    fn await_foreign_wake(&mut self) -> Option<Box<Failure>> {
        let (suspect, outside_waits) = {
            let core = self.shared.core.borrow();
            let outside = self.shared.outside.borrow();
            let handles = self.shared.handles.borrow();
            let mut suspect = false;
            // Tasks waiting on a primitive created outside, with what they wait for.
            let mut outside_waits = Vec::new();
            for id in (0..core.task_count()).map(|i| TaskId(i as u32)) {
                if core.task_state(id) != TaskState::Running {
                    continue;
                }
                let waits = core.waits(id);
                // Each wait but a timer's keeps one clone of the task's waker in its
                // primitive; more clones than that are held by something else.
                let kept = waits.iter().filter(|w| !matches!(w, Wait::Timer { .. })).count();
                let foreign_waker = core.waker_clones(id) > kept;
                let on_outside = waits.iter().find(|w| w.channel().is_some_and(|c| outside.contains(&c)));
                if let Some(wait) = on_outside {
                    outside_waits.push((id, core.describe_wait(wait)));
                }
                // The task's own future holds one reference to the flag; a handle, another.
                let abortable = waits.is_empty() && handles.get(id.0 as usize).is_some_and(|h| h.strong_count() > 1);
                suspect |= foreign_waker || on_outside.is_some() || abortable;
            }
            (suspect, outside_waits)
        };
        if !suspect {
            return None;
        }
        let start = std::time::Instant::now();
        let pause = Duration::from_millis(1);
        loop {
            if self.shared.core.borrow().foreign_wake_pending() {
                let mut core = self.shared.core.borrow_mut();
                core.drain_wakes();
                match core.take_stop() {
                    Some(Stop::Escape { task: Some(task), cause }) => {
                        let cause = match outside_waits.iter().find(|(t, _)| *t == task) {
                            Some((_, wait)) => format!("{OUTSIDE_WAKE} (it waited: {wait})"),
                            None => cause,
                        };
                        core.stop_with(Stop::Escape { task: Some(task), cause });
                    }
                    Some(other) => core.stop_with(other),
                    None => {}
                }
                drop(core);
                return self.check_stop().err();
            }
            if self.shared.life.remote_pending.load(std::sync::atomic::Ordering::Acquire) {
                let task = self.shared.life.remote_aborts.lock().first().map(|&(task, _)| task);
                self.shared.core.borrow_mut().escape(task, REMOTE_ABORT.to_string());
                return self.check_stop().err();
            }
            if start.elapsed() >= self.config.foreign_wake_grace {
                return None;
            }
            std::thread::sleep(pause);
        }
    }

    /// Steps until `done` holds or nothing is due by `until`.
    fn drive(&mut self, until: Instant, mut done: impl FnMut(&Core) -> bool) -> Result<Progress, Box<Failure>> {
        loop {
            if done(&self.shared.core.borrow()) {
                return Ok(Progress::Done);
            }
            if !self.step_once(until, &mut done)? {
                return Ok(Progress::Idle);
            }
        }
    }

    /// The heart: take one event due by `until` and apply it. `stops` says whether the
    /// driver stops after this step (its footprint then orders it against every event
    /// still pending, which the stop leaves unapplied).
    fn step_once(&mut self, until: Instant, stops: &mut dyn FnMut(&Core) -> bool) -> Result<bool, Box<Failure>> {
        self.step_local(until, stops, &mut None)
    }

    /// [`Sim::step_once`], with `local` the task whose future the caller keeps.
    fn step_local(
        &mut self,
        until: Instant,
        stops: &mut dyn FnMut(&Core) -> bool,
        local: &mut Option<Local<'_>>,
    ) -> Result<bool, Box<Failure>> {
        let mut core = self.shared.core.borrow_mut();
        if core.step() >= self.max_steps {
            drop(core);
            return Err(self.failure(FailureKind::StepLimit { limit: self.max_steps }));
        }
        if core.next_time().is_some_and(|t| t > self.max_time && t <= until) {
            drop(core);
            let limit = self.max_time.since_origin();
            return Err(self.failure(FailureKind::TimeLimit { limit }));
        }
        let Some((event, choice)) = core.next_event(until) else {
            drop(core);
            // Draining the queue may have found a wake-up from another thread.
            self.check_stop()?;
            // Nothing is due at any time: the point where aborts asked from other
            // threads land (the same point whenever they were asked).
            if until == Instant::MAX && crate::task::apply_remote_aborts(&self.shared) {
                self.check_stop()?;
                return Ok(true);
            }
            return Ok(false);
        };
        // A task is polled when it is still running and its future is there to poll
        // (the caller's, for the task `local` stands for).
        let runnable = match (event, &local) {
            (Event::Wake(id), Some(l)) if l.id == id => true,
            (Event::Wake(id), _) => self.shared.futures.borrow().get(id.0 as usize).is_some_and(Option::is_some),
            _ => true,
        };
        if core.begin_step(event, choice, runnable) {
            match event {
                Event::Wake(id) => {
                    drop(core);
                    match local {
                        Some(l) if l.id == id => self.poll_local(l),
                        _ => self.poll_task(id),
                    }
                }
                Event::Timer(key, id) => {
                    let woken = core.timer_fire(key, id);
                    drop(core);
                    if let Woken::Waker(w) = woken {
                        w.wake();
                    }
                }
                Event::Deliver(channel) => {
                    core.count_delivery(channel);
                    let target = core.deliver_target(channel);
                    drop(core);
                    if let Some(next) = target.and_then(|t| t.deliver()) {
                        self.shared.core.borrow_mut().schedule_delivery(channel, next);
                    }
                }
            }
        } else {
            drop(core);
        }
        if self.shared.footprints {
            let mut core = self.shared.core.borrow_mut();
            let stops = stops(&core);
            core.end_footprint(stops);
        }
        self.check_stop()?;
        Ok(true)
    }

    /// Polls task `id` (its step begun with [`Core::begin_step`]).
    fn poll_task(&mut self, id: TaskId) {
        let Some(mut future) = self.shared.futures.borrow_mut().get_mut(id.0 as usize).and_then(Option::take) else {
            return;
        };
        let (waker, span) = {
            let mut core = self.shared.core.borrow_mut();
            let waker = core.begin_poll(id);
            let span = tracing::info_span!("task", name = %core.task_name(id), id = id.0);
            Watch::begin(&mut self.watch, &core, id);
            (waker, span)
        };
        let mut cx = Context::from_waker(&waker);
        let result = {
            let _entered = span.enter();
            in_task(|| future.as_mut().poll(&mut cx))
        };
        Watch::end(&self.watch);
        let mut core = self.shared.core.borrow_mut();
        core.end_poll(id, waker);
        match result {
            Ok(Poll::Pending) if core.task_state(id) == TaskState::Running => {
                drop(core);
                self.shared.futures.borrow_mut()[id.0 as usize] = Some(future);
            }
            Ok(_) => {
                let joiner = core.end_task(id, TaskState::Done);
                drop(core);
                drop(future);
                if let Some(w) = joiner {
                    w.wake();
                }
            }
            Err(payload) => {
                core.end_task(id, TaskState::Done);
                core.stop_with(panic_stop(id, &*payload));
                drop(core);
                // A future that panicked may panic again when dropped; contain that too.
                let _ = in_task(move || drop(future));
            }
        }
    }

    /// Polls the task whose future the caller keeps ([`Sim::block_on_local`]), its
    /// step begun with [`Core::begin_step`].
    fn poll_local(&mut self, local: &mut Local<'_>) {
        let id = local.id;
        let (waker, span) = {
            let mut core = self.shared.core.borrow_mut();
            let waker = core.begin_poll(id);
            let span = tracing::info_span!("task", name = %core.task_name(id), id = id.0);
            Watch::begin(&mut self.watch, &core, id);
            (waker, span)
        };
        let mut cx = Context::from_waker(&waker);
        let result = {
            let _entered = span.enter();
            in_task(|| (local.poll)(&mut cx))
        };
        Watch::end(&self.watch);
        let mut core = self.shared.core.borrow_mut();
        core.end_poll(id, waker);
        match result {
            Ok(Poll::Pending) => {}
            Ok(Poll::Ready(())) => {
                let joiner = core.end_task(id, TaskState::Done);
                drop(core);
                if let Some(w) = joiner {
                    w.wake();
                }
            }
            Err(payload) => {
                core.end_task(id, TaskState::Done);
                core.stop_with(panic_stop(id, &*payload));
            }
        }
    }

    fn check_stop(&mut self) -> Result<(), Box<Failure>> {
        let stop = self.shared.core.borrow_mut().take_stop();
        let Some(stop) = stop else { return Ok(()) };
        let kind = {
            let core = self.shared.core.borrow();
            match stop {
                Stop::Panic { task, message } => FailureKind::Panic { task: core.task_name(task).to_string(), message },
                Stop::Violation { task, message } => {
                    FailureKind::Violation { task: task.map(|t| core.task_name(t).to_string()), message }
                }
                Stop::Escape { task, cause } => FailureKind::Escape {
                    task: task.map_or_else(|| "-".to_string(), |t| core.task_name(t).to_string()),
                    cause,
                },
            }
        };
        Err(self.failure(kind))
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        // Task futures hold handles to the simulation: drop them to break the cycle,
        // with the simulation current so their destructors can reach it.
        let _guard = EnterGuard::new(&self.shared);
        let futures = std::mem::take(&mut *self.shared.futures.borrow_mut());
        drop(futures);
        context::remove(&self.shared);
        // Handles outlive it: from now on their tasks are gone.
        self.shared.life.alive.store(false, std::sync::atomic::Ordering::Release);
    }
}

impl std::fmt::Debug for Sim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sim").field("now", &self.now()).field("steps", &self.steps()).finish_non_exhaustive()
    }
}

/// The cause given for a task woken from another OS thread, after the simulation ran out
/// of events, while it waited on a primitive created outside the simulation.
const OUTSIDE_WAKE: &str = "woken from another OS thread after the simulation had run out of events: a thread \
     outside the simulation (a `std::thread` calling `blocking_send`, `blocking_recv`, `blocking_lock`, ...) used a \
     primitive created outside it, which the simulation cannot order; whether that thread acts before or after the \
     wait is up to the OS scheduler, not the seed";

/// The cause given for an abort asked from another OS thread after the simulation ran
/// out of events.
const REMOTE_ABORT: &str = "aborted from another OS thread after the simulation had run out of events (else a \
     deadlock): an abort from another thread lands only when the simulation has nothing left to do, and waiting \
     for one would let the wall clock decide whether the run passes";

/// What tokio's timers and I/O resources panic with when polled outside a tokio runtime.
const TOKIO_CONTEXT_PANIC: &str = "must be called from the context of a Tokio 1.x runtime";

/// The stop for a task's panic: an escape when it is tokio's "no runtime" panic (a
/// real tokio timer or socket polled inside the simulation), else a panic.
fn panic_stop(task: TaskId, payload: &(dyn Any + Send)) -> Stop {
    let message = panic_message(payload);
    if message.contains(TOKIO_CONTEXT_PANIC) {
        let cause = format!(
            "a real tokio timer or I/O resource was polled inside the simulation (tokio panicked: \"{message}\"); \
             use sim-tokio's, or build with --cfg lockstep"
        );
        Stop::Escape { task: Some(task), cause }
    } else {
        Stop::Panic { task, message }
    }
}

/// The task whose future [`Sim::block_on_local`] keeps on its caller's stack.
struct Local<'a> {
    id: TaskId,
    poll: &'a mut dyn FnMut(&mut Context<'_>) -> Poll<()>,
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-string panic payload)".to_string()
    }
}

fn resolve(core: &Core, r: &TraceRecord, value_text: Option<&str>) -> TraceLine {
    TraceLine {
        step: r.step,
        t_ns: r.time.as_nanos(),
        kind: r.kind,
        task_id: r.task.map(|t| t.0),
        task: r.task.map(|t| core.task_name(t).to_string()),
        channel_id: r.channel.map(|c| c.0),
        channel: r.channel.map(|c| core.channel_name(c).to_string()),
        timer_id: r.timer.map(|(t, _)| t.0),
        timer: r.timer_name.map(|n| core.timer_name_text(n).to_string()),
        deadline_ns: r.timer.map(|(_, at)| at.as_nanos()),
        choice: r.choice.map(|c| [c.options, c.index]),
        value: r.value,
        value_text: value_text.map(str::to_string),
    }
}
