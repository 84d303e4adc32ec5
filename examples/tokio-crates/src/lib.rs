//! A tokio user's stream code, written against tokio, tokio-stream and tokio-util and
//! nothing else: under the patch in `Cargo.toml`, all three run on Lockstep's simulator.

use std::collections::BTreeMap;
use std::future::poll_fn;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::{Stream, StreamExt};
use tokio_util::sync::CancellationToken;
use tokio_util::time::{delay_queue, DelayQueue};

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

/// Emits each key of `rx` once it has been quiet for `quiet`: a new event for a key
/// that is still waiting restarts its wait (one `DelayQueue` entry per key). When `rx`
/// closes, the keys still waiting are emitted at their deadlines, then the output closes.
pub fn quiet_keys<K: Ord + Clone + Send + 'static>(mut rx: mpsc::Receiver<K>, quiet: Duration) -> mpsc::Receiver<K> {
    let (tx, out) = mpsc::channel(16);
    tokio::spawn(async move {
        let mut queue = DelayQueue::new();
        let mut waiting: BTreeMap<K, delay_queue::Key> = BTreeMap::new();
        loop {
            tokio::select! {
                event = rx.recv() => match event {
                    Some(k) => match waiting.get(&k) {
                        Some(entry) => queue.reset(entry, quiet),
                        None => {
                            let entry = queue.insert(k.clone(), quiet);
                            waiting.insert(k, entry);
                        }
                    },
                    None => break,
                },
                Some(expired) = poll_fn(|cx| queue.poll_expired(cx)) => {
                    let k = expired.into_inner();
                    waiting.remove(&k);
                    if tx.send(k).await.is_err() {
                        return;
                    }
                }
            }
        }
        while let Some(expired) = poll_fn(|cx| queue.poll_expired(cx)).await {
            if tx.send(expired.into_inner()).await.is_err() {
                return;
            }
        }
    });
    out
}

/// Collects what arrives on `rx` until `token` is cancelled or `rx` closes.
pub async fn collect_until_cancelled<T>(mut rx: mpsc::Receiver<T>, token: CancellationToken) -> Vec<T> {
    let mut seen = Vec::new();
    loop {
        tokio::select! {
            _ = token.cancelled() => return seen,
            item = rx.recv() => match item {
                Some(item) => seen.push(item),
                None => return seen,
            },
        }
    }
}
