//! tokio's behaviour where tokio's own tests (`sync_mpsc`, `sync_mutex`,
//! `sync_semaphore`, `sync_broadcast`) pin it: thread-blocking calls (a panic inside
//! a simulation, a parked thread outside one), the cooperative budget spent by
//! acquires and receives, `reserve_many` edge cases, `send_timeout` without a
//! runtime, unwind safety, and a panicking `Clone` in a broadcast receive.

use std::collections::BTreeSet;
use std::future::Future;
use std::panic::{self, catch_unwind, AssertUnwindSafe};
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use futures::FutureExt;
use sim_core::sync::mpsc::error::{TryRecvError, TrySendError};
use sim_core::sync::{broadcast, mpsc, oneshot, Mutex, Notify, OnceCell, RwLock, RwLockWriteGuard, Semaphore};
use sim_core::tooling::coop::consume_budget;
use sim_core::{yield_now, Config, FailureKind, Sim};

const CANNOT_BLOCK: &str = "Cannot block the current thread from within a runtime";

/// Spends the running task's whole budget.
fn spend_budget() {
    while consume_budget().now_or_never().is_some() {}
}

/// Polls `future` once with a waker that does nothing.
fn poll_once<F: Future>(future: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(Waker::noop()))
}

// ---- thread-blocking calls inside a simulation: tokio's panic ----

/// Every `blocking_*` of the semaphore and the locks, called in a simulated task,
/// fails the run with tokio's panic (tokio's `blocking_acquire*_in_async_context`),
/// naming the primitive; before, the run ended as an escape.
#[test]
fn blocking_calls_in_a_simulated_task_panic_with_tokios_text() {
    for which in 0..7 {
        let mut sim = Sim::new(Config::default());
        sim.spawn_named("blocker", async move {
            let sem = Arc::new(sim_core::named("pool", || Semaphore::new(1)));
            let m = Arc::new(sim_core::named("m", || Mutex::new(())));
            let rw = sim_core::named("rw", || RwLock::new(()));
            match which {
                0 => drop(sem.blocking_acquire()),
                1 => drop(sem.blocking_acquire_many(1)),
                2 => drop(sem.blocking_acquire_owned()),
                3 => drop(sem.blocking_acquire_many_owned(1)),
                4 => drop(m.blocking_lock_owned()),
                5 => drop(rw.blocking_read()),
                _ => drop(rw.blocking_write()),
            }
        });
        let failure = sim.run().unwrap_err();
        let FailureKind::Panic { task, message } = &failure.kind else { panic!("{which}: {failure}") };
        assert_eq!(task, "blocker");
        assert!(message.starts_with(CANNOT_BLOCK), "{message}");
        let name = ["`pool`", "`pool`", "`pool`", "`pool`", "`m`", "`rw`", "`rw`"][which];
        assert!(message.contains(name), "{message}");
    }
}

// ---- thread-blocking calls on a thread with no simulation: it parks ----

/// A plain thread's `blocking_recv` parks until a simulation on another thread
/// sends (tokio's `blocking_recv` test): the simulation never waits, so it stays
/// deterministic. Before, the thread panicked ("no Lockstep simulation is current").
#[test]
fn blocking_recv_on_a_plain_thread_waits_for_a_simulated_send() {
    let (tx, mut rx) = mpsc::channel::<u8>(1);
    let (otx, orx) = oneshot::channel::<u8>();
    let (utx, mut urx) = mpsc::unbounded_channel::<u8>();
    let reader = std::thread::spawn(move || (rx.blocking_recv(), orx.blocking_recv(), urx.blocking_recv()));
    let mut sim = Sim::new(Config::default());
    sim.block_on(async move {
        tx.send(10).await.unwrap();
        otx.send(11).unwrap();
        utx.send(12).unwrap();
    })
    .unwrap();
    assert_eq!(reader.join().unwrap(), (Some(10), Ok(11), Some(12)));
}

/// Between plain threads the blocking calls park and wake as tokio's: a
/// `blocking_send` on a full channel waits for the receiver to take a message.
#[test]
fn blocking_send_on_a_full_channel_parks_until_a_slot_frees() {
    let (tx, mut rx) = mpsc::channel::<u32>(1);
    tx.try_send(1).unwrap();
    let writer = std::thread::spawn(move || {
        tx.blocking_send(2).unwrap();
        tx
    });
    assert_eq!(rx.blocking_recv(), Some(1));
    assert_eq!(rx.blocking_recv(), Some(2));
    let tx = writer.join().unwrap();
    drop(rx);
    assert_eq!(tx.blocking_send(3).unwrap_err().0, 3, "the receiver is gone");
    let mut buf = Vec::new();
    let (tx, mut rx) = mpsc::channel::<u32>(4);
    tx.try_send(5).unwrap();
    tx.try_send(6).unwrap();
    drop(tx);
    assert_eq!(rx.blocking_recv_many(&mut buf, 8), 2);
    assert_eq!((buf, rx.blocking_recv()), (vec![5, 6], None));
}

// ---- the cooperative budget ----

/// As tokio's (`mutex_coop_drop_after_take_permit`): with the task's budget spent,
/// a lock yields, and dropping it then hands the lock back; at the next poll, with
/// a fresh budget, it is taken.
#[test]
fn an_acquire_with_the_budget_spent_yields_and_gives_the_permit_back_when_dropped() {
    let mut sim = Sim::new(Config::default());
    sim.block_on(async {
        let m = Arc::new(sim_core::named("m", || Mutex::new(())));
        spend_budget();
        let mut lock = Box::pin(m.clone().lock_owned());
        assert!(poll_once(lock.as_mut()).is_pending(), "no budget: it yields");
        assert!(m.try_lock().is_err(), "the permit is held for the waiting lock, as tokio's");
        drop(lock);
        assert!(m.try_lock().is_ok(), "dropped: the permit is back");

        let sem = sim_core::named("pool", || Semaphore::new(1));
        spend_budget();
        let mut acquire = pin!(sem.acquire());
        assert!(poll_once(acquire.as_mut()).is_pending());
        yield_now().await;
        assert!(acquire.await.is_ok(), "a fresh budget: it completes");
    })
    .unwrap();
}

/// mpsc and oneshot receives spend the budget as tokio's: with it spent, a receive
/// of a value that is there yields, and completes after the task yielded.
#[test]
fn receives_spend_the_budget() {
    let mut sim = Sim::new(Config::default());
    sim.block_on(async {
        let (tx, mut rx) = mpsc::channel::<u32>(4);
        let (otx, mut orx) = oneshot::channel::<u32>();
        tx.send(1).await.unwrap();
        otx.send(2).unwrap();
        spend_budget();
        assert_eq!(rx.recv().now_or_never(), None);
        assert!((&mut orx).now_or_never().is_none());
        assert!(rx.try_recv().is_ok(), "try_recv spends nothing, as tokio's");
        yield_now().await;
        tx.send(3).await.unwrap();
        assert_eq!(rx.recv().await, Some(3));
        assert_eq!(orx.await, Ok(2));
    })
    .unwrap();
}

/// Determinism with budget yields: tasks that drain their budget on a channel and
/// a mutex run one seed twice to the same fingerprint.
#[test]
fn a_seed_runs_twice_to_the_same_fingerprint_with_budget_yields() {
    fn world(seed: u64) -> sim_core::Fingerprint {
        let mut sim = Sim::new(Config::random(seed));
        let m = Arc::new(sim_core::named("m", || Mutex::new(0u32)));
        let (tx, mut rx) = mpsc::unbounded_channel::<u32>();
        for t in 0..3u32 {
            let (m, tx) = (m.clone(), tx.clone());
            sim.spawn(async move {
                for i in 0..200 {
                    *m.lock().await += 1;
                    tx.send(t * 1000 + i).unwrap();
                }
            });
        }
        drop(tx);
        sim.spawn(async move { while rx.recv().await.is_some() {} });
        sim.run().unwrap();
        sim.fingerprint()
    }
    let prints: BTreeSet<_> = (0..10).map(world).collect();
    assert!(prints.len() > 1, "seeds reorder the tasks");
    for seed in 0..10 {
        assert_eq!(world(seed), world(seed), "seed {seed}");
    }
}

// ---- mpsc edge cases ----

/// `reserve_many(0)` succeeds on an open channel, full or not, and fails once it is
/// closed; `try_reserve_many` beyond the capacity (up to `usize::MAX`) is `Full`
/// rather than an overflow (tokio's `reserve_many_zero`, `try_reserve_many_edge_cases`).
#[test]
fn reserve_many_of_zero_and_of_too_many_are_as_tokios() {
    futures::executor::block_on(async {
        let (tx, rx) = mpsc::channel::<()>(1);
        assert_eq!(tx.reserve_many(0).await.unwrap().len(), 0);
        tx.send(()).await.unwrap();
        assert_eq!(tx.reserve_many(0).await.unwrap().len(), 0, "full");
        assert_eq!(tx.try_reserve_many(0).unwrap().len(), 0);
        assert!(matches!(tx.try_reserve_many(Semaphore::MAX_PERMITS + 1), Err(TrySendError::Full(()))));
        assert!(matches!(tx.try_reserve_many(usize::MAX), Err(TrySendError::Full(()))));
        drop(rx);
        assert!(tx.reserve_many(0).await.is_err(), "closed");
        assert!(matches!(tx.try_reserve_many(0), Err(TrySendError::Closed(()))));
    });
}

/// `send_timeout` outside any simulation panics with tokio's text even when the
/// send would not wait: tokio makes its timer first (`recv_timeout_panic`).
#[test]
fn send_timeout_outside_a_simulation_panics_as_tokio_does() {
    let (tx, _rx) = mpsc::channel::<u32>(5);
    let payload = catch_unwind(AssertUnwindSafe(|| {
        let _ = tx.send_timeout(10, Duration::from_secs(1)).now_or_never();
    }))
    .unwrap_err();
    let message = payload.downcast_ref::<String>().map(String::as_str).or(payload.downcast_ref::<&str>().copied());
    assert_eq!(message, Some("there is no reactor running, must be called from the context of a Tokio 1.x runtime"));
}

// ---- unwind safety ----

#[allow(dead_code)]
fn assert_unwind_safe<T: panic::UnwindSafe + panic::RefUnwindSafe>() {}

/// Compiles only while the channel types are `UnwindSafe` and `RefUnwindSafe`
/// whatever `T` is, as tokio's (`sync_mpsc.rs` asserts it).
#[allow(dead_code)]
fn mpsc_types_are_unwind_safe<'a, T: 'a>() {
    assert_unwind_safe::<mpsc::Sender<T>>();
    assert_unwind_safe::<mpsc::Receiver<T>>();
    assert_unwind_safe::<mpsc::UnboundedSender<T>>();
    assert_unwind_safe::<mpsc::UnboundedReceiver<T>>();
    assert_unwind_safe::<mpsc::WeakSender<T>>();
    assert_unwind_safe::<mpsc::WeakUnboundedSender<T>>();
    assert_unwind_safe::<mpsc::Permit<'a, T>>();
    assert_unwind_safe::<mpsc::PermitIterator<'a, T>>();
    assert_unwind_safe::<mpsc::OwnedPermit<T>>();
}

struct PanickingWaker;

impl Wake for PanickingWaker {
    fn wake(self: Arc<Self>) {
        panic!("waker panicked");
    }
}

/// A permit's send whose receiver's waker panics: the panic reaches the caller
/// (caught here, which needs the permit to be `UnwindSafe`), and the channel is
/// consistent after it (tokio's `permit_send_panicking_rx_waker`).
#[test]
fn a_permit_send_that_wakes_a_panicking_waker_leaves_the_channel_consistent() {
    let (tx, mut rx) = mpsc::channel(1);
    let waker = Waker::from(Arc::new(PanickingWaker));
    assert!(rx.poll_recv(&mut Context::from_waker(&waker)).is_pending());
    let permit = tx.try_reserve().unwrap();
    assert!(catch_unwind(|| permit.send(7)).is_err());
    assert_eq!((tx.capacity(), rx.len()), (0, 1));
    assert_eq!(rx.try_recv(), Ok(7));
    assert_eq!(tx.capacity(), 1);
    rx.close();
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

// ---- broadcast ----

/// A `Clone` that panics during a receive: the receiver has moved past that value
/// (the next receive gets the one after), as tokio's `panic_in_clone`. Before, the
/// receive cloned the same value again and panicked again.
#[test]
fn a_panicking_clone_skips_the_value_for_that_receiver() {
    #[derive(Debug, PartialEq)]
    struct Val(u32);
    impl Clone for Val {
        fn clone(&self) -> Val {
            assert_ne!(self.0, 0, "clone of 0");
            Val(self.0)
        }
    }
    let (tx, mut rx) = broadcast::channel(16);
    let mut other = tx.subscribe();
    tx.send(Val(0)).unwrap();
    tx.send(Val(1)).unwrap();
    assert!(catch_unwind(AssertUnwindSafe(|| rx.try_recv())).is_err());
    assert_eq!(rx.try_recv(), Ok(Val(1)));
    assert!(catch_unwind(AssertUnwindSafe(|| other.try_recv())).is_err());
    drop(other);
    drop(rx);
    assert_eq!(tx.len(), 0, "every value seen or given up by every receiver is gone");
}

// ---- const constructors ----

/// Primitives made by tokio's `const fn` constructors live in `static`s: each is
/// registered in the first simulation that uses it, under its creation site's
/// name, and a task waiting on it is named in a deadlock report.
#[test]
fn const_primitives_in_statics_register_at_first_use_and_are_named_in_deadlock_reports() {
    static SEM: Semaphore = Semaphore::const_new(1);
    static M: Mutex<u32> = Mutex::const_new(5);
    static RW: RwLock<u32> = RwLock::const_with_max_readers(1, 2);
    static N: Notify = Notify::const_new();
    static C: OnceCell<u32> = OnceCell::const_new_with(7);
    let line = line!() - 5;
    let mut sim = Sim::new(Config::default());
    sim.spawn_named("holder", async {
        let _p = SEM.acquire().await.unwrap();
        let g = M.lock().await;
        let _r1 = RW.read().await;
        let _r2 = RW.read().await;
        assert_eq!((*g, C.get()), (5, Some(&7)));
        N.notified().await;
    });
    sim.spawn_named("sem", async { drop(SEM.acquire().await) });
    sim.spawn_named("mutex", async { drop(M.lock().await) });
    sim.spawn_named("rwlock", async { drop(RW.write().await) });
    let failure = sim.run().unwrap_err();
    let FailureKind::Deadlock { blocked } = &failure.kind else { panic!("{failure}") };
    let blocked: Vec<String> = blocked.iter().map(ToString::to_string).collect();
    let at = |n: u32| format!("tokio_parity.rs:{}", line + n);
    assert_eq!(
        blocked,
        [
            format!("holder (notified on `{}`)", at(3)),
            format!("sem (acquire 1 on `{}`)", at(0)),
            format!("mutex (lock on `{}`)", at(1)),
            format!("rwlock (write on `{}`)", at(2)),
        ]
    );
}

/// A `const fn` lock that no simulation used: its value is reached by `get_mut`
/// and `into_inner`; the reader limit of `const_with_max_readers` holds, and 0
/// readers panics with tokio's text (`zero_max_readers_const`).
#[test]
fn const_locks_hold_their_value_and_limits() {
    let mut m = Mutex::const_new(vec![1]);
    m.get_mut().push(2);
    assert_eq!(m.into_inner(), [1, 2]);
    let mut rw = RwLock::const_new(3);
    *rw.get_mut() += 1;
    assert_eq!(rw.into_inner(), 4);
    let rw = RwLock::const_with_max_readers(0u8, 2);
    let (a, b) = (rw.try_read().unwrap(), rw.try_read().unwrap());
    assert!(rw.try_read().is_err(), "two readers at most");
    drop((a, b));
    let zero = catch_unwind(|| RwLock::const_with_max_readers(1, 0)).unwrap_err();
    assert_eq!(zero.downcast_ref::<&str>(), Some(&"a RwLock may not be created with 0 readers"));
    let mut cell = OnceCell::const_new_with(9);
    assert_eq!(cell.take(), Some(9));
    assert_eq!(OnceCell::const_new_with(1).into_inner(), Some(1));
    let sem = Semaphore::const_new(2);
    assert_eq!(sem.try_acquire_many(2).map(|p| p.num_permits()), Ok(2));
}

/// `try_downgrade_map`: with `None` the write guard comes back still writing; with
/// a part, a read lock of it that other readers share and writers wait for.
#[test]
fn try_downgrade_map_keeps_the_write_lock_or_downgrades_to_a_part() {
    let mut sim = Sim::new(Config::default());
    sim.block_on(async {
        let rw = sim_core::named("rw", || RwLock::new((1u8, None::<u8>)));
        let w = rw.write().await;
        let w = RwLockWriteGuard::try_downgrade_map(w, |v| v.1.as_ref()).unwrap_err();
        assert!(rw.try_read().is_err(), "still write-locked");
        assert_eq!(*w, (1, None));
        let first = RwLockWriteGuard::try_downgrade_map(w, |v| Some(&v.0)).unwrap();
        assert_eq!(*first, 1);
        assert!(rw.try_read().is_ok() && rw.try_write().is_err());
    })
    .unwrap();
}
