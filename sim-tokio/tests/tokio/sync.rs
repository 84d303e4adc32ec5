//! `tokio::sync` under simulation: mpsc, oneshot, Notify and watch by tokio's names,
//! deadlock reports naming the primitive and the wait, exact counts of orders,
//! determinism, and tokio's edge cases.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sim_core::tooling::strategy::explore_all;
use sim_core::{Config, FailureKind, Sim};
use tokio::lockstep;
use tokio::sync::mpsc::error::{SendError, SendTimeoutError, TryRecvError, TrySendError};
use tokio::sync::{mpsc, oneshot, watch, Notify};

use crate::support::{run, twice};

const MS: Duration = Duration::from_millis(1);

/// The blocked tasks of a run that must deadlock, as the report prints them.
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
fn an_mpsc_deadlock_names_the_channel_and_the_wait() {
    let line = line!() + 2;
    let got = blocked(|| async {
        let (tx, mut rx) = mpsc::channel::<u32>(1);
        let (itx, _irx) = lockstep::named("in", || mpsc::channel::<u32>(1));
        tokio::spawn(async move {
            let _permit = itx.reserve().await.unwrap();
            let _second = itx.reserve().await.unwrap();
        });
        rx.recv().await;
        drop(tx);
    });
    // The channel and the task are named after the lines that created them, or by `named`.
    let task = line + 2;
    assert_eq!(got, [format!("main (recv on `sync.rs:{line}`)"), format!("sync.rs:{task} (reserve on full `in`)")]);
}

#[test]
fn a_oneshot_deadlock_names_the_channel_and_the_wait() {
    let got = blocked(|| async {
        let (tx, rx) = lockstep::named("reply", oneshot::channel::<u32>);
        let _keep = tx;
        let _ = rx.await;
    });
    assert_eq!(got, ["main (recv on `reply`)"]);
}

#[test]
fn a_notify_deadlock_names_the_notify_and_the_wait() {
    let got = blocked(|| async {
        let ready = lockstep::named("ready", || Arc::new(Notify::new()));
        // notify_waiters before anyone waits stores no permit.
        ready.notify_waiters();
        ready.notified().await;
    });
    assert_eq!(got, ["main (notified on `ready`)"]);
}

#[test]
fn a_watch_deadlock_names_the_channel_and_the_wait() {
    let got = blocked(|| async {
        let (tx, mut rx) = lockstep::named("config", || watch::channel(0u32));
        tx.send(1).unwrap();
        rx.changed().await.unwrap();
        rx.changed().await.unwrap();
        drop(tx);
    });
    assert_eq!(got, ["main (changed on `config`)"]);
}

// ---- exact counts of orders (the programs of sim-core/tests/engine/sync.rs,
// written against tokio's API; tokio::spawn adds no event of its own) ----

/// Every order of `program` (a set-up run inside the simulation, then `run`): runs,
/// distinct fingerprints, outcomes.
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

/// W1 and W2 await `notified()`; N calls `notify_one` twice in one poll; all due at
/// t = 0 in that order. N first: one permit (not two), taken by W1 or W2, the other
/// deadlocks: 2 orders. W1 first: it waits; N next picks W1 and stores a permit for
/// W2 (W2, W1 then due: 2 orders), or W2 waits too and N picks both (2 orders): 4.
/// W2 first: 4. Total 10.
#[test]
fn a_notify_program_has_exactly_ten_orders() {
    let (runs, distinct, outcomes) = count(|| {
        let notify = Arc::new(Notify::new());
        let log: Log = Arc::default();
        for name in ["w1", "w2"] {
            let (notify, log) = (notify.clone(), log.clone());
            lockstep::named(name, || {
                tokio::spawn(async move {
                    notify.notified().await;
                    log.lock().unwrap().push(name);
                })
            });
        }
        lockstep::named("n", || {
            tokio::spawn(async move {
                notify.notify_one();
                notify.notify_one();
            })
        });
        Box::new(move |sim: &mut Sim| {
            let ok = sim.run().is_ok();
            let out = log.lock().unwrap().clone();
            (out, ok)
        })
    });
    assert_eq!((runs, distinct), (10, 10));
    let expected =
        BTreeSet::from([(vec!["w1"], false), (vec!["w2"], false), (vec!["w1", "w2"], true), (vec!["w2", "w1"], true)]);
    assert_eq!(outcomes, expected);
}

/// One slot; A and B reserve a `Permit` and send through it; R receives twice. A
/// first: B waits for the slot R frees, or R takes `a` and waits: 2 orders; B first:
/// 2; R first: it waits, then A or B sends and the other goes before or after R: 4.
/// Total 8.
#[test]
fn an_mpsc_permit_program_has_exactly_eight_orders() {
    let (runs, distinct, outcomes) = count(|| {
        let (tx, mut rx) = mpsc::channel(1);
        let log: Log = Arc::default();
        for (name, tx) in [("a", tx.clone()), ("b", tx)] {
            lockstep::named(name, || {
                tokio::spawn(async move {
                    let permit = tx.reserve().await.unwrap();
                    permit.send(name);
                })
            });
        }
        let l = log.clone();
        lockstep::named("r", || {
            tokio::spawn(async move {
                for _ in 0..2 {
                    let v = rx.recv().await.unwrap();
                    l.lock().unwrap().push(v);
                }
            })
        });
        Box::new(move |sim: &mut Sim| {
            sim.run().unwrap();
            let out = log.lock().unwrap().clone();
            out
        })
    });
    assert_eq!((runs, distinct), (8, 8));
    assert_eq!(outcomes, BTreeSet::from([vec!["a", "b"], vec!["b", "a"]]));
}

/// S sends 1, yields, sends 2, drops its sender; R logs each value `changed()`
/// reports. S first: after S's yield, R sees 1 then 2, or S sends 2 first and R sees
/// only 2: 2 orders. R first: it waits, S wakes it and yields, same two: 2. Total 4.
#[test]
fn a_watch_program_has_exactly_four_orders() {
    let (runs, distinct, outcomes) = count(|| {
        let (tx, mut rx) = watch::channel(0u32);
        let log = Arc::new(Mutex::new(Vec::new()));
        lockstep::named("s", || {
            tokio::spawn(async move {
                tx.send(1).unwrap();
                tokio::task::yield_now().await;
                tx.send(2).unwrap();
            })
        });
        let l = log.clone();
        lockstep::named("r", || {
            tokio::spawn(async move {
                while rx.changed().await.is_ok() {
                    let v = *rx.borrow_and_update();
                    l.lock().unwrap().push(v);
                }
            })
        });
        Box::new(move |sim: &mut Sim| {
            sim.run().unwrap();
            let out = log.lock().unwrap().clone();
            out
        })
    });
    assert_eq!((runs, distinct), (4, 4));
    assert_eq!(outcomes, BTreeSet::from([vec![1, 2], vec![2]]));
}

/// A relay: A sends on `o1`; B forwards what it gets on `o2`; R awaits `o2`. A first:
/// B before or after R waits: 2. B first: A then R or B (2), or R waits and A, B
/// follow (1): 3. R first: A then B, or B waits then A, B: 2. Total 7.
#[test]
fn a_oneshot_relay_has_exactly_seven_orders() {
    let (runs, distinct, outcomes) = count(|| {
        let (tx1, rx1) = oneshot::channel();
        let (tx2, rx2) = oneshot::channel();
        let got = Arc::new(Mutex::new(0));
        lockstep::named("a", || tokio::spawn(async move { tx1.send(7).unwrap() }));
        lockstep::named("b", || tokio::spawn(async move { tx2.send(rx1.await.unwrap()).unwrap() }));
        let g = got.clone();
        lockstep::named("r", || tokio::spawn(async move { *g.lock().unwrap() = rx2.await.unwrap() }));
        Box::new(move |sim: &mut Sim| {
            sim.run().unwrap();
            let out = *got.lock().unwrap();
            out
        })
    });
    assert_eq!((runs, distinct), (7, 7));
    assert_eq!(outcomes, BTreeSet::from([7]));
}

// ---- determinism ----

#[test]
fn a_seed_run_twice_gives_the_same_fingerprint() {
    for seed in 0..20 {
        twice(seed, || async {
            let notify = Arc::new(Notify::new());
            let (wtx, wrx) = watch::channel(0u32);
            let (tx, mut rx) = mpsc::channel::<u32>(1);
            let mut handles = Vec::new();
            for t in 0..3u32 {
                let (notify, mut wrx, tx) = (notify.clone(), wrx.clone(), tx.clone());
                handles.push(tokio::spawn(async move {
                    tx.reserve().await.unwrap().send(t);
                    notify.notified().await;
                    let _ = wrx.changed().await;
                    let seen = *wrx.borrow_and_update();
                    seen
                }));
            }
            drop((tx, wrx));
            let mut order = Vec::new();
            while let Some(v) = rx.recv().await {
                let (otx, orx) = oneshot::channel();
                tokio::spawn(async move { otx.send(v * 10).unwrap() });
                order.push(orx.await.unwrap());
                notify.notify_one();
                wtx.send_modify(|w| *w += v + 1);
            }
            let mut seen = Vec::new();
            for h in handles {
                seen.push(h.await.unwrap());
            }
            (order, seen)
        });
    }
}

// ---- tokio's semantics ----

#[test]
fn a_permit_stored_by_notify_one_before_notified_completes_it_at_once() {
    let waited = twice(0, || async {
        let notify = Notify::new();
        notify.notify_one();
        notify.notified().await;
        tokio::time::timeout(MS, notify.notified()).await.is_err()
    });
    assert!(waited, "two notify_one calls store a single permit");
}

#[test]
fn notify_waiters_stores_no_permit() {
    let timed_out = twice(0, || async {
        let notify = Notify::new();
        notify.notify_waiters();
        tokio::time::timeout(5 * MS, notify.notified()).await.is_err()
    });
    assert!(timed_out);
}

#[test]
fn watch_changed_after_the_sender_drops_sees_the_last_value_then_an_error() {
    let got = twice(0, || async {
        let (tx, mut rx) = watch::channel("a");
        let writer = tokio::spawn(async move {
            tx.send("b").unwrap();
        });
        writer.await.unwrap();
        let first = rx.changed().await.map(|()| *rx.borrow_and_update());
        let second = rx.changed().await;
        (first, second.is_err(), rx.has_changed().is_err())
    });
    assert_eq!(got, (Ok("b"), true, true));
}

#[test]
fn a_permit_sends_and_a_weak_sender_cannot_upgrade_after_every_sender_drops() {
    let got = twice(0, || async {
        let (tx, mut rx) = mpsc::channel::<u32>(1);
        let permit = tx.reserve().await.unwrap();
        assert!(matches!(tx.try_send(1), Err(TrySendError::Full(1))));
        permit.send(2);
        let weak = tx.downgrade();
        assert!(weak.upgrade().is_some());
        drop(tx);
        let upgraded = weak.upgrade().is_none();
        (rx.recv().await, rx.recv().await, upgraded, rx.try_recv())
    });
    assert_eq!(got, (Some(2), None, true, Err(TryRecvError::Disconnected)));
}

#[test]
fn errors_read_like_tokio() {
    assert_eq!(SendError(1).to_string(), "channel closed");
    assert_eq!(format!("{:?}", SendError(1)), "SendError { .. }");
    assert_eq!(TrySendError::Full(1).to_string(), "no available capacity");
    assert_eq!(format!("{:?}", TrySendError::Closed(1)), "Closed(..)");
    assert_eq!(SendTimeoutError::Timeout(1).to_string(), "timed out waiting on send operation");
    assert_eq!(TryRecvError::Empty.to_string(), "receiving on an empty channel");
    assert_eq!(TryRecvError::Disconnected.to_string(), "receiving on a closed channel");
    assert_eq!(oneshot::error::TryRecvError::Empty.to_string(), "channel empty");
    assert_eq!(watch::error::SendError(1).to_string(), "channel closed");
    let (result, _) = run(Config::default(), || async {
        let (tx, rx) = oneshot::channel::<u32>();
        drop(tx);
        let err = rx.await.unwrap_err();
        let boxed: Box<dyn std::error::Error> = Box::new(err);
        boxed.to_string()
    });
    assert_eq!(result.unwrap(), "channel closed");
}

/// A thread-blocking call in a simulated task panics with tokio's text, as tokio's
/// do inside a runtime (`blocking_send_async`, `blocking_recv_async` in tokio's
/// tests): in a spawned task the panic is that task's (its `JoinError`), in the main
/// task the run fails with it.
#[test]
fn blocking_send_and_recv_under_simulation_panic_as_tokio_does() {
    fn block(which: u32) {
        let (tx, mut rx) = mpsc::channel::<u32>(1);
        match which {
            0 => drop(tx.blocking_send(1)),
            1 => drop(rx.blocking_recv()),
            2 => drop(rx.blocking_recv_many(&mut Vec::new(), 1)),
            _ => drop(oneshot::channel::<u32>().1.blocking_recv()),
        }
    }
    for which in 0..4 {
        let (result, _) = run(Config::default(), move || async move {
            let err = tokio::spawn(async move { block(which) }).await.unwrap_err();
            let payload = err.into_panic();
            let message = payload.downcast_ref::<String>().expect("a formatted panic");
            assert!(message.starts_with("Cannot block the current thread from within a runtime"), "{message}");
            block(which);
        });
        let failure = result.unwrap_err();
        let FailureKind::Panic { task, message } = &failure.kind else { panic!("expected a panic, got {failure}") };
        assert_eq!(task, "main");
        assert!(message.starts_with("Cannot block the current thread from within a runtime"), "{message}");
        assert!(message.contains("blocking_recv") || message.contains("blocking_send"), "{message}");
    }
}

// ---- Send and Sync where tokio's are (tokio's tests assert the same) ----

#[allow(dead_code)]
fn assert_send<T: Send>() {}
#[allow(dead_code)]
fn assert_sync<T: Sync>() {}

/// Compiles only while tokio's auto traits hold for every type, as in tokio's
/// `sync_mpsc.rs`, `sync_oneshot.rs` and `sync_notify.rs`.
#[allow(dead_code)]
fn sync_types_are_send_and_sync_as_tokios() {
    assert_send::<mpsc::Sender<i32>>();
    assert_sync::<mpsc::Sender<i32>>();
    assert_send::<mpsc::Receiver<i32>>();
    assert_sync::<mpsc::Receiver<i32>>();
    assert_send::<mpsc::UnboundedSender<i32>>();
    assert_sync::<mpsc::UnboundedSender<i32>>();
    assert_send::<mpsc::UnboundedReceiver<i32>>();
    assert_sync::<mpsc::UnboundedReceiver<i32>>();
    assert_send::<mpsc::Permit<'static, i32>>();
    assert_send::<mpsc::OwnedPermit<i32>>();
    assert_send::<oneshot::Sender<i32>>();
    assert_sync::<oneshot::Sender<i32>>();
    assert_send::<oneshot::Receiver<i32>>();
    assert_sync::<oneshot::Receiver<i32>>();
    assert_send::<watch::Sender<i32>>();
    assert_sync::<watch::Sender<i32>>();
    assert_send::<watch::Receiver<i32>>();
    assert_sync::<watch::Receiver<i32>>();
    assert_send::<Notify>();
    assert_sync::<Notify>();
    assert_send::<Arc<Notify>>();
    assert_send::<tokio::sync::Notified<'static>>();
    assert_sync::<tokio::sync::Notified<'static>>();
    assert_send::<tokio::sync::futures::OwnedNotified>();
    assert_sync::<tokio::sync::futures::OwnedNotified>();
    assert_send::<tokio::task::JoinHandle<i32>>();
    assert_sync::<tokio::task::JoinHandle<i32>>();
    assert_send::<tokio::task::AbortHandle>();
    assert_sync::<tokio::task::AbortHandle>();
    assert_send::<tokio::time::Sleep>();
    assert_sync::<tokio::time::Sleep>();
    assert_send::<tokio::sync::Semaphore>();
    assert_sync::<tokio::sync::Semaphore>();
    assert_send::<tokio::sync::SemaphorePermit<'static>>();
    assert_send::<tokio::sync::OwnedSemaphorePermit>();
    assert_send::<tokio::sync::Mutex<i32>>();
    assert_sync::<tokio::sync::Mutex<i32>>();
    assert_send::<tokio::sync::MutexGuard<'static, i32>>();
    assert_send::<tokio::sync::OwnedMutexGuard<i32>>();
    assert_send::<tokio::sync::RwLock<i32>>();
    assert_sync::<tokio::sync::RwLock<i32>>();
    assert_send::<tokio::sync::RwLockReadGuard<'static, i32>>();
    assert_send::<tokio::sync::RwLockWriteGuard<'static, i32>>();
}

/// A stream boxed as tokio users box it (`BoxStream`, `Pin<Box<dyn Future + Send>>`),
/// and a primitive shared with a `std::thread`: they compile and run.
#[tokio::test(seeds = 20)]
async fn send_futures_box_and_a_primitive_crosses_a_thread() {
    use futures::stream::{BoxStream, StreamExt};
    let (tx, rx) = mpsc::channel::<u32>(4);
    let stream: BoxStream<'static, u32> =
        futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|v| (v, rx)) }).boxed();
    let boxed: std::pin::Pin<Box<dyn std::future::Future<Output = Vec<u32>> + Send>> = Box::pin(stream.collect());
    let sender = tokio::spawn(async move {
        for i in 0..3 {
            tx.send(i).await.unwrap();
        }
    });
    assert_eq!(boxed.await, [0, 1, 2]);
    sender.await.unwrap();
    // A Notify made here and notified from a real thread outside the simulation: its
    // permit is there when the thread is joined (the wake itself is foreign, so none
    // is awaited here).
    let bell = Arc::new(Notify::new());
    let b = bell.clone();
    std::thread::spawn(move || b.notify_one()).join().unwrap();
    bell.notified().await;
}

// ---- values in traces ----

/// `lockstep::show_values` takes every sender tokio code has (mpsc bounded and
/// unbounded, oneshot, watch, broadcast): each channel's sends (and receives) carry the
/// value's `Debug` text in the trace, and the fingerprint is the one of the same run
/// without it.
#[test]
fn lockstep_show_values_takes_every_sender_and_changes_no_fingerprint() {
    use sim_core::tooling::trace::RecordKind;
    use sim_core::TraceMode;
    use tokio::sync::broadcast;
    let program = |show: bool| {
        let mut sim = Sim::new(Config::random(7).trace(TraceMode::Full));
        let future = sim.enter(|| async move {
            let (tx, mut rx) = lockstep::named("bounded", || mpsc::channel::<u8>(1));
            let (utx, mut urx) = lockstep::named("unbounded", mpsc::unbounded_channel::<&str>);
            let (otx, orx) = lockstep::named("reply", oneshot::channel::<Option<u8>>);
            let (wtx, _wrx) = lockstep::named("state", || watch::channel('a'));
            let (btx, mut brx) = lockstep::named("prices", || broadcast::channel::<(u8, u8)>(2));
            if show {
                lockstep::show_values(&tx);
                lockstep::show_values(&utx);
                lockstep::show_values(&otx);
                lockstep::show_values(&wtx);
                lockstep::show_values(&btx);
            }
            tx.send(1).await.unwrap();
            utx.send("two").unwrap();
            otx.send(Some(3)).unwrap();
            wtx.send('d').unwrap();
            btx.send((5, 6)).unwrap();
            (rx.recv().await, urx.recv().await, orx.await.unwrap(), brx.recv().await.unwrap())
        });
        let out = sim.block_on_local(future).unwrap();
        assert_eq!(out, (Some(1), Some("two"), Some(3), (5, 6)));
        let shown: Vec<(RecordKind, String, Option<String>)> = sim
            .trace()
            .lines
            .into_iter()
            .filter(|l| matches!(l.kind, RecordKind::Send | RecordKind::Recv))
            .filter_map(|l| Some((l.kind, l.channel?, l.value_text)))
            .collect();
        (shown, sim.fingerprint())
    };
    let (shown, fingerprint) = program(true);
    let (plain, plain_fingerprint) = program(false);
    assert_eq!(fingerprint, plain_fingerprint, "showing values changes no fingerprint");
    assert_eq!(fingerprint, program(true).1, "the same seed twice, the same fingerprint");
    let text =
        |kind, channel: &str| shown.iter().find(|(k, c, _)| *k == kind && c == channel).and_then(|(_, _, t)| t.clone());
    assert_eq!(text(RecordKind::Send, "bounded").as_deref(), Some("1"));
    assert_eq!(text(RecordKind::Recv, "bounded").as_deref(), Some("1"));
    assert_eq!(text(RecordKind::Send, "unbounded").as_deref(), Some("\"two\""));
    assert_eq!(text(RecordKind::Send, "reply").as_deref(), Some("Some(3)"));
    assert_eq!(text(RecordKind::Send, "state").as_deref(), Some("'d'"));
    assert_eq!(text(RecordKind::Send, "prices").as_deref(), Some("(5, 6)"));
    assert_eq!(text(RecordKind::Recv, "prices").as_deref(), Some("(5, 6)"));
    assert!(plain.iter().all(|(_, _, t)| t.is_none()), "{plain:?}");
    assert_eq!(plain.len(), shown.len());
}

// ---- Notify::notified_owned (tokio's OwnedNotified) ----

#[test]
fn an_owned_notified_deadlock_names_the_notify_and_the_wait() {
    let got = blocked(|| async {
        let ready = lockstep::named("ready", || Arc::new(Notify::new()));
        ready.clone().notify_waiters();
        ready.notified_owned().await;
    });
    assert_eq!(got, ["main (notified on `ready`)"]);
}

/// The Notify program of ten orders above, each waiter holding an `OwnedNotified`
/// made before it is spawned (so it moves into the task): the same ten orders,
/// derived the same way (creating the future adds no event), and the same outcomes.
#[test]
fn an_owned_notified_program_has_exactly_ten_orders() {
    let (runs, distinct, outcomes) = count(|| {
        let notify = Arc::new(Notify::new());
        let log: Log = Arc::default();
        for name in ["w1", "w2"] {
            let (notified, log) = (notify.clone().notified_owned(), log.clone());
            lockstep::named(name, || {
                tokio::spawn(async move {
                    notified.await;
                    log.lock().unwrap().push(name);
                })
            });
        }
        lockstep::named("n", || {
            tokio::spawn(async move {
                notify.notify_one();
                notify.notify_one();
            })
        });
        Box::new(move |sim: &mut Sim| {
            let ok = sim.run().is_ok();
            let out = log.lock().unwrap().clone();
            (out, ok)
        })
    });
    assert_eq!((runs, distinct), (10, 10));
    let expected =
        BTreeSet::from([(vec!["w1"], false), (vec!["w2"], false), (vec!["w1", "w2"], true), (vec!["w2", "w1"], true)]);
    assert_eq!(outcomes, expected);
}

/// tokio's rules, owned: a stored permit completes it at once; `notify_waiters`
/// wakes one made before the call (not yet polled) and not one made after; one
/// picked by `notify_one` and dropped unfinished hands the notification on; `enable`
/// lets `notify_one` pick it before its first poll. `'static` and `Send`, so it
/// moves into another task. A seed run twice gives one fingerprint.
#[test]
fn an_owned_notified_follows_tokios_rules() {
    let got = twice(5, || async {
        let notify = Arc::new(Notify::new());
        notify.notify_one();
        notify.clone().notified_owned().await; // the stored permit

        let before = notify.clone().notified_owned();
        notify.notify_waiters();
        let after = notify.clone().notified_owned();
        before.await;
        let after_waits = tokio::time::timeout(MS, after).await.is_err();

        // Picked, then dropped unfinished: the next waiter (a borrowed Notified) gets it.
        let mut first = Box::pin(notify.clone().notified_owned());
        assert!(!first.as_mut().enable());
        let second = notify.notified();
        let mut second = std::pin::pin!(second);
        assert!(!second.as_mut().enable());
        notify.notify_one();
        drop(first);
        second.await;

        // Moved into a task and notified from here.
        let waiter = tokio::spawn(notify.clone().notified_owned());
        tokio::task::yield_now().await;
        notify.notify_one();
        waiter.await.unwrap();
        after_waits
    });
    assert!(got, "an OwnedNotified made after notify_waiters keeps waiting");
}
