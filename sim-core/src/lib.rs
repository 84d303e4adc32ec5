//! # sim-core: Lockstep's deterministic engine
//!
//! (The tutorial is written in the crate docs below the map.)
//!
//! ## Map
//! - [`Sim`] and [`Config`] (in `sim.rs`): a simulation and the step loop.
//! - [`time`]: virtual [`Instant`]s and timers (`sleep`, `interval`, `timeout`).
//! - [`sync`]: channels (`mpsc`, `oneshot`).
//! - [`spawn`], [`task::Builder`], [`JoinHandle`]: tasks.
//! - [`strategy`]: who resolves choice points (FIFO, random, replay, exhaustive).
//! - [`Tape`]: recorded choices and their text form.
//! - [`trace`]: records, fingerprints, JSON Lines export.
//! - [`Failure`]: how a run fails and how to replay it.
#![forbid(unsafe_code)]

pub mod check;
mod context;
mod core;
pub mod determinism;
pub mod env;
pub mod log;
mod report;
pub mod select;
mod sim;
pub mod strategy;
pub mod sync;
mod tape;
pub mod task;
pub mod time;
pub mod trace;

pub use crate::core::{ChannelId, TaskId, TimerId, Wait};
pub use crate::report::{BlockedTask, Failure, FailureKind};
pub use crate::sim::{Config, Sim, StepLimit, TimeLimit};
pub use crate::strategy::StrategyKind;
pub use crate::tape::{Choice, Tape, TapeParseError};
pub use crate::task::{choose, fail, spawn, yield_now, JoinError, JoinHandle};
pub use crate::time::Instant;
pub use crate::trace::{Fingerprint, Trace, TraceMode};
