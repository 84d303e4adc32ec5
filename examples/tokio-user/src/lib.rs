//! A tokio user's stream processors, written in plain tokio: nothing in `src/` knows about
//! Lockstep. The crate's manifest names `sim-tokio` as `tokio`, so under `--cfg lockstep` these
//! sources run in virtual time, and without it they are ordinary tokio code.
//!
//! - [`debounce`]: emit an item once `quiet` has passed without a newer one. The buggy version
//!   trusts the order in which its timer and its input wake it; the fixed one decides from
//!   timestamps.
//! - [`throttle`]: pass an item, then drop items for `period`. The buggy version arms its
//!   cooldown after handing the item on and lets the timer's firing end the cooldown (race 1
//!   of the catalogue, "throttle hang"); the fixed one decides from timestamps.
//! - [`pipeline`]: the benchmark's workload, a throttle between a paced producer and a consumer.
#![forbid(unsafe_code)]

pub mod debounce;
pub mod pipeline;
pub mod throttle;
