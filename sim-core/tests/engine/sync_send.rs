//! The sync primitives are `Send`/`Sync` exactly where tokio's are, work as plain
//! async code outside any simulation, are recorded from their first use when
//! created outside one, and stop a second simulation that uses them with an escape.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use sim_core::sync::{mpsc, oneshot, watch, Mutex, Notify, RwLock, Semaphore};
use sim_core::tooling::trace::RecordKind;
use sim_core::{spawn, Config, Sim, TraceMode};

// ---- auto traits, as tokio's (tokio's tests assert the same) ----

#[allow(dead_code)]
fn is_send<T: Send>() {}
#[allow(dead_code)]
fn is_sync<T: Sync>() {}
#[allow(dead_code)]
fn is_unpin<T: Unpin>() {}

/// Not `Send`, not `Sync`: the element type tokio's bounds are about.
#[allow(dead_code)]
type NotSend = std::rc::Rc<u8>;

/// Compiles only while every assertion holds; the negative ones are below.
#[allow(dead_code)]
fn auto_traits_are_tokios() {
    is_send::<mpsc::Sender<u8>>();
    is_sync::<mpsc::Sender<u8>>();
    is_send::<mpsc::Receiver<u8>>();
    is_sync::<mpsc::Receiver<u8>>();
    is_send::<mpsc::UnboundedSender<u8>>();
    is_sync::<mpsc::UnboundedSender<u8>>();
    is_send::<mpsc::UnboundedReceiver<u8>>();
    is_sync::<mpsc::UnboundedReceiver<u8>>();
    is_send::<mpsc::WeakSender<u8>>();
    is_sync::<mpsc::WeakSender<u8>>();
    is_send::<mpsc::WeakUnboundedSender<u8>>();
    is_sync::<mpsc::WeakUnboundedSender<u8>>();
    is_send::<mpsc::Permit<'static, u8>>();
    is_sync::<mpsc::Permit<'static, u8>>();
    is_send::<mpsc::OwnedPermit<u8>>();
    is_send::<mpsc::PermitIterator<'static, u8>>();
    is_sync::<mpsc::PermitIterator<'static, u8>>();
    is_sync::<mpsc::OwnedPermit<u8>>();
    is_send::<mpsc::SendFuture<'static, u8>>();
    is_send::<mpsc::Recv<'static, u8>>();
    is_send::<oneshot::Sender<u8>>();
    is_sync::<oneshot::Sender<u8>>();
    is_send::<oneshot::Receiver<u8>>();
    is_sync::<oneshot::Receiver<u8>>();
    is_unpin::<oneshot::Receiver<u8>>();
    is_send::<watch::Sender<u8>>();
    is_sync::<watch::Sender<u8>>();
    is_send::<watch::Receiver<u8>>();
    is_sync::<watch::Receiver<u8>>();
    is_sync::<watch::Ref<'static, u8>>();
    is_send::<Notify>();
    is_sync::<Notify>();
    is_send::<sim_core::sync::Barrier>();
    is_sync::<sim_core::sync::Barrier>();
    is_send::<sim_core::sync::BarrierWait<'static>>();
    is_send::<sim_core::sync::OnceCell<u8>>();
    is_sync::<sim_core::sync::OnceCell<u8>>();
    is_send::<sim_core::sync::broadcast::Sender<u8>>();
    is_sync::<sim_core::sync::broadcast::Sender<u8>>();
    is_send::<sim_core::sync::broadcast::Receiver<u8>>();
    is_sync::<sim_core::sync::broadcast::Receiver<u8>>();
    is_send::<sim_core::sync::broadcast::WeakSender<u8>>();
    is_send::<sim_core::task::JoinSet<u8>>();
    is_sync::<sim_core::task::JoinSet<u8>>();
    is_send::<Arc<Notify>>();
    is_send::<sim_core::sync::Notified<'static>>();
    is_sync::<sim_core::sync::Notified<'static>>();
    is_send::<sim_core::JoinHandle<u8>>();
    is_sync::<sim_core::JoinHandle<u8>>();
    is_send::<sim_core::task::AbortHandle>();
    is_sync::<sim_core::task::AbortHandle>();
    is_send::<sim_core::JoinError>();
    is_sync::<sim_core::JoinError>();
    use sim_core::sync as s;
    is_send::<s::Semaphore>();
    is_sync::<s::Semaphore>();
    is_send::<s::SemaphorePermit<'static>>();
    is_sync::<s::SemaphorePermit<'static>>();
    is_send::<s::OwnedSemaphorePermit>();
    is_sync::<s::OwnedSemaphorePermit>();
    is_send::<s::Mutex<u8>>();
    is_sync::<s::Mutex<u8>>();
    is_send::<s::MutexGuard<'static, u8>>();
    is_sync::<s::MutexGuard<'static, u8>>();
    is_send::<s::MappedMutexGuard<'static, u8>>();
    is_send::<s::OwnedMutexGuard<u8>>();
    is_sync::<s::OwnedMutexGuard<u8>>();
    is_send::<s::RwLock<u8>>();
    is_sync::<s::RwLock<u8>>();
    is_send::<s::RwLockReadGuard<'static, u8>>();
    is_sync::<s::RwLockReadGuard<'static, u8>>();
    is_send::<s::RwLockWriteGuard<'static, u8>>();
    is_sync::<s::RwLockWriteGuard<'static, u8>>();
    is_send::<s::RwLockMappedWriteGuard<'static, u8>>();
    is_send::<s::OwnedRwLockReadGuard<u8>>();
    is_send::<s::OwnedRwLockWriteGuard<u8>>();
    is_send::<s::TryLockError>();
    is_send::<s::AcquireError>();
    is_send::<s::TryAcquireError>();
    // Futures of methods, as tokio users box them (`BoxStream`, `.boxed()`).
    fn future_is_send<F: Future + Send>(_: &F) {}
    let (tx, mut rx) = mpsc::channel::<u8>(1);
    future_is_send(&tx.send(1));
    future_is_send(&tx.reserve());
    future_is_send(&tx.closed());
    future_is_send(&rx.recv());
    let (wtx, mut wrx) = watch::channel(0u8);
    future_is_send(&wrx.changed());
    future_is_send(&wtx.closed());
    let notify = Notify::new();
    future_is_send(&notify.notified());
    let sem = Semaphore::new(1);
    future_is_send(&sem.acquire());
    future_is_send(&sem.acquire_many(2));
    let m = Mutex::new(0u8);
    future_is_send(&m.lock());
    future_is_send(&async {
        let mut g = m.lock().await;
        sim_core::yield_now().await; // a guard held across an await, as tokio allows
        *g += 1;
    });
    let rw = RwLock::new(0u8);
    future_is_send(&rw.read());
    future_is_send(&rw.write());
}

/// The negative half, checked with the "autoref specialisation" trick: a type
/// that is `Send` takes the inherent method, any other type the trait's.
macro_rules! is_send {
    ($t:ty) => {{
        struct Probe<T: ?Sized>(std::marker::PhantomData<T>);
        #[allow(dead_code)]
        trait No {
            fn send(&self) -> bool {
                false
            }
        }
        impl<T: ?Sized> No for Probe<T> {}
        impl<T: ?Sized + Send> Probe<T> {
            #[allow(dead_code)]
            fn send(&self) -> bool {
                true
            }
        }
        Probe::<$t>(std::marker::PhantomData).send()
    }};
}

macro_rules! is_sync {
    ($t:ty) => {{
        struct Probe<T: ?Sized>(std::marker::PhantomData<T>);
        #[allow(dead_code)]
        trait No {
            fn sync(&self) -> bool {
                false
            }
        }
        impl<T: ?Sized> No for Probe<T> {}
        impl<T: ?Sized + Sync> Probe<T> {
            #[allow(dead_code)]
            fn sync(&self) -> bool {
                true
            }
        }
        Probe::<$t>(std::marker::PhantomData).sync()
    }};
}

#[test]
fn auto_traits_follow_the_element_type_as_tokios_do() {
    // The probes themselves.
    assert!(is_send!(u8) && !is_send!(NotSend) && !is_sync!(std::cell::Cell<u8>));
    // tokio: mpsc and oneshot handles are Send + Sync when T: Send.
    assert!(!is_send!(mpsc::Sender<NotSend>));
    assert!(!is_sync!(mpsc::Sender<NotSend>));
    assert!(!is_send!(mpsc::Receiver<NotSend>));
    assert!(!is_send!(mpsc::UnboundedSender<NotSend>));
    assert!(!is_send!(oneshot::Sender<NotSend>));
    assert!(!is_send!(oneshot::Receiver<NotSend>));
    // tokio: watch handles need T: Send + Sync (the value is shared by reference).
    assert!(is_send!(watch::Sender<u8>));
    assert!(!is_send!(watch::Sender<std::cell::Cell<u8>>));
    assert!(!is_sync!(watch::Receiver<std::cell::Cell<u8>>));
    // tokio: a watch::Ref holds a read lock's guard: not Send.
    assert!(!is_send!(watch::Ref<'static, u8>));
    // tokio: JoinHandle<T> is Send when T: Send.
    assert!(!is_send!(sim_core::JoinHandle<NotSend>));
    // tokio: Mutex<T> is Send + Sync when T: Send; its guard is Sync when T: Sync.
    assert!(!is_send!(Mutex<NotSend>));
    assert!(is_sync!(Mutex<std::cell::Cell<u8>>));
    assert!(!is_sync!(sim_core::sync::MutexGuard<'static, std::cell::Cell<u8>>));
    // tokio: RwLock<T> is Sync only when T: Send + Sync.
    assert!(!is_sync!(RwLock<std::cell::Cell<u8>>));
    assert!(is_send!(sim_core::JoinHandle<u8>));
}

// ---- outside any simulation: plain async code ----

struct CountWake(std::sync::atomic::AtomicUsize);

impl Wake for CountWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

fn counting_waker() -> (Arc<CountWake>, Waker) {
    let count = Arc::new(CountWake(std::sync::atomic::AtomicUsize::new(0)));
    (count.clone(), Waker::from(count))
}

fn wakes(count: &CountWake) -> usize {
    count.0.load(std::sync::atomic::Ordering::SeqCst)
}

/// As tokio's own tests do with `tokio_test::task::spawn`: poll by hand, with no
/// simulation (and no runtime) on the thread.
#[test]
fn primitives_work_as_plain_async_code_outside_a_simulation() {
    let (count, waker) = counting_waker();
    let mut cx = Context::from_waker(&waker);

    let (tx, mut rx) = mpsc::channel::<u32>(1);
    {
        let mut recv = pin!(rx.recv());
        assert!(recv.as_mut().poll(&mut cx).is_pending());
        tx.try_send(7).unwrap();
        assert_eq!(wakes(&count), 1, "the send woke the receiver");
        assert_eq!(recv.poll(&mut cx), Poll::Ready(Some(7)));
    }
    tx.try_send(8).unwrap();
    {
        let mut send = pin!(tx.send(9));
        assert!(send.as_mut().poll(&mut cx).is_pending(), "full");
        assert_eq!(rx.try_recv(), Ok(8));
        assert_eq!(wakes(&count), 2, "the freed slot woke the sender");
        assert!(send.poll(&mut cx).is_ready());
    }
    assert_eq!(rx.try_recv(), Ok(9));

    let (otx, mut orx) = oneshot::channel::<&str>();
    assert!(Pin::new(&mut orx).poll(&mut cx).is_pending());
    otx.send("done").unwrap();
    assert_eq!(wakes(&count), 3);
    assert_eq!(Pin::new(&mut orx).poll(&mut cx), Poll::Ready(Ok("done")));

    let notify = Notify::new();
    {
        let mut notified = pin!(notify.notified());
        assert!(notified.as_mut().poll(&mut cx).is_pending());
        notify.notify_one();
        assert_eq!(wakes(&count), 4);
        assert!(notified.poll(&mut cx).is_ready());
    }

    let (wtx, mut wrx) = watch::channel(1);
    {
        let mut changed = pin!(wrx.changed());
        assert!(changed.as_mut().poll(&mut cx).is_pending());
        wtx.send(2).unwrap();
        assert_eq!(wakes(&count), 5);
        assert!(changed.poll(&mut cx).is_ready());
    }
    assert_eq!(*wrx.borrow_and_update(), 2);
}

use std::pin::Pin;

/// Senders on other OS threads, a receiver here: the channel is a real
/// multi-thread channel when no simulation is involved.
#[test]
fn primitives_cross_threads_outside_a_simulation() {
    let (tx, mut rx) = mpsc::unbounded_channel::<u32>();
    let notify = Arc::new(Notify::new());
    let threads: Vec<_> = (0..4)
        .map(|i| {
            let tx = tx.clone();
            let notify = notify.clone();
            std::thread::spawn(move || {
                tx.send(i).unwrap();
                notify.notify_one();
            })
        })
        .collect();
    drop(tx);
    for t in threads {
        t.join().unwrap();
    }
    let mut got: Vec<u32> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
    got.sort_unstable();
    assert_eq!(got, [0, 1, 2, 3]);
    let (_count, waker) = counting_waker();
    let mut notified = pin!(notify.notified());
    assert!(notified.as_mut().poll(&mut Context::from_waker(&waker)).is_ready(), "a stored permit");
}

// ---- created outside, used inside; used in two simulations ----

/// A channel made before any simulation exists is registered in the first one that
/// uses it, under its name, and recorded from that use on.
#[test]
fn a_primitive_created_outside_is_recorded_from_its_first_use_inside() {
    let (tx, mut rx) = sim_core::named("early", || mpsc::channel::<u32>(4));
    tx.try_send(1).unwrap(); // outside: not recorded anywhere
    let mut sim = Sim::new(Config::default().trace(TraceMode::Full));
    sim.spawn_named("producer", async move {
        tx.send(2).await.unwrap();
    });
    sim.spawn_named("consumer", async move {
        assert_eq!(rx.recv().await, Some(1));
        assert_eq!(rx.recv().await, Some(2));
        assert_eq!(rx.recv().await, None);
    });
    sim.run().unwrap();
    let sends: Vec<String> = sim
        .trace()
        .lines
        .iter()
        .filter(|l| matches!(l.kind, RecordKind::Send | RecordKind::Recv))
        .map(|l| format!("{} {}", l.kind.label(), l.channel.as_deref().unwrap_or("?")))
        .collect();
    assert_eq!(sends, ["send early", "recv early", "recv early"], "the outside send is not in the trace");
}

/// A JoinHandle moved to and awaited in another task is fine; polled while its
/// simulation exists but is not current, it says so. Once its simulation is gone it
/// works as tokio's does after its runtime is dropped: the output of a task that
/// finished, `Aborted` for one that did not, `is_finished` true.
#[test]
fn a_join_handle_outside_its_simulation_works_as_tokios_or_says_why_not() {
    let mut sim = Sim::new(Config::default());
    let handle = sim.spawn(async { 5 });
    let pending = sim.spawn(std::future::pending::<()>());
    sim.run_until(sim_core::time::Instant::ZERO).unwrap();
    let mut other = Sim::new(Config::default());
    let message = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let pending = sim.enter(|| pending.abort_handle());
        other.block_on(async move { pending.is_finished() })
    }));
    assert_eq!(message.ok().map(Result::ok), Some(Some(false)));
    drop(sim);
    let message = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut third = Sim::new(Config::default());
        let (handle, pending) = (handle, pending);
        let finished = (handle.is_finished(), pending.is_finished());
        third.block_on(async move { (finished, handle.await, pending.await) }).unwrap()
    }));
    assert_eq!(message.unwrap(), ((true, true), Ok(5), Err(sim_core::JoinError::Aborted)));
    let first = Sim::new(Config::default());
    let stuck = first.spawn(std::future::pending::<()>());
    let mut second = Sim::new(Config::default());
    let failure = second.block_on(stuck).unwrap_err();
    assert!(failure.to_string().contains("while its simulation is not current"), "{failure}");
    drop(first);
}

/// Wakers are called after the state's lock is released: a waker that reaches back
/// into the channel (here: sends on it) does not deadlock.
#[test]
fn a_waker_that_uses_the_channel_finds_it_unlocked() {
    struct Reentrant(mpsc::UnboundedSender<u32>);
    impl Wake for Reentrant {
        fn wake(self: Arc<Self>) {
            self.wake_by_ref();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            let _ = self.0.send(99);
        }
    }
    let (tx, mut rx) = mpsc::unbounded_channel::<u32>();
    let waker = Waker::from(Arc::new(Reentrant(tx.clone())));
    let mut cx = Context::from_waker(&waker);
    {
        let mut recv = pin!(rx.recv());
        assert!(recv.as_mut().poll(&mut cx).is_pending());
        tx.send(1).unwrap(); // wakes the receiver, whose waker sends again
    }
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Ok(99));

    let notify = Arc::new(Notify::new());
    struct Renotify(Arc<Notify>);
    impl Wake for Renotify {
        fn wake(self: Arc<Self>) {
            self.0.notify_waiters();
        }
    }
    let waker = Waker::from(Arc::new(Renotify(notify.clone())));
    let mut notified = pin!(notify.notified());
    assert!(notified.as_mut().poll(&mut Context::from_waker(&waker)).is_pending());
    notify.notify_one();
    assert!(notified.poll(&mut Context::from_waker(&waker)).is_ready());
}

/// Determinism: one seed twice, the same fingerprint, for a program using every
/// primitive across tasks.
#[test]
fn a_seed_runs_twice_to_the_same_fingerprint_with_send_primitives() {
    fn world(seed: u64) -> sim_core::Fingerprint {
        let mut sim = Sim::new(Config::random(seed));
        let (tx, mut rx) = mpsc::channel::<u32>(1);
        let (wtx, wrx) = watch::channel(0u32);
        let notify = Arc::new(Notify::new());
        let (otx, orx) = oneshot::channel::<u32>();
        let n = notify.clone();
        sim.spawn(async move {
            for i in 0..3 {
                tx.send(i).await.unwrap();
                wtx.send(i).unwrap();
            }
            n.notify_one();
            otx.send(7).unwrap();
        });
        sim.spawn(async move {
            while let Some(v) = rx.recv().await {
                let _ = wrx.has_changed();
                sim_core::touch(if v % 2 == 0 { "even" } else { "odd" });
            }
        });
        sim.spawn(async move {
            notify.notified().await;
            assert_eq!(orx.await, Ok(7));
            let h = spawn(async { 1 });
            assert_eq!(h.await, Ok(1));
        });
        sim.run().unwrap();
        sim.fingerprint()
    }
    for seed in 0..20 {
        assert_eq!(world(seed), world(seed), "seed {seed}");
    }
}

// ---- tokio's semantics outside a simulation, from tokio's own tests ----

fn poll_by_hand<F: Future>(fut: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    let waker = Waker::noop();
    fut.poll(&mut Context::from_waker(waker))
}

/// After `try_recv` returned the value (or `Closed`) the receiver is terminated, and
/// polling it then panics "called after complete", as tokio's does
/// (`receiver_is_terminated_try_recv`, `close_try_recv_poll`).
#[test]
fn a_oneshot_receiver_is_terminated_by_try_recv() {
    let (tx, mut rx) = oneshot::channel::<i32>();
    assert!(!rx.is_terminated());
    tx.send(17).unwrap();
    assert!(!rx.is_terminated());
    assert_eq!(rx.try_recv(), Ok(17));
    assert!(rx.is_terminated());

    let (_tx, mut rx) = oneshot::channel::<i32>();
    rx.close();
    assert!(rx.try_recv().is_err());
    assert!(rx.is_terminated());
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| poll_by_hand(std::pin::Pin::new(&mut rx))));
    let payload = panic.expect_err("a poll after completion panics");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"called after complete"));

    // `Empty` does not terminate it.
    let (tx, mut rx) = oneshot::channel::<i32>();
    assert!(rx.try_recv().is_err());
    assert!(!rx.is_terminated());
    drop(tx);
}

/// A `Notified` picked by `notify_last` and dropped before it completed hands the
/// notification to the newest remaining waiter; one picked by `notify_one`, to the
/// oldest (tokio's `notified_multi_notify_last_drop` and its mirror).
#[test]
fn a_dropped_pick_goes_on_the_way_it_was_picked() {
    for (last, expect_ready) in [(true, [false, true]), (false, [true, false])] {
        let notify = Notify::new();
        let mut n1 = Box::pin(notify.notified());
        let mut n2 = Box::pin(notify.notified());
        let mut n3 = Box::pin(notify.notified());
        let mut n0 = Box::pin(notify.notified());
        // Waiting order: n0, n1, n2, n3 (n0 oldest).
        for n in [&mut n0, &mut n1, &mut n2, &mut n3] {
            assert!(poll_by_hand(n.as_mut()).is_pending());
        }
        if last {
            notify.notify_last(); // picks n3
            drop(n3);
            // The newest remaining is n2; n1 stays pending (n0 is not looked at).
            assert_eq!([poll_by_hand(n1.as_mut()).is_ready(), poll_by_hand(n2.as_mut()).is_ready()], expect_ready);
        } else {
            notify.notify_one(); // picks n0
            drop(n0);
            // The oldest remaining is n1; n2 stays pending.
            assert_eq!([poll_by_hand(n1.as_mut()).is_ready(), poll_by_hand(n2.as_mut()).is_ready()], expect_ready);
            drop(n3);
        }
    }
}

/// A permit reserved before the receiver closed still delivers its value, and
/// `recv` stays pending while one is out; sending it or dropping it wakes the
/// receiver (tokio's `recv_close_gets_none_reserved`, `ready_close_cancel_bounded`,
/// `*_last_permit_wakes_closed_receiver`, `try_recv_after_receiver_close_with_permit`).
#[test]
fn an_outstanding_permit_keeps_a_closed_receiver_waiting() {
    // Sent: the value arrives, then `None`.
    let (tx, mut rx) = mpsc::channel::<i32>(1);
    let permit = tx.try_reserve().unwrap();
    rx.close();
    let (count, waker) = counting_waker();
    let mut cx = Context::from_waker(&waker);
    assert!(rx.poll_recv(&mut cx).is_pending());
    permit.send(123);
    assert_eq!(wakes(&count), 1);
    assert_eq!(rx.poll_recv(&mut cx), Poll::Ready(Some(123)));
    assert_eq!(rx.poll_recv(&mut cx), Poll::Ready(None));

    // Dropped unused: the receiver is woken and sees the end.
    let (tx, mut rx) = mpsc::channel::<i32>(5);
    let permit = tx.try_reserve().unwrap();
    assert_eq!(rx.try_recv(), Err(mpsc::error::TryRecvError::Empty));
    rx.close();
    assert_eq!(rx.try_recv(), Err(mpsc::error::TryRecvError::Empty));
    let (count, waker) = counting_waker();
    assert!(rx.poll_recv(&mut Context::from_waker(&waker)).is_pending());
    drop(permit);
    assert_eq!(wakes(&count), 1);
    assert_eq!(rx.try_recv(), Err(mpsc::error::TryRecvError::Disconnected));

    // After the receiver is dropped, a permit's value is dropped.
    let (tx, rx) = mpsc::channel::<Arc<()>>(1);
    let permit = tx.try_reserve().unwrap();
    drop(rx);
    let value = Arc::new(());
    permit.send(value.clone());
    assert_eq!(Arc::strong_count(&value), 1);
}

/// A slot granted to a queued reservation before the receiver closed keeps the
/// receiver waiting until that reservation fails on its next poll or is dropped
/// (tokio's `failed_reserve_wakes_closed_receiver`,
/// `cancelled_reserve_wakes_closed_receiver`).
#[test]
fn a_granted_reservation_keeps_a_closed_receiver_waiting_until_it_fails_or_goes() {
    for cancel in [false, true] {
        let (tx, mut rx) = mpsc::channel::<()>(1);
        let permit = tx.try_reserve().unwrap();
        let mut reserve = Box::pin(tx.reserve());
        let (reserve_count, reserve_waker) = counting_waker();
        assert!(reserve.as_mut().poll(&mut Context::from_waker(&reserve_waker)).is_pending());
        drop(permit);
        assert_eq!(wakes(&reserve_count), 1, "the slot is granted to the queued reservation");
        rx.close();
        let (count, waker) = counting_waker();
        let mut cx = Context::from_waker(&waker);
        assert!(rx.poll_recv(&mut cx).is_pending());
        if cancel {
            drop(reserve);
        } else {
            assert!(matches!(reserve.as_mut().poll(&mut Context::from_waker(&reserve_waker)), Poll::Ready(Err(_))));
        }
        assert_eq!(wakes(&count), 1, "cancel: {cancel}");
        assert_eq!(rx.poll_recv(&mut cx), Poll::Ready(None));
    }
}

/// A waker whose drop sends on a broadcast channel (tokio's `send_in_waker_drop`).
struct SendOnDrop(sim_core::sync::broadcast::Sender<u8>);

impl Wake for SendOnDrop {
    fn wake(self: Arc<Self>) {}
}

impl Drop for SendOnDrop {
    fn drop(&mut self) {
        let _ = self.0.send(9);
    }
}

/// A broadcast receiver drops a replaced waker, and its own waker when it is dropped,
/// after releasing the channel's lock: a waker whose drop sends on the same channel
/// does not deadlock. Run on a thread so a regression (a self-deadlock on the lock)
/// fails the test instead of hanging it; the bound only tells a hang from a pass.
#[test]
fn a_broadcast_waker_whose_drop_sends_on_the_channel_does_not_deadlock() {
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let (tx, mut rx) = sim_core::sync::broadcast::channel::<u8>(4);
        {
            let mut recv = pin!(rx.recv());
            let first = Waker::from(Arc::new(SendOnDrop(tx.clone())));
            assert!(recv.as_mut().poll(&mut Context::from_waker(&first)).is_pending());
            drop(first);
            // Replacing the stored waker drops the one whose drop sends, once the lock
            // is released: the value arrives after this poll and wakes `second`.
            let (count, second) = counting_waker();
            assert!(recv.as_mut().poll(&mut Context::from_waker(&second)).is_pending());
            assert_eq!(count.0.load(std::sync::atomic::Ordering::SeqCst), 1);
            assert!(matches!(recv.as_mut().poll(&mut Context::from_waker(&second)), Poll::Ready(Ok(9))));
        }
        let mut rx2 = tx.subscribe();
        {
            let mut recv = pin!(rx2.recv());
            let waker = Waker::from(Arc::new(SendOnDrop(tx.clone())));
            assert!(recv.as_mut().poll(&mut Context::from_waker(&waker)).is_pending());
        }
        // Dropping the receiver drops its stored waker, which sends.
        drop(rx2);
        assert_eq!(rx.try_recv(), Ok(9));
        done_tx.send(()).unwrap();
    });
    match done_rx.recv_timeout(std::time::Duration::from_secs(60)) {
        Ok(()) => {}
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("a waker's drop deadlocked on the broadcast channel's lock")
        }
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => panic!("the test's thread panicked (see above)"),
    }
}
