//! `tokio::runtime` over the simulator: a [`Runtime`] is one simulation, and
//! [`Runtime::block_on`] drives it, in the canonical order unless `LOCKSTEP_SEED`
//! or `LOCKSTEP_TAPE` say otherwise. A failed run (a panic, a deadlock, an escape)
//! panics with the full report, which holds the replay.
//!
//! Every builder option of tokio's is accepted. Two shape the run as tokio's would be:
//! the flavor (`time::pause()` and `task::spawn_local` outside a `LocalSet` panic in
//! a multi-thread runtime, as tokio's) and `start_paused`. The others change nothing:
//! a simulation has one thread, virtual time, and every driver enabled.
//!
//! Like tokio's paused clock, a simulation has no virtual-time limit (a sleep of 30
//! years ends): a run that never ends in virtual time (a periodic timer forever) is
//! reported by the step limit (`step limit of … steps reached (livelock?)`), a run
//! with nothing left to do as a deadlock.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::io;
use std::marker::PhantomData;
use std::panic::Location;
use std::time::Duration;

use sim_core::tooling::env::EnvOverrides;
use sim_core::{Config, Sim, StrategyKind, TimeLimit};

use crate::sim::task::{self, JoinHandle};

/// Builds a [`Runtime`] (tokio's builder; every option is accepted and recorded
/// nowhere but the flavor and `start_paused`: a simulation has one thread and every
/// driver).
#[derive(Debug)]
pub struct Builder {
    flavor: Flavor,
    start_paused: bool,
}

/// Which of tokio's runtimes a simulation stands for. Each is the same simulation;
/// the flavor only decides what tokio forbids in it: `task::spawn_local` outside a
/// `LocalSet` panics, as in tokio, unless the flavor is `local`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flavor {
    CurrentThread,
    MultiThread,
    Local,
}

thread_local! {
    /// The flavor of the runtime driving this thread's simulation, if it was started
    /// by a `Runtime`, `#[tokio::main]` or `#[tokio::test]` (a raw `Sim` has none).
    static FLAVOR: Cell<Option<Flavor>> = const { Cell::new(None) };
}

impl Flavor {
    /// The flavor named by `#[tokio::test(flavor = "…")]` (the macro checked the name).
    pub(crate) fn parse(name: &str) -> Flavor {
        match name {
            "multi_thread" => Flavor::MultiThread,
            "local" => Flavor::Local,
            _ => Flavor::CurrentThread,
        }
    }

    /// Sets the current simulation's clock up (inside it): a multi-thread runtime
    /// refuses `time::pause()`, and `start_paused` pauses it.
    ///
    /// # Panics
    /// With tokio's message when a multi-thread runtime starts paused.
    pub(crate) fn set_up_clock(self, start_paused: bool) {
        sim_core::time::set_pausable(self != Flavor::MultiThread);
        if start_paused {
            crate::sim::time::pause();
        }
    }

    /// Makes this the thread's flavor until the guard is dropped.
    pub(crate) fn enter(self) -> FlavorGuard {
        FlavorGuard(FLAVOR.replace(Some(self)))
    }
}

/// Restores the thread's previous flavor when dropped.
pub(crate) struct FlavorGuard(Option<Flavor>);

impl Drop for FlavorGuard {
    fn drop(&mut self) {
        FLAVOR.set(self.0);
    }
}

/// Whether `spawn_local` may spawn outside a `LocalSet` here: tokio allows it only
/// on a `LocalRuntime`; a raw `Sim` (no runtime flavor) allows it too.
pub(crate) fn spawn_local_outside_local_set() -> bool {
    !matches!(FLAVOR.get(), Some(Flavor::CurrentThread | Flavor::MultiThread))
}

/// tokio's panic for `spawn_local` outside a `LocalSet` or `LocalRuntime`.
pub(crate) const SPAWN_LOCAL_OUTSIDE: &str =
    "`spawn_local` called from outside of a `task::LocalSet` or `runtime::LocalRuntime`";

macro_rules! ignored_options {
    ($($(#[$doc:meta])* $name:ident($($arg:ident: $ty:ty),*);)*) => {
        $(
            $(#[$doc])*
            pub fn $name(&mut self, $($arg: $ty),*) -> &mut Self {
                $(let _ = $arg;)*
                self
            }
        )*
    };
}

impl Builder {
    /// tokio's single-threaded runtime: here, a simulation.
    pub fn new_current_thread() -> Builder {
        Builder { flavor: Flavor::CurrentThread, start_paused: false }
    }

    /// tokio's work-stealing runtime: here, the same single-threaded simulation.
    pub fn new_multi_thread() -> Builder {
        Builder { flavor: Flavor::MultiThread, start_paused: false }
    }

    /// Starts the clock paused, as tokio's (see [`crate::time::pause`]); a multi-thread
    /// runtime then panics when built, as tokio's.
    pub fn start_paused(&mut self, paused: bool) -> &mut Self {
        self.start_paused = paused;
        self
    }

    ignored_options! {
        /// Accepted; time and every other driver are always on.
        enable_all();
        /// Accepted; virtual time is always on.
        enable_time();
        /// Accepted; real I/O cannot be simulated (it escapes).
        enable_io();
        /// Accepted; there is one thread.
        worker_threads(n: usize);
        /// Accepted; there is no blocking pool.
        max_blocking_threads(n: usize);
        /// Accepted.
        thread_name(name: impl Into<String>);
        /// Accepted.
        thread_stack_size(size: usize);
        /// Accepted.
        thread_keep_alive(duration: Duration);
        /// Accepted.
        event_interval(n: u32);
        /// Accepted.
        global_queue_interval(n: u32);
        /// Accepted.
        max_io_events_per_tick(n: usize);
    }

    /// Accepted; the hook is never called (there are no worker threads).
    pub fn on_thread_start<F: Fn() + Send + Sync + 'static>(&mut self, f: F) -> &mut Self {
        drop(f);
        self
    }

    /// Accepted; the hook is never called (there are no worker threads).
    pub fn on_thread_stop<F: Fn() + Send + Sync + 'static>(&mut self, f: F) -> &mut Self {
        drop(f);
        self
    }

    /// A new simulation, its strategy from `LOCKSTEP_SEED` / `LOCKSTEP_TAPE`
    /// (canonical order when neither is set).
    ///
    /// # Errors
    /// `InvalidInput` when a `LOCKSTEP_*` variable holds a bad value.
    ///
    /// # Panics
    /// With tokio's message when a multi-thread runtime starts paused.
    pub fn build(&mut self) -> io::Result<Runtime> {
        let config = config_from_env(thread_test_name(), None)?;
        Ok(Runtime::with_config(config, self.flavor, self.start_paused))
    }

    /// A [`LocalRuntime`]: one simulation, in which `task::spawn_local` works outside
    /// a `LocalSet`, as tokio's.
    ///
    /// # Errors
    /// `InvalidInput` when a `LOCKSTEP_*` variable holds a bad value.
    ///
    /// # Panics
    /// On a builder made by [`new_multi_thread`](Builder::new_multi_thread), with
    /// tokio's text.
    pub fn build_local(&mut self, options: LocalOptions) -> io::Result<LocalRuntime> {
        let _ = options;
        assert!(self.flavor != Flavor::MultiThread, "multi_thread is not supported for LocalRuntime");
        let config = config_from_env(thread_test_name(), None)?;
        Ok(LocalRuntime { inner: Runtime::with_config(config, Flavor::Local, self.start_paused) })
    }
}

/// Options of [`Builder::build_local`]: none yet, as tokio's.
#[derive(Default, Debug)]
#[non_exhaustive]
pub struct LocalOptions {
    _not_send: PhantomData<*mut u8>,
}

/// tokio's `LocalRuntime`: a [`Runtime`] whose tasks need not be `Send`, and in
/// which `task::spawn_local` works outside a `LocalSet`. Under simulation every
/// runtime runs on one thread, so it is the same simulation as a current-thread
/// [`Runtime`]'s.
#[derive(Debug)]
pub struct LocalRuntime {
    inner: Runtime,
}

impl LocalRuntime {
    /// A new simulation (see [`Builder::build_local`]).
    ///
    /// # Errors
    /// `InvalidInput` when a `LOCKSTEP_*` variable holds a bad value.
    pub fn new() -> io::Result<LocalRuntime> {
        Builder::new_current_thread().enable_all().build_local(LocalOptions::default())
    }

    /// The handle of this runtime.
    pub fn handle(&self) -> &Handle {
        self.inner.handle()
    }

    /// Spawns a task, `Send` or not, on this simulation.
    #[track_caller]
    pub fn spawn_local<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let location = Location::caller();
        self.inner.sim.borrow().enter(|| task::spawn_at(location, future))
    }

    /// Under simulation: an escape (see [`task::spawn_blocking`]).
    #[track_caller]
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.inner.spawn_blocking(f)
    }

    /// Runs `future` until it completes (see [`Runtime::block_on`]).
    ///
    /// # Panics
    /// As [`Runtime::block_on`].
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.inner.block_on(future)
    }

    /// Makes this runtime current (see [`Runtime::enter`]).
    pub fn enter(&self) -> EnterGuard<'_> {
        self.inner.enter()
    }

    /// Drops the simulation and every task in it.
    pub fn shutdown_timeout(self, duration: Duration) {
        self.inner.shutdown_timeout(duration);
    }

    /// Drops the simulation and every task in it.
    pub fn shutdown_background(self) {
        self.inner.shutdown_background();
    }
}

/// The name libtest gives the running test (its thread's name), if any.
fn thread_test_name() -> Option<String> {
    std::thread::current().name().filter(|n| *n != "main").map(str::to_string)
}

/// A run's configuration from the environment: a seed, a tape, or the canonical order.
pub(crate) fn config_from_env(name: Option<String>, command: Option<String>) -> io::Result<Config> {
    let env = EnvOverrides::from_env().map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
    let mut config = match (env.seed, env.tape) {
        (Some(seed), _) => Config::random(seed),
        (None, Some(tape)) => Config::replay(tape),
        (None, None) => Config::default().strategy(StrategyKind::Fifo),
    };
    config = config.max_time(TimeLimit::Unlimited);
    if let Some(name) = name {
        config = config.name(name);
    }
    if let Some(command) = command {
        config.replay_hint = Some(if env.seed.is_some() {
            format!("LOCKSTEP_SEED={{seed}} {command}")
        } else {
            format!("LOCKSTEP_TAPE='{{tape}}' {command}")
        });
    }
    Ok(config)
}

/// A simulation, driven by [`Runtime::block_on`].
pub struct Runtime {
    sim: RefCell<Sim>,
    handle: Handle,
    flavor: Flavor,
}

impl Runtime {
    /// A new simulation (see [`Builder::build`]).
    ///
    /// # Errors
    /// `InvalidInput` when a `LOCKSTEP_*` variable holds a bad value.
    pub fn new() -> io::Result<Runtime> {
        Builder::new_multi_thread().enable_all().build()
    }

    pub(crate) fn with_config(config: Config, flavor: Flavor, start_paused: bool) -> Runtime {
        let sim = Sim::new(config);
        sim.enter(|| flavor.set_up_clock(start_paused));
        Runtime { sim: RefCell::new(sim), handle: Handle { _private: () }, flavor }
    }

    /// Runs `future` as the task `main` until it completes; tasks it spawned run
    /// alongside, in virtual time. Calling it again continues the same simulation.
    ///
    /// # Panics
    /// With the failure report (which holds the replay command) when the run fails:
    /// a panic, a deadlock, an escape, a limit. Inside a simulated task (tokio
    /// panics there too).
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        assert!(
            sim_core::tooling::task::current_task().is_none(),
            "Cannot start a runtime from within a runtime. This happens because a function (like `block_on`) \
             attempted to block the current thread while the thread is being used to drive asynchronous tasks."
        );
        let mut sim = self.sim.borrow_mut();
        let flavor = self.flavor.enter();
        let result = sim.block_on_local(future);
        drop(flavor);
        match result {
            Ok(value) => value,
            Err(failure) => {
                // The future is gone, so the run cannot be re-run: its artefacts hold
                // the trace it kept.
                match sim_core::tooling::artefacts::for_run(sim.config(), &failure, &sim.trace()) {
                    Some(written) => panic!("{failure}\n  artefacts: {written}"),
                    None => panic!("{failure}"),
                }
            }
        }
    }

    /// Spawns a task on this simulation.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let location = Location::caller();
        self.sim.borrow().enter(|| task::spawn_at(location, future))
    }

    /// Under simulation: an escape (see [`task::spawn_blocking`]).
    #[track_caller]
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        self.sim.borrow().enter(|| task::spawn_blocking(f))
    }

    /// The handle of this runtime.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// Makes this runtime current. A simulation is current on its thread from its
    /// creation until dropped, so the guard does nothing more.
    pub fn enter(&self) -> EnterGuard<'_> {
        EnterGuard { _runtime: PhantomData }
    }

    /// Drops the simulation and every task in it.
    pub fn shutdown_timeout(self, duration: Duration) {
        let _ = duration;
        drop(self);
    }

    /// Drops the simulation and every task in it.
    pub fn shutdown_background(self) {
        drop(self);
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime").finish_non_exhaustive()
    }
}

/// Returned by [`Runtime::enter`] and [`Handle::enter`].
#[derive(Debug)]
pub struct EnterGuard<'a> {
    _runtime: PhantomData<&'a ()>,
}

/// A handle to the simulation current on this thread.
///
/// `Send` and `Sync` as tokio's, so generic code that keeps a handle in a `Send` value
/// compiles (tokio-util's `LocalPoolHandle`). It stands for whichever simulation is
/// current where it is used: spawning through it on an OS thread that runs no
/// simulation panics as [`task::spawn`] does there.
#[derive(Clone, Debug)]
pub struct Handle {
    _private: (),
}

/// [`Handle::try_current`] found no simulation.
#[derive(Debug)]
pub struct TryCurrentError(());

impl fmt::Display for TryCurrentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("there is no reactor running, must be called from the context of a Lockstep simulation")
    }
}

impl std::error::Error for TryCurrentError {}

impl Handle {
    /// The handle of the simulation running the current task.
    ///
    /// # Panics
    /// Outside a simulated task.
    #[track_caller]
    pub fn current() -> Handle {
        Handle::try_current().expect("there is no reactor running: Handle::current() called outside a simulated task")
    }

    /// The handle of the simulation running the current task, if any.
    ///
    /// # Errors
    /// Outside a simulated task.
    pub fn try_current() -> Result<Handle, TryCurrentError> {
        match sim_core::tooling::task::current_task() {
            Some(_) => Ok(Handle { _private: () }),
            None => Err(TryCurrentError(())),
        }
    }

    /// Spawns a task on the current simulation.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        task::spawn_at(Location::caller(), future)
    }

    /// Under simulation: an escape (see [`task::spawn_blocking`]).
    #[track_caller]
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        task::spawn_blocking(f)
    }

    /// Does nothing more than keep the handle (the simulation is already current).
    pub fn enter(&self) -> EnterGuard<'_> {
        EnterGuard { _runtime: PhantomData }
    }
}
