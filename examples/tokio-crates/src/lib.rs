//! A tokio user's stream code, written against tokio and tokio-stream and nothing else:
//! under the patch in `Cargo.toml`, both run on Lockstep's simulator.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::{Stream, StreamExt};

/// Batches what arrives on `rx`: a batch closes when it holds `max` items or `wait`
/// after its first item, whichever comes first.
pub fn batches<T>(rx: mpsc::Receiver<T>, max: usize, wait: Duration) -> impl Stream<Item = Vec<T>> {
    ReceiverStream::new(rx).chunks_timeout(max, wait)
}

/// Passes what arrives on `rx` at most once per `period`.
pub fn throttled<T>(rx: mpsc::Receiver<T>, period: Duration) -> impl Stream<Item = T> {
    ReceiverStream::new(rx).throttle(period)
}

/// What arrives on `rx`, with an `Err` each time nothing arrived for `quiet`.
pub fn watched<T>(rx: mpsc::Receiver<T>, quiet: Duration) -> impl Stream<Item = Result<T, tokio_stream::Elapsed>> {
    ReceiverStream::new(rx).timeout(quiet)
}
