//! `Semaphore`, `Mutex` and `RwLock`: tokio's semantics (fair, first come first
//! served; write-preferring), deadlock reports that name the lock and the wait,
//! exact counts of orders, determinism, and life outside a simulation.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use sim_core::sync::{AcquireError, Mutex, RwLock, Semaphore, TryAcquireError};
use sim_core::tooling::trace::RecordKind;
use sim_core::{yield_now, Config, FailureKind, Sim, TraceMode};

use crate::support::{explore, explore_reduced};

fn deadlock(result: Result<(), Box<sim_core::Failure>>) -> Vec<String> {
    let failure = result.unwrap_err();
    let FailureKind::Deadlock { blocked } = &failure.kind else { panic!("expected a deadlock, got {failure}") };
    blocked.iter().map(ToString::to_string).collect()
}

// ---- deadlock reports name the lock and the wait ----

#[test]
fn a_deadlock_report_names_the_semaphore_and_the_permits_a_task_waits_for() {
    let mut sim = Sim::new(Config::default());
    let pool = Arc::new(sim_core::named("pool", || Semaphore::new(2)));
    sim.spawn_named("worker", async move {
        let _one = pool.acquire().await.unwrap();
        let _two_more = pool.acquire_many(2).await.unwrap();
    });
    assert_eq!(deadlock(sim.run()), ["worker (acquire 2 on `pool`)"]);
}

#[test]
fn a_deadlock_report_names_the_mutex_a_task_waits_on() {
    let mut sim = Sim::new(Config::default());
    let state = Arc::new(sim_core::named("state", || Mutex::new(0u32)));
    sim.spawn_named("worker", async move {
        let _held = state.lock().await;
        let _again = state.lock().await;
    });
    assert_eq!(deadlock(sim.run()), ["worker (lock on `state`)"]);
}

/// A reader that wants to write while it reads waits forever; a second reader
/// queued behind the waiting writer waits too (write preference).
#[test]
fn a_deadlock_report_names_the_rwlock_and_whether_a_task_waits_to_read_or_write() {
    let mut sim = Sim::new(Config::default());
    let cfg = Arc::new(sim_core::named("cfg", || RwLock::new(0u32)));
    let c = cfg.clone();
    sim.spawn_named("upgrader", async move {
        let _read = c.read().await;
        yield_now().await;
        let _write = c.write().await;
    });
    sim.spawn_named("reader", async move {
        yield_now().await;
        yield_now().await;
        let _read = cfg.read().await;
    });
    assert_eq!(deadlock(sim.run()), ["upgrader (write on `cfg`)", "reader (read on `cfg`)"]);
}

#[test]
fn unnamed_locks_are_named_after_their_creation_site() {
    let mut sim = Sim::new(Config::default());
    let line = line!() + 1;
    let m = Arc::new(Mutex::new(()));
    sim.spawn_named("a", async move {
        let _g = m.lock().await;
        let _h = m.lock().await;
    });
    assert_eq!(deadlock(sim.run()), [format!("a (lock on `locks.rs:{line}`)")]);
}

// ---- exact counts of orders ----

/// Holders at once, and the most seen.
#[derive(Default)]
struct Gauge {
    now: u32,
    max: u32,
}

fn enter(g: &Rc<RefCell<Gauge>>) {
    let mut g = g.borrow_mut();
    g.now += 1;
    g.max = g.max.max(g.now);
}

fn leave(g: &Rc<RefCell<Gauge>>) {
    g.borrow_mut().now -= 1;
}

/// A semaphore of 2 permits; X, Y, Z each acquire 1, yield holding it, release.
/// Due at t = 0: X, Y, Z. A poll that acquires yields (the task is due again at
/// once); its next poll releases and ends. The first pick is any of the three and
/// the rest is symmetric, so count the orders after X goes first and triple them.
/// X holds 1; due: Y, Z, X.
/// - X again (releases, ends); Y and Z remain, 2 permits free. Y next: Y holds, due
///   Z, Y: Z next (holds; due Y, Z: 2 orders) or Y next (ends; Z alone: 1): 3. Z
///   next: likewise 3. 6 orders.
/// - Y next (holds; none free; due Z, X, Y):
///   - Z: waits. Due X, Y. X releases (its permit goes to Z, woken; due Y, Z): Y
///     ends then Z alone (1), or Z takes it and yields (due Y, Z: 2): 3. Y
///     releases first instead: likewise 3. 6 orders.
///   - X: releases (1 free; due Z, Y). Z takes it (due Y, Z: 2) or Y ends (Z
///     alone: 1): 3 orders.
///   - Y: releases: likewise 3.
///
///   12 orders.
/// - Z next: as Y, 12 orders.
///
/// 6 + 12 + 12 = 30 after X, 90 in all. Never more than 2 hold at once, and only
/// 1 at most in the orders where each releases before the next acquires.
fn semaphore_program(sim: &mut Sim) -> u32 {
    let sem = Arc::new(sim_core::named("pool", || Semaphore::new(2)));
    let gauge = Rc::new(RefCell::new(Gauge::default()));
    for name in ["x", "y", "z"] {
        let (sem, gauge) = (sem.clone(), gauge.clone());
        sim.spawn_named(name, async move {
            let permit = sem.acquire().await.unwrap();
            enter(&gauge);
            yield_now().await;
            leave(&gauge);
            drop(permit);
        });
    }
    sim.run().unwrap();
    let max = gauge.borrow().max;
    max
}

#[test]
fn a_semaphore_program_has_exactly_ninety_orders() {
    let all = explore(semaphore_program);
    assert_eq!(all.runs, 90);
    assert_eq!(all.fingerprints.len(), 90);
    assert_eq!(all.outcomes, BTreeSet::from([1, 2]));
    assert_eq!(explore_reduced(semaphore_program).outcomes, all.outcomes);
}

/// A and B each lock a mutex, yield holding it, unlock. Due at t = 0: A, B.
/// - A first: A holds; due B, A. B next: B waits; A unlocks (waking B), B locks,
///   yields and ends, one event at a time: 1 order. A next: A unlocks and ends; B
///   locks, yields, ends: 1 order. 2 orders.
/// - B first: likewise 2.
///
/// Total 4; the lock goes A then B, or B then A.
fn mutex_program(sim: &mut Sim) -> Vec<&'static str> {
    let m = Arc::new(sim_core::named("m", || Mutex::new(Vec::new())));
    for name in ["a", "b"] {
        let m = m.clone();
        sim.spawn_named(name, async move {
            let mut held = m.lock().await;
            held.push(name);
            yield_now().await;
        });
    }
    sim.run().unwrap();
    let out = m.try_lock().unwrap().clone();
    out
}

#[test]
fn a_mutex_program_has_exactly_four_orders() {
    let all = explore(mutex_program);
    assert_eq!(all.runs, 4);
    assert_eq!(all.fingerprints.len(), 4);
    let expected = BTreeSet::from([vec!["a", "b"], vec!["b", "a"]]);
    assert_eq!(all.outcomes, expected);
    assert_eq!(explore_reduced(mutex_program).outcomes, expected);
}

/// R1 and R2 each read-lock, yield holding the read lock, unlock. Due: R1, R2.
/// - R1 first: R1 reads; due R2, R1. R2 next: R2 reads too (readers share); due R1,
///   R2: 2 orders, the last alone. R1 next: R1 ends; R2 reads, yields, ends: 1. 3.
/// - R2 first: likewise 3.
///
/// Total 6 (a mutex gives 4: here both can hold at once); at most 2 readers at once.
fn rwlock_program(sim: &mut Sim) -> u32 {
    let lock = Arc::new(sim_core::named("cfg", || RwLock::new(0u32)));
    let gauge = Rc::new(RefCell::new(Gauge::default()));
    for name in ["r1", "r2"] {
        let (lock, gauge) = (lock.clone(), gauge.clone());
        sim.spawn_named(name, async move {
            let read = lock.read().await;
            enter(&gauge);
            yield_now().await;
            leave(&gauge);
            drop(read);
        });
    }
    sim.run().unwrap();
    let max = gauge.borrow().max;
    max
}

#[test]
fn an_rwlock_program_has_exactly_six_orders() {
    let all = explore(rwlock_program);
    assert_eq!(all.runs, 6);
    assert_eq!(all.fingerprints.len(), 6);
    assert_eq!(all.outcomes, BTreeSet::from([1, 2]));
    assert_eq!(explore_reduced(rwlock_program).outcomes, all.outcomes);
}

// ---- tokio's semantics ----

/// A waiter that needs 2 permits holds up one behind it that needs 1, even when
/// 1 is free: first come, first served, as tokio.
#[test]
fn semaphore_waiters_are_served_first_come_first_served() {
    let mut sim = Sim::new(Config::default());
    let order = sim
        .block_on(async {
            let sem = Arc::new(sim_core::named("pool", || Semaphore::new(1)));
            let log = Arc::new(parking_lot::Mutex::new(Vec::new()));
            let held = sem.clone().acquire_owned().await.unwrap();
            let (s, l) = (sem.clone(), log.clone());
            let big = sim_core::spawn(async move {
                let _p = s.acquire_many(2).await.unwrap();
                l.lock().push("big");
            });
            yield_now().await; // `big` queues first
            let (s, l) = (sem.clone(), log.clone());
            let small = sim_core::spawn(async move {
                let _p = s.acquire().await.unwrap();
                l.lock().push("small");
            });
            yield_now().await;
            assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::NoPermits);
            sem.add_permits(1); // 1 free, but `big` comes first and needs 2
            yield_now().await;
            assert!(log.lock().is_empty(), "nobody got through yet");
            drop(held); // now `big` has 2
            big.await.unwrap();
            small.await.unwrap();
            let order = log.lock().clone();
            order
        })
        .unwrap();
    assert_eq!(order, ["big", "small"]);
}

#[test]
fn semaphore_close_forget_split_merge_and_counts_follow_tokio() {
    let mut sim = Sim::new(Config::default());
    sim.block_on(async {
        let sem = Arc::new(Semaphore::new(5));
        assert_eq!(Semaphore::MAX_PERMITS, usize::MAX >> 3);
        let mut p = sem.acquire_many(3).await.unwrap();
        assert_eq!((p.num_permits(), sem.available_permits()), (3, 2));
        let q = p.split(1).unwrap();
        assert!(p.split(5).is_none());
        assert_eq!((p.num_permits(), q.num_permits()), (2, 1));
        p.merge(q);
        assert_eq!(p.num_permits(), 3);
        p.forget();
        assert_eq!(sem.available_permits(), 2, "forgotten permits stay out");
        assert_eq!(sem.forget_permits(5), 2);
        assert_eq!(sem.available_permits(), 0);
        let s = sem.clone();
        let waiter = sim_core::spawn(async move { s.acquire().await.map(|p| p.num_permits()) });
        yield_now().await;
        sem.close();
        assert!(sem.is_closed());
        let closed: Result<usize, AcquireError> = waiter.await.unwrap();
        assert!(closed.is_err(), "a waiting acquire fails when the semaphore closes");
        assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::Closed);
        assert!(sem.acquire().await.is_err());
        assert_eq!(sem.clone().try_acquire_owned().unwrap_err(), TryAcquireError::Closed);
        assert_eq!(TryAcquireError::NoPermits.to_string(), "no permits available");
        assert_eq!(TryAcquireError::Closed.to_string(), "semaphore closed");
    })
    .unwrap();
}

/// A writer waiting for readers to finish holds up readers that come after it
/// (write preference); `try_read` fails meanwhile; `downgrade` keeps the value
/// from other writers while letting readers in.
#[test]
fn rwlock_is_write_preferring_and_downgrades_as_tokio() {
    let mut sim = Sim::new(Config::default());
    let log = sim
        .block_on(async {
            let lock = Arc::new(sim_core::named("cfg", || RwLock::new(0u32)));
            let log = Arc::new(parking_lot::Mutex::new(Vec::new()));
            let first = lock.read().await;
            let (l, g) = (lock.clone(), log.clone());
            let writer = sim_core::spawn(async move {
                let mut w = l.write().await;
                *w = 1;
                g.lock().push("write");
                let r = sim_core::sync::RwLockWriteGuard::downgrade(w);
                g.lock().push("downgraded");
                yield_now().await;
                assert_eq!(*r, 1);
            });
            yield_now().await;
            assert!(lock.try_read().is_err(), "a waiting writer holds up new readers");
            let (l, g) = (lock.clone(), log.clone());
            let reader = sim_core::spawn(async move {
                let r = l.read().await;
                g.lock().push("late read");
                assert_eq!(*r, 1);
            });
            yield_now().await;
            drop(first);
            writer.await.unwrap();
            reader.await.unwrap();
            assert!(lock.try_write().is_ok());
            let log = log.lock().clone();
            log
        })
        .unwrap();
    assert_eq!(log, ["write", "downgraded", "late read"]);
}

#[test]
fn mutex_guards_map_own_and_try_lock_as_tokio() {
    let mut sim = Sim::new(Config::default());
    sim.block_on(async {
        let m = Arc::new(Mutex::new((1u32, String::from("a"))));
        {
            let g = m.lock().await;
            assert!(m.try_lock().is_err());
            assert_eq!(m.try_lock().unwrap_err().to_string(), "operation would block");
            let mut name = sim_core::sync::MutexGuard::map(g, |v| &mut v.1);
            name.push('b');
        }
        let owned = m.clone().lock_owned().await;
        assert_eq!(owned.1, "ab");
        assert!(m.clone().try_lock_owned().is_err());
        drop(owned);
        let g = m.try_lock().unwrap();
        let g = sim_core::sync::MutexGuard::try_map(g, |_| None::<&mut u32>).unwrap_err();
        assert_eq!(g.0, 1);
        drop(g);
        let rw = Arc::new(RwLock::with_max_readers(5u32, 2));
        let a = rw.clone().read_owned().await;
        let b = rw.clone().try_read_owned().unwrap();
        assert!(rw.try_read().is_err(), "max_readers is 2");
        drop((a, b));
        let mut w = rw.clone().write_owned().await;
        *w += 1;
        let r = sim_core::sync::OwnedRwLockWriteGuard::downgrade(w);
        assert_eq!(*r, 6);
        assert!(rw.try_read().is_ok());
        assert!(rw.try_write().is_err());
        drop(r);
        let mut part = sim_core::sync::RwLockWriteGuard::map(rw.write().await, |v| v);
        *part += 1;
        drop(part);
        assert_eq!(*sim_core::sync::RwLockReadGuard::map(rw.read().await, |v| v), 7);
    })
    .unwrap();
}

/// Lock operations are traced: `acquire` when taken, `release` when a guard or
/// permit goes.
#[test]
fn lock_operations_are_traced() {
    let mut sim = Sim::new(Config::default().trace(TraceMode::Full));
    sim.block_on(async {
        let m = sim_core::named("m", || Mutex::new(0));
        *m.lock().await += 1;
    })
    .unwrap();
    let kinds: Vec<RecordKind> =
        sim.trace().lines.into_iter().filter(|l| l.channel.as_deref() == Some("m")).map(|l| l.kind).collect();
    assert_eq!(kinds, [RecordKind::Acquire, RecordKind::Release]);
}

/// `blocking_lock` inside a simulation panics with tokio's text (the thread drives
/// the simulation, as a runtime's thread drives its tasks): the run fails with that
/// panic, naming the task.
#[test]
fn blocking_lock_under_simulation_panics_as_tokio_does() {
    let mut sim = Sim::new(Config::default());
    let m = Arc::new(sim_core::named("m", || Mutex::new(0)));
    sim.spawn_named("blocker", async move {
        let _g = m.blocking_lock();
    });
    let failure = sim.run().unwrap_err();
    let FailureKind::Panic { task, message } = &failure.kind else { panic!("{failure}") };
    assert_eq!(task, "blocker");
    assert!(message.starts_with("Cannot block the current thread from within a runtime"), "{message}");
    assert!(message.contains("Mutex::blocking_lock on `m`"), "{message}");
}

/// Outside any simulation the locks are plain async code, and the blocking calls
/// block the thread as tokio's do.
#[test]
fn locks_work_outside_a_simulation_and_across_threads() {
    let m = Arc::new(Mutex::new(0u32));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let m = m.clone();
            std::thread::spawn(move || {
                for _ in 0..100 {
                    *m.blocking_lock() += 1;
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(*m.blocking_lock(), 400);

    let sem = Semaphore::new(1);
    let waker = Waker::noop();
    let mut cx = Context::from_waker(waker);
    let held = sem.try_acquire().unwrap();
    let mut second = pin!(sem.acquire());
    assert!(second.as_mut().poll(&mut cx).is_pending());
    drop(held);
    assert!(matches!(second.poll(&mut cx), Poll::Ready(Ok(_))));
}

/// Determinism: one seed twice, the same fingerprint.
#[test]
fn a_seed_runs_twice_to_the_same_fingerprint_with_locks() {
    fn world(seed: u64) -> sim_core::Fingerprint {
        let mut sim = Sim::new(Config::random(seed));
        let sem = Arc::new(sim_core::named("pool", || Semaphore::new(2)));
        let m = Arc::new(sim_core::named("m", || Mutex::new(0u32)));
        let rw = Arc::new(sim_core::named("rw", || RwLock::new(0u32)));
        for t in 0..4u32 {
            let (sem, m, rw) = (sem.clone(), m.clone(), rw.clone());
            sim.spawn(async move {
                let _p = sem.acquire_many(1 + t % 2).await.unwrap();
                *m.lock().await += t;
                yield_now().await;
                if t % 2 == 0 {
                    *rw.write().await += 1;
                } else {
                    let _r = rw.read().await;
                    yield_now().await;
                }
            });
        }
        sim.run().unwrap();
        sim.fingerprint()
    }
    let prints: BTreeSet<_> = (0..30).map(world).collect();
    assert!(prints.len() > 1, "seeds reorder the tasks");
    for seed in 0..30 {
        assert_eq!(world(seed), world(seed), "seed {seed}");
    }
}

/// `blocking_acquire` blocks the thread outside a simulation, as tokio's, and the
/// permit knows its semaphore.
#[test]
fn blocking_acquire_outside_a_simulation_waits_for_a_permit() {
    let sem = Arc::new(Semaphore::new(0));
    let s = sem.clone();
    let releaser = std::thread::spawn(move || s.add_permits(2));
    let permit = sem.blocking_acquire_many(2).unwrap();
    assert!(std::ptr::eq(permit.semaphore(), &*sem));
    releaser.join().unwrap();
    drop(permit);
    sem.close();
    assert!(sem.clone().blocking_acquire_owned().is_err());
}

/// `downgrade_map` keeps a part of the value under a read lock.
#[test]
fn downgrade_map_keeps_a_part_under_a_read_lock() {
    let mut sim = Sim::new(Config::default());
    sim.block_on(async {
        let rw = RwLock::new((1u8, 2u8));
        let w = rw.write().await;
        let second = sim_core::sync::RwLockWriteGuard::downgrade_map(w, |v| &v.1);
        assert_eq!(*second, 2);
        assert!(rw.try_read().is_ok() && rw.try_write().is_err());
    })
    .unwrap();
}

/// Permits are counted in a `usize`: merging two of 3e9 each holds 6e9, as tokio's
/// (and a zero-reader `RwLock` panics with tokio's text).
#[test]
fn permits_beyond_u32_merge_and_return() {
    let sem = Semaphore::new(6_000_000_000);
    let mut a = sem.try_acquire_many(3_000_000_000).unwrap();
    let b = sem.try_acquire_many(3_000_000_000).unwrap();
    a.merge(b);
    assert_eq!((a.num_permits(), sem.available_permits()), (6_000_000_000, 0));
    drop(a);
    assert_eq!(sem.available_permits(), 6_000_000_000);
    let zero = std::panic::catch_unwind(|| RwLock::with_max_readers(1, 0)).unwrap_err();
    assert_eq!(zero.downcast_ref::<&str>(), Some(&"a RwLock may not be created with 0 readers"));
}
