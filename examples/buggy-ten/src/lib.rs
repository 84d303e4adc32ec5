//! Ten small stream processors written in plain tokio, each with a race of its own between
//! two events due at the same instant, each in a **buggy** and a **fixed** variant.
//!
//! Nothing in `src/` knows about Lockstep: the manifest names `sim-tokio` as `tokio`, so under
//! `--cfg lockstep` these sources run in virtual time with every same-instant order explored,
//! and without it they are ordinary tokio code.
//!
//! Each module holds the processor (both variants), an `Input` (the scenario's parameters;
//! `Input::default()` is the one that shows the race), a reference model computed from the
//! input's timestamps alone (`expected`), and `world(variant, input)`: an `async fn` that builds
//! the processor, drives it with the input, and asserts that what came out is what the
//! timestamps say. A test turns it into one closure, `move |input| world(variant, input)`, and
//! runs that same closure under every strategy (`examples/buggy-ten/tests/all_strategies.rs`).
//!
//! | module | the race |
//! | --- | --- |
//! | [`debounce`] | a per-item timer task (generation check) vs the next item at the quiet deadline |
//! | [`batcher`] | the linger timer's flush message vs a size flush: a stale flush cuts the next batch short |
//! | [`rate_limiter`] | a token refilled on an `interval` tick vs a request at the tick |
//! | [`retry`] | a `timeout` vs the reply at the same instant: a non-idempotent request applied twice |
//! | [`lease`] | the lease's expiry timer vs a renewal that arrives exactly at the deadline |
//! | [`session`] | `timeout(gap, recv)` vs an item exactly one gap later: it joins a closed session |
//! | [`dedup`] | a TTL eviction task vs the same key exactly one TTL later: dropped as a duplicate |
//! | [`circuit_breaker`] | a stale open→half-open timer vs a failure that re-opened the breaker |
//! | [`config_reload`] | `select!` between `watch::changed` and a request: an answer from stale config |
//! | [`shutdown`] | a `Notify` shutdown vs jobs still queued: accepted jobs never run |
#![forbid(unsafe_code)]

use std::time::Duration;

pub mod batcher;
pub mod circuit_breaker;
pub mod config_reload;
pub mod debounce;
pub mod dedup;
pub mod lease;
pub mod rate_limiter;
pub mod retry;
pub mod session;
pub mod shutdown;

/// Which version of a processor to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Variant {
    /// The version as commonly written first, with its race.
    Buggy,
    /// The version that decides from timestamps (or otherwise removes the race).
    Fixed,
}

/// `n` milliseconds.
pub const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Milliseconds from `start` to `at`, for messages in assertions.
pub fn millis(start: tokio::time::Instant, at: tokio::time::Instant) -> u64 {
    u64::try_from(at.duration_since(start).as_millis()).unwrap_or(u64::MAX)
}
