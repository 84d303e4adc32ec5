//! The user's tests of what tokio-stream's `sync` feature (`BroadcastStream`,
//! `WatchStream`) and tokio-util's `sync` (`PollSemaphore`, `PollSender`) and `rt`
//! (`TaskTracker`, `JoinMap`) give them, written as for tokio. Under the patch they run
//! on the simulator, in virtual time: every time asserted below is exact.
//!
//! The last tests use sim-core directly: a seed run twice gives one fingerprint, and a
//! program that waits forever is reported as a deadlock naming what it waits on.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sim_core::{Config, Sim};
use tokio::sync::{broadcast, mpsc, watch};
use tokio::time::{sleep, Instant};
use tokio_crates::{config_updates, forward, run_keyed, run_limited, run_tracked, subscribed};
use tokio_stream::StreamExt;
use tokio_util::task::TaskTracker;

const MS: Duration = Duration::from_millis(1);

// ---- tokio-stream: BroadcastStream, WatchStream ----

/// A channel that holds 2 values; 5 are sent before the subscriber reads: it lost 3,
/// then sees the 2 held, then the end (the sender is gone).
async fn a_lagging_subscriber() -> Vec<Result<u32, u64>> {
    let (tx, rx) = broadcast::channel(2);
    let events = subscribed(rx);
    for i in 0..5 {
        tx.send(i).unwrap();
    }
    drop(tx);
    events.collect().await
}

#[tokio::test(seeds = 100)]
async fn a_lagging_subscriber_learns_how_many_values_it_lost() {
    assert_eq!(a_lagging_subscriber().await, [Err(3), Ok(3), Ok(4)]);
}

/// Two subscribers of a sender that sends every 5 ms: both see every value, when it
/// is sent.
async fn two_subscribers() -> Vec<Vec<(u32, Duration)>> {
    let (tx, rx) = broadcast::channel(4);
    let start = Instant::now();
    let subscriber = |rx| {
        tokio::spawn(async move { subscribed(rx).map(|v| (v.unwrap(), start.elapsed())).collect::<Vec<_>>().await })
    };
    let (a, b) = (subscriber(rx), subscriber(tx.subscribe()));
    for i in 0..3 {
        tx.send(i).unwrap();
        sleep(5 * MS).await;
    }
    drop(tx);
    vec![a.await.unwrap(), b.await.unwrap()]
}

#[tokio::test(seeds = 100)]
async fn every_subscriber_sees_every_value_when_it_is_sent() {
    let seen = vec![(0, Duration::ZERO), (1, 5 * MS), (2, 10 * MS)];
    assert_eq!(two_subscribers().await, [seen.clone(), seen]);
}

/// The configuration is "a"; at 5 ms it becomes "b" and at once "c"; at 10 ms "d";
/// then the sender is gone.
async fn config_changes() -> Vec<(&'static str, Duration)> {
    let (tx, rx) = watch::channel("a");
    tokio::spawn(async move {
        sleep(5 * MS).await;
        tx.send("b").unwrap();
        tx.send("c").unwrap();
        sleep(5 * MS).await;
        tx.send("d").unwrap();
    });
    let start = Instant::now();
    config_updates(rx).map(|v| (v, start.elapsed())).collect().await
}

#[tokio::test(seeds = 100)]
async fn a_watch_stream_sees_the_current_value_then_the_latest_of_each_change() {
    // "b" was replaced before the reader ran: it sees "c".
    assert_eq!(config_changes().await, [("a", Duration::ZERO), ("c", 5 * MS), ("d", 10 * MS)]);
}

// ---- tokio-util sync: PollSemaphore, PollSender ----

/// Four jobs of 25, 10, 20 and 10 ms, at most two at a time: job 1 ends at 10 ms and
/// lets job 2 start (it ends at 30), job 0 ends at 25 and lets job 3 start (it ends
/// at 35). Returns each job's end and the most that ran at once.
async fn limited_jobs() -> (Vec<(usize, Duration)>, usize) {
    let start = Instant::now();
    let running = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let jobs = [25, 10, 20, 10]
        .into_iter()
        .enumerate()
        .map(|(i, ms)| {
            let (running, most) = (running.clone(), most.clone());
            async move {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                sleep(ms * MS).await;
                running.fetch_sub(1, Ordering::SeqCst);
                (i, start.elapsed())
            }
        })
        .collect();
    let ended = run_limited(2, jobs).await;
    (ended, most.load(Ordering::SeqCst))
}

#[tokio::test(seeds = 100)]
async fn a_poll_semaphore_runs_two_jobs_at_a_time() {
    let (ended, most) = limited_jobs().await;
    assert_eq!(ended, [(1, 10 * MS), (0, 25 * MS), (2, 30 * MS), (3, 35 * MS)]);
    assert_eq!(most, 2);
}

/// Three items forwarded through a `PollSender` into a channel of one slot whose
/// reader takes one every 10 ms: the forwarder waits for each slot and is done at
/// 20 ms, when the last item finds room.
async fn backpressure() -> ((usize, Duration), Vec<(u32, Duration)>) {
    let (tx, mut rx) = mpsc::channel(1);
    let start = Instant::now();
    let forwarder = tokio::spawn(async move { (forward(0..3, tx).await, start.elapsed()) });
    let mut got = Vec::new();
    loop {
        sleep(10 * MS).await;
        match rx.recv().await {
            Some(item) => got.push((item, start.elapsed())),
            None => break,
        }
    }
    (forwarder.await.unwrap(), got)
}

#[tokio::test(seeds = 100)]
async fn a_poll_sender_waits_for_room_in_the_channel() {
    let (sent, got) = backpressure().await;
    assert_eq!(sent, (3, 20 * MS));
    assert_eq!(got, [(0, 10 * MS), (1, 20 * MS), (2, 30 * MS)]);
}

#[tokio::test(seeds = 10)]
async fn a_poll_sender_stops_when_the_receiver_is_gone() {
    let (tx, rx) = mpsc::channel(1);
    drop(rx);
    assert_eq!(forward(0..3, tx).await, 0);
}

// ---- tokio-util rt: TaskTracker, JoinMap ----

/// Three tracked jobs of 30, 10 and 20 ms: the tracker's wait ends with the last, at
/// 30 ms; the outputs come in job order.
async fn tracked_jobs() -> (Vec<u32>, Duration) {
    let start = Instant::now();
    let jobs = [30, 10, 20]
        .into_iter()
        .map(|ms| async move {
            sleep(ms * MS).await;
            ms
        })
        .collect();
    let outputs = run_tracked(jobs).await;
    (outputs, start.elapsed())
}

#[tokio::test(seeds = 100)]
async fn a_task_tracker_waits_for_its_last_task() {
    assert_eq!(tracked_jobs().await, (vec![30, 10, 20], 30 * MS));
}

/// Keys `a` (10 ms), `b` (5 ms), `c` (20 ms), `c` aborted once all have started: `c`
/// ends first, aborted, then `b` and `a` with their outputs.
async fn keyed_jobs() -> Vec<(&'static str, Option<u32>, Duration)> {
    let start = Instant::now();
    let jobs = [("a", 10), ("b", 5), ("c", 20)]
        .into_iter()
        .map(|(key, ms)| {
            (key, async move {
                sleep(ms * MS).await;
                (ms, start.elapsed())
            })
        })
        .collect();
    run_keyed(jobs, &["c"])
        .await
        .into_iter()
        .map(|(k, out)| (k, out.map(|o| o.0), out.map_or(Duration::ZERO, |o| o.1)))
        .collect()
}

#[tokio::test(seeds = 100)]
async fn a_join_map_hands_out_each_key_as_its_task_ends() {
    assert_eq!(keyed_jobs().await, [("c", None, Duration::ZERO), ("b", Some(5), 5 * MS), ("a", Some(10), 10 * MS)]);
}

// ---- a seed run twice; deadlocks named ----

/// Runs `program` twice on `seed`: the same output and fingerprint both times.
fn twice<T: PartialEq + std::fmt::Debug, Fut: Future<Output = T> + 'static>(seed: u64, program: impl Fn() -> Fut) {
    let run = || {
        let mut sim = Sim::new(Config::random(seed));
        let out = sim.block_on(program()).expect("the program completes");
        (out, sim.fingerprint())
    };
    assert_eq!(run(), run(), "seed {seed}");
}

#[test]
fn a_seed_run_twice_gives_the_same_fingerprint() {
    for seed in 0..10 {
        twice(seed, a_lagging_subscriber);
        twice(seed, two_subscribers);
        twice(seed, config_changes);
        twice(seed, limited_jobs);
        twice(seed, backpressure);
        twice(seed, tracked_jobs);
        twice(seed, keyed_jobs);
    }
}

/// Runs `program` on seed 0, expecting a failure: its report.
fn report<Fut: Future<Output = ()> + 'static>(program: Fut) -> String {
    let mut sim = Sim::new(Config::random(0));
    sim.block_on(program).expect_err("the program never ends").to_string()
}

#[test]
fn a_poll_sender_on_a_channel_nobody_reads_is_a_deadlock_naming_the_channel() {
    let report = report(async {
        let (tx, _rx) = tokio::lockstep::named("out", || mpsc::channel(1));
        forward(0..3, tx).await;
    });
    println!("{report}");
    assert!(report.contains("deadlock"), "{report}");
    assert!(report.contains("reserve on full `out`"), "{report}");
}

#[test]
fn a_task_tracker_never_closed_is_a_deadlock_naming_its_wait() {
    // The classic TaskTracker mistake: `wait` without `close` waits forever.
    let report = report(async {
        let tracker = tokio::lockstep::named("tracker", TaskTracker::new);
        tracker.spawn(sleep(10 * MS));
        tracker.wait().await;
    });
    println!("{report}");
    assert!(report.contains("deadlock"), "{report}");
    assert!(report.contains("notified on `tracker`"), "{report}");
}

#[test]
fn a_watch_stream_whose_sender_is_kept_is_a_deadlock_naming_the_channel() {
    let report = report(async {
        let (_tx, rx) = tokio::lockstep::named("config", || watch::channel(0));
        let _ = config_updates(rx).collect::<Vec<_>>().await;
    });
    println!("{report}");
    assert!(report.contains("deadlock"), "{report}");
    assert!(report.contains("changed on `config`"), "{report}");
}

#[test]
fn a_broadcast_subscriber_whose_sender_is_kept_is_a_deadlock_naming_the_channel() {
    let report = report(async {
        let (tx, rx) = tokio::lockstep::named("events", || broadcast::channel::<u32>(4));
        let _ = subscribed(rx).collect::<Vec<_>>().await;
        drop(tx);
    });
    println!("{report}");
    assert!(report.contains("deadlock"), "{report}");
    assert!(report.contains("recv on `events`"), "{report}");
}

#[test]
fn spawn_pinned_is_reported_not_hung() {
    // tokio-util's `LocalPoolHandle` runs each worker on an OS thread of its own, in a
    // `LocalRuntime` there: a second simulation, which cannot use this one's channels.
    // The task waiting for the pinned task's result is reported, with what it waits on.
    let report = report(async {
        let pool = tokio_util::task::LocalPoolHandle::new(1);
        let _ = pool.spawn_pinned(|| async { 1 }).await;
    });
    println!("{report}");
    assert!(report.contains("deadlock: 2 tasks blocked: main (join on `spawn_pinned.rs:"), "{report}");
}
