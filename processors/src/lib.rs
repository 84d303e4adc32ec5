//! # processors: throttle, debounce, batcher and windows, in plain tokio
//!
//! Six stream processors, each written once as a small state machine ([`Logic`]) and
//! run by one driver ([`Processor`]) over any input [`Stream`](futures::Stream), timed
//! by `tokio::time`. The crate is written in plain tokio: its `tokio` dependency is
//! `sim-tokio`, which *is* tokio in a normal build (production, and tests with tokio's
//! paused time) and the Lockstep simulator in a build with `--cfg lockstep`. One
//! implementation, no clock abstraction; a production build depends on tokio only
//! (`RUSTFLAGS= cargo tree -p processors -e normal` shows it).
//!
//! ## Map
//! - [`processor`]: the [`Logic`] trait and the [`Processor`] stream adapter that
//!   drives it; [`Logic::process`] and [`Logic::process_ok`] start one.
//! - The processors: [`Throttle`], [`Debounce`], [`Batcher`], and in [`window`]:
//!   [`TumblingWindow`], [`SlidingWindow`], [`SessionWindow`], which emit [`Window`]s
//!   and [`Session`]s.
//! - [`ConfigError`]: a configuration that cannot work, reported at construction.
//! - [`timeline`]: a source yielding items at given times, and a wrapper stamping
//!   outputs with their emission time (for examples and tests).
//!
//! The semantics, boundary rules and differences from the Go library these came
//! from are in `docs/processors.md`.
//!
//! ## Use
//!
//! Items are `Result<T, E>`: errors pass through at once, untouched. Use
//! [`Logic::process_ok`] for a stream of plain values. Build processors inside the
//! runtime (their origin is `tokio::time::Instant::now()`).
//!
//! ```
//! use std::time::Duration;
//! use futures::StreamExt;
//! use processors::{Debounce, Logic};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap().block_on(async {
//! let (tx, rx) = futures::channel::mpsc::unbounded::<Result<&str, std::io::Error>>();
//! let mut debounced = Debounce::new(Duration::from_millis(100)).process(rx);
//! tx.unbounded_send(Ok("h")).unwrap();
//! tx.unbounded_send(Ok("he")).unwrap();
//! tx.unbounded_send(Ok("hello")).unwrap();
//! // 100 ms after the last keystroke (paused time jumps there at once):
//! assert_eq!(debounced.next().await.unwrap().unwrap(), "hello");
//! # });
//! ```
//!
//! On tokio this runs with paused time; built with `--cfg lockstep` (this workspace),
//! the same code runs as one simulation in virtual time.
//!
//! ## On the simulator
//!
//! Under `--cfg lockstep`, every timer firing and every wake-up is an event of the
//! simulation's one queue, and a seed decides the order of events that fall on the
//! same instant. The processors decide from timestamps only, so their output does
//! not depend on that order. A simulation is usually a `#[tokio::test]` of
//! `sim-tokio` (many seeds, a replay command on failure); here the engine is driven
//! directly, one seed at a time:
//!
//! ```
//! # #[cfg(lockstep)] {
//! use std::time::Duration;
//! use futures::StreamExt;
//! use processors::{timeline, Batcher, Logic};
//! use sim_core::{Config, Sim};
//!
//! let ms = Duration::from_millis;
//! let run = |seed| {
//!     let mut sim = Sim::new(Config::random(seed));
//!     sim.block_on(async move {
//!         // 3 arrives exactly when the first batch's latency deadline is due.
//!         let input = timeline::timed([(ms(0), 1), (ms(50), 2), (ms(100), 3)]).close_at(ms(400));
//!         let batches = Batcher::new(3, Some(ms(100))).unwrap().process_ok(input);
//!         timeline::stamped(batches).collect::<Vec<_>>().await
//!     })
//!     .unwrap()
//! };
//! for seed in 0..20 {
//!     assert_eq!(run(seed), [(ms(100), vec![1, 2]), (ms(200), vec![3])]);
//! }
//! # }
//! ```
//!
//! ## Writing another processor
//!
//! Implement [`Logic`] (what to do with an input, at the deadline, on close) and
//! call [`Logic::process`]. The driver applies the rules every processor here
//! follows: a deadline due at `now` is handled before an input consumed at `now`;
//! errors pass through; close flushes; dropping the stream cancels.
//!
//! ## Limitations
//! - One timer per processor: a [`Logic`] exposes a single next deadline.
//! - The origin is the `tokio::time` time when the processor is built; windows align
//!   to it.
//! - A cancellation token is not built in: drop the stream, or stop it with
//!   `futures::StreamExt::take_until`, which ends the output when its future
//!   completes; held items go when the combinator is dropped.
//! - Calling [`Logic::process`] needs the [`Logic`] trait in scope.
//! - On tokio, timers have millisecond resolution: a deadline fires at the first
//!   millisecond tick at or after it. Decisions still use exact timestamps.
#![forbid(unsafe_code)]

mod batcher;
mod debounce;
mod error;
pub mod processor;
mod throttle;
pub mod timeline;
pub mod window;

pub use batcher::{Batcher, BatcherBuilder};
pub use debounce::Debounce;
pub use error::ConfigError;
pub use processor::{AsResults, Logic, Processor, Unwrapped};
pub use throttle::Throttle;
pub use window::{Session, SessionWindow, SlidingWindow, SlidingWindowBuilder, TumblingWindow, Window};
