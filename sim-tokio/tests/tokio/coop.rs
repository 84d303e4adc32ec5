//! The cooperative budget: a task looping over an always-ready resource still yields.

use std::cell::Cell;
use std::future::Future;
use std::rc::Rc;

use sim_core::{Config, Sim};
use tokio::sync::watch;

use crate::support::twice;

/// A `select!` whose first branch loops on a closed watch channel's `changed()`
/// (always ready: `Err`) and whose second is `yield_now()`: without a budget the loop
/// would never return `Pending` and the second branch would never run. With tokio's
/// budget of 128, `changed()` returns `Pending` (waking the task) after 128 ready
/// calls in one poll; the `yield_now` branch is polled in that same poll, its
/// wake-up lets the task be polled again, and the second poll of `yield_now`
/// completes the `select!`. Both branches run (128 loop turns first, then more in
/// the second poll, but the loop never ends the select by itself).
#[test]
fn a_loop_on_an_always_ready_changed_yields_once_the_budget_is_spent() {
    let turns = twice(3, || async {
        let (tx, mut rx) = watch::channel(());
        drop(tx);
        let turns = Rc::new(Cell::new(0u32));
        let counted = turns.clone();
        tokio::select! {
            biased;
            _ = async {
                loop {
                    assert!(rx.changed().await.is_err());
                    counted.set(counted.get() + 1);
                }
            } => {},
            _ = tokio::task::yield_now() => {},
        }
        turns.get()
    });
    // First poll: 128 turns spend the budget, the 129th `changed()` is `Pending`.
    // Second poll (fresh budget): `select!` polls the loop first (biased): 128 more
    // turns, then `yield_now` is ready.
    assert_eq!(turns, 256);
}

/// The same with `Sender::closed()` on a channel with no receiver, and an unbiased
/// `select!` (the budget check is the select's own too): the run ends under every seed.
#[test]
fn a_loop_on_an_always_ready_closed_yields_under_every_seed() {
    for seed in 0..8 {
        twice(seed, || async {
            let (tx, rx) = watch::channel(());
            drop(rx);
            tokio::select! {
                _ = async { loop { tx.closed().await; } } => {},
                _ = tokio::task::yield_now() => {},
            }
        });
    }
}

/// `consume_budget()` is ready 128 times in one task poll and `Pending` the 129th
/// time (tokio's `select_is_budget_aware`, here on a future polled by hand inside
/// the task); a new poll of the task has a fresh budget.
#[test]
fn consume_budget_is_ready_128_times_per_poll() {
    let mut sim = Sim::new(Config::default());
    let (first, after_yield) = sim
        .block_on_local(async {
            let mut ready = 0;
            loop {
                let mut fut = std::pin::pin!(tokio::task::consume_budget());
                if futures::poll!(fut.as_mut()).is_pending() {
                    break;
                }
                ready += 1;
            }
            // `Pending` woke this task: awaiting the future now yields once, then the
            // next poll has a fresh budget.
            tokio::task::consume_budget().await;
            (ready, tokio::task::coop::has_budget_remaining())
        })
        .unwrap();
    assert_eq!(first, 128);
    assert!(after_yield);
}

/// `unconstrained` lifts the budget: 1,000 ready `changed()` calls in one poll.
#[test]
fn unconstrained_lifts_the_budget() {
    let mut sim = Sim::new(Config::default());
    let ready = sim
        .block_on_local(tokio::task::unconstrained(async {
            let (tx, mut rx) = watch::channel(());
            drop(tx);
            let mut ready = 0;
            for _ in 0..1000 {
                let mut fut = std::pin::pin!(rx.changed());
                if futures::poll!(fut.as_mut()).is_ready() {
                    ready += 1;
                }
            }
            ready
        }))
        .unwrap();
    assert_eq!(ready, 1000);
}

/// Outside any task there is no budget: a future polled by hand always proceeds.
#[test]
fn outside_a_task_there_is_no_budget() {
    let waker = futures::task::noop_waker();
    let mut cx = std::task::Context::from_waker(&waker);
    for _ in 0..1000 {
        let mut fut = std::pin::pin!(tokio::task::consume_budget());
        assert!(fut.as_mut().poll(&mut cx).is_ready());
    }
}

/// `watch::Receiver::is_closed`: true once every sender is gone.
#[test]
fn watch_receiver_is_closed_once_every_sender_is_gone() {
    let (tx, rx) = watch::channel(0);
    let tx2 = tx.clone();
    assert!(!rx.is_closed());
    drop(tx);
    assert!(!rx.is_closed());
    drop(tx2);
    assert!(rx.is_closed());
}
