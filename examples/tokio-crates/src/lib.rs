//! A tokio user's stream code, written against tokio, tokio-stream and tokio-util and
//! nothing else: under the patch in `Cargo.toml`, all three run on Lockstep's simulator.

use std::collections::BTreeMap;
use std::future::{poll_fn, Future};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{broadcast, mpsc, watch, Semaphore};
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_stream::wrappers::{BroadcastStream, ReceiverStream, WatchStream};
use tokio_stream::{Stream, StreamExt};
use tokio_util::sync::{CancellationToken, PollSemaphore, PollSender};
use tokio_util::task::{JoinMap, TaskTracker};
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

/// What a subscriber of a `broadcast` channel sees: each value, or `Err(n)` where it
/// fell `n` values behind and lost them (tokio-stream's `BroadcastStream`).
pub fn subscribed<T: Clone + Send + 'static>(rx: broadcast::Receiver<T>) -> impl Stream<Item = Result<T, u64>> {
    BroadcastStream::new(rx).map(|r| r.map_err(|BroadcastStreamRecvError::Lagged(n)| n))
}

/// The configuration now and at each change (tokio-stream's `WatchStream`): values
/// sent while the reader was busy are skipped, the latest is seen.
pub fn config_updates<T: Clone + Send + Sync + 'static>(rx: watch::Receiver<T>) -> impl Stream<Item = T> {
    WatchStream::new(rx)
}

/// Runs every job of `jobs`, at most `limit` at a time, each holding a permit taken
/// through tokio-util's `PollSemaphore` (as a `poll_ready`-style service does) until
/// it ends; returns the jobs' outputs in the order they finished.
pub async fn run_limited<F>(limit: usize, jobs: Vec<F>) -> Vec<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let mut permits = PollSemaphore::new(Arc::new(Semaphore::new(limit)));
    let (tx, mut rx) = mpsc::unbounded_channel();
    for job in jobs {
        let permit = poll_fn(|cx| permits.poll_acquire(cx)).await.expect("never closed");
        let tx = tx.clone();
        tokio::spawn(async move {
            let out = job.await;
            drop(permit);
            let _ = tx.send(out);
        });
    }
    drop(tx);
    let mut outputs = Vec::new();
    while let Some(out) = rx.recv().await {
        outputs.push(out);
    }
    outputs
}

/// Forwards `items` into `out` through tokio-util's `PollSender`: each item waits for
/// a slot (`poll_reserve`) before it is sent. Returns how many went out before the
/// receiver closed.
pub async fn forward<T: Send + 'static>(items: impl IntoIterator<Item = T>, out: mpsc::Sender<T>) -> usize {
    let mut sink = PollSender::new(out);
    let mut sent = 0;
    for item in items {
        if poll_fn(|cx| sink.poll_reserve(cx)).await.is_err() || sink.send_item(item).is_err() {
            break;
        }
        sent += 1;
    }
    sent
}

/// Spawns one worker per job on a tokio-util `TaskTracker`, closes the tracker and
/// waits for them all; returns the jobs' outputs in job order.
pub async fn run_tracked<F>(jobs: Vec<F>) -> Vec<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let tracker = TaskTracker::new();
    let handles: Vec<_> = jobs.into_iter().map(|job| tracker.spawn(job)).collect();
    tracker.close();
    tracker.wait().await;
    let mut outputs = Vec::new();
    for handle in handles {
        outputs.push(handle.await.expect("a tracked job panicked"));
    }
    outputs
}

/// Runs one task per key on a tokio-util `JoinMap`, aborting the keys in `cancel`
/// once every task has started; returns `(key, Some(output))` or `(key, None)` for
/// an aborted task, in the order they ended.
pub async fn run_keyed<F>(jobs: Vec<(&'static str, F)>, cancel: &[&str]) -> Vec<(&'static str, Option<F::Output>)>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let mut map = JoinMap::new();
    for (key, job) in jobs {
        map.spawn(key, job);
    }
    tokio::task::yield_now().await;
    for key in cancel {
        map.abort(*key);
    }
    let mut ended = Vec::new();
    while let Some((key, result)) = map.join_next().await {
        ended.push((key, result.ok()));
    }
    ended
}
