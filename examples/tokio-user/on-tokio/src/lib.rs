//! The tokio-user crate's very source files, compiled here against real tokio (this package's
//! `tokio` is the registry's tokio), so one process can run the same code on both.
#![forbid(unsafe_code)]

#[path = "../../src/debounce.rs"]
pub mod debounce;
#[path = "../../src/pipeline.rs"]
pub mod pipeline;
#[path = "../../src/throttle.rs"]
pub mod throttle;

use std::future::Future;
use std::time::Duration;

/// Runs `future` once on tokio's current-thread runtime with paused time, as
/// `#[tokio::test(start_paused = true)]` does. `None` when it has not finished after a virtual
/// minute (a hang: with paused time, tokio jumps the clock to the timeout).
pub fn run_paused<F: Future>(future: F) -> Option<F::Output> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
    runtime.block_on(async { tokio::time::timeout(Duration::from_secs(60), future).await.ok() })
}
