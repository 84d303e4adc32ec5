//! The user's tests, written as for tokio (`#[tokio::test]`, `tokio::time`,
//! `tokio_stream::StreamExt`). Under the patch they run on the simulator: each
//! `#[tokio::test]` over many seeds, in virtual time (the times asserted below are
//! virtual, exact, and cost no real waiting).
//!
//! The last tests use sim-core directly, to enumerate every order of a program and
//! count its outcomes; the parent test in Lockstep's workspace
//! (`sim-tokio-shim/tests/tokio_crates.rs`) runs this file and checks those counts.

use std::collections::BTreeMap;
use std::time::Duration;

use sim_core::strategy::explore_all;
use sim_core::{Config, Sim};
use tokio::sync::mpsc;
use tokio::time::{sleep, Instant};
use tokio_crates::{batches, throttled, watched};
use tokio_stream::StreamExt;

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

// ---- every order, outcomes counted; a seed run twice ----

/// Per batching: how many orders give it, and whether one of them is in the tokio model.
type Outcomes = BTreeMap<Vec<Vec<u32>>, (usize, bool)>;

/// Runs `an_item_at_the_deadline` in every order the simulator can take: the number of
/// orders, and per outcome how many orders give it and whether tokio's current-thread
/// runtime (the tokio model) can reach it.
fn every_order() -> (usize, Outcomes) {
    let mut outcomes = Outcomes::new();
    let e = explore_all(10_000, |prefix| {
        let mut sim = Sim::new(Config::replay(prefix.clone()));
        let got = sim.block_on(an_item_at_the_deadline()).expect("every order completes");
        let entry = outcomes.entry(got).or_default();
        entry.0 += 1;
        entry.1 |= sim.tokio_model().is_reachable();
        sim.recorded_tape()
    });
    assert!(e.exhausted, "more than 10,000 orders");
    (e.runs, outcomes)
}

#[test]
fn every_order_of_an_item_at_the_deadline_gives_both_batchings() {
    let (runs, outcomes) = every_order();
    let line = outcomes
        .iter()
        .map(|(batches, (n, tokio))| {
            format!("{batches:?} in {n} (tokio model: {})", if *tokio { "reachable" } else { "not reachable" })
        })
        .collect::<Vec<_>>()
        .join(", ");
    // The parent test reads this line.
    println!("chunks_timeout, an item at the deadline: {runs} orders: {line}");
    let set: Vec<&Vec<Vec<u32>>> = outcomes.keys().collect();
    assert_eq!(set, [&vec![vec![1, 2], vec![3]], &vec![vec![1, 2, 3]]]);
    assert_eq!(runs, outcomes.values().map(|(n, _)| n).sum::<usize>());
}

/// Seeds 0..300 of the random strategy, as `#[tokio::test(seeds = 300)]` runs them:
/// how many give each batching. Each seed's run is a pure function of the seed.
#[test]
fn seeds_show_both_batchings() {
    let mut counts: BTreeMap<Vec<Vec<u32>>, u32> = BTreeMap::new();
    for seed in 0..300 {
        let mut sim = Sim::new(Config::random(seed));
        *counts.entry(sim.block_on(an_item_at_the_deadline()).unwrap()).or_default() += 1;
    }
    println!("chunks_timeout, an item at the deadline, seeds 0..300: {counts:?}");
    assert_eq!(counts.len(), 2, "{counts:?}");
    assert_eq!(counts.values().sum::<u32>(), 300);
}

#[test]
fn a_seed_run_twice_gives_the_same_fingerprint() {
    for seed in 0..20 {
        let run = || {
            let mut sim = Sim::new(Config::random(seed));
            let got = sim.block_on(an_item_at_the_deadline()).unwrap();
            (got, sim.fingerprint())
        };
        assert_eq!(run(), run(), "seed {seed}");
    }
}
