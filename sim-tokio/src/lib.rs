//! # sim-tokio: tokio's API over the Lockstep simulator
//!
//! Rename one dependency and unchanged tokio code runs under the simulator:
//!
//! ```toml
//! [dev-dependencies]
//! tokio = { package = "sim-tokio", version = "0.1", features = ["full"] }
//! ```
//!
//! Built with `--cfg lockstep` (`RUSTFLAGS="--cfg lockstep" cargo test`), `tokio::…`
//! names Lockstep's primitives: one event queue, virtual time, recorded choices. Built
//! without it, this crate is `pub use tokio::*`: the same types, at no cost.
#![forbid(unsafe_code)]

#[cfg(not(lockstep))]
pub use tokio::*;
