//! A primitive never calls or drops a waker while it holds its own state's lock or the
//! core's borrow (docs/design.md, "Atomic polls and borrows"): a waker that reaches
//! back into the primitive that woke it, or whose drop does, finds it free.
//!
//! Every primitive of `sim_core::sync`, on each path that wakes or lets go of a waker
//! (a wake-up, a waker replaced by a later poll, a waiting future dropped): the waker
//! runs an operation on the same primitive. A waker called or dropped under the state's
//! lock deadlocks (parking_lot's locks are not reentrant); one called under the core's
//! borrow panics (the operation records, and `context::Shared::engine` panics naming
//! the bug). So each case runs twice: as plain async code (no simulation) and inside a
//! simulation, where every operation is recorded. Each runs on a thread of its own, so
//! a deadlock fails the test instead of hanging it; the bound only tells a hang from a
//! pass (a case takes microseconds).

use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use sim_core::sync::{broadcast, mpsc, oneshot, watch, Barrier, Mutex, Notify, OnceCell, RwLock, Semaphore};
use sim_core::{Config, Sim};

type Op = Box<dyn Fn() + Send + Sync>;

/// A waker that runs an operation when it is woken, or when its last clone is dropped.
struct Reach {
    on_wake: Option<Op>,
    on_drop: Option<Op>,
    /// Wake-ups seen (after the operation ran).
    woken: Arc<AtomicUsize>,
    /// Drops seen (after the operation ran).
    dropped: Arc<AtomicUsize>,
}

impl Wake for Reach {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if let Some(op) = &self.on_wake {
            op();
        }
        self.woken.fetch_add(1, Ordering::SeqCst);
    }
}

impl Drop for Reach {
    fn drop(&mut self) {
        if let Some(op) = &self.on_drop {
            op();
        }
        self.dropped.fetch_add(1, Ordering::SeqCst);
    }
}

/// A counter the test reads after the primitive has used the waker.
#[derive(Clone, Default)]
struct Count(Arc<AtomicUsize>);

impl Count {
    fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// A waker that runs `op` when woken; `woken` counts the wake-ups.
fn waking(woken: &Count, op: impl Fn() + Send + Sync + 'static) -> Waker {
    Waker::from(Arc::new(Reach {
        on_wake: Some(Box::new(op)),
        on_drop: None,
        woken: woken.0.clone(),
        dropped: Arc::default(),
    }))
}

/// A waker that runs `op` when its last clone is dropped; `dropped` counts that.
fn dropping(dropped: &Count, op: impl Fn() + Send + Sync + 'static) -> Waker {
    Waker::from(Arc::new(Reach {
        on_wake: None,
        on_drop: Some(Box::new(op)),
        woken: Arc::default(),
        dropped: dropped.0.clone(),
    }))
}

/// Polls `fut` once with `waker`.
fn poll_with<F: Future + ?Sized>(fut: Pin<&mut F>, waker: &Waker) -> Poll<F::Output> {
    fut.poll(&mut Context::from_waker(waker))
}

/// Polls `fut` with a waker that runs `op` when dropped, then again with another
/// waker, so that the primitive replaces (and drops) the first; `fut` still waits.
fn replace_waker<F: Future + ?Sized>(mut fut: Pin<&mut F>, op: impl Fn() + Send + Sync + 'static) {
    let dropped = Count::default();
    let first = dropping(&dropped, op);
    assert!(poll_with(fut.as_mut(), &first).is_pending());
    drop(first);
    assert_eq!(dropped.get(), 0, "the primitive keeps the waker while it waits");
    assert!(poll_with(fut.as_mut(), Waker::noop()).is_pending());
    assert_eq!(dropped.get(), 1, "the replaced waker is dropped by the poll that replaced it");
}

/// Polls `fut` (which waits) with a waker that runs `op` when dropped, then drops
/// `fut`: the primitive lets the waker go.
fn cancel<F: Future>(fut: F, op: impl Fn() + Send + Sync + 'static) {
    let dropped = Count::default();
    let waker = dropping(&dropped, op);
    {
        let mut fut = pin!(fut);
        assert!(poll_with(fut.as_mut(), &waker).is_pending());
        drop(waker);
        assert_eq!(dropped.get(), 0, "the primitive keeps the waker while it waits");
    }
    assert_eq!(dropped.get(), 1, "a dropped waiting future lets its waker go");
}

/// One case: a name and the code, which panics when the primitive misbehaves.
type Case = (&'static str, fn());

fn cases() -> Vec<Case> {
    vec![
        ("mpsc: the receiver's wake-up sends", || {
            let (tx, mut rx) = mpsc::channel::<u32>(2);
            let tx = Arc::new(tx);
            let woken = Count::default();
            let reach = tx.clone();
            {
                let mut recv = pin!(rx.recv());
                assert!(poll_with(recv.as_mut(), &waking(&woken, move || reach.try_send(2).unwrap())).is_pending());
                tx.try_send(1).unwrap();
            }
            assert_eq!(woken.get(), 1);
            assert_eq!((rx.try_recv(), rx.try_recv()), (Ok(1), Ok(2)));
        }),
        ("mpsc: the receiver's replaced waker sends when dropped", || {
            let (tx, mut rx) = mpsc::channel::<u32>(2);
            {
                let recv = pin!(rx.recv());
                replace_waker(recv, move || tx.try_send(7).unwrap());
            }
            assert_eq!(rx.try_recv(), Ok(7));
        }),
        ("mpsc: the receiver's waker, dropped with the receiver, uses the channel", || {
            let (tx, mut rx) = mpsc::channel::<u32>(2);
            let tx = Arc::new(tx);
            let dropped = Count::default();
            let reach = tx.clone();
            {
                let mut recv = pin!(rx.recv());
                let waker = dropping(&dropped, move || assert!(reach.try_send(1).is_err()));
                assert!(poll_with(recv.as_mut(), &waker).is_pending());
            }
            drop(rx);
            assert_eq!(dropped.get(), 1, "dropping the receiver lets its waker go");
            assert!(tx.is_closed());
        }),
        ("mpsc: a blocked sender's wake-up reads the capacity", || {
            let (tx, mut rx) = mpsc::channel::<u32>(1);
            let tx = Arc::new(tx);
            tx.try_send(0).unwrap();
            let woken = Count::default();
            let reach = tx.clone();
            let mut send = pin!(tx.send(1));
            assert!(poll_with(send.as_mut(), &waking(&woken, move || assert_eq!(reach.capacity(), 0))).is_pending());
            assert_eq!(rx.try_recv(), Ok(0));
            assert_eq!(woken.get(), 1);
            assert!(matches!(poll_with(send.as_mut(), Waker::noop()), Poll::Ready(Ok(()))));
        }),
        ("mpsc: a blocked sender's replaced waker sends when dropped", || {
            let (tx, mut rx) = mpsc::channel::<u32>(1);
            let tx = Arc::new(tx);
            tx.try_send(0).unwrap();
            let reach = tx.clone();
            {
                let send = pin!(tx.send(1));
                replace_waker(send, move || assert!(reach.try_send(9).is_err()));
            }
            assert_eq!(rx.try_recv(), Ok(0));
        }),
        ("mpsc: a dropped blocked send's waker sends when dropped", || {
            let (tx, mut rx) = mpsc::channel::<u32>(1);
            let tx = Arc::new(tx);
            tx.try_send(0).unwrap();
            let reach = tx.clone();
            cancel(tx.send(1), move || assert!(reach.try_send(9).is_err()));
            assert_eq!(rx.try_recv(), Ok(0));
        }),
        ("mpsc: `closed()`'s wake-up reads the channel", || {
            let (tx, rx) = mpsc::channel::<u32>(1);
            let tx = Arc::new(tx);
            let woken = Count::default();
            let reach = tx.clone();
            let mut closed = pin!(tx.closed());
            assert!(poll_with(closed.as_mut(), &waking(&woken, move || assert!(reach.is_closed()))).is_pending());
            drop(rx);
            assert_eq!(woken.get(), 1);
        }),
        ("mpsc: a dropped `closed()`'s waker reads the channel when dropped", || {
            let (tx, _rx) = mpsc::channel::<u32>(1);
            let tx = Arc::new(tx);
            let reach = tx.clone();
            cancel(tx.closed(), move || assert!(!reach.is_closed()));
            let reach = tx.clone();
            let closed = pin!(tx.closed());
            replace_waker(closed, move || assert!(!reach.is_closed()));
        }),
        ("oneshot: `closed()`'s wake-up and replaced waker read the channel", || {
            // Each handle behind a lock of the test's own, so that a waker can reach it:
            // the wake-up reads the sender (free while the receiver closes), the replaced
            // waker the receiver (free while the sender polls).
            let (tx, rx) = oneshot::channel::<u32>();
            let (tx, rx) = (Arc::new(std::sync::Mutex::new(tx)), Arc::new(std::sync::Mutex::new(rx)));
            let woken = Count::default();
            let reach = tx.clone();
            let waker = waking(&woken, move || assert!(reach.lock().unwrap().is_closed()));
            let dropped = Count::default();
            let reach = rx.clone();
            let replaced = dropping(&dropped, move || assert!(reach.lock().unwrap().is_empty()));
            {
                let mut tx = tx.lock().unwrap();
                assert!(tx.poll_closed(&mut Context::from_waker(&replaced)).is_pending());
                drop(replaced);
                assert!(tx.poll_closed(&mut Context::from_waker(&waker)).is_pending());
            }
            assert_eq!(dropped.get(), 1, "the replaced waker is dropped by the poll that replaced it");
            rx.lock().unwrap().close();
            assert_eq!(woken.get(), 1);
        }),
        ("oneshot: the receiver's replaced waker reads the channel when dropped", || {
            let (tx, mut rx) = oneshot::channel::<u32>();
            let tx = Arc::new(tx);
            let reach = tx.clone();
            replace_waker(Pin::new(&mut rx), move || assert!(!reach.is_closed()));
        }),
        ("watch: `changed()`'s wake-up sends", || {
            let (tx, mut rx) = watch::channel(0u32);
            let tx = Arc::new(tx);
            let woken = Count::default();
            let reach = tx.clone();
            {
                let mut changed = pin!(rx.changed());
                let waker = waking(&woken, move || reach.send_modify(|v| *v += 10));
                assert!(poll_with(changed.as_mut(), &waker).is_pending());
                tx.send(1).unwrap();
            }
            assert_eq!(woken.get(), 1);
            assert_eq!(*rx.borrow(), 11);
        }),
        ("watch: `changed()`'s replaced or dropped waker sends when dropped", || {
            let (tx, mut rx) = watch::channel(0u32);
            let tx = Arc::new(tx);
            let reach = tx.clone();
            replace_waker(pin!(rx.changed()), move || reach.send_modify(|v| *v += 1));
            rx.borrow_and_update();
            let reach = tx.clone();
            cancel(rx.changed(), move || reach.send_modify(|v| *v += 1));
            assert_eq!(*rx.borrow(), 2);
        }),
        ("watch: the sender's `closed()` wake-up, replaced and dropped wakers read the channel", || {
            let (tx, rx) = watch::channel(0u32);
            let tx = Arc::new(tx);
            let reach = tx.clone();
            replace_waker(pin!(tx.closed()), move || assert_eq!(reach.receiver_count(), 1));
            let reach = tx.clone();
            cancel(tx.closed(), move || assert_eq!(reach.receiver_count(), 1));
            let woken = Count::default();
            let reach = tx.clone();
            let mut closed = pin!(tx.closed());
            let waker = waking(&woken, move || assert_eq!(reach.receiver_count(), 0));
            assert!(poll_with(closed.as_mut(), &waker).is_pending());
            drop(rx);
            assert_eq!(woken.get(), 1);
        }),
        ("broadcast: the receiver's and `closed()`'s wake-ups use the channel", || {
            let (tx, mut rx) = broadcast::channel::<u32>(4);
            let tx = Arc::new(tx);
            let woken = Count::default();
            let reach = tx.clone();
            {
                let mut recv = pin!(rx.recv());
                assert!(poll_with(recv.as_mut(), &waking(&woken, move || assert!(matches!(reach.send(2), Ok(1)))))
                    .is_pending());
                tx.send(1).unwrap();
            }
            assert_eq!(woken.get(), 1);
            assert_eq!((rx.try_recv(), rx.try_recv()), (Ok(1), Ok(2)));
            let reach = tx.clone();
            cancel(tx.closed(), move || assert_eq!(reach.receiver_count(), 1));
            let reach = tx.clone();
            replace_waker(pin!(tx.closed()), move || assert_eq!(reach.receiver_count(), 1));
            let woken = Count::default();
            let reach = tx.clone();
            let mut closed = pin!(tx.closed());
            let waker = waking(&woken, move || assert_eq!(reach.receiver_count(), 0));
            assert!(poll_with(closed.as_mut(), &waker).is_pending());
            drop(rx);
            assert_eq!(woken.get(), 1);
        }),
        ("Notify: wake-ups notify again", || {
            let notify = Arc::new(Notify::new());
            let woken = Count::default();
            let reach = notify.clone();
            let mut notified = pin!(notify.notified());
            assert!(poll_with(notified.as_mut(), &waking(&woken, move || reach.notify_one())).is_pending());
            notify.notify_waiters();
            assert_eq!(woken.get(), 1);
            let reach = notify.clone();
            let mut second = pin!(notify.notified());
            // The permit the first waker stored completes this one at once: take it first.
            assert!(poll_with(second.as_mut(), Waker::noop()).is_ready());
            let mut third = pin!(reach.notified());
            let woken = Count::default();
            let again = notify.clone();
            assert!(poll_with(third.as_mut(), &waking(&woken, move || again.notify_waiters())).is_pending());
            notify.notify_last();
            assert_eq!(woken.get(), 1);
        }),
        ("Notify: replaced and dropped wakers notify when dropped", || {
            let notify = Arc::new(Notify::new());
            let reach = notify.clone();
            replace_waker(pin!(notify.notified()), move || reach.notify_waiters());
            let reach = notify.clone();
            cancel(notify.notified(), move || reach.notify_waiters());
        }),
        ("Semaphore: wake-ups on release and close add permits", || {
            let sem = Arc::new(Semaphore::new(0));
            let woken = Count::default();
            let reach = sem.clone();
            let mut acquire = pin!(sem.acquire());
            let waker = waking(&woken, move || assert_eq!(reach.available_permits(), 0));
            assert!(poll_with(acquire.as_mut(), &waker).is_pending());
            sem.add_permits(1);
            assert_eq!(woken.get(), 1);
            assert!(poll_with(acquire.as_mut(), Waker::noop()).is_ready());
            // tokio's close_wakes_waiters_outside_lock.
            let closing = Arc::new(Semaphore::new(0));
            let woken = Count::default();
            let reach = closing.clone();
            let mut acquire = pin!(closing.acquire());
            assert!(poll_with(acquire.as_mut(), &waking(&woken, move || reach.add_permits(1))).is_pending());
            closing.close();
            assert_eq!((woken.get(), closing.available_permits()), (1, 1));
        }),
        ("Semaphore: replaced and dropped wakers read it when dropped", || {
            let sem = Arc::new(Semaphore::new(0));
            let reach = sem.clone();
            replace_waker(pin!(sem.acquire()), move || assert_eq!(reach.available_permits(), 0));
            let reach = sem.clone();
            cancel(sem.acquire(), move || assert_eq!(reach.available_permits(), 0));
        }),
        ("Mutex and RwLock: a released lock's wake-up tries it", || {
            let mutex = Arc::new(Mutex::new(0u32));
            let guard = mutex.try_lock().unwrap();
            let woken = Count::default();
            let reach = mutex.clone();
            let mut lock = pin!(mutex.lock());
            assert!(poll_with(lock.as_mut(), &waking(&woken, move || assert!(reach.try_lock().is_err()))).is_pending());
            drop(guard);
            assert_eq!(woken.get(), 1);
            // The lock is granted to `lock`, which has not taken it yet: another one waits.
            let reach = mutex.clone();
            cancel(mutex.lock(), move || assert!(reach.try_lock().is_err()));

            let rw = Arc::new(RwLock::new(0u32));
            let read = rw.try_read().unwrap();
            let woken = Count::default();
            let reach = rw.clone();
            let mut write = pin!(rw.write());
            assert!(poll_with(write.as_mut(), &waking(&woken, move || assert!(reach.try_read().is_err()))).is_pending());
            drop(read);
            assert_eq!(woken.get(), 1);
        }),
        ("Barrier: the release wakes a waker that waits again", || {
            let barrier = Arc::new(Barrier::new(2));
            let woken = Count::default();
            let reach = barrier.clone();
            let mut first = pin!(barrier.wait());
            let waker = waking(&woken, move || {
                let mut again = pin!(reach.wait());
                assert!(poll_with(again.as_mut(), Waker::noop()).is_pending());
            });
            assert!(poll_with(first.as_mut(), &waker).is_pending());
            assert!(poll_with(pin!(barrier.wait()), Waker::noop()).is_ready());
            assert_eq!(woken.get(), 1);
        }),
        ("Barrier: replaced and dropped wakers wait again when dropped", || {
            // More parties than arrive here: no wait completes.
            let barrier = Arc::new(Barrier::new(10));
            let reach = barrier.clone();
            replace_waker(pin!(barrier.wait()), move || {
                let _ = poll_with(pin!(reach.wait()), Waker::noop());
            });
            let reach = barrier.clone();
            cancel(barrier.wait(), move || {
                let _ = poll_with(pin!(reach.wait()), Waker::noop());
            });
        }),
        ("OnceCell: an abandoned initializer wakes a waiter that sets the cell", || {
            let cell = Arc::new(OnceCell::<u32>::new());
            let mut init = Box::pin(cell.get_or_init(std::future::pending));
            assert!(poll_with(init.as_mut(), Waker::noop()).is_pending());
            let woken = Count::default();
            let reach = cell.clone();
            let mut waiting = pin!(cell.get_or_init(|| async { 1 }));
            assert!(poll_with(
                waiting.as_mut(),
                &waking(&woken, move || {
                    let _ = reach.set(5);
                })
            )
            .is_pending());
            // Drop the initializer unfinished: its guard wakes the waiters.
            drop(init);
            assert_eq!(woken.get(), 1);
        }),
        ("OnceCell: replaced and dropped wakers set the cell when dropped", || {
            let cell = Arc::new(OnceCell::<u32>::new());
            let mut init = pin!(cell.get_or_init(std::future::pending));
            assert!(poll_with(init.as_mut(), Waker::noop()).is_pending());
            let reach = cell.clone();
            replace_waker(pin!(cell.get_or_init(|| async { 1 })), move || {
                let _ = reach.set(5);
            });
            let reach = cell.clone();
            cancel(cell.get_or_init(|| async { 1 }), move || {
                let _ = reach.set(5);
            });
        }),
    ]
}

/// Runs every case on its own thread, in `mode` ("outside" or "inside" a simulation),
/// and fails naming the cases that panicked or did not finish.
fn run_all(inside: bool) {
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let cases = cases();
    for (k, (name, case)) in cases.iter().copied().enumerate() {
        let done = done_tx.clone();
        std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                let result = std::panic::catch_unwind(move || {
                    if inside {
                        let mut sim = Sim::new(Config::default());
                        if let Err(failure) = sim.block_on(async move { case() }) {
                            panic!("{failure}");
                        }
                    } else {
                        case();
                    }
                });
                let _ = done.send((k, result.err().map(|p| panic_text(&*p))));
            })
            .unwrap();
    }
    drop(done_tx);
    let mut finished = vec![false; cases.len()];
    let mut problems = Vec::new();
    // A hang guard only: the cases finish in microseconds; a deadlock never does.
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while finished.iter().any(|f| !f) {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match done_rx.recv_timeout(left) {
            Ok((k, outcome)) => {
                finished[k] = true;
                if let Some(text) = outcome {
                    problems.push(format!("{}: panicked: {text}", cases[k].0));
                }
            }
            Err(_) => break,
        }
    }
    for (k, f) in finished.iter().enumerate() {
        if !f {
            problems.push(format!("{}: deadlocked (a waker called or dropped under the primitive's lock)", cases[k].0));
        }
    }
    let mode = if inside { "inside a simulation" } else { "outside any simulation" };
    assert!(problems.is_empty(), "{mode}:\n  {}", problems.join("\n  "));
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "(not a string)".into())
}

#[test]
fn wakers_are_called_and_dropped_outside_the_primitives_lock() {
    run_all(false);
}

#[test]
fn wakers_are_called_and_dropped_outside_the_cores_borrow() {
    run_all(true);
}
