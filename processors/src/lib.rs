//! # processors: throttle, debounce, batcher and windows, on tokio and on the simulator
//!
//! Six stream processors, each written once as a small state machine ([`Logic`]) and
//! run by one driver ([`Processor`]) over any input [`Stream`](futures::Stream) and
//! any [`Clock`]: [`TokioClock`] in production (and with tokio's paused time in
//! tests), [`SimClock`] under the Lockstep simulator. The same code, not two copies.
//!
//! ## Map
//! - [`clock`]: the [`Clock`] trait, [`TokioClock`], [`SimClock`].
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
//! ## On tokio
//!
//! Items are `Result<T, E>`: errors pass through at once, untouched. Use
//! [`Logic::process_ok`] for a stream of plain values.
//!
//! ```
//! use std::time::Duration;
//! use futures::StreamExt;
//! use processors::{Debounce, Logic, TokioClock};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap().block_on(async {
//! let (tx, rx) = futures::channel::mpsc::unbounded::<Result<&str, std::io::Error>>();
//! let mut debounced = Debounce::new(Duration::from_millis(100)).process(TokioClock, rx);
//! tx.unbounded_send(Ok("h")).unwrap();
//! tx.unbounded_send(Ok("he")).unwrap();
//! tx.unbounded_send(Ok("hello")).unwrap();
//! // 100 ms after the last keystroke (paused time jumps there at once):
//! assert_eq!(debounced.next().await.unwrap().unwrap(), "hello");
//! # });
//! ```
//!
//! ## On the simulator
//!
//! Swap the clock. [`SimClock`] needs this crate's feature `sim` (which also
//! re-exports [`sim_core`]); production builds leave it off and depend on neither
//! the simulator nor tokio's `test-util`. Every timer firing and every wake-up is
//! then an event of the simulation's one queue, and a seed decides the order of
//! events that fall on the same instant. The processors decide from timestamps
//! only, so their output does not depend on that order:
//!
//! ```
//! use std::time::Duration;
//! use futures::StreamExt;
//! use processors::{timeline, Batcher, Logic, SimClock};
//! use sim_core::{Config, Sim};
//!
//! let ms = Duration::from_millis;
//! let run = |seed| {
//!     let mut sim = Sim::new(Config::random(seed));
//!     sim.block_on(async move {
//!         // 3 arrives exactly when the first batch's latency deadline is due.
//!         let input = timeline::timed(SimClock, [(ms(0), 1), (ms(50), 2), (ms(100), 3)]).close_at(ms(400));
//!         let batches = Batcher::new(3, Some(ms(100))).unwrap().process_ok(SimClock, input);
//!         timeline::stamped(SimClock, batches).collect::<Vec<_>>().await
//!     })
//!     .unwrap()
//! };
//! for seed in 0..20 {
//!     assert_eq!(run(seed), [(ms(100), vec![1, 2]), (ms(200), vec![3])]);
//! }
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
//! - The origin is the clock's time when the processor is built; windows align to it.
//! - A cancellation token is not built in: drop the stream, or stop it with
//!   `futures::StreamExt::take_until`, which ends the output when its future
//!   completes; held items go when the combinator is dropped.
//! - Calling [`Logic::process`] needs the [`Logic`] trait in scope.
//! - On tokio, timers have millisecond resolution: a deadline fires at the first
//!   millisecond tick at or after it. Decisions still use exact timestamps.
#![forbid(unsafe_code)]
// Without the `sim` feature, `SimClock` and `sim_core` do not exist, and the docs'
// links to them cannot resolve; with it (docs.rs, the workspace's `cargo doc`) they do.
#![cfg_attr(not(feature = "sim"), allow(rustdoc::broken_intra_doc_links))]

mod batcher;
pub mod clock;
mod debounce;
mod error;
pub mod processor;
mod throttle;
pub mod timeline;
pub mod window;

pub use batcher::{Batcher, BatcherBuilder};
#[cfg(feature = "sim")]
pub use clock::SimClock;
pub use clock::{Clock, TokioClock};
pub use debounce::Debounce;
pub use error::ConfigError;
pub use processor::{AsResults, Logic, Processor, Unwrapped};
pub use throttle::Throttle;
pub use window::{Session, SessionWindow, SlidingWindow, SlidingWindowBuilder, TumblingWindow, Window};

/// The simulator [`SimClock`] runs on (feature `sim`).
#[cfg(feature = "sim")]
pub use sim_core;
