//! The user's tests, written as for tokio (`#[tokio::test]`, `tokio::time`,
//! `tokio_stream::StreamExt`, tokio-util's `DelayQueue` and `CancellationToken`). Under the patch they run on the simulator: each
//! `#[tokio::test]` over many seeds, in virtual time (the times asserted below are
//! virtual, exact, and cost no real waiting).
//!
//! The last tests use sim-core directly, to enumerate every order of a program and
//! count its outcomes; the parent test in Lockstep's workspace
//! (`sim-tokio-shim/tests/tokio_crates.rs`) runs this file and checks those counts.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::future::Future;
use std::time::Duration;

use sim_core::tooling::strategy::explore_all;
use sim_core::{Config, Sim};
use tokio::sync::mpsc;
use tokio::time::{sleep, Instant};
use tokio_crates::{batches, collect_until_cancelled, quiet_keys, throttled, watched};
use tokio_stream::StreamExt;
use tokio_util::codec::{FramedRead, LinesCodec};
use tokio_util::sync::CancellationToken;

const MS: Duration = Duration::from_millis(1);

// ---- tokio-stream: chunks_timeout, throttle, timeout ----

/// Sends 1 and 2 at once, then 3 exactly 10 ms later: at the first batch's deadline
/// (the batch opened with item 1, at time 0, for 10 ms).
async fn an_item_at_the_deadline() -> Vec<Vec<u32>> {
    let (tx, rx) = mpsc::channel(8);
    tokio::spawn(async move {
        tx.send(1).await.unwrap();
        tx.send(2).await.unwrap();
        sleep(10 * MS).await;
        tx.send(3).await.unwrap();
    });
    batches(rx, 10, 10 * MS).collect().await
}

/// The producer's timer and the batch's deadline are due at the same instant: if the
/// deadline's wake-up reaches the batcher first, it closes `[1, 2]`; if 3 is sent
/// first, the batcher takes it before it looks at the deadline. Both are right.
#[tokio::test(seeds = 300)]
async fn an_item_at_the_deadline_lands_in_either_batch() {
    let got = an_item_at_the_deadline().await;
    assert!(got == [vec![1, 2], vec![3]] || got == [vec![1, 2, 3]], "{got:?}");
}

#[tokio::test(seeds = 100)]
async fn throttle_spaces_items_by_the_period() {
    let (tx, rx) = mpsc::channel(8);
    for i in 0..3 {
        tx.send(i).await.unwrap();
    }
    drop(tx);
    let start = Instant::now();
    let out: Vec<(u32, Duration)> = throttled(rx, 10 * MS).map(|i| (i, start.elapsed())).collect().await;
    assert_eq!(out, [(0, Duration::ZERO), (1, 10 * MS), (2, 20 * MS)]);
}

#[tokio::test(seeds = 100)]
async fn timeout_reports_one_quiet_spell_once() {
    let (tx, rx) = mpsc::channel(8);
    tokio::spawn(async move {
        tx.send(1).await.unwrap();
        sleep(5 * MS).await;
        tx.send(2).await.unwrap();
        sleep(25 * MS).await; // quiet from 5 ms to 30 ms: one Elapsed, at 15 ms
        tx.send(3).await.unwrap();
    });
    let start = Instant::now();
    let out: Vec<(Result<u32, ()>, Duration)> =
        watched(rx, 10 * MS).map(|r| (r.map_err(drop), start.elapsed())).collect().await;
    assert_eq!(out, [(Ok(1), Duration::ZERO), (Ok(2), 5 * MS), (Err(()), 15 * MS), (Ok(3), 30 * MS)]);
}

// ---- tokio-util: DelayQueue, CancellationToken ----

#[tokio::test(seeds = 100)]
async fn a_key_is_emitted_once_quiet_and_a_repeat_restarts_its_wait() {
    let (tx, rx) = mpsc::channel(8);
    let mut out = quiet_keys(rx, 10 * MS);
    let start = Instant::now();
    tokio::spawn(async move {
        tx.send("a").await.unwrap();
        tx.send("b").await.unwrap();
        sleep(5 * MS).await;
        tx.send("a").await.unwrap(); // a waits again, until 15 ms
    });
    let mut got = Vec::new();
    while let Some(key) = out.recv().await {
        got.push((key, start.elapsed()));
    }
    assert_eq!(got, [("b", 10 * MS), ("a", 15 * MS)]);
}

/// Sends `x` at 0 and again at 10 ms, exactly when its 10 ms wait ends.
async fn a_repeat_at_the_deadline() -> Vec<(&'static str, Duration)> {
    let (tx, rx) = mpsc::channel(8);
    let mut out = quiet_keys(rx, 10 * MS);
    let start = Instant::now();
    tokio::spawn(async move {
        tx.send("x").await.unwrap();
        sleep(10 * MS).await;
        tx.send("x").await.unwrap();
    });
    let mut got = Vec::new();
    while let Some(key) = out.recv().await {
        got.push((key, start.elapsed()));
    }
    got
}

/// The `DelayQueue`'s timer and the repeat are due at the same instant: if the repeat
/// is taken first it restarts the wait (`x` once, at 20 ms); if the expiry is, `x`
/// goes out at 10 ms and the repeat starts a new wait (`x` again at 20 ms).
#[tokio::test(seeds = 300)]
async fn a_repeat_at_the_deadline_is_emitted_once_or_twice() {
    let got = a_repeat_at_the_deadline().await;
    assert!(got == [("x", 20 * MS)] || got == [("x", 10 * MS), ("x", 20 * MS)], "{got:?}");
}

#[tokio::test(seeds = 100)]
async fn cancelling_the_parent_token_stops_a_worker_on_a_child_token() {
    let (tx, rx) = mpsc::channel(8);
    let parent = CancellationToken::new();
    let worker = tokio::spawn(collect_until_cancelled(rx, parent.child_token()));
    tokio::spawn(async move {
        for i in 0.. {
            if tx.send(i).await.is_err() {
                return; // the worker is gone
            }
            sleep(4 * MS).await;
        }
    });
    sleep(10 * MS).await; // items 0, 1, 2 went out at 0, 4 and 8 ms
    parent.cancel();
    assert_eq!(worker.await.unwrap(), [0, 1, 2]);
    assert!(parent.is_cancelled());
}

#[tokio::test(seeds = 10)]
async fn a_framed_reader_splits_lines_from_memory() {
    // tokio-util reads into uninitialized memory (`ReadBuf::uninit`): the lines come out
    // whole only if what the reader put there reached the codec's buffer.
    let input: &[u8] = b"first\nsecond\nthird";
    let lines: Vec<String> = FramedRead::new(input, LinesCodec::new()).map(Result::unwrap).collect().await;
    assert_eq!(lines, ["first", "second", "third"]);
}

// ---- every order, outcomes counted; a seed run twice ----

/// Per outcome: how many orders give it, and whether one of them is in the tokio model.
type Outcomes<T> = BTreeMap<T, (usize, bool)>;

/// Runs `program` in every order the simulator can take: the number of orders, and
/// per outcome how many orders give it and whether tokio's current-thread runtime
/// (the tokio model) can reach it.
fn every_order<T: Ord, Fut: Future<Output = T> + 'static>(program: impl Fn() -> Fut) -> (usize, Outcomes<T>) {
    let mut outcomes = Outcomes::new();
    let e = explore_all(100_000, |prefix| {
        let mut sim = Sim::new(Config::replay(prefix.clone()));
        let got = sim.block_on(program()).expect("every order completes");
        let entry = outcomes.entry(got).or_default();
        entry.0 += 1;
        entry.1 |= sim.tokio_model().is_reachable();
        sim.recorded_tape()
    });
    assert!(e.exhausted, "more than 100,000 orders");
    (e.runs, outcomes)
}

/// Prints the line the parent test reads: the orders, and per outcome its count.
fn print_outcomes<T: Debug>(what: &str, runs: usize, outcomes: &Outcomes<T>) {
    let line = outcomes
        .iter()
        .map(|(outcome, (n, tokio))| {
            format!("{outcome:?} in {n} (tokio model: {})", if *tokio { "reachable" } else { "not reachable" })
        })
        .collect::<Vec<_>>()
        .join(", ");
    println!("{what}: {runs} orders: {line}");
    assert_eq!(runs, outcomes.values().map(|(n, _)| n).sum::<usize>());
}

#[test]
fn every_order_of_an_item_at_the_deadline_gives_both_batchings() {
    let (runs, outcomes) = every_order(an_item_at_the_deadline);
    print_outcomes("chunks_timeout, an item at the deadline", runs, &outcomes);
    let set: Vec<&Vec<Vec<u32>>> = outcomes.keys().collect();
    assert_eq!(set, [&vec![vec![1, 2], vec![3]], &vec![vec![1, 2, 3]]]);
}

#[test]
fn every_order_of_a_repeat_at_the_deadline_gives_both_emissions() {
    let (runs, outcomes) = every_order(a_repeat_at_the_deadline);
    print_outcomes("DelayQueue, a repeat at the deadline", runs, &outcomes);
    let set: Vec<&Vec<(&str, Duration)>> = outcomes.keys().collect();
    assert_eq!(set, [&vec![("x", 10 * MS), ("x", 20 * MS)], &vec![("x", 20 * MS)]]);
}

/// Seeds 0..300 of the random strategy, as `#[tokio::test(seeds = 300)]` runs them:
/// how many give each outcome. Each seed's run is a pure function of the seed.
fn seeds<T: Ord, Fut: Future<Output = T> + 'static>(program: impl Fn() -> Fut) -> BTreeMap<T, u32> {
    let mut counts = BTreeMap::new();
    for seed in 0..300 {
        let mut sim = Sim::new(Config::random(seed));
        *counts.entry(sim.block_on(program()).unwrap()).or_default() += 1;
    }
    counts
}

#[test]
fn seeds_show_both_outcomes() {
    let batches = seeds(an_item_at_the_deadline);
    println!("chunks_timeout, an item at the deadline, seeds 0..300: {batches:?}");
    assert_eq!(batches.len(), 2, "{batches:?}");
    let emitted = seeds(a_repeat_at_the_deadline);
    println!("DelayQueue, a repeat at the deadline, seeds 0..300: {emitted:?}");
    assert_eq!(emitted.len(), 2, "{emitted:?}");
}

#[test]
fn a_seed_run_twice_gives_the_same_fingerprint() {
    for seed in 0..20 {
        let batches = || {
            let mut sim = Sim::new(Config::random(seed));
            let got = sim.block_on(an_item_at_the_deadline()).unwrap();
            (got, sim.fingerprint())
        };
        assert_eq!(batches(), batches(), "seed {seed}");
        let emitted = || {
            let mut sim = Sim::new(Config::random(seed));
            let got = sim.block_on(a_repeat_at_the_deadline()).unwrap();
            (got, sim.fingerprint())
        };
        assert_eq!(emitted(), emitted(), "seed {seed}");
    }
}
