//! # sim-core: Lockstep's deterministic engine
//!
//! One single-threaded scheduler owns virtual time. Every task wake-up, timer firing
//! and channel delivery is an event in **one queue**; a step applies one event and a
//! task poll is atomic. When several events are due at the same instant, a
//! *strategy* picks which goes first, and the pick is recorded on a *tape*. A run
//! is a pure function of the code and the seed (or tape): a failing order replays
//! exactly, and a correct program can be shown correct over thousands of orders.
//!
//! ## The whole public surface
//! Every public module and every item at the crate root, one row per group (a test,
//! `sim-core/tests/surface.rs`, checks this table against `pub mod` and `pub use` below).
//! Start at the top; [`tooling`] is for tools built on the engine, not for tests.
//!
//! | group | items | what for |
//! | --- | --- | --- |
//! | run | [`Sim`], [`Config`], [`StepLimit`], [`TimeLimit`], [`StrategyKind`] | one simulation: [`Sim::run`], [`Sim::block_on`], or by hand ([`Sim::step`], [`Sim::advance`]) |
//! | check | [`check`], [`Check`], [`check_random`], [`check_pct`], [`check_exhaustive`], [`check_proptest`], [`replay`], [`Report`] | **the one runner**: one async-closure world (`Fn() -> Fut`, or `Fn(V) -> Fut` with inputs) under every strategy; any failure replays from what its report prints |
//! | explore | [`explore`] | what the exhaustive and proptest searches report; shrinking a tape, critical pairs, proptest schedules |
//! | in a task | [`spawn`], [`yield_now`], [`choose`], [`fail`], [`named`], [`touch`], [`JoinHandle`], [`JoinError`], [`TaskId`] | tasks, recorded choices, violations, names, shared memory the engine cannot see |
//! | primitives | [`time`] ([`time::Instant`]), [`sync`], [`task`], [`select`](mod@select) | tokio-shaped timers, channels, locks, join sets; the same types sim-tokio re-exports under tokio's paths |
//! | reports | [`Failure`], [`FailureKind`], [`BlockedTask`], [`Wait`], [`ChannelId`], [`TimerId`] | what failed, who was blocked on what |
//! | tapes | [`Tape`], [`Choice`], [`TapeParseError`] | the recorded choices a report prints, which replay the run |
//! | traces | [`Trace`], [`TraceMode`], [`Fingerprint`] | what a run did, and its hash |
//! | determinism | [`determinism`], [`check_determinism`], [`Nondeterminism`] | run a seed twice, name the first difference |
//! | tokio's order | [`model`], [`Model`], [`TokioReach`] | whether tokio's current-thread runtime could take a failing order |
//! | artefacts | [`artefacts`] | the report, tape, trace and timeline a failing check leaves under `target/lockstep/` ([`artefacts::Artefacts`] says where) |
//! | features | [`log`], [`timeline`] | virtual-time `tracing` output; a run as one HTML page |
//! | tool builders | [`tooling`] | strategies and enumerators, footprints, identities, trace records, watchdog, coop budget, the `LOCKSTEP_*` parser, artefact writers |
//!
//! ## Environment variables
//! Set on the `cargo test` command line; a check, sim-tokio's `#[tokio::test]` and
//! `Runtime::block_on` obey them. Unset or empty means no override; a bad value fails
//! the check naming the variable and the value.
//!
//! | variable | meaning | example |
//! | --- | --- | --- |
//! | `LOCKSTEP_SEED` | run only this seed, keep its full trace, print its report | `LOCKSTEP_SEED=17` |
//! | `LOCKSTEP_TAPE` | replay this tape (the `t1:` or `t2:` text of a report) | `LOCKSTEP_TAPE='t2:2.1@timer:driver#0'` |
//! | `LOCKSTEP_SEEDS` | how many seeds to run, from the range's start | `LOCKSTEP_SEEDS=100000` |
//! | `LOCKSTEP_SHARD` | run only shard `i` of `n` of the range (0-based) | `LOCKSTEP_SHARD=1/4` |
//! | `LOCKSTEP_JOBS` | how many worker threads run seeds | `LOCKSTEP_JOBS=1` |
//! | `LOCKSTEP_POLL_TIMEOUT` | the poll watchdog's wall-clock bound: seconds, or `ms`/`s` suffixed; `0` or `off` disables it (default 60 s) | `LOCKSTEP_POLL_TIMEOUT=500ms` |
//! | `LOCKSTEP_DETERMINISM` | the share of passing runs a check runs twice and compares | `LOCKSTEP_DETERMINISM=100%` |
//! | `LOCKSTEP_LOG` | the level [`log::init_test_logging`] installs | `LOCKSTEP_LOG=debug` |
//! | `LOCKSTEP_ARTEFACTS` | where failing checks write their [`artefacts`]: a directory, or `off` | `LOCKSTEP_ARTEFACTS=off` |
//!
//! ## Cargo features
//! Integrations with other libraries are optional. All four are on by default, since
//! sim-core is a test-time dependency and the checks above should work as shown;
//! `default-features = false` leaves the engine alone (no proptest, serde or
//! `tracing-subscriber` in the build).
//!
//! | feature | adds | pulls in |
//! | --- | --- | --- |
//! | `proptest` | [`check_proptest`], [`Check::proptest`], [`explore::schedules`] | `proptest` |
//! | `json` | [`Trace::write_jsonl`] (JSON Lines traces, written without `serde_json`, which would change type inference in users' code); serde's `Serialize` for trace lines, [`time::Instant`], [`Choice`], [`Fingerprint`] | `serde` |
//! | `log` | the [`log`] module: [`log::VirtualTime`], [`log::init_test_logging`] | `tracing-subscriber` |
//! | `timeline` | the [`timeline`] module: a run as one self-contained HTML page | nothing |
//!
//! ## Tutorial: find a race, read the report, replay it, fix it
//! A throttle passes an item, then refuses items for 50 ms. This one hands the item
//! downstream first and only then arms its cooldown timer; the timer's firing ends
//! the cooldown. A driver sends 1, receives it, sleeps 50 ms, sends 6 and waits for
//! it. At 50 ms the throttle's timer and the driver's wake-up fall on the same
//! instant: in some orders, 6 arrives while the throttle still believes it is
//! cooling down, is dropped, and the driver waits forever.
//!
//! ```
//! use std::time::Duration;
//! use sim_core::select::{select, Either};
//! use sim_core::sync::mpsc;
//! use sim_core::time::{sleep, Instant};
//! use sim_core::{Config, FailureKind, Sim, Tape};
//!
//! const PERIOD: Duration = Duration::from_millis(50);
//!
//! async fn buggy_throttle(mut input: mpsc::Receiver<u32>, output: mpsc::Sender<u32>) {
//!     let mut cooldown = None;
//!     loop {
//!         let item = match cooldown.as_mut() {
//!             None => input.recv().await,
//!             Some(timer) => match select(input.recv(), timer).await {
//!                 Either::Left(Some(_dropped)) => continue, // still cooling down
//!                 Either::Left(None) => None,
//!                 Either::Right(()) => {
//!                     cooldown = None;
//!                     continue;
//!                 }
//!             },
//!         };
//!         let Some(item) = item else { return };
//!         output.send(item).await.unwrap();
//!         cooldown = Some(sleep(PERIOD)); // armed after the hand-off: the bug
//!     }
//! }
//!
//! async fn fixed_throttle(mut input: mpsc::Receiver<u32>, output: mpsc::Sender<u32>) {
//!     let mut last: Option<Instant> = None;
//!     while let Some(item) = input.recv().await {
//!         let now = Instant::now(); // decide from timestamps, not from wake-up order
//!         if last.is_none_or(|t| now >= t + PERIOD) {
//!             last = Some(now);
//!             output.send(item).await.unwrap();
//!         }
//!     }
//! }
//!
//! /// Builds the world on `sim` and runs it to the end.
//! fn world(mut sim: Sim, buggy: bool) -> Sim {
//!     let (in_tx, in_rx) = sim_core::named("in", || mpsc::channel(1));
//!     let (out_tx, mut out_rx) = sim_core::named("out", || mpsc::channel(1));
//!     if buggy {
//!         sim.spawn_named("throttle", buggy_throttle(in_rx, out_tx));
//!     } else {
//!         sim.spawn_named("throttle", fixed_throttle(in_rx, out_tx));
//!     }
//!     sim.spawn_named("driver", async move {
//!         in_tx.send(1).await.unwrap();
//!         assert_eq!(out_rx.recv().await, Some(1));
//!         sleep(PERIOD).await;
//!         in_tx.send(6).await.unwrap();
//!         assert_eq!(out_rx.recv().await, Some(6));
//!         // Dropping `in_tx` here closes the throttle's input, so it ends too.
//!     });
//!     let outcome = sim.run();
//!     if let Err(failure) = outcome {
//!         // Keep the report with the simulation for the caller.
//!         REPORT.with(|r| *r.borrow_mut() = Some(failure));
//!     }
//!     sim
//! }
//! thread_local!(static REPORT: std::cell::RefCell<Option<Box<sim_core::Failure>>> = Default::default());
//! let take_report = || REPORT.with(|r| r.borrow_mut().take());
//!
//! const NAME: &str = "tutorial::throttle_hang";
//!
//! // 1. Find it: the canonical order passes, some seeds fail.
//! world(Sim::new(Config::default().name(NAME)), true);
//! assert!(take_report().is_none(), "FIFO order hides the race");
//! let (seed, failure) = (0..100)
//!     .find_map(|seed| {
//!         world(Sim::new(Config::random(seed).name(NAME)), true);
//!         take_report().map(|f| (seed, f))
//!     })
//!     .expect("a seed below 100 finds the race");
//! assert_eq!(seed, 3);
//! assert_eq!(failure.fingerprint.to_string(), "6a4bdbac091d2904");
//!
//! // 2. Read the report: a deadlock naming both tasks and what each waits on,
//! //    the seed, the tape, and the Rust that replays it.
//! let FailureKind::Deadlock { blocked } = &failure.kind else { panic!("{failure}") };
//! let blocked: Vec<String> = blocked.iter().map(|b| b.to_string()).collect();
//! assert_eq!(blocked, ["throttle (recv on `in`)", "driver (recv on `out`)"]);
//! let report = failure.to_string();
//! assert!(report.starts_with("lockstep: deadlock in `tutorial::throttle_hang`"));
//! let printed = r#"Sim::new(Config::replay("t2:2.0@poll:throttle#0,2.1@timer:driver#0,2.1@poll:driver#2,2.1@poll:throttle#2".parse()?))"#;
//! assert!(report.ends_with(&format!("replay: {printed}")), "{report}");
//! // tokio's current-thread runtime fires the throttle's timer (set first) first: this
//! // order is not one it takes (see `sim_core::model`).
//! assert!(!failure.tokio_model.is_reachable());
//! println!("{report}");
//!
//! // 3. Replay it as printed: the same run, step for step.
//! let replayed = world(
//!     Sim::new(Config::replay("t2:2.0@poll:throttle#0,2.1@timer:driver#0,2.1@poll:driver#2,2.1@poll:throttle#2".parse()?)),
//!     true,
//! );
//! assert_eq!(replayed.fingerprint(), failure.fingerprint);
//! assert_eq!(take_report().map(|f| f.kind), Some(failure.kind.clone()));
//! // The tape is plain text: it parses back from the report too.
//! let tape: Tape = failure.tape.to_string().parse()?;
//! assert_eq!(world(Sim::new(Config::replay(tape)), true).fingerprint(), failure.fingerprint);
//! take_report();
//!
//! // 4. Fix it: the timestamp throttle passes every seed.
//! for seed in 0..500 {
//!     world(Sim::new(Config::random(seed).name(NAME)), false);
//!     assert!(take_report().is_none(), "seed {seed}");
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The report printed in step 2 (seed 3 is the first to fail):
//!
//! ```text
//! lockstep: deadlock in `tutorial::throttle_hang`
//!   deadlock: 2 tasks blocked: throttle (recv on `in`), driver (recv on `out`)
//!   at 50ms after 9 steps
//!   seed: 3  strategy: random(seed=3)
//!   tape: t2:2.0@poll:throttle#0,2.1@timer:driver#0,2.1@poll:driver#2,2.1@poll:throttle#2
//!   fingerprint: 6a4bdbac091d2904
//!   tokio model: not reachable (timer 1 fired before timer 0, set earlier, both due at 50ms; tokio fires them in registration order)
//!   last steps:
//!     #2 0s poll task `driver`
//!     #2 0s send task `driver` channel `in`
//!     #3 0s poll task `throttle`
//!     #3 0s recv task `throttle` channel `in`
//!     #3 0s send task `throttle` channel `out`
//!     #3 0s timer-set task `throttle` timer 0 at 50ms
//!     #4 0s poll task `driver`
//!     #4 0s recv task `driver` channel `out`
//!     #4 0s timer-set task `driver` timer 1 at 50ms
//!     #5 50ms timer-fire task `driver` timer 1 at 50ms [choice 1 of 2]
//!     #6 50ms poll task `driver` [choice 1 of 2]
//!     #6 50ms send task `driver` channel `in`
//!     #7 50ms poll task `throttle` [choice 1 of 2]
//!     #7 50ms recv task `throttle` channel `in`
//!     #8 50ms timer-fire task `throttle` timer 0 at 50ms
//!     #9 50ms poll task `throttle`
//!   replay: Sim::new(Config::replay("t2:2.0@poll:throttle#0,2.1@timer:driver#0,2.1@poll:driver#2,2.1@poll:throttle#2".parse()?))
//! ```
//!
//! Step 5 is the decisive choice: the driver's timer fired before the throttle's,
//! so at step 7 the throttle received 6 while still cooling down and dropped it.
//! tokio's current-thread runtime fires timers due together in the order they were
//! set, so it never takes this order: the `tokio model:` line says so (see [`model`]).
//! The tutorial asserts the seed (3), the blocked tasks and the replay, and runs the
//! replay as printed, so this text stays true.
//!
//! A raw [`Sim`] prints the Rust that rebuilds the run (the world is yours to
//! build); the checks ([`check_random`], [`check_pct`], [`check_exhaustive`],
//! [`check_proptest`], [`Check`]) print, in a test that `cargo test` runs, the command
//! that runs that test alone on the failing seed or tape, as in
//! `LOCKSTEP_SEED=3 cargo test -p my-crate --test my_tests -- --exact module::my_test`.
//!
//! ## Limitations
//! - Only code that uses Lockstep's primitives (directly or through sim-tokio)
//!   is scheduled deterministically. A real socket, file, thread or
//!   `tokio::time` call inside a simulation escapes it (see `docs/determinism.md`);
//!   the escapes the engine can see (a wake-up from another thread, tokio's "no
//!   reactor" panic, [`tooling::task::escape`]) end the run as [`FailureKind::Escape`].
//! - A task waiting on a future that is not a Lockstep primitive is reported in a
//!   deadlock without saying what it waits on.
//! - A poll is atomic, so a poll that never returns (a loop with no `.await` in it)
//!   hangs the run: no single-threaded scheduler can preempt it. Loops that await
//!   something are caught by the step limit (livelock) or the virtual-time limit.
//! - Random tie-breaking finds shallow races; exhaustive enumeration
//!   ([`check_exhaustive`]) is for small programs.
//! - The reduced enumeration sees what steps do to Lockstep's primitives; memory the
//!   tasks share outside them counts only where it is declared with [`touch`].
#![forbid(unsafe_code)]

mod access;
pub mod artefacts;
pub mod check;
mod context;
mod core;
pub mod determinism;
pub mod explore;
mod footprint;
mod ids;
mod instant;
#[cfg(feature = "log")]
pub mod log;
pub mod model;
mod prefix;
mod report;
pub mod select;
mod share;
mod sim;
mod strategy;
pub mod sync;
mod tape;
pub mod task;
pub mod time;
#[cfg(feature = "timeline")]
pub mod timeline;
pub mod tooling;
mod trace;

// Modules that live under `tooling` as a whole; these names keep `crate::coop::…` and
// the like working inside the crate.
use crate::tooling::{coop, env, identity, watchdog};

#[cfg(feature = "proptest")]
pub use crate::check::check_proptest;
pub use crate::check::{check_exhaustive, check_pct, check_random, replay, Check, Report};
pub use crate::core::named;
pub use crate::determinism::{check_determinism, Nondeterminism};
pub use crate::footprint::touch;
pub use crate::ids::{ChannelId, TaskId, TimerId, Wait};
pub use crate::model::{Model, TokioReach};
pub use crate::report::{BlockedTask, Failure, FailureKind};
pub use crate::sim::{Config, Sim, StepLimit, TimeLimit};
pub use crate::strategy::StrategyKind;
pub use crate::tape::{Choice, Tape, TapeParseError};
pub use crate::task::{choose, fail, spawn, yield_now, JoinError, JoinHandle};
pub use crate::trace::{Fingerprint, Trace, TraceMode};
