//! Go-style selection: a pick among simultaneously ready branches is a recorded choice.

use std::collections::BTreeSet;
use std::time::Duration;

use sim_core::select::{select, select_all, select_biased, Either};
use sim_core::sync::mpsc;
use sim_core::time::sleep;
use sim_core::{Config, Sim};

use crate::support::explore;

/// A ready timer and a ready message at 10 ms; the selecting task looks at 20 ms.
fn go_select(sim: &mut Sim) -> &'static str {
    let (tx, mut rx) = sim_core::named("in", || mpsc::unbounded_channel());
    sim.spawn_named("sender", async move {
        sleep(Duration::from_millis(10)).await;
        tx.send(1u32).unwrap();
    });
    sim.block_on(async move {
        let timer = sleep(Duration::from_millis(10));
        sleep(Duration::from_millis(20)).await;
        match select(rx.recv(), timer).await {
            Either::Left(_) => "message",
            Either::Right(()) => "timer",
        }
    })
    .unwrap()
}

fn branch_under(seed: u64) -> &'static str {
    go_select(&mut Sim::new(Config::random(seed)))
}

#[test]
fn a_random_select_takes_each_ready_branch_under_some_seed() {
    let taken: BTreeSet<_> = (0..32).map(branch_under).collect();
    assert_eq!(taken, BTreeSet::from(["message", "timer"]));
}

#[test]
fn a_random_select_takes_the_same_branch_every_time_under_one_seed() {
    for seed in 0..32 {
        let first = branch_under(seed);
        assert!((0..5).all(|_| branch_under(seed) == first), "seed {seed}");
    }
}

#[test]
fn a_select_with_two_ready_branches_is_one_recorded_choice_point() {
    // The only same-instant competition besides the select is at 10 ms (the sender's
    // timer against the main task's first timer): enumerate every order and check the
    // select contributes exactly a factor of two.
    let explored = explore(go_select);
    assert_eq!(explored.outcomes, BTreeSet::from(["message", "timer"]));
    assert_eq!(explored.runs % 2, 0);
    let mut fifo = Sim::new(Config::default());
    assert_eq!(go_select(&mut fifo), "message", "index 0 is the first ready branch");
}

#[test]
fn a_select_with_one_ready_branch_records_no_choice() {
    let mut sim = Sim::new(Config::random(1));
    let (tx, mut rx) = mpsc::unbounded_channel::<u8>();
    let got = sim
        .block_on(async move {
            tx.send(3).unwrap();
            select(rx.recv(), sleep(Duration::from_secs(1))).await
        })
        .unwrap();
    assert!(matches!(got, Either::Left(Some(3))));
    assert!(sim.recorded_tape().is_empty());
}

#[test]
fn select_biased_always_prefers_the_first_ready_branch() {
    for seed in 0..16 {
        let mut sim = Sim::new(Config::random(seed));
        let (tx, mut rx) = mpsc::unbounded_channel::<u8>();
        let got = sim
            .block_on(async move {
                let timer = sleep(Duration::from_millis(1));
                sleep(Duration::from_millis(2)).await;
                tx.send(1).unwrap();
                select_biased(timer, Box::pin(rx.recv())).await
            })
            .unwrap();
        assert!(matches!(got, Either::Left(())), "seed {seed}");
    }
}

#[test]
fn select_all_reaches_every_ready_branch() {
    let picked: BTreeSet<usize> = (0..40)
        .map(|seed| {
            let mut sim = Sim::new(Config::random(seed));
            sim.block_on(async {
                let timers: Vec<_> = (0..3).map(|_| sleep(Duration::from_millis(5))).collect();
                sleep(Duration::from_millis(6)).await;
                select_all(timers).await.0
            })
            .unwrap()
        })
        .collect();
    assert_eq!(picked, BTreeSet::from([0, 1, 2]));
}

#[test]
fn a_select_waits_for_whichever_branch_becomes_ready_first() {
    let mut sim = Sim::new(Config::random(8));
    let (tx, mut rx) = mpsc::unbounded_channel::<u8>();
    sim.spawn(async move {
        sleep(Duration::from_millis(3)).await;
        tx.send(9).unwrap();
    });
    let got = sim.block_on(async move { select(rx.recv(), sleep(Duration::from_millis(5))).await }).unwrap();
    assert!(matches!(got, Either::Left(Some(9))));
    assert_eq!(sim.now().as_nanos(), 3_000_000);
}
