//! Channels: mpsc (bounded, unbounded, with latency) and oneshot.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;
use std::time::Duration;

use futures::StreamExt;
use sim_core::select::{select, Either, Selectable};
use sim_core::sync::mpsc::error::{SendError, TryRecvError, TrySendError};
use sim_core::sync::{mpsc, oneshot};
use sim_core::time::{sleep, Instant};
use sim_core::tooling::trace::RecordKind;
use sim_core::{spawn, yield_now, Config, FailureKind, Sim, TraceMode};

type Log<T> = Rc<RefCell<Vec<T>>>;

fn log<T>() -> Log<T> {
    Rc::new(RefCell::new(Vec::new()))
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

// ---- order ----

#[test]
fn messages_arrive_in_the_order_each_sender_sent_them() {
    for seed in 0..20 {
        let mut sim = Sim::new(Config::random(seed));
        let (tx, mut rx) = mpsc::channel::<(u32, u32)>(3);
        for sender in 0..3 {
            let tx = tx.clone();
            sim.spawn(async move {
                for i in 0..20 {
                    tx.send((sender, i)).await.unwrap();
                    if i % 7 == 0 {
                        yield_now().await;
                    }
                }
            });
        }
        drop(tx);
        let got = log();
        let out = got.clone();
        sim.spawn(async move {
            while let Some(m) = rx.recv().await {
                out.borrow_mut().push(m);
            }
        });
        sim.run().unwrap();
        let got = got.borrow();
        assert_eq!(got.len(), 60);
        for sender in 0..3 {
            let seq: Vec<u32> = got.iter().filter(|(s, _)| *s == sender).map(|(_, i)| *i).collect();
            assert_eq!(seq, (0..20).collect::<Vec<_>>(), "seed {seed}: sender {sender} out of order");
        }
    }
}

#[test]
fn an_unbounded_channel_keeps_fifo_order() {
    let mut sim = Sim::new(Config::random(3));
    let (tx, mut rx) = mpsc::unbounded_channel();
    for i in 0..50 {
        tx.send(i).unwrap();
    }
    drop(tx);
    let got = sim.block_on(async move { rx.by_ref().collect::<Vec<_>>().await }).unwrap();
    assert_eq!(got, (0..50).collect::<Vec<_>>());
}

// ---- capacity ----

#[test]
fn a_full_channel_blocks_senders_and_lets_them_through_in_the_order_they_waited() {
    let mut orders = BTreeSet::new();
    for seed in 0..16 {
        let mut sim = Sim::new(Config::random(seed));
        let (tx, mut rx) = sim_core::named("in", || mpsc::channel::<&str>(1));
        tx.try_send("first").unwrap();
        let waited = log();
        let sent = log();
        for name in ["a", "b", "c"] {
            let (tx, waited, sent) = (tx.clone(), waited.clone(), sent.clone());
            sim.spawn_named(name, async move {
                waited.borrow_mut().push(name);
                tx.send(name).await.unwrap();
                sent.borrow_mut().push(name);
            });
        }
        sim.run_until_idle().unwrap();
        assert!(sent.borrow().is_empty(), "the channel is full: nobody gets through");
        assert!(matches!(tx.try_send("late"), Err(TrySendError::Full("late"))));
        assert_eq!(tx.capacity(), 0);
        assert_eq!(tx.max_capacity(), 1);

        let mut received = Vec::new();
        for k in 1..=4 {
            received.push(rx.try_recv().unwrap());
            // The freed slot is promised to the first waiting sender, not to a newcomer.
            if k < 4 {
                assert!(matches!(tx.try_send("late"), Err(TrySendError::Full(_))), "seed {seed}");
            }
            sim.run_until_idle().unwrap();
            assert_eq!(sent.borrow().len(), k.min(3), "one sender per freed slot");
        }
        let waited = waited.borrow().clone();
        assert_eq!(received[0], "first");
        assert_eq!(received[1..], waited[..], "seed {seed}: senders must get through in the order they waited");
        orders.insert(waited);
    }
    assert!(orders.len() > 1, "different seeds should make the senders wait in different orders");
}

#[test]
fn a_dropped_send_passes_its_granted_slot_to_the_next_sender() {
    let mut sim = Sim::new(Config::default());
    let (tx, mut rx) = mpsc::channel::<u32>(1);
    tx.try_send(0).unwrap();
    let tx2 = tx.clone();
    let quitter = sim.spawn_named("quitter", async move { tx.send(1).await });
    let patient = sim.spawn_named("patient", async move { tx2.send(2).await });
    sim.run_until_idle().unwrap();
    assert_eq!(rx.try_recv(), Ok(0));
    // The slot is granted to `quitter`, which goes away before using it.
    quitter.abort();
    sim.run_until_idle().unwrap();
    assert!(patient.is_finished(), "the slot must pass on to the next waiting sender");
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

// ---- close ----

#[test]
fn dropping_every_sender_lets_the_receiver_drain_then_see_none() {
    let mut sim = Sim::new(Config::default());
    let (tx, mut rx) = mpsc::channel(4);
    let tx2 = tx.clone();
    tx.try_send(1).unwrap();
    tx2.try_send(2).unwrap();
    drop(tx);
    assert!(!rx.is_closed(), "one sender is left");
    drop(tx2);
    assert!(rx.is_closed());
    assert_eq!(rx.len(), 2);
    let got = sim.block_on(async move { (rx.recv().await, rx.recv().await, rx.recv().await) }).unwrap();
    assert_eq!(got, (Some(1), Some(2), None));
}

#[test]
fn a_receiver_waiting_when_the_last_sender_drops_is_woken_with_none() {
    let mut sim = Sim::new(Config::default());
    let (tx, mut rx) = mpsc::unbounded_channel::<u8>();
    let end = sim.spawn(async move { rx.recv().await });
    sim.spawn(async move {
        sleep(ms(5)).await;
        drop(tx);
    });
    sim.run().unwrap();
    assert_eq!(sim.block_on(end).unwrap(), Ok(None));
    assert_eq!(sim.now(), Instant::from_millis(5));
}

#[test]
fn dropping_the_receiver_fails_sends_and_hands_the_values_back() {
    let mut sim = Sim::new(Config::default());
    let (tx, rx) = mpsc::channel::<String>(1);
    tx.try_send("kept".into()).unwrap();
    let waiting = tx.clone();
    let blocked = sim.spawn(async move { waiting.send("blocked".to_string()).await });
    sim.run_until_idle().unwrap();
    assert!(!blocked.is_finished());
    drop(rx);
    assert!(tx.is_closed());
    let result = sim.block_on(blocked).unwrap().unwrap();
    assert_eq!(result, Err(SendError("blocked".to_string())));
    match tx.try_send("after".into()) {
        Err(TrySendError::Closed(v)) => assert_eq!(v, "after"),
        other => panic!("expected Closed, got {other:?}"),
    }
    let again = sim.block_on(async move { tx.send("async".to_string()).await }).unwrap();
    assert_eq!(again.map_err(SendError::into_inner), Err("async".to_string()));

    let (utx, urx) = mpsc::unbounded_channel::<u8>();
    drop(urx);
    assert!(utx.is_closed());
    assert_eq!(utx.send(7), Err(SendError(7)));
}

#[test]
fn closing_the_receiver_refuses_new_sends_but_keeps_sent_messages() {
    let mut sim = Sim::new(Config::default());
    let (tx, mut rx) = mpsc::channel(2);
    tx.try_send(1).unwrap();
    rx.close();
    assert!(tx.is_closed());
    assert!(rx.is_closed());
    assert!(matches!(tx.try_send(2), Err(TrySendError::Closed(2))));
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    assert_eq!(sim.block_on(async move { rx.recv().await }).unwrap(), None);
}

#[test]
fn try_recv_says_empty_while_senders_live_and_disconnected_after() {
    let _sim = Sim::new(Config::default());
    let (tx, mut rx) = mpsc::channel::<u8>(1);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    tx.try_send(9).unwrap();
    assert_eq!(rx.try_recv(), Ok(9));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    drop(tx);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

// ---- latency ----

#[test]
fn a_message_with_latency_is_invisible_until_delivered_at_exactly_send_time_plus_latency() {
    let mut sim = Sim::new(Config::default());
    let (tx, mut rx) = mpsc::Builder::new().name("link").latency(ms(10)).channel::<u32>(8);
    tx.try_send(1).unwrap();
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty), "in flight, not yet delivered");
    sim.advance(ms(3)).unwrap();
    tx.try_send(2).unwrap();
    sim.run_until(Instant::from_nanos(10_000_000 - 1)).unwrap();
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty), "due at 10ms, not a nanosecond earlier");
    sim.run_until(Instant::from_millis(10)).unwrap();
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    sim.advance(ms(3)).unwrap();
    assert_eq!(sim.now(), Instant::from_millis(13));
    assert_eq!(rx.try_recv(), Ok(2));
}

#[test]
fn a_receiver_waiting_on_a_channel_with_latency_wakes_at_the_delivery_time() {
    let mut sim = Sim::new(Config::random(11));
    let (tx, mut rx) = mpsc::Builder::new().latency(ms(7)).unbounded_channel::<u32>();
    let got = log();
    let out = got.clone();
    sim.spawn(async move {
        while let Some(v) = rx.recv().await {
            out.borrow_mut().push((v, Instant::now()));
        }
    });
    sim.spawn(async move {
        for i in 0..3 {
            tx.send(i).unwrap();
            tx.send(i + 10).unwrap();
            sleep(ms(2)).await;
        }
    });
    sim.run().unwrap();
    let at = Instant::from_millis;
    assert_eq!(*got.borrow(), [(0, at(7)), (10, at(7)), (1, at(9)), (11, at(9)), (2, at(11)), (12, at(11))]);
}

#[test]
fn closing_with_messages_in_flight_still_delivers_them() {
    let mut sim = Sim::new(Config::default());
    let (tx, mut rx) = mpsc::Builder::new().latency(ms(4)).channel::<u8>(2);
    tx.try_send(5).unwrap();
    drop(tx);
    assert!(rx.is_closed());
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty), "a message is still on its way");
    let got = sim.block_on(async move { (rx.recv().await, Instant::now(), rx.recv().await) }).unwrap();
    assert_eq!(got, (Some(5), Instant::from_millis(4), None));
}

#[test]
fn capacity_counts_messages_in_flight() {
    let mut sim = Sim::new(Config::default());
    let (tx, mut rx) = mpsc::Builder::new().latency(ms(10)).channel::<u32>(2);
    tx.try_send(1).unwrap();
    tx.try_send(2).unwrap();
    assert_eq!(rx.len(), 0, "nothing delivered yet");
    assert_eq!(tx.capacity(), 0);
    assert!(matches!(tx.try_send(3), Err(TrySendError::Full(3))), "two in flight fill a capacity of two");
    sim.advance(ms(10)).unwrap();
    assert_eq!(rx.len(), 2);
    assert!(matches!(tx.try_send(3), Err(TrySendError::Full(3))), "delivered but not received still counts");
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(tx.capacity(), 1);
    tx.try_send(3).unwrap();
}

// ---- streams and selection ----

#[test]
fn receivers_are_streams() {
    let mut sim = Sim::new(Config::default());
    let (tx, rx) = mpsc::channel::<u32>(2);
    sim.spawn(async move {
        for i in 1..=5 {
            tx.send(i).await.unwrap();
            sleep(ms(1)).await;
        }
    });
    let doubled = sim.block_on(rx.map(|v| v * 2).collect::<Vec<_>>()).unwrap();
    assert_eq!(doubled, [2, 4, 6, 8, 10]);
    assert_eq!(sim.now(), Instant::from_millis(5));

    let (utx, mut urx) = mpsc::unbounded_channel::<&str>();
    utx.send("x").unwrap();
    drop(utx);
    let got = sim.block_on(async move { (urx.next().await, urx.next().await) }).unwrap();
    assert_eq!(got, (Some("x"), None));
}

#[test]
fn recv_readiness_is_probed_without_consuming() {
    let _sim = Sim::new(Config::default());
    let (tx, mut rx) = mpsc::channel::<u8>(2);
    assert!(!rx.recv().is_ready());
    tx.try_send(1).unwrap();
    assert!(rx.recv().is_ready());
    assert!(rx.recv().is_ready(), "probing must not take the message");
    assert_eq!(rx.len(), 1);
    drop(tx);
    assert_eq!(rx.try_recv(), Ok(1));
    assert!(rx.recv().is_ready(), "closed and drained: the next poll yields None");

    let (tx, mut rx) = mpsc::Builder::new().latency(ms(1)).channel::<u8>(1);
    tx.try_send(1).unwrap();
    drop(tx);
    assert!(!rx.recv().is_ready(), "closed, but a message is in flight");
}

#[test]
fn a_selection_between_two_ready_channels_takes_each_under_some_seed() {
    let pick = |seed| {
        let mut sim = Sim::new(Config::random(seed));
        let (atx, mut arx) = mpsc::channel::<&str>(1);
        let (btx, mut brx) = mpsc::unbounded_channel::<&str>();
        atx.try_send("a").unwrap();
        btx.send("b").unwrap();
        let got = sim
            .block_on(async move {
                match select(arx.recv(), brx.recv()).await {
                    Either::Left(v) | Either::Right(v) => v,
                }
            })
            .unwrap();
        (got, sim.fingerprint())
    };
    let picks: BTreeSet<_> = (0..20).map(|s| pick(s).0).collect();
    assert_eq!(picks, BTreeSet::from([Some("a"), Some("b")]));
    assert_eq!(pick(6), pick(6));
}

#[test]
fn a_send_future_is_ready_when_it_would_complete() {
    let _sim = Sim::new(Config::default());
    let (tx, rx) = mpsc::channel::<u8>(1);
    assert!(tx.send(1).is_ready());
    tx.try_send(1).unwrap();
    assert!(!tx.send(2).is_ready(), "full");
    drop(rx);
    assert!(tx.send(2).is_ready(), "closed: the send fails at once");
}

// ---- oneshot ----

#[test]
fn a_oneshot_delivers_its_value_to_a_waiting_receiver() {
    let mut sim = Sim::new(Config::default());
    let (tx, rx) = oneshot::channel::<u32>();
    sim.spawn(async move {
        sleep(ms(3)).await;
        tx.send(42).unwrap();
    });
    let got = sim.block_on(async move { (rx.await, Instant::now()) }).unwrap();
    assert_eq!(got, (Ok(42), Instant::from_millis(3)));
}

#[test]
fn a_oneshot_whose_sender_drops_fails_the_receiver() {
    let mut sim = Sim::new(Config::default());
    let (tx, rx) = oneshot::channel::<u32>();
    let (tx2, mut rx2) = oneshot::channel::<u32>();
    sim.spawn(async move {
        sleep(ms(1)).await;
        drop(tx);
    });
    assert!(sim.block_on(rx).unwrap().is_err());
    assert_eq!(rx2.try_recv(), Err(oneshot::error::TryRecvError::Empty));
    assert!(!rx2.is_ready());
    drop(tx2);
    assert!(rx2.is_ready());
    assert_eq!(rx2.try_recv(), Err(oneshot::error::TryRecvError::Closed));
}

#[test]
fn a_oneshot_whose_receiver_drops_hands_the_value_back() {
    let mut sim = Sim::new(Config::default());
    let (mut tx, rx) = oneshot::channel::<String>();
    assert!(!tx.is_closed());
    let watcher = sim.spawn(async move {
        tx.closed().await;
        (Instant::now(), tx.send("late".to_string()))
    });
    sim.spawn(async move {
        sleep(ms(2)).await;
        drop(rx);
    });
    let (at, result) = sim.block_on(watcher).unwrap().unwrap();
    assert_eq!(at, Instant::from_millis(2));
    assert_eq!(result, Err("late".to_string()));

    let (tx, mut rx) = oneshot::channel::<u8>();
    tx.send(1).unwrap();
    rx.close();
    assert_eq!(rx.try_recv(), Ok(1), "a value sent before close can still be taken");
}

// ---- reports and traces ----

#[test]
fn a_deadlock_report_names_the_channel_a_receiver_waits_on() {
    let mut sim = Sim::new(Config::random(2).name("channels::deadlock"));
    let (out_tx, mut out_rx) = sim_core::named("out", || mpsc::channel::<u32>(4));
    let (in_tx, _in_rx) = sim_core::named("in", || mpsc::channel::<u32>(1));
    let (_reply_tx, reply_rx) = sim_core::named("reply", || oneshot::channel::<u32>());
    sim.spawn_named("driver", async move { out_rx.recv().await });
    sim.spawn_named("producer", async move {
        in_tx.send(1).await.unwrap();
        in_tx.send(2).await.unwrap();
    });
    sim.spawn_named("caller", reply_rx);
    let failure = sim.run().unwrap_err();
    let FailureKind::Deadlock { blocked } = &failure.kind else { panic!("expected a deadlock, got {failure}") };
    let described: Vec<String> = blocked.iter().map(ToString::to_string).collect();
    assert_eq!(described, ["driver (recv on `out`)", "producer (send on full `in`)", "caller (recv on `reply`)"]);
    drop(out_tx);
}

#[test]
fn sends_receives_and_closes_are_traced_with_the_channel_name() {
    // An unnamed channel is named after the line that created it.
    let oneshot_line = line!() + 3;
    let mut sim = Sim::new(Config::default().trace(TraceMode::Full));
    let (tx, mut rx) = sim_core::named("pipe", || mpsc::channel::<u8>(1));
    let (otx, orx) = oneshot::channel::<u8>();
    sim.spawn_named("producer", async move {
        tx.send(1).await.unwrap();
        otx.send(2).unwrap();
    });
    sim.block_on(async move {
        rx.recv().await;
        rx.recv().await;
        orx.await.unwrap();
    })
    .unwrap();
    let ops: Vec<(RecordKind, String)> = sim
        .trace()
        .lines
        .into_iter()
        .filter(|l| matches!(l.kind, RecordKind::Send | RecordKind::Recv | RecordKind::Close))
        .map(|l| (l.kind, l.channel.unwrap()))
        .collect();
    let name = |s: &str| s.to_string();
    let unnamed = format!("channels.rs:{oneshot_line}");
    assert_eq!(
        ops,
        [
            (RecordKind::Send, name("pipe")),
            (RecordKind::Send, unnamed.clone()),
            (RecordKind::Close, name("pipe")),
            (RecordKind::Recv, name("pipe")),
            (RecordKind::Recv, unnamed),
        ]
    );
}

// ---- determinism ----

/// Four tasks each send two messages at t = 0 (one channel with latency, one
/// without); returns the order received and the fingerprint.
fn same_instant_senders(seed: u64) -> (Vec<(u32, u32)>, sim_core::Fingerprint) {
    let mut sim = Sim::new(Config::random(seed));
    let (tx, mut rx) = sim_core::named("fan-in", || mpsc::channel::<(u32, u32)>(2));
    let (ltx, mut lrx) = mpsc::Builder::new().name("wire").latency(ms(1)).unbounded_channel::<(u32, u32)>();
    for id in 0..4 {
        let (tx, ltx) = (tx.clone(), ltx.clone());
        sim.spawn(async move {
            tx.send((id, 0)).await.unwrap();
            ltx.send((id, 1)).unwrap();
        });
    }
    drop((tx, ltx));
    let got = sim
        .block_on(async move {
            let mut got: Vec<_> = rx.by_ref().collect().await;
            got.extend(lrx.by_ref().collect::<Vec<_>>().await);
            got
        })
        .unwrap();
    (got, sim.fingerprint())
}

#[test]
fn a_seed_run_twice_gives_the_same_channel_trace() {
    let mut orders = BTreeSet::new();
    for seed in 0..30 {
        let first = same_instant_senders(seed);
        assert_eq!(first, same_instant_senders(seed), "seed {seed} is not deterministic");
        orders.insert(first.0);
    }
    assert!(orders.len() > 1, "same-instant sends should be ordered differently under different seeds");
}

#[test]
fn channels_can_be_created_inside_tasks() {
    let mut sim = Sim::new(Config::default());
    let got = sim
        .block_on(async {
            let (tx, mut rx) = mpsc::channel(1);
            spawn(async move { tx.send(3).await.unwrap() });
            rx.recv().await
        })
        .unwrap();
    assert_eq!(got, Some(3));
}

// ---- wakers run outside the channel's borrow ----

thread_local! {
    static PROBED: RefCell<Option<mpsc::Sender<u8>>> = const { RefCell::new(None) };
}

/// A waker that reaches back into the channel when woken, as a combinator's waker
/// running user code may.
struct Probe;

impl std::task::Wake for Probe {
    fn wake(self: std::sync::Arc<Self>) {
        PROBED.with(|p| {
            if let Some(tx) = p.borrow().as_ref() {
                let _ = tx.capacity();
            }
        });
    }
}

#[test]
fn a_waker_that_reaches_into_the_channel_finds_it_unborrowed() {
    let mut sim = Sim::new(Config::default());
    sim.block_on(async {
        let (tx, mut rx) = mpsc::channel::<u8>(1);
        PROBED.with(|p| *p.borrow_mut() = Some(tx.clone()));
        let waker = std::task::Waker::from(std::sync::Arc::new(Probe));
        let mut cx = std::task::Context::from_waker(&waker);
        assert!(rx.poll_recv(&mut cx).is_pending());
        // The send wakes `Probe`, which reads the channel: with the state still
        // borrowed this would panic.
        tx.send(1).await.unwrap();
        assert_eq!(rx.recv().await, Some(1));
        PROBED.with(|p| p.borrow_mut().take());
    })
    .unwrap();
}
