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
//!
//! Under simulation: [`time`](mod@time), [`task`](mod@task), [`runtime`](mod@runtime),
//! [`sync`](mod@sync) (`mpsc`, `oneshot`, `watch`, `Notify`), [`io`](mod@io) (the
//! `AsyncRead`/`AsyncWrite` traits, no real I/O),
//! [`spawn`](fn@spawn), `select!` (its pick among ready branches is a recorded choice
//! unless `biased;`), `join!`, `try_join!`, `pin!`, `#[main]` (one simulation) and
//! `#[test]` (many seeds, a replay command on failure). [`lockstep`] holds the few
//! extras (names), present in both modes. See `docs/tokio.md` for the full map.
#![forbid(unsafe_code)]

#[cfg(not(lockstep))]
pub use tokio::*;

pub mod lockstep;

#[cfg(lockstep)]
mod sim;

#[cfg(lockstep)]
pub use sim::{io, runtime, sync, task, task::spawn, time};

/// Marks an `async fn` as the program's entry: its body runs as one simulation, in
/// the canonical order unless `LOCKSTEP_SEED` or `LOCKSTEP_TAPE` say otherwise.
/// Accepts tokio's arguments (`flavor`, `worker_threads`, `start_paused`, `crate`,
/// `unhandled_panic`, `name`) and rejects, at compile time with tokio's message, the
/// combinations tokio rejects (`worker_threads` without the multi-thread flavor, ...).
#[cfg(lockstep)]
pub use sim_tokio_macros::main;

/// Marks an `async fn` as a test that runs as a simulation over a seed range
/// (`LOCKSTEP_SEEDS`, or `seeds = N`; default 1,000) on every core, failing with the
/// lowest failing seed's report and a replay command. Accepts tokio's arguments
/// (`flavor`, `worker_threads`, `start_paused`, `crate`, `unhandled_panic`, `name`, with
/// tokio's rules and compile-time messages: `worker_threads` needs
/// `flavor = "multi_thread"`) and `seeds = N`; the body may return `()` or
/// `Result<(), E: Debug>`.
#[cfg(lockstep)]
pub use sim_tokio_macros::test;

#[cfg(lockstep)]
#[doc(hidden)]
pub mod __private {
    pub use crate::sim::entry::{block_on_main, run_test, Entry};
    pub use crate::sim::macros::{join_start, maybe_done, select_start, Cons, Nil};
    pub use sim_core::tooling::coop::poll_budget_available;
    pub use sim_tokio_macros::{join_impl, select_impl, try_join_impl};
}
