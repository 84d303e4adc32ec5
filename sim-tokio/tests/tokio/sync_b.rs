//! `Barrier`, `OnceCell` and `broadcast` by tokio's names: deadlock reports naming
//! the primitive and the wait, exact counts of orders, determinism, tokio's semantics.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use sim_core::tooling::strategy::explore_all;
use sim_core::{Config, FailureKind, Sim};
use tokio::lockstep;
use tokio::sync::broadcast::error::{RecvError, SendError, TryRecvError};
use tokio::sync::{broadcast, oneshot, Barrier, OnceCell, SetError};

use crate::support::{run, twice};

fn blocked<F, Fut>(f: F) -> Vec<String>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let (result, _) = run(Config::default(), f);
    let failure = result.unwrap_err();
    let FailureKind::Deadlock { blocked } = &failure.kind else { panic!("expected a deadlock, got {failure}") };
    blocked.iter().map(ToString::to_string).collect()
}

// ---- deadlock reports ----

#[test]
fn a_barrier_deadlock_names_the_barrier_and_the_wait() {
    let line = line!() + 2;
    let got = blocked(|| async {
        let barrier = Barrier::new(2);
        barrier.wait().await;
    });
    assert_eq!(got, [format!("main (wait on barrier `sync_b.rs:{line}`)")]);
}

#[test]
fn a_once_cell_deadlock_names_the_cell_and_the_wait() {
    let got = blocked(|| async {
        let cell = Arc::new(lockstep::named("config", OnceCell::<u32>::new));
        let (_tx, rx) = lockstep::named("never", oneshot::channel::<u32>);
        let c = cell.clone();
        lockstep::named("loader", || tokio::spawn(async move { *c.get_or_init(|| async { rx.await.unwrap() }).await }));
        tokio::task::yield_now().await;
        cell.get_or_init(|| async { 1 }).await;
    });
    assert_eq!(got, ["main (init on `config`)", "loader (recv on `never`)"]);
}

#[test]
fn a_broadcast_deadlock_names_the_channel_and_the_wait() {
    let line = line!() + 2;
    let got = blocked(|| async {
        let (tx, mut rx) = broadcast::channel::<u32>(4);
        let (events, _keep) = lockstep::named("events", || broadcast::channel::<u32>(4));
        tokio::spawn(async move { events.closed().await });
        let _ = rx.recv().await;
        drop(tx);
    });
    let task = line + 2;
    assert_eq!(got, [format!("main (recv on `sync_b.rs:{line}`)"), format!("sync_b.rs:{task} (closed on `events`)")]);
}

// ---- exact counts of orders ----

fn count<T: Ord>(program: impl Fn() -> Box<dyn FnOnce(&mut Sim) -> T>) -> (usize, usize, BTreeSet<T>) {
    let mut fingerprints = BTreeSet::new();
    let mut outcomes = BTreeSet::new();
    let e = explore_all(100_000, |prefix| {
        let mut sim = Sim::new(Config::replay(prefix.clone()));
        let finish = sim.enter(&program);
        outcomes.insert(finish(&mut sim));
        fingerprints.insert(sim.fingerprint());
        sim.recorded_tape()
    });
    assert!(e.exhausted);
    (e.runs, fingerprints.len(), outcomes)
}

type Log = Arc<Mutex<Vec<&'static str>>>;

/// A barrier for 2; tasks a, b and c each wait once (all due at t = 0). The first to
/// run (3 choices) waits; of the other two, the one that runs next (2 choices) is the
/// leader and wakes the first, which is then due beside the third: either runs first
/// (2 choices; the third waits for a round that never fills, a deadlock). 3 * 2 * 2 =
/// 12 orders; the outcome is (leader, stuck), one per order of the first two: 6.
#[test]
fn a_barrier_program_has_exactly_twelve_orders() {
    let (runs, distinct, outcomes) = count(|| {
        let barrier = Arc::new(Barrier::new(2));
        let leader: Log = Arc::default();
        for name in ["a", "b", "c"] {
            let (barrier, leader) = (barrier.clone(), leader.clone());
            lockstep::named(name, || {
                tokio::spawn(async move {
                    if barrier.wait().await.is_leader() {
                        leader.lock().unwrap().push(name);
                    }
                })
            });
        }
        Box::new(move |sim: &mut Sim| {
            let failure = sim.run().unwrap_err();
            let FailureKind::Deadlock { blocked } = failure.kind else { panic!("{failure}") };
            let leader = leader.lock().unwrap().clone();
            (leader, blocked.iter().map(|b| b.name.clone()).collect::<Vec<_>>())
        })
    });
    assert_eq!((runs, distinct), (12, 12));
    assert_eq!(outcomes.len(), 6);
    assert!(outcomes.iter().all(|(leader, stuck)| leader.len() == 1 && stuck.len() == 1 && leader[0] != stuck[0]));
}

/// Tasks a and b call `get_or_init` with an initializer that yields once. a first: it
/// starts initializing and yields, so b and a are due: b first (it waits; a sets the
/// cell and wakes it) or a first (it sets the cell, then b reads it): 2 orders. b
/// first: 2. Total 4; both see the first runner's value.
#[test]
fn a_once_cell_program_has_exactly_four_orders() {
    let (runs, distinct, outcomes) = count(|| {
        let cell = Arc::new(OnceCell::new());
        let seen: Log = Arc::default();
        for name in ["a", "b"] {
            let (cell, seen) = (cell.clone(), seen.clone());
            lockstep::named(name, || {
                tokio::spawn(async move {
                    let got = cell
                        .get_or_init(|| async move {
                            tokio::task::yield_now().await;
                            name
                        })
                        .await;
                    seen.lock().unwrap().push(*got);
                })
            });
        }
        Box::new(move |sim: &mut Sim| {
            sim.run().unwrap();
            let mut seen = seen.lock().unwrap().clone();
            seen.sort_unstable();
            seen
        })
    });
    assert_eq!((runs, distinct), (4, 4));
    assert_eq!(outcomes, BTreeSet::from([vec!["a", "a"], vec!["b", "b"]]));
}

/// Capacity 1. Sender s sends 1, yields, sends 2 and drops the sender; receiver r
/// receives until the channel is closed. s first: after its yield r and s are due: r
/// first (r gets 1, waits, then 2) or s first (2 overwrites 1: r lags by 1, then gets
/// 2): 2 orders. r first: it waits; s sends 1, waking r, and yields: r and s are due,
/// the same 2 orders. Total 4; outcomes: [1, 2] and [lagged 1, 2].
#[test]
fn a_broadcast_program_has_exactly_four_orders() {
    let (runs, distinct, outcomes) = count(|| {
        let (tx, mut rx) = broadcast::channel::<u32>(1);
        let got = Arc::new(Mutex::new(Vec::new()));
        lockstep::named("s", || {
            tokio::spawn(async move {
                tx.send(1).unwrap();
                tokio::task::yield_now().await;
                tx.send(2).unwrap();
            })
        });
        let g = got.clone();
        lockstep::named("r", || {
            tokio::spawn(async move {
                loop {
                    match rx.recv().await {
                        Ok(v) => g.lock().unwrap().push(i64::from(v)),
                        Err(RecvError::Lagged(n)) => g.lock().unwrap().push(-(n as i64)),
                        Err(RecvError::Closed) => break,
                    }
                }
            })
        });
        Box::new(move |sim: &mut Sim| {
            sim.run().unwrap();
            let out = got.lock().unwrap().clone();
            out
        })
    });
    assert_eq!((runs, distinct), (4, 4));
    assert_eq!(outcomes, BTreeSet::from([vec![1, 2], vec![-1, 2]]));
}

// ---- determinism ----

#[test]
fn a_seed_run_twice_gives_the_same_fingerprint() {
    for seed in 0..20 {
        twice(seed, || async {
            let barrier = Arc::new(Barrier::new(3));
            let cell = Arc::new(OnceCell::new());
            let (tx, _rx) = broadcast::channel::<u32>(2);
            let mut handles = Vec::new();
            for t in 0..3u32 {
                let (barrier, cell, mut rx) = (barrier.clone(), cell.clone(), tx.subscribe());
                handles.push(tokio::spawn(async move {
                    let first = *cell.get_or_init(|| async move { t }).await;
                    let leader = barrier.wait().await.is_leader();
                    let mut got = Vec::new();
                    while let Ok(v) = rx.recv().await {
                        got.push(v);
                    }
                    (first, leader, got)
                }));
            }
            for v in 0..5 {
                tx.send(v).unwrap();
                tokio::task::yield_now().await;
            }
            drop(tx);
            let mut out = Vec::new();
            for h in handles {
                out.push(h.await.unwrap());
            }
            out
        });
    }
}

// ---- broadcast: tokio's semantics ----

#[test]
fn broadcast_lags_by_the_capacity_rounded_up_to_a_power_of_two() {
    // Capacity 3 holds 4: after 6 sends a receiver that read nothing lags by 2.
    let (tx, mut rx) = broadcast::channel(3);
    for v in 0..6 {
        assert_eq!(tx.send(v), Ok(1));
    }
    assert_eq!(rx.len(), 6);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Lagged(2)));
    assert_eq!((rx.try_recv(), rx.try_recv(), rx.try_recv(), rx.try_recv()), (Ok(2), Ok(3), Ok(4), Ok(5)));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    // Lagging again before reading what is held.
    for v in 6..20 {
        tx.send(v).unwrap();
    }
    assert_eq!(rx.try_recv(), Err(TryRecvError::Lagged(10)));
    assert_eq!(rx.try_recv(), Ok(16));
    // Each receiver lags on its own.
    let mut late = tx.subscribe();
    tx.send(20).unwrap();
    assert_eq!(late.try_recv(), Ok(20));
    assert_eq!(late.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(rx.len(), 4);
}

#[test]
fn broadcast_counts_closes_and_errors_like_tokio() {
    let (tx, rx) = broadcast::channel::<u32>(2);
    assert_eq!(tx.receiver_count(), 1);
    assert_eq!(tx.send(1), Ok(1));
    let mut rx2 = rx.resubscribe();
    assert_eq!(tx.receiver_count(), 2);
    assert_eq!((tx.len(), tx.is_empty()), (1, false));
    assert!(rx2.is_empty(), "a resubscribed receiver starts after the values already sent");
    drop(rx);
    assert_eq!(tx.len(), 0, "the value no receiver still needs is gone");
    let weak = tx.downgrade();
    let tx2 = weak.upgrade().unwrap();
    assert!(tx.same_channel(&tx2));
    assert_eq!((tx.strong_count(), tx.weak_count()), (2, 1));
    drop((tx, tx2));
    assert!(weak.upgrade().is_none());
    assert!(rx2.is_closed());
    assert_eq!(rx2.try_recv(), Err(TryRecvError::Closed));
    let (tx, rx) = broadcast::channel::<u32>(1);
    drop(rx);
    assert_eq!(tx.send(7), Err(SendError(7)));
    assert_eq!(SendError(7).to_string(), "channel closed");
    assert_eq!(RecvError::Lagged(3).to_string(), "channel lagged by 3");
    assert_eq!(RecvError::Closed.to_string(), "channel closed");
    assert_eq!(TryRecvError::Empty.to_string(), "channel empty");
    assert!(std::panic::catch_unwind(|| broadcast::channel::<u32>(0)).is_err());
    // With no receiver left, `closed` completes.
    let (result, _) = run(Config::default(), || async {
        let (tx, rx) = broadcast::channel::<u32>(1);
        tokio::spawn(async move {
            tokio::task::yield_now().await;
            drop(rx);
        });
        tx.closed().await;
        tx.receiver_count()
    });
    assert_eq!(result.unwrap(), 0);
}

// ---- OnceCell: tokio's semantics ----

static GLOBAL: OnceCell<u32> = OnceCell::const_new();

#[test]
fn once_cell_set_get_take_and_errors() {
    let cell = OnceCell::new();
    assert!(!cell.initialized() && cell.get().is_none());
    assert_eq!(cell.set(1), Ok(()));
    assert_eq!(cell.set(2), Err(SetError::AlreadyInitializedError(2)));
    assert!(cell.set(3).unwrap_err().is_already_init_err());
    assert_eq!(cell.get(), Some(&1));
    let mut cell = cell;
    *cell.get_mut().unwrap() += 1;
    assert_eq!(cell.take(), Some(2));
    assert!(!cell.initialized());
    assert_eq!(OnceCell::new_with(Some(5)).into_inner(), Some(5));
    // A static works in a simulation (registered there at its first use).
    let (result, _) = run(Config::default(), || async { *GLOBAL.get_or_init(|| async { 42 }).await });
    assert_eq!(result.unwrap(), 42);
}

#[test]
fn a_failed_or_cancelled_initializer_lets_the_next_one_run() {
    let got = twice(0, || async {
        let cell = Arc::new(OnceCell::<u32>::new());
        let failed: Result<&u32, &str> = cell.get_or_try_init(|| async { Err("no") }).await;
        assert_eq!(failed, Err("no"));
        assert!(!cell.initialized());
        // An initializer whose task is aborted mid-way hands over to the waiter.
        let c = cell.clone();
        let (started_tx, started) = oneshot::channel();
        let first = tokio::spawn(async move {
            *c.get_or_init(|| async {
                started_tx.send(()).unwrap();
                std::future::pending::<()>().await;
                1
            })
            .await
        });
        started.await.unwrap();
        assert!(cell.set(9).unwrap_err().is_initializing_err());
        let c = cell.clone();
        let second = tokio::spawn(async move { *c.get_or_init(|| async { 2 }).await });
        tokio::task::yield_now().await;
        first.abort();
        let second = second.await.unwrap();
        (second, *cell.get().unwrap())
    });
    assert_eq!(got, (2, 2));
}

// ---- Barrier: tokio's semantics ----

#[test]
fn a_barrier_has_one_leader_per_round_and_zero_means_one() {
    let got = twice(2, || async {
        let barrier = Arc::new(Barrier::new(2));
        let mut handles = Vec::new();
        for _ in 0..4 {
            let b = barrier.clone();
            handles.push(tokio::spawn(async move { b.wait().await.is_leader() }));
        }
        let mut leaders = 0;
        for h in handles {
            leaders += usize::from(h.await.unwrap());
        }
        let zero = Barrier::new(0).wait().await.is_leader();
        (leaders, zero)
    });
    assert_eq!(got, (2, true));
}

// ---- SetOnce ----

#[test]
fn a_set_once_deadlock_names_the_cell_and_the_wait() {
    let got = blocked(|| async {
        let ready = lockstep::named("ready", tokio::sync::SetOnce::<u32>::new);
        ready.wait().await;
    });
    assert_eq!(got, ["main (init on `ready`)"]);
}

/// Setters s1 and s2 and a waiter w, all due at t = 0. w first: it waits; then s1 or
/// s2 sets the value and wakes w, which is then due beside the other setter: 2 * 2
/// orders. s1 first: it sets; w and s2 run in either order: 2. s2 first: 2. Total 8.
/// The waiter sees the first setter's value, the second setter gets its value back.
#[test]
fn a_set_once_program_has_exactly_eight_orders() {
    let (runs, distinct, outcomes) = count(|| {
        let once = Arc::new(tokio::sync::SetOnce::new());
        let seen: Log = Arc::default();
        for name in ["s1", "s2"] {
            let (once, seen) = (once.clone(), seen.clone());
            lockstep::named(name, || {
                tokio::spawn(async move {
                    if let Err(tokio::sync::SetOnceError(refused)) = once.set(name) {
                        seen.lock().unwrap().push(refused);
                    }
                })
            });
        }
        let (w, s) = (once.clone(), seen.clone());
        lockstep::named("w", || {
            tokio::spawn(async move {
                let got = *w.wait().await;
                s.lock().unwrap().push(got);
            })
        });
        Box::new(move |sim: &mut Sim| {
            sim.run().unwrap();
            let mut seen = seen.lock().unwrap().clone();
            seen.sort_unstable();
            (*once.get().unwrap(), seen)
        })
    });
    assert_eq!((runs, distinct), (8, 8));
    assert_eq!(outcomes, BTreeSet::from([("s1", vec!["s1", "s2"]), ("s2", vec!["s1", "s2"])]));
}

/// tokio's `SetOnce` API: `set` once (the second hands its value back in a
/// `SetOnceError`, displayed as tokio's), `get`, `initialized`, `into_inner`,
/// `new_with`, `From`, `Clone`, `PartialEq`, `const_new_with` in a `static`; `wait`
/// at once when set, and cancel safe. A seed run twice gives one fingerprint.
#[test]
fn set_once_sets_once_and_wakes_every_waiter() {
    use tokio::sync::{SetOnce, SetOnceError};
    static PRESET: SetOnce<u32> = SetOnce::const_new_with(3);
    assert_eq!(PRESET.get(), Some(&3));
    let got = twice(6, || async {
        let once = Arc::new(SetOnce::new());
        assert!(!once.initialized());
        // A wait dropped unfinished leaves nothing behind (cancel safe).
        assert!(tokio::time::timeout(std::time::Duration::from_millis(1), once.wait()).await.is_err());
        let waiters: Vec<_> = (0..3)
            .map(|_| {
                let once = once.clone();
                tokio::spawn(async move { *once.wait().await })
            })
            .collect();
        tokio::task::yield_now().await;
        assert_eq!(once.set(7), Ok(()));
        let refused = once.set(8).unwrap_err();
        assert_eq!((refused.to_string(), refused), ("SetOnceError".to_string(), SetOnceError(8)));
        let mut seen = Vec::new();
        for w in waiters {
            seen.push(w.await.unwrap());
        }
        assert_eq!(*once.wait().await, 7);
        (seen, once.get().copied(), once.initialized())
    });
    assert_eq!(got, (vec![7, 7, 7], Some(7), true));
    let made = SetOnce::from(5);
    assert_eq!(made.clone(), SetOnce::new_with(Some(5)));
    assert_ne!(made, SetOnce::new());
    assert_eq!(made.into_inner(), Some(5));
    assert_eq!(SetOnce::<u32>::const_new().into_inner(), None);
    assert_eq!(format!("{:?}", SetOnce::from(1)), "SetOnce { value: Some(1) }");
}
