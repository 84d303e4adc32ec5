//! `Notify`, `watch`, mpsc reservations and weak senders, oneshot's gaps: tokio's
//! semantics, deadlock reports that name the primitive and the wait, exact counts
//! of orders, and determinism.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::pin::pin;
use std::rc::Rc;
use std::time::Duration;

use sim_core::sync::mpsc::error::{SendTimeoutError, TrySendError};
use sim_core::sync::{mpsc, oneshot, watch, Notify};
use sim_core::time::{sleep, timeout, Instant};
use sim_core::tooling::trace::RecordKind;
use sim_core::{spawn, yield_now, Config, FailureKind, Sim, TraceMode};

use crate::support::{explore, explore_reduced};

type Log<T> = Rc<RefCell<Vec<T>>>;

fn log<T>() -> Log<T> {
    Rc::new(RefCell::new(Vec::new()))
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The blocked tasks of a deadlock, as the report prints them.
fn deadlock(result: Result<(), Box<sim_core::Failure>>) -> Vec<String> {
    let failure = result.unwrap_err();
    let FailureKind::Deadlock { blocked } = &failure.kind else { panic!("expected a deadlock, got {failure}") };
    blocked.iter().map(ToString::to_string).collect()
}

// ---- deadlock reports name the primitive and the wait ----

/// `notify_waiters` stores no permit: a task that waits after it waits forever.
#[test]
fn a_deadlock_report_names_the_notify_a_task_waits_on() {
    let mut sim = Sim::new(Config::default());
    let ready = Rc::new(sim_core::named("ready", || Notify::new()));
    ready.notify_waiters();
    sim.spawn_named("worker", async move { ready.notified().await });
    assert_eq!(deadlock(sim.run()), ["worker (notified on `ready`)"]);
}

#[test]
fn a_deadlock_report_names_the_watch_channel_a_task_waits_on() {
    let mut sim = Sim::new(Config::default());
    let (tx, mut rx) = sim_core::named("config", || watch::channel(0));
    sim.spawn_named("reader", async move {
        rx.changed().await.unwrap();
        rx.changed().await.unwrap();
    });
    sim.spawn_named("writer", async move {
        tx.send(1).unwrap();
        tx.closed().await;
    });
    assert_eq!(deadlock(sim.run()), ["reader (changed on `config`)", "writer (closed on `config`)"]);
}

#[test]
fn a_deadlock_report_names_the_full_channel_a_reservation_waits_on() {
    let mut sim = Sim::new(Config::default());
    let (tx, rx) = sim_core::named("in", || mpsc::channel::<u8>(1));
    sim.spawn_named("producer", async move {
        let first = tx.reserve().await.unwrap();
        first.send(1);
        let _second = tx.reserve().await.unwrap();
        drop(rx);
    });
    assert_eq!(deadlock(sim.run()), ["producer (reserve on full `in`)"]);
}

#[test]
fn a_deadlock_report_names_the_oneshot_a_task_waits_on() {
    let mut sim = Sim::new(Config::default());
    let (tx, rx) = sim_core::named("reply", || oneshot::channel::<u8>());
    let (mut tx2, rx2) = sim_core::named("cancel", || oneshot::channel::<u8>());
    sim.spawn_named("client", async move {
        let _ = rx.await;
        drop(rx2);
    });
    sim.spawn_named("server", async move {
        tx2.closed().await;
        drop(tx);
    });
    assert_eq!(deadlock(sim.run()), ["client (recv on `reply`)", "server (closed on `cancel`)"]);
}

#[test]
fn unnamed_primitives_are_named_after_their_creation_site_or_the_enclosing_scope() {
    let mut sim = Sim::new(Config::default());
    let line = line!() + 1;
    let notify = Rc::new(Notify::new());
    let (_tx, mut rx) = sim_core::named("settings", || watch::channel(0u8));
    let n = notify.clone();
    sim.spawn_named("a", async move { n.notified().await });
    sim.spawn_named("b", async move {
        let _ = rx.changed().await;
    });
    assert_eq!(deadlock(sim.run()), [format!("a (notified on `sync.rs:{line}`)"), "b (changed on `settings`)".into()]);
    drop(notify);
}

// ---- exact counts of orders ----

/// W1 and W2 wait on a `Notify`; N calls `notify_one` twice in one poll. All three are
/// due at t = 0 in the order W1, W2, N. Two `notify_one` with nobody waiting store
/// one permit, not two.
/// - N first (1 way): one permit. Then W1 or W2 polls first (2 orders): it takes the
///   permit, the other waits forever (deadlock). 2 orders.
/// - W1 first: it waits; then
///   - N: picks W1 (woken), stores a permit for W2; W2 and W1 are due: 2 orders.
///   - W2: waits; N picks W1 then W2, both woken: 2 orders.
///
///   4 orders; W2 first likewise 4.
///
/// Total 2 + 4 + 4 = 10, every one a distinct trace; outcomes: each waiter alone
/// with a deadlock, or both in either order.
fn notify_program(sim: &mut Sim) -> (Vec<&'static str>, bool) {
    let notify = Rc::new(sim_core::named("n", || Notify::new()));
    let got = log();
    for name in ["w1", "w2"] {
        let (notify, got) = (notify.clone(), got.clone());
        sim.spawn_named(name, async move {
            notify.notified().await;
            got.borrow_mut().push(name);
        });
    }
    sim.spawn_named("n", async move {
        notify.notify_one();
        notify.notify_one();
    });
    let ok = sim.run().is_ok();
    let out = got.borrow().clone();
    (out, ok)
}

#[test]
fn a_notify_program_has_exactly_ten_orders() {
    let all = explore(notify_program);
    assert_eq!(all.runs, 10);
    assert_eq!(all.fingerprints.len(), 10);
    let expected =
        BTreeSet::from([(vec!["w1"], false), (vec!["w2"], false), (vec!["w1", "w2"], true), (vec!["w2", "w1"], true)]);
    assert_eq!(all.outcomes, expected);
    assert_eq!(explore_reduced(notify_program).outcomes, expected);
}

/// A channel with one slot; A and B each reserve a slot and send through the permit;
/// R receives twice. Due at t = 0: A, B, R.
/// - A first: buffer [a]. Then B (waits for a slot; R takes a and grants B's slot, R
///   waits; B sends; R takes b: no more choices) or R (takes a, waits; B reserves at
///   once): 2 orders. B first: likewise 2.
/// - R first: it waits. Then A (sends, wakes R; then B before R: B waits for the slot
///   R frees, or R before B: 2 orders) or B (likewise 2): 4 orders.
///
/// Total 2 + 2 + 4 = 8; R gets [a, b] or [b, a].
fn reserve_program(sim: &mut Sim) -> Vec<&'static str> {
    let (tx, mut rx) = sim_core::named("in", || mpsc::channel(1));
    let got = log();
    for (name, tx) in [("a", tx.clone()), ("b", tx)] {
        sim.spawn_named(name, async move {
            let permit = tx.reserve().await.unwrap();
            permit.send(name);
        });
    }
    let g = got.clone();
    sim.spawn_named("r", async move {
        for _ in 0..2 {
            let v = rx.recv().await.unwrap();
            g.borrow_mut().push(v);
        }
    });
    sim.run().unwrap();
    let out = got.borrow().clone();
    out
}

#[test]
fn a_reservation_program_has_exactly_eight_orders() {
    let all = explore(reserve_program);
    assert_eq!(all.runs, 8);
    assert_eq!(all.fingerprints.len(), 8);
    let expected = BTreeSet::from([vec!["a", "b"], vec!["b", "a"]]);
    assert_eq!(all.outcomes, expected);
    assert_eq!(explore_reduced(reserve_program).outcomes, expected);
}

/// S sends 1, yields, sends 2 and drops its sender; R logs every value `changed()`
/// reports until the channel closes. Due at t = 0: S, R.
/// - S first: after its yield, S and R are due. R first: it sees 1, waits, sees 2.
///   S first: S sends 2 and ends, R sees only 2. 2 orders.
/// - R first: it waits; S sends 1 (waking R) and yields: R and S are due, with the
///   same two outcomes. 2 orders.
///
/// Total 4; R sees [1, 2] or just [2]: a watch keeps only the newest value.
fn watch_program(sim: &mut Sim) -> Vec<u32> {
    let (tx, mut rx) = sim_core::named("w", || watch::channel(0u32));
    let got = log();
    sim.spawn_named("s", async move {
        tx.send(1).unwrap();
        yield_now().await;
        tx.send(2).unwrap();
    });
    let g = got.clone();
    sim.spawn_named("r", async move {
        while rx.changed().await.is_ok() {
            g.borrow_mut().push(*rx.borrow_and_update());
        }
    });
    sim.run().unwrap();
    let out = got.borrow().clone();
    out
}

#[test]
fn a_watch_program_has_exactly_four_orders() {
    let all = explore(watch_program);
    assert_eq!(all.runs, 4);
    assert_eq!(all.fingerprints.len(), 4);
    let expected = BTreeSet::from([vec![1, 2], vec![2]]);
    assert_eq!(all.outcomes, expected);
    assert_eq!(explore_reduced(watch_program).outcomes, expected);
}

/// A relay: A sends on `o1`; B awaits `o1` and sends what it got on `o2`; R awaits
/// `o2`. Due at t = 0: A, B, R.
/// - A first: then B (sends before R waits) or R (waits, B wakes it): 2 orders.
/// - B first: B waits. Then A (wakes B; R and B are due: 2 orders) or R (waits; A
///   wakes B, B wakes R: 1 order): 3 orders.
/// - R first: R waits. Then A (then B, no more choices) or B (waits; A, B): 2 orders.
///
/// Total 2 + 3 + 2 = 7, all delivering 7.
fn oneshot_program(sim: &mut Sim) -> u32 {
    let (tx1, rx1) = sim_core::named("o1", || oneshot::channel());
    let (tx2, rx2) = sim_core::named("o2", || oneshot::channel());
    let got = Rc::new(RefCell::new(0));
    sim.spawn_named("a", async move { tx1.send(7).unwrap() });
    sim.spawn_named("b", async move { tx2.send(rx1.await.unwrap()).unwrap() });
    let g = got.clone();
    sim.spawn_named("r", async move { *g.borrow_mut() = rx2.await.unwrap() });
    sim.run().unwrap();
    let out = *got.borrow();
    out
}

#[test]
fn a_oneshot_relay_has_exactly_seven_orders() {
    let all = explore(oneshot_program);
    assert_eq!(all.runs, 7);
    assert_eq!(all.fingerprints.len(), 7);
    assert_eq!(all.outcomes, BTreeSet::from([7]));
}

// ---- Notify semantics (tokio's) ----

#[test]
fn a_notify_one_before_notified_is_kept_as_one_permit() {
    let mut sim = Sim::new(Config::default());
    let taken = sim
        .block_on(async {
            let notify = Notify::new();
            notify.notify_one();
            notify.notify_one();
            notify.notified().await;
            // Only one permit was stored: a second wait times out.
            timeout(ms(5), notify.notified()).await.is_err()
        })
        .unwrap();
    assert!(taken);
}

#[test]
fn notify_waiters_stores_no_permit_but_wakes_futures_created_before_it() {
    let mut sim = Sim::new(Config::default());
    let (early, late) = sim
        .block_on(async {
            let notify = Notify::new();
            let created = notify.notified();
            notify.notify_waiters();
            // Never polled before the call, still woken by it.
            let early = timeout(ms(5), created).await.is_ok();
            let late = timeout(ms(5), notify.notified()).await.is_ok();
            (early, late)
        })
        .unwrap();
    assert!(early);
    assert!(!late, "notify_waiters stores no permit");
}

#[test]
fn an_enabled_notified_is_picked_before_it_is_polled() {
    let mut sim = Sim::new(Config::default());
    sim.block_on(async {
        let notify = Notify::new();
        let mut first = pin!(notify.notified());
        assert!(!first.as_mut().enable());
        notify.notify_one();
        // The notification went to `first`, not to a permit.
        assert!(timeout(ms(5), notify.notified()).await.is_err());
        assert!(first.as_mut().enable());
        first.await;
    })
    .unwrap();
}

#[test]
fn notify_last_wakes_the_newest_waiter_and_a_dropped_pick_hands_its_notification_on() {
    let mut sim = Sim::new(Config::default());
    sim.block_on(async {
        let notify = Notify::new();
        let mut old = pin!(notify.notified());
        let mut new = pin!(notify.notified());
        old.as_mut().enable();
        new.as_mut().enable();
        notify.notify_last();
        assert!(!old.as_mut().enable());
        assert!(new.as_mut().enable());
        notify.notify_one();
        assert!(old.as_mut().enable());
        let mut third = Box::pin(notify.notified());
        third.as_mut().enable();
        notify.notify_one();
        // `third` was picked but is dropped unfinished: the notification becomes the permit.
        drop(third);
        assert!(timeout(ms(5), notify.notified()).await.is_ok());
    })
    .unwrap();
}

#[test]
fn notifications_are_traced() {
    let mut sim = Sim::new(Config::default().trace(TraceMode::Full));
    sim.block_on(async {
        let notify = sim_core::named("bell", || Notify::new());
        notify.notify_one();
        notify.notified().await;
    })
    .unwrap();
    let kinds: Vec<RecordKind> =
        sim.trace().lines.into_iter().filter(|l| l.channel.as_deref() == Some("bell")).map(|l| l.kind).collect();
    assert_eq!(kinds, [RecordKind::Notify, RecordKind::Notified]);
}

// ---- watch semantics ----

#[test]
fn changed_after_the_sender_drops_reports_the_last_value_then_an_error() {
    let mut sim = Sim::new(Config::default());
    sim.block_on(async {
        let (tx, mut rx) = watch::channel(1);
        tx.send(2).unwrap();
        drop(tx);
        assert!(rx.has_changed().is_err(), "has_changed reports the close first");
        assert!(rx.changed().await.is_ok(), "the unseen 2 comes first");
        assert_eq!(*rx.borrow(), 2);
        assert!(rx.changed().await.is_err());
        assert!(rx.has_changed().is_err());
    })
    .unwrap();
}

#[test]
fn watch_sends_borrows_and_marks_follow_tokio() {
    let mut sim = Sim::new(Config::default());
    sim.block_on(async {
        let (tx, mut rx) = watch::channel(String::from("a"));
        assert_eq!(rx.has_changed(), Ok(false));
        assert!(!rx.borrow().has_changed());
        tx.send_modify(|s| s.push('b'));
        assert!(rx.borrow().has_changed());
        assert_eq!(rx.has_changed(), Ok(true));
        assert_eq!(&*rx.borrow_and_update(), "ab");
        assert_eq!(rx.has_changed(), Ok(false));
        assert!(!tx.send_if_modified(|_| false));
        assert_eq!(rx.has_changed(), Ok(false));
        assert!(tx.send_if_modified(|s| {
            s.push('c');
            true
        }));
        rx.mark_unchanged();
        assert_eq!(rx.has_changed(), Ok(false));
        rx.mark_changed();
        assert_eq!(rx.has_changed(), Ok(true));
        rx.changed().await.unwrap();
        assert_eq!(tx.send_replace("x".into()), "abc");
        let mut rx2 = tx.subscribe();
        assert_eq!(rx2.has_changed(), Ok(false), "a new subscriber has seen the current value");
        assert_eq!(tx.receiver_count(), 2);
        assert!(rx.same_channel(&rx2));
        drop(rx);
        drop(rx2.clone());
        assert_eq!(tx.receiver_count(), 1);
        assert_eq!(*rx2.wait_for(|s| s == "x").await.unwrap(), "x");
        drop(rx2);
        assert!(tx.is_closed());
        assert_eq!(tx.send("y".into()).unwrap_err().0, "y");
        tx.send_modify(|s| s.push('!'));
        assert_eq!(&*tx.borrow(), "x!");
        tx.closed().await;
    })
    .unwrap();
}

/// `changed()` is a selectable future: a select against a timer takes the change
/// when it comes first, the timer otherwise.
#[test]
fn a_watch_change_can_be_selected_against_a_timer() {
    use sim_core::select::{select, Either};
    let mut sim = Sim::new(Config::default());
    let got = sim
        .block_on(async {
            let (tx, mut rx) = watch::channel(0u32);
            spawn(async move {
                sleep(ms(3)).await;
                tx.send(1).unwrap();
                sleep(ms(10)).await;
            });
            let first = matches!(select(rx.changed(), sleep(ms(5))).await, Either::Left(Ok(())));
            let second = matches!(select(rx.changed(), sleep(ms(5))).await, Either::Right(()));
            (first, second, Instant::now())
        })
        .unwrap();
    assert_eq!(got, (true, true, Instant::from_millis(8)));
}

#[test]
fn a_sender_writing_while_a_ref_is_held_fails_the_run_with_a_clear_message() {
    let mut sim = Sim::new(Config::default());
    let failure = sim
        .block_on(async {
            let (tx, rx) = sim_core::named("cfg", || watch::channel(0));
            let held = rx.borrow();
            tx.send(1).unwrap();
            drop(held);
        })
        .unwrap_err();
    let FailureKind::Panic { message, .. } = &failure.kind else { panic!("{failure}") };
    assert!(message.contains("watch channel `cfg`") && message.contains("watch::Ref"), "{message}");
}

// ---- mpsc: permits, weak senders, recv_many, closed, send_timeout ----

#[test]
fn a_permit_holds_its_slot_and_sends_without_waiting() {
    let mut sim = Sim::new(Config::default());
    sim.block_on(async {
        let (tx, mut rx) = mpsc::channel::<u32>(2);
        let permit = tx.reserve().await.unwrap();
        assert_eq!(tx.capacity(), 1);
        let second = tx.try_reserve().unwrap();
        assert!(matches!(tx.try_reserve(), Err(TrySendError::Full(()))));
        assert!(matches!(tx.try_send(9), Err(TrySendError::Full(9))));
        drop(second);
        assert_eq!(tx.capacity(), 1);
        permit.send(1);
        assert_eq!(rx.recv().await, Some(1));
        let owned = tx.clone().reserve_owned().await.unwrap();
        let sender = owned.send(2);
        assert!(sender.same_channel(&tx));
        let released = tx.clone().try_reserve_owned().unwrap().release();
        drop(released);
        assert_eq!(rx.recv().await, Some(2));
        assert_eq!(tx.capacity(), 2);
        rx.close();
        assert!(matches!(tx.reserve().await, Err(mpsc::error::SendError(()))));
        assert!(matches!(tx.try_reserve(), Err(TrySendError::Closed(()))));
    })
    .unwrap();
}

#[test]
fn a_dropped_permit_frees_its_slot_for_a_waiting_sender() {
    let mut sim = Sim::new(Config::default());
    let got = sim
        .block_on(async {
            let (tx, mut rx) = mpsc::channel::<u32>(1);
            let permit = tx.reserve().await.unwrap();
            let tx2 = tx.clone();
            let waiting = spawn(async move { tx2.send(5).await.unwrap() });
            sleep(ms(1)).await;
            assert!(!waiting.is_finished(), "the sender waits while the permit holds the slot");
            drop(permit);
            waiting.await.unwrap();
            rx.recv().await
        })
        .unwrap();
    assert_eq!(got, Some(5));
}

#[test]
fn a_weak_sender_upgrades_only_while_a_sender_lives() {
    let mut sim = Sim::new(Config::default());
    sim.block_on(async {
        let (tx, mut rx) = mpsc::channel::<u32>(1);
        let weak = tx.downgrade();
        assert_eq!((tx.strong_count(), tx.weak_count()), (1, 1));
        let weak2 = weak.clone();
        assert_eq!((rx.sender_strong_count(), rx.sender_weak_count()), (1, 2));
        let strong = weak.upgrade().unwrap();
        assert_eq!(weak.strong_count(), 2);
        drop(strong);
        drop(tx);
        assert!(weak.upgrade().is_none(), "every sender is gone: the channel is closed for good");
        assert_eq!(rx.recv().await, None, "weak senders do not keep the channel open");
        drop(weak2);
        assert_eq!(weak.weak_count(), 1);

        let (utx, mut urx) = mpsc::unbounded_channel::<u32>();
        let uweak = utx.downgrade();
        uweak.upgrade().unwrap().send(3).unwrap();
        drop(utx);
        assert!(uweak.upgrade().is_none());
        assert_eq!((urx.sender_strong_count(), urx.sender_weak_count()), (0, 1));
        assert_eq!(urx.recv().await, Some(3));
        assert_eq!(urx.recv().await, None);
    })
    .unwrap();
}

#[test]
fn recv_many_takes_what_is_buffered_up_to_the_limit() {
    let mut sim = Sim::new(Config::default());
    sim.block_on(async {
        let (tx, mut rx) = mpsc::channel::<u32>(8);
        let mut buf = Vec::new();
        assert_eq!(rx.recv_many(&mut buf, 0).await, 0);
        for i in 0..5 {
            tx.send(i).await.unwrap();
        }
        assert_eq!(rx.recv_many(&mut buf, 3).await, 3);
        assert_eq!(rx.recv_many(&mut buf, 3).await, 2);
        assert_eq!(buf, [0, 1, 2, 3, 4]);
        let tx2 = tx.clone();
        spawn(async move {
            sleep(ms(3)).await;
            tx2.send(9).await.unwrap();
        });
        assert_eq!(rx.recv_many(&mut buf, 3).await, 1);
        assert_eq!(Instant::now(), Instant::from_millis(3));
        drop(tx);
        assert_eq!(rx.recv_many(&mut buf, 3).await, 0);
        assert_eq!(buf, [0, 1, 2, 3, 4, 9]);
    })
    .unwrap();
}

#[test]
fn send_timeout_hands_the_value_back_on_timeout_and_closed_waits_for_the_receiver() {
    let mut sim = Sim::new(Config::default());
    sim.block_on(async {
        let (tx, mut rx) = mpsc::channel::<u32>(1);
        tx.send_timeout(1, ms(5)).await.unwrap();
        let err = tx.send_timeout(2, ms(5)).await.unwrap_err();
        assert!(matches!(err, SendTimeoutError::Timeout(2)));
        assert_eq!(err.to_string(), "timed out waiting on send operation");
        assert_eq!(Instant::now(), Instant::from_millis(5));
        // The timed-out send left the queue: the next send gets the freed slot.
        assert_eq!(rx.recv().await, Some(1));
        tx.send_timeout(3, ms(5)).await.unwrap();
        let tx2 = tx.clone();
        let closer = spawn(async move {
            tx2.closed().await;
            Instant::now()
        });
        sleep(ms(2)).await;
        drop(rx);
        assert_eq!(closer.await.unwrap(), Instant::from_millis(7));
        assert!(matches!(tx.send_timeout(4, ms(5)).await, Err(SendTimeoutError::Closed(4))));
    })
    .unwrap();
}

// ---- oneshot gaps ----

#[test]
fn a_oneshot_receiver_knows_when_it_is_terminated_and_a_sender_when_it_is_closed() {
    let mut sim = Sim::new(Config::default());
    sim.block_on(async {
        let (tx, mut rx) = oneshot::channel::<u32>();
        assert!(rx.is_empty() && !rx.is_terminated());
        tx.send(1).unwrap();
        assert!(!rx.is_empty());
        assert_eq!((&mut rx).await, Ok(1));
        assert!(rx.is_terminated() && rx.is_empty());

        let (mut tx, rx) = oneshot::channel::<u32>();
        let waiter = spawn(async move {
            tx.closed().await;
            (Instant::now(), tx.is_closed())
        });
        sleep(ms(4)).await;
        drop(rx);
        assert_eq!(waiter.await.unwrap(), (Instant::from_millis(4), true));
    })
    .unwrap();
}

// ---- determinism ----

/// Every primitive at once under a random seed: an order of the outcome and the
/// fingerprint.
fn everything(seed: u64) -> (Vec<String>, sim_core::Fingerprint) {
    let mut sim = Sim::new(Config::random(seed));
    let out: Log<String> = log();
    let notify = Rc::new(sim_core::named("n", || Notify::new()));
    let (wtx, wrx) = sim_core::named("w", || watch::channel(0u32));
    let (tx, mut rx) = sim_core::named("m", || mpsc::channel::<u32>(1));
    for t in 0..3u32 {
        let (notify, mut wrx, tx, out) = (notify.clone(), wrx.clone(), tx.clone(), out.clone());
        sim.spawn_named(format!("t{t}"), async move {
            let permit = tx.reserve().await.unwrap();
            permit.send(t);
            notify.notified().await;
            let _ = wrx.changed().await;
            out.borrow_mut().push(format!("t{t} saw {}", *wrx.borrow_and_update()));
        });
    }
    drop(tx);
    let o = out.clone();
    sim.spawn_named("hub", async move {
        while let Some(v) = rx.recv().await {
            let (otx, orx) = oneshot::channel();
            spawn(async move { otx.send(v * 10).unwrap() });
            let v = orx.await.unwrap();
            o.borrow_mut().push(format!("hub got {v}"));
            notify.notify_one();
            wtx.send_modify(|w| *w += v);
        }
    });
    sim.run().unwrap();
    let got = out.borrow().clone();
    (got, sim.fingerprint())
}

#[test]
fn a_seed_run_twice_gives_the_same_fingerprint_with_every_primitive() {
    let mut fingerprints = BTreeSet::new();
    for seed in 0..30 {
        let first = everything(seed);
        assert_eq!(first, everything(seed), "seed {seed}");
        fingerprints.insert(first.1);
    }
    assert!(fingerprints.len() > 1, "seeds explore different orders");
}

/// `reserve_many` holds `n` slots, each sent through one permit of the iterator;
/// slots not taken are freed when the iterator goes; more than the capacity is an
/// error at once, as tokio's.
#[test]
fn reserve_many_holds_n_slots_and_frees_the_untaken_ones() {
    let mut sim = Sim::new(Config::default());
    sim.block_on(async {
        let (tx, mut rx) = sim_core::named("in", || mpsc::channel::<u32>(3));
        tx.try_send(1).unwrap();
        let mut permits = tx.reserve_many(2).await.unwrap();
        assert_eq!(permits.len(), 2);
        assert_eq!(tx.capacity(), 0);
        assert!(matches!(tx.try_reserve(), Err(TrySendError::Full(()))));
        permits.next().unwrap().send(2);
        drop(permits); // the second slot was never taken
        assert_eq!(tx.capacity(), 1);
        assert!(matches!(tx.try_reserve_many(2), Err(TrySendError::Full(()))));
        assert_eq!(tx.try_reserve_many(1).unwrap().len(), 1);
        assert_eq!(tx.try_reserve_many(0).unwrap().len(), 0);
        assert!(tx.reserve_many(4).await.is_err(), "more than the capacity can never be granted");
        assert_eq!((rx.recv().await, rx.recv().await), (Some(1), Some(2)));
        rx.close();
        assert!(tx.reserve_many(1).await.is_err());
        assert!(matches!(tx.try_reserve_many(1), Err(TrySendError::Closed(()))));
    })
    .unwrap();
}

#[test]
fn a_deadlock_report_names_the_channel_reserve_many_waits_on() {
    let mut sim = Sim::new(Config::default());
    let (tx, _rx) = sim_core::named("in", || mpsc::channel::<u8>(2));
    sim.spawn_named("producer", async move {
        tx.try_send(1).unwrap();
        let _both = tx.reserve_many(2).await.unwrap();
    });
    assert_eq!(deadlock(sim.run()), ["producer (reserve on full `in`)"]);
}
