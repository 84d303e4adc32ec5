//! `tokio::sync::{Semaphore, Mutex, RwLock}` under simulation, by tokio's names:
//! deadlock reports naming the lock and the wait, an exact count of orders,
//! determinism, tokio's error types.

use std::collections::BTreeSet;
use std::sync::Arc;

use sim_core::tooling::strategy::explore_all;
use sim_core::{Config, FailureKind, Sim};
use tokio::lockstep;
use tokio::sync::{
    AcquireError, Mutex, MutexGuard, OwnedMutexGuard, OwnedSemaphorePermit, RwLock, RwLockReadGuard, RwLockWriteGuard,
    Semaphore, SemaphorePermit, TryAcquireError, TryLockError,
};

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

#[test]
fn lock_deadlocks_name_the_lock_and_the_wait() {
    let got = blocked(|| async {
        let pool = lockstep::named("pool", || Arc::new(Semaphore::new(2)));
        let _one = pool.acquire().await.unwrap();
        let _more = pool.acquire_many(2).await.unwrap();
    });
    assert_eq!(got, ["main (acquire 2 on `pool`)"]);
    let line = line!() + 2;
    let got = blocked(|| async {
        let state = Mutex::new(0);
        let _held = state.lock().await;
        let _again = state.lock().await;
    });
    assert_eq!(got, [format!("main (lock on `locks.rs:{line}`)")]);
    let got = blocked(|| async {
        let cfg = lockstep::named("cfg", || RwLock::new(0));
        let _read = cfg.read().await;
        let _write = cfg.write().await;
    });
    assert_eq!(got, ["main (write on `cfg`)"]);
}

/// A and B each lock a `tokio::sync::Mutex`, yield holding it, unlock; due at t = 0
/// in that order. A first: B next waits and gets the lock when A unlocks (1 order),
/// or A unlocks first and B locks after (1 order): 2. B first: 2. Total 4 (the
/// program of sim-core's `a_mutex_program_has_exactly_four_orders`).
#[test]
fn a_mutex_program_has_exactly_four_orders() {
    let mut fingerprints = BTreeSet::new();
    let mut outcomes = BTreeSet::new();
    let e = explore_all(1_000, |prefix| {
        let mut sim = Sim::new(Config::replay(prefix.clone()));
        let m = sim.enter(|| Arc::new(Mutex::new(Vec::new())));
        sim.enter(|| {
            for name in ["a", "b"] {
                let m = m.clone();
                lockstep::named(name, || {
                    tokio::spawn(async move {
                        let mut held = m.lock().await;
                        held.push(name);
                        tokio::task::yield_now().await;
                    })
                });
            }
        });
        sim.run().unwrap();
        outcomes.insert(m.try_lock().unwrap().clone());
        fingerprints.insert(sim.fingerprint());
        sim.recorded_tape()
    });
    assert!(e.exhausted);
    assert_eq!((e.runs, fingerprints.len()), (4, 4));
    assert_eq!(outcomes, BTreeSet::from([vec!["a", "b"], vec!["b", "a"]]));
}

#[test]
fn a_seed_runs_twice_to_the_same_fingerprint_with_tokio_locks() {
    for seed in 0..10 {
        twice(seed, || async {
            let sem = Arc::new(Semaphore::new(2));
            let m = Arc::new(Mutex::new(0u32));
            let rw = Arc::new(RwLock::new(0u32));
            let mut tasks = Vec::new();
            for t in 0..4u32 {
                let (sem, m, rw) = (sem.clone(), m.clone(), rw.clone());
                tasks.push(tokio::spawn(async move {
                    let _p: OwnedSemaphorePermit = sem.acquire_owned().await.unwrap();
                    let mut g: OwnedMutexGuard<u32> = m.lock_owned().await;
                    *g += t;
                    tokio::task::yield_now().await;
                    drop(g);
                    *rw.write().await += 1;
                }));
            }
            for t in tasks {
                t.await.unwrap();
            }
            let total = *m.lock().await + *rw.read().await;
            total
        });
    }
}

#[test]
fn tokio_error_types_and_try_calls() {
    let (result, _) = run(Config::default(), || async {
        let sem = Semaphore::new(1);
        let p: SemaphorePermit<'_> = sem.try_acquire().unwrap();
        assert_eq!(sem.try_acquire().unwrap_err(), TryAcquireError::NoPermits);
        drop(p);
        sem.close();
        let closed: AcquireError = sem.acquire().await.unwrap_err();
        assert_eq!(closed.to_string(), "semaphore closed");
        let m = Mutex::new(1);
        let g: MutexGuard<'_, i32> = m.lock().await;
        let busy: TryLockError = m.try_lock().unwrap_err();
        assert_eq!(busy.to_string(), "operation would block");
        drop(g);
        let rw = RwLock::new(1);
        let r: RwLockReadGuard<'_, i32> = rw.read().await;
        assert!(rw.try_write().is_err());
        drop(r);
        let w: RwLockWriteGuard<'_, i32> = rw.write().await;
        assert_eq!(*w, 1);
    });
    result.unwrap();
}

/// tokio's `MappedMutexGuard::try_map`, `RwLockMappedWriteGuard::try_map` and
/// `RwLockWriteGuard::into_mapped`: a guard of a part when `f` finds one, else the
/// guard back, still locking; the lock is held until the last guard is dropped.
#[test]
fn mapped_guards_try_map_and_into_mapped_like_tokio() {
    twice(7, || async {
        let mutex = Mutex::new((1u32, vec![10u32]));
        let mapped = MutexGuard::map(mutex.lock().await, |v| &mut v.1);
        let mapped = match tokio::sync::MappedMutexGuard::try_map(mapped, |v| v.get_mut(5)) {
            Ok(_) => panic!("there is no element 5"),
            Err(back) => back,
        };
        assert!(mutex.try_lock().is_err(), "the guard came back still locking");
        let mut first = tokio::sync::MappedMutexGuard::try_map(mapped, |v| v.first_mut()).unwrap();
        *first += 1;
        assert!(mutex.try_lock().is_err());
        drop(first);
        assert_eq!(mutex.lock().await.1, [11]);

        let lock = RwLock::new((1u32, vec![20u32]));
        let whole = RwLockWriteGuard::into_mapped(lock.write().await);
        assert!(lock.try_read().is_err(), "into_mapped keeps the write lock");
        let part = tokio::sync::RwLockMappedWriteGuard::map(whole, |v| &mut v.1);
        let part = match tokio::sync::RwLockMappedWriteGuard::try_map(part, |v| v.get_mut(5)) {
            Ok(_) => panic!("there is no element 5"),
            Err(back) => back,
        };
        assert!(lock.try_read().is_err());
        let mut first = tokio::sync::RwLockMappedWriteGuard::try_map(part, |v| v.first_mut()).unwrap();
        *first += 2;
        drop(first);
        assert_eq!(lock.read().await.1, [22]);
    });
}

/// tokio's `OwnedPermit::same_channel` and `same_channel_as_sender`.
#[test]
fn owned_permits_know_their_channel() {
    twice(8, || async {
        let (tx, _rx) = tokio::sync::mpsc::channel::<u32>(4);
        let (other, _orx) = tokio::sync::mpsc::channel::<u32>(4);
        let a = tx.clone().reserve_owned().await.unwrap();
        let b = tx.clone().reserve_owned().await.unwrap();
        let c = other.clone().reserve_owned().await.unwrap();
        assert!(a.same_channel(&b) && !a.same_channel(&c));
        assert!(a.same_channel_as_sender(&tx) && !a.same_channel_as_sender(&other));
        assert!(c.same_channel_as_sender(&other));
    });
}
