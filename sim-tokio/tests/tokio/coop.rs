//! The cooperative budget: a task looping over an always-ready resource still yields.

use std::cell::Cell;
use std::future::Future;
use std::rc::Rc;

use sim_core::{Config, Sim};
use tokio::sync::watch;

use crate::support::twice;

const MS: std::time::Duration = std::time::Duration::from_millis(1);

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

/// How many times in a row (at most 1,000) `fut` is ready when polled in the task's
/// current poll: the first `Pending` (the budget spent) woke the task.
async fn ready_in_a_row<F: Future + Unpin>(mut fut: F) -> (u32, F) {
    let mut ready = 0;
    while ready < 1000 && futures::poll!(&mut fut).is_ready() {
        ready += 1;
    }
    (ready, fut)
}

/// tokio's `Sleep` spends a unit of the task's budget each time it is ready: a loop
/// polling an elapsed timer yields once the budget is spent. The task is polled
/// afresh (128 units) when the timer fires at 1 ms; the `await` that sees it fire
/// spends one, so 127 more polls are ready and the 128th is `Pending` (and woke the
/// task). After that yield the next poll has a fresh budget: 128 in a row.
#[test]
fn a_loop_over_an_elapsed_timer_yields_once_the_budget_is_spent() {
    let counts = twice(1, || async {
        let mut timer = Box::pin(tokio::time::sleep(MS));
        timer.as_mut().await;
        let (first, timer) = ready_in_a_row(timer).await;
        tokio::task::yield_now().await;
        let (second, _) = ready_in_a_row(timer).await;
        (first, second)
    });
    assert_eq!(counts, (127, 128));
}

/// An `Interval` behind schedule has its missed ticks ready at once (tokio's `Burst`,
/// with the clock paused as in tokio's tests: an already-due timer completes in its
/// first poll) and spends the budget through its timer: after a 300 ms sleep, 301
/// ticks are due (0 to 300 ms). The poll that wakes from the sleep spent one unit on
/// it: 127 ticks are ready, then `Pending`; after the yield, 128; then the last 46.
#[test]
fn an_interval_behind_schedule_yields_once_the_budget_is_spent() {
    let counts = twice(2, || async {
        tokio::time::pause();
        let mut ticks = tokio::time::interval(MS);
        tokio::time::sleep(300 * MS).await;
        let mut runs = Vec::new();
        let mut total = 0;
        while total < 301 {
            let mut ready = 0;
            while total < 301 && futures::poll!(std::pin::pin!(ticks.tick())).is_ready() {
                ready += 1;
                total += 1;
            }
            runs.push(ready);
            if total < 301 {
                tokio::task::yield_now().await;
            }
        }
        runs
    });
    assert_eq!(counts, [127, 128, 46]);
}

/// tokio's `JoinHandle` spends a unit of the awaiting task's budget when it hands
/// out the result, as tokio's `join_set_coop` checks for `JoinSet`: 300 finished
/// tasks, their handles polled in turn with `now_or_never`, yielding when one says
/// `None`. The poll after the 1 ms sleep has 127 units left (the sleep spent one),
/// then each poll after a `yield_now` 128: 127 + 128 + 45, so exactly 2 yields.
#[test]
fn a_loop_over_finished_join_handles_yields_once_the_budget_is_spent() {
    use futures::FutureExt;
    let (joined, yields) = twice(3, || async {
        let mut handles: std::collections::VecDeque<_> = (0..300).map(|i| tokio::spawn(async move { i })).collect();
        tokio::time::sleep(MS).await; // every task has ended
        let (mut joined, mut yields) = (Vec::new(), 0);
        while let Some(handle) = handles.front_mut() {
            match handle.now_or_never() {
                Some(result) => {
                    joined.push(result.unwrap());
                    handles.pop_front();
                }
                None => {
                    yields += 1;
                    tokio::task::yield_now().await;
                }
            }
        }
        (joined, yields)
    });
    assert_eq!(joined, (0..300).collect::<Vec<_>>());
    assert_eq!(yields, 2);
}

/// tokio's `Timeout` checks its deadline even when the inner future spent the whole
/// budget: the inner future here spends it in every poll and never ends; its timer
/// (1 ms) has fired when the task awaits it at 2 ms, so the first poll returns
/// `Elapsed`. Were the deadline polled under the spent budget, it would be `Pending`
/// in every poll and the task would never end (here: the step limit of 1,000).
#[test]
fn a_timeout_fires_even_when_the_inner_future_spends_the_budget() {
    let program = || async {
        let busy = async {
            loop {
                tokio::task::consume_budget().await;
            }
        };
        let timeout = tokio::time::timeout(MS, busy);
        tokio::time::sleep(2 * MS).await;
        timeout.await.is_err()
    };
    let config = || Config::random(4).max_steps(sim_core::StepLimit::FailAfter(1000));
    let (first, fingerprint) = crate::support::run(config(), program);
    let (again, same) = crate::support::run(config(), program);
    assert!(first.unwrap_or_else(|e| panic!("{e}")));
    assert!(again.unwrap_or_else(|e| panic!("{e}")));
    assert_eq!(fingerprint, same);
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
