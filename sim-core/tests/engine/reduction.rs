//! The reduction against plain enumeration on generated programs: with shared
//! memory declared, one order per class of commuting steps reaches exactly the
//! outcomes that every order reaches.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;
use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, RngAlgorithm, TestRng, TestRunner};

use sim_core::select::{select, Either};
use sim_core::sync::mpsc;
use sim_core::sync::oneshot;
use sim_core::sync::{broadcast, watch, Barrier, Notify, OnceCell};
use sim_core::task::JoinSet;
use sim_core::time::{interval, sleep, timeout};
use sim_core::tooling::strategy::explore_all;
use sim_core::tooling::strategy::explore_reduced;
use sim_core::touch;
use sim_core::{choose, yield_now, Config, Sim};

/// One operation of a generated task.
#[derive(Clone, Copy, Debug)]
enum Op {
    /// Sleeps this many milliseconds (0 or 5: same-instant wake-ups are the point).
    Sleep(u64),
    /// Sends the task's number on a channel.
    Send(usize),
    /// Takes a message from a channel if one is there, and notes what it got.
    TryRecv(usize),
    /// Notes how many messages a channel holds.
    Len(usize),
    /// Appends the task's number to the shared log, declared with `touch`.
    Append,
    /// Yields to the other events due now.
    Yield,
    /// Draws 0 or 1 (a code-level choice) and notes it.
    Choose,
    /// Draws 0 or 1 and sends on the channel when it drew the second number: what
    /// the step touches depends on a choice made inside it.
    MaybeSend(usize, usize),
}

const CHANNELS: usize = 2;

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        prop_oneof![Just(0u64), Just(5)].prop_map(Op::Sleep),
        (0..CHANNELS).prop_map(Op::Send),
        (0..CHANNELS).prop_map(Op::TryRecv),
        (0..CHANNELS).prop_map(Op::Len),
        Just(Op::Append),
        Just(Op::Yield),
        Just(Op::Choose),
        (0..CHANNELS, 0..2usize).prop_map(|(c, on)| Op::MaybeSend(c, on)),
    ]
}

fn program() -> impl Strategy<Value = Vec<Vec<Op>>> {
    prop::collection::vec(prop::collection::vec(op(), 1..4), 2..4)
}

/// What a run of the program ends with: what each task noted, the shared log, and
/// the messages left in each channel.
type Outcome = (Vec<Vec<i64>>, Vec<usize>, Vec<usize>);

fn run(program: &[Vec<Op>], sim: &mut Sim) -> Outcome {
    let log = Rc::new(RefCell::new(Vec::new()));
    // Shared through `Rc`s that outlive the tasks: a task ending drops no sender, so
    // only the operations themselves touch the channels.
    let mut senders = Vec::new();
    let mut receivers = Vec::new();
    for c in 0..CHANNELS {
        let (tx, rx) = sim_core::named(format!("ch{c}"), || mpsc::unbounded_channel::<usize>());
        senders.push(tx);
        receivers.push(RefCell::new(rx));
    }
    let (senders, receivers) = (Rc::new(senders), Rc::new(receivers));
    let notes: Vec<Rc<RefCell<Vec<i64>>>> = program.iter().map(|_| Rc::new(RefCell::new(Vec::new()))).collect();
    for (t, ops) in program.iter().enumerate() {
        let (ops, log, notes) = (ops.clone(), log.clone(), notes[t].clone());
        let (senders, receivers) = (senders.clone(), receivers.clone());
        sim.spawn_named(format!("t{t}"), async move {
            for op in ops {
                match op {
                    Op::Sleep(ms) => sleep(Duration::from_millis(ms)).await,
                    Op::Send(c) => senders[c].send(t).unwrap(),
                    Op::TryRecv(c) => {
                        let got = receivers[c].borrow_mut().try_recv().ok();
                        notes.borrow_mut().push(got.map_or(-1, |v| v as i64));
                    }
                    Op::Len(c) => notes.borrow_mut().push(receivers[c].borrow().len() as i64),
                    Op::Append => {
                        touch("log");
                        log.borrow_mut().push(t);
                    }
                    Op::Yield => yield_now().await,
                    Op::Choose => notes.borrow_mut().push(choose(2) as i64),
                    Op::MaybeSend(c, on) => {
                        if choose(2) == on {
                            senders[c].send(t).unwrap();
                        }
                    }
                }
            }
        });
    }
    sim.run().unwrap();
    let noted = notes.iter().map(|n| n.borrow().clone()).collect();
    let left = receivers.iter().map(|r| r.borrow().len()).collect();
    let out = log.borrow().clone();
    (noted, out, left)
}

/// Every order (when there are at most `limit`), or `None`.
fn all_outcomes(program: &[Vec<Op>], limit: usize) -> Option<(usize, BTreeSet<Outcome>)> {
    let mut outcomes = BTreeSet::new();
    let e = explore_all(limit, |prefix| {
        let mut sim = Sim::new(Config::replay(prefix.clone()));
        outcomes.insert(run(program, &mut sim));
        sim.recorded_tape()
    });
    e.exhausted.then_some((e.runs, outcomes))
}

fn reduced_outcomes(program: &[Vec<Op>]) -> (usize, BTreeSet<Outcome>) {
    let mut outcomes = BTreeSet::new();
    let e = explore_reduced(100_000, |strategy| {
        let mut sim = sim_core::tooling::strategy::sim_with(Config::default(), strategy);
        outcomes.insert(run(program, &mut sim));
        false
    })
    .expect("generated programs are deterministic");
    assert!(e.exhausted);
    (e.runs, outcomes)
}

/// 200 generated programs of 2 or 3 tasks with up to 3 operations each, on two
/// channels and a declared log: the reduction reaches every outcome of plain
/// enumeration, in no more runs, and in fewer runs on most programs.
#[test]
fn the_reduction_reaches_every_outcome_of_plain_enumeration() {
    let config = ProptestConfig { cases: 200, failure_persistence: None, ..ProptestConfig::default() };
    let mut runner = TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    let (mut compared, mut smaller) = (0u32, 0u32);
    let counts = RefCell::new((&mut compared, &mut smaller));
    runner
        .run(&program(), |program| {
            let Some((all_runs, all)) = all_outcomes(&program, 20_000) else { return Ok(()) };
            let (reduced_runs, reduced) = reduced_outcomes(&program);
            prop_assert_eq!(&reduced, &all, "the reduction lost outcomes of {:?}", program);
            prop_assert!(reduced_runs <= all_runs);
            let mut c = counts.borrow_mut();
            *c.0 += 1;
            if reduced_runs < all_runs {
                *c.1 += 1;
            }
            Ok(())
        })
        .unwrap();
    assert!(compared >= 150, "most generated programs are small enough to enumerate ({compared})");
    assert!(smaller * 2 >= compared, "the reduction cuts most programs ({smaller} of {compared})");
}

/// Two reduced enumerations of one program run the same executions in the same
/// order (compared by fingerprint) and count the same steps.
#[test]
fn the_reduced_enumeration_is_deterministic() {
    let program = vec![
        vec![Op::Send(0), Op::Sleep(5), Op::TryRecv(1)],
        vec![Op::MaybeSend(1, 0), Op::Len(0), Op::Append],
        vec![Op::Sleep(5), Op::Append, Op::TryRecv(0)],
    ];
    let enumerate = || {
        let mut fingerprints = Vec::new();
        let e = explore_reduced(100_000, |strategy| {
            let mut sim = sim_core::tooling::strategy::sim_with(Config::default(), strategy);
            run(&program, &mut sim);
            fingerprints.push(sim.fingerprint());
            false
        })
        .unwrap();
        (e, fingerprints)
    };
    let (first, second) = (enumerate(), enumerate());
    assert!(first.0.exhausted && first.0.runs > 1);
    assert!(0 < first.0.replayed_steps && first.0.replayed_steps < first.0.steps);
    assert_eq!(first.1.len(), first.0.runs + first.0.redundant);
    assert_eq!(first, second);
}

/// Collecting footprints changes nothing in a run: the reduced enumeration's first
/// execution takes the canonical option everywhere and matches a FIFO run's trace.
#[test]
fn collecting_footprints_leaves_the_run_unchanged() {
    let program = vec![vec![Op::Send(0), Op::Yield, Op::TryRecv(0)], vec![Op::Sleep(5), Op::Append], vec![Op::Len(0)]];
    let mut fifo = Sim::new(Config::default());
    let expected = run(&program, &mut fifo);
    let mut first = None;
    explore_reduced(1, |strategy| {
        let mut sim = sim_core::tooling::strategy::sim_with(Config::default(), strategy);
        let outcome = run(&program, &mut sim);
        first.get_or_insert((outcome, sim.fingerprint()));
        false
    })
    .unwrap();
    assert_eq!(first, Some((expected, fifo.fingerprint())));
}

/// A program that does not replay its own prefix (here, one that spawns a task
/// more on every other execution) is reported, not explored wrongly.
#[test]
fn a_program_that_does_not_replay_its_prefix_is_reported() {
    use sim_core::tooling::strategy::ExploreError;
    let executions = std::cell::Cell::new(0usize);
    let result = explore_reduced(100, |strategy| {
        let mut sim = sim_core::tooling::strategy::sim_with(Config::default(), strategy);
        let tasks = 2 + executions.get() % 2;
        executions.set(executions.get() + 1);
        for t in 0..tasks {
            sim.spawn_named(format!("t{t}"), async move {
                touch("log");
            });
        }
        sim.run().unwrap();
        false
    });
    assert_eq!(result, Err(ExploreError::Nondeterministic { run: 2, depth: 0 }));
    assert!(result.unwrap_err().to_string().contains("the program is not deterministic"));
}

// ---- richer programs: selects, blocking sends, latency, spawns and joins ----

/// One operation of a richer generated task.
#[derive(Clone, Copy, Debug)]
enum Rich {
    /// Sleeps 0 or 5 ms.
    Sleep(u64),
    /// Sends without waiting; notes whether it got in.
    TrySend(usize),
    /// Sends, waiting at most 5 ms for room; notes whether it got in.
    SendWait(usize),
    /// Takes a message if one is there; notes it.
    TryRecv(usize),
    /// Selects between a receive and a 5 ms sleep; notes what won.
    Recv(usize),
    /// Notes how many messages a channel holds.
    Len(usize),
    /// Appends to the declared log.
    Append,
    /// Draws 0 or 1 and notes it.
    Choose,
    /// Spawns a child that sends on channel 0, joins it, notes that it joined.
    Spawn,
    /// Spawns a child that would send on channel 0 after a yield, yields, aborts it,
    /// and notes whether it had finished.
    Abort,
    /// Closes a channel's receiving side (when the receiver is there).
    Close(usize),
    /// Sends the task's number on the shared oneshot (once: later sends note -2).
    OneshotSend,
    /// Waits at most 5 ms for the shared oneshot; notes the value, -3 on timeout,
    /// -4 when its sender is gone, -2 when another task holds the receiver.
    OneshotRecv,
    /// Ticks an interval of 5 ms twice (at once, then 5 ms later).
    Interval,
}

fn rich_op() -> impl Strategy<Value = Rich> {
    prop_oneof![
        prop_oneof![Just(0u64), Just(5)].prop_map(Rich::Sleep),
        (0..CHANNELS).prop_map(Rich::TrySend),
        (0..CHANNELS).prop_map(Rich::SendWait),
        (0..CHANNELS).prop_map(Rich::TryRecv),
        (0..CHANNELS).prop_map(Rich::Recv),
        (0..CHANNELS).prop_map(Rich::Len),
        Just(Rich::Append),
        Just(Rich::Choose),
        Just(Rich::Spawn),
        Just(Rich::Abort),
        (0..CHANNELS).prop_map(Rich::Close),
        Just(Rich::OneshotSend),
        Just(Rich::OneshotRecv),
        Just(Rich::Interval),
    ]
}

/// Channel 0 holds 2 messages and delivers at once; channel 1 holds 1 and
/// delivers 5 ms after the send. With `block_on`, the first task runs as the
/// simulation's `main` and the run stops when it ends, other tasks or not.
fn rich_run(program: &[Vec<Rich>], block_on: bool, sim: &mut Sim) -> (Vec<Vec<i64>>, Vec<usize>, Vec<usize>, String) {
    let log = Rc::new(RefCell::new(Vec::new()));
    let (tx0, rx0) = sim_core::named("ch0", || mpsc::channel::<usize>(2));
    let (tx1, rx1) = mpsc::Builder::new().name("ch1").latency(Duration::from_millis(5)).channel::<usize>(1);
    let senders = Rc::new(vec![tx0, tx1]);
    // A task that awaits a receive takes the receiver out for the wait; another task
    // that wants it meanwhile notes -2 instead.
    let receivers = Rc::new(vec![RefCell::new(Some(rx0)), RefCell::new(Some(rx1))]);
    let (os_tx, os_rx) = sim_core::named("os", || oneshot::channel::<usize>());
    let oneshot = Rc::new((RefCell::new(Some(os_tx)), RefCell::new(Some(os_rx))));
    let notes: Vec<Rc<RefCell<Vec<i64>>>> = program.iter().map(|_| Rc::new(RefCell::new(Vec::new()))).collect();
    let mut main = None;
    for (t, ops) in program.iter().enumerate() {
        let (ops, log, notes) = (ops.clone(), log.clone(), notes[t].clone());
        let (senders, receivers, oneshot) = (senders.clone(), receivers.clone(), oneshot.clone());
        let task = async move {
            let note = |v: i64| notes.borrow_mut().push(v);
            for op in ops {
                match op {
                    Rich::Sleep(ms) => sleep(Duration::from_millis(ms)).await,
                    Rich::TrySend(c) => note(i64::from(senders[c].try_send(t).is_ok())),
                    Rich::SendWait(c) => {
                        let sent = timeout(Duration::from_millis(5), senders[c].send(t)).await;
                        note(i64::from(matches!(sent, Ok(Ok(())))));
                    }
                    Rich::TryRecv(c) => {
                        let got = receivers[c].borrow_mut().as_mut().map(|rx| rx.try_recv().ok());
                        note(match got {
                            None => -2,
                            Some(None) => -1,
                            Some(Some(v)) => v as i64,
                        });
                    }
                    Rich::Recv(c) => {
                        let Some(mut rx) = receivers[c].borrow_mut().take() else {
                            note(-2);
                            continue;
                        };
                        let got = match select(rx.recv(), sleep(Duration::from_millis(5))).await {
                            Either::Left(Some(v)) => v as i64,
                            Either::Left(None) => -4,
                            Either::Right(()) => -3,
                        };
                        *receivers[c].borrow_mut() = Some(rx);
                        note(got);
                    }
                    Rich::Len(c) => note(receivers[c].borrow().as_ref().map_or(-2, |rx| rx.len() as i64)),
                    Rich::Append => {
                        touch("log");
                        log.borrow_mut().push(t);
                    }
                    Rich::Choose => note(choose(2) as i64),
                    Rich::Spawn => {
                        let tx = senders.clone();
                        let child = sim_core::spawn(async move {
                            let _ = tx[0].try_send(10 + t);
                        });
                        note(i64::from(child.await.is_ok()));
                    }
                    Rich::Abort => {
                        let tx = senders.clone();
                        let child = sim_core::spawn(async move {
                            yield_now().await;
                            let _ = tx[0].try_send(20 + t);
                        });
                        yield_now().await;
                        child.abort();
                        note(i64::from(child.is_finished()));
                    }
                    Rich::Close(c) => {
                        if let Some(rx) = receivers[c].borrow_mut().as_mut() {
                            rx.close();
                        }
                    }
                    Rich::OneshotSend => {
                        let tx = oneshot.0.borrow_mut().take();
                        note(tx.map_or(-2, |tx| i64::from(tx.send(t).is_ok())));
                    }
                    Rich::OneshotRecv => {
                        let Some(mut rx) = oneshot.1.borrow_mut().take() else {
                            note(-2);
                            continue;
                        };
                        let got = match timeout(Duration::from_millis(5), &mut rx).await {
                            Ok(Ok(v)) => v as i64,
                            Ok(Err(_)) => -4,
                            Err(_) => -3,
                        };
                        // A receiver that delivered its value is spent: keep it away.
                        if got == -3 {
                            *oneshot.1.borrow_mut() = Some(rx);
                        }
                        note(got);
                    }
                    Rich::Interval => {
                        let mut ticks = interval(Duration::from_millis(5));
                        ticks.tick().await;
                        ticks.tick().await;
                    }
                }
            }
        };
        if block_on && t == 0 {
            main = Some(task);
        } else {
            sim.spawn_named(format!("t{t}"), task);
        }
    }
    let result = match main {
        Some(main) => sim.block_on(main),
        None => sim.run(),
    };
    let result = match result {
        Ok(()) => "pass".to_string(),
        Err(failure) => failure.kind.class().to_string(),
    };
    let noted = notes.iter().map(|n| n.borrow().clone()).collect();
    let left = receivers.iter().map(|r| r.borrow().as_ref().map_or(usize::MAX, |rx| rx.len())).collect();
    let out = log.borrow().clone();
    (noted, out, left, result)
}

/// Whether the reduced enumeration of a richer program reaches exactly the outcomes of
/// every order (when there are at most `limit` orders).
fn rich_outcomes_agree(program: &[Vec<Rich>], block_on: bool, limit: usize) -> Option<(bool, usize, usize)> {
    let mut all = BTreeSet::new();
    let every = explore_all(limit, |prefix| {
        let mut sim = Sim::new(Config::replay(prefix.clone()));
        all.insert(rich_run(program, block_on, &mut sim));
        sim.recorded_tape()
    });
    if !every.exhausted {
        return None;
    }
    let mut reduced = BTreeSet::new();
    let classes = explore_reduced(100_000, |strategy| {
        let mut sim = sim_core::tooling::strategy::sim_with(Config::default(), strategy);
        reduced.insert(rich_run(program, block_on, &mut sim));
        false
    })
    .expect("generated programs are deterministic");
    assert!(classes.exhausted);
    Some((reduced == all, classes.runs, every.runs))
}

/// Programs that once lost outcomes, kept as regressions (like proptest's
/// regression files): which task ends last decides where `run` stops, so task ends
/// do not commute (the first); the step after which `block_on` stops leaves the
/// events still pending unapplied, so it commutes with nothing (the second).
#[test]
fn the_reduction_keeps_the_orders_that_decide_where_a_run_stops() {
    use Rich::*;
    let last_end = vec![vec![TrySend(1)], vec![Recv(0)], vec![SendWait(1), TryRecv(0)]];
    assert_eq!(rich_outcomes_agree(&last_end, false, 100_000).map(|r| r.0), Some(true));
    let block_on_end = vec![vec![Choose], vec![Spawn, Recv(1)]];
    assert_eq!(rich_outcomes_agree(&block_on_end, true, 100_000).map(|r| r.0), Some(true));
}

/// 200 generated programs of 2 or 3 tasks with selects against timers, sends that wait
/// for room under a timeout, a channel with latency, closed receivers, a oneshot,
/// intervals, and tasks that spawn, join and abort children, run to the end or until
/// their first task ends (`block_on`): the reduction reaches every outcome that plain
/// enumeration reaches.
#[test]
fn the_reduction_reaches_every_outcome_with_selects_latency_waiting_sends_and_joins() {
    let config = ProptestConfig { cases: 200, failure_persistence: None, ..ProptestConfig::default() };
    let mut runner = TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    let programs = (prop::collection::vec(prop::collection::vec(rich_op(), 1..4), 2..4), any::<bool>());
    let (compared, smaller) = (RefCell::new(0u32), RefCell::new(0u32));
    runner
        .run(&programs, |(program, block_on)| {
            let Some((agree, reduced_runs, all_runs)) = rich_outcomes_agree(&program, block_on, 4_000) else {
                return Ok(());
            };
            prop_assert!(agree, "the reduction lost outcomes of {:?} (block_on: {})", program, block_on);
            *compared.borrow_mut() += 1;
            if reduced_runs < all_runs {
                *smaller.borrow_mut() += 1;
            }
            Ok(())
        })
        .unwrap();
    let (compared, smaller) = (compared.into_inner(), smaller.into_inner());
    assert!(compared >= 120, "most generated programs are small enough to enumerate ({compared})");
    assert!(smaller * 2 >= compared, "the reduction cuts most programs ({smaller} of {compared})");
}

// ---- Notify, watch and reservations ----

/// One operation of a generated task on the newer primitives.
#[derive(Clone, Copy, Debug)]
enum SyncOp {
    /// Sleeps 0 or 5 ms.
    Sleep(u64),
    /// `notify_one` on the shared `Notify`.
    NotifyOne,
    /// `notify_waiters` on the shared `Notify`.
    NotifyWaiters,
    /// Waits at most 5 ms for a notification; notes 1, or -3 on timeout.
    Notified,
    /// Sends the task's number on the watch channel (`send_modify`: it adds it).
    WatchSend,
    /// Waits at most 5 ms for a change; notes the value, -3 on timeout, -4 when closed.
    WatchChanged,
    /// Notes the watch value without marking it seen, and whether it changed.
    WatchBorrow,
    /// Reserves a slot on the bounded channel (at most 5 ms), yields holding it, then
    /// sends through it; notes whether it got one.
    Reserve,
    /// Takes what the bounded channel holds (up to 2 messages); notes how many.
    RecvMany,
    /// Appends to the declared log.
    Append,
}

fn sync_op() -> impl Strategy<Value = SyncOp> {
    prop_oneof![
        prop_oneof![Just(0u64), Just(5)].prop_map(SyncOp::Sleep),
        Just(SyncOp::NotifyOne),
        Just(SyncOp::NotifyWaiters),
        Just(SyncOp::Notified),
        Just(SyncOp::WatchSend),
        Just(SyncOp::WatchChanged),
        Just(SyncOp::WatchBorrow),
        Just(SyncOp::Reserve),
        Just(SyncOp::RecvMany),
        Just(SyncOp::Append),
    ]
}

/// A `Notify`, a watch channel (one receiver per task) and a bounded channel of one
/// slot, shared by every task. A task that wants the bounded channel's receiver
/// while another holds it for a wait notes -2.
fn sync_run(program: &[Vec<SyncOp>], sim: &mut Sim) -> (Vec<Vec<i64>>, Vec<usize>, u64, String) {
    let log = Rc::new(RefCell::new(Vec::new()));
    let notify = Rc::new(sim_core::named("n", || Notify::new()));
    let (wtx, wrx) = sim_core::named("w", || watch::channel(0u64));
    let wtx = Rc::new(wtx);
    let (tx, rx) = sim_core::named("m", || mpsc::channel::<usize>(1));
    let tx = Rc::new(tx);
    let rx = Rc::new(RefCell::new(Some(rx)));
    let notes: Vec<Rc<RefCell<Vec<i64>>>> = program.iter().map(|_| Rc::new(RefCell::new(Vec::new()))).collect();
    for (t, ops) in program.iter().enumerate() {
        let (ops, log, notes) = (ops.clone(), log.clone(), notes[t].clone());
        let (notify, wtx, mut wrx, tx, rx) = (notify.clone(), wtx.clone(), wrx.clone(), tx.clone(), rx.clone());
        sim.spawn_named(format!("t{t}"), async move {
            let note = |v: i64| notes.borrow_mut().push(v);
            for op in ops {
                match op {
                    SyncOp::Sleep(ms) => sleep(Duration::from_millis(ms)).await,
                    SyncOp::NotifyOne => notify.notify_one(),
                    SyncOp::NotifyWaiters => notify.notify_waiters(),
                    SyncOp::Notified => {
                        note(if timeout(Duration::from_millis(5), notify.notified()).await.is_ok() { 1 } else { -3 })
                    }
                    SyncOp::WatchSend => wtx.send_modify(|v| *v = *v * 10 + t as u64 + 1),
                    SyncOp::WatchChanged => {
                        let got = match timeout(Duration::from_millis(5), wrx.changed()).await {
                            Ok(Ok(())) => *wrx.borrow_and_update() as i64,
                            Ok(Err(_)) => -4,
                            Err(_) => -3,
                        };
                        note(got);
                    }
                    SyncOp::WatchBorrow => {
                        let seen = wrx.borrow();
                        note(*seen as i64 * 2 + i64::from(seen.has_changed()));
                    }
                    SyncOp::Reserve => match timeout(Duration::from_millis(5), tx.reserve()).await {
                        Ok(Ok(permit)) => {
                            yield_now().await;
                            permit.send(t);
                            note(1);
                        }
                        _ => note(0),
                    },
                    SyncOp::RecvMany => {
                        let Some(mut r) = rx.borrow_mut().take() else {
                            note(-2);
                            continue;
                        };
                        let mut got = Vec::new();
                        let n = select(r.recv_many(&mut got, 2), sleep(Duration::from_millis(5))).await;
                        *rx.borrow_mut() = Some(r);
                        note(match n {
                            Either::Left(n) => n as i64 * 10 + got.first().map_or(0, |v| *v as i64),
                            Either::Right(()) => -3,
                        });
                    }
                    SyncOp::Append => {
                        touch("log");
                        log.borrow_mut().push(t);
                    }
                }
            }
        });
    }
    drop(wrx);
    let result = match sim.run() {
        Ok(()) => "pass".to_string(),
        Err(failure) => failure.kind.class().to_string(),
    };
    let noted = notes.iter().map(|n| n.borrow().clone()).collect();
    let value = *wtx.borrow();
    let out = log.borrow().clone();
    (noted, out, value, result)
}

/// Whether the reduced enumeration of a program on the newer primitives reaches
/// exactly the outcomes of every order (when there are at most `limit` orders).
fn sync_outcomes_agree(program: &[Vec<SyncOp>], limit: usize) -> Option<(bool, usize, usize)> {
    let mut all = BTreeSet::new();
    let every = explore_all(limit, |prefix| {
        let mut sim = Sim::new(Config::replay(prefix.clone()));
        all.insert(sync_run(program, &mut sim));
        sim.recorded_tape()
    });
    if !every.exhausted {
        return None;
    }
    let mut reduced = BTreeSet::new();
    let classes = explore_reduced(100_000, |strategy| {
        let mut sim = sim_core::tooling::strategy::sim_with(Config::default(), strategy);
        reduced.insert(sync_run(program, &mut sim));
        false
    })
    .expect("generated programs are deterministic");
    assert!(classes.exhausted);
    Some((reduced == all, classes.runs, every.runs))
}

/// 150 generated programs of 2 or 3 tasks on a `Notify` (`notify_one`,
/// `notify_waiters`, waits under a timeout), a watch channel (`send_modify`,
/// `changed` under a timeout, `borrow`) and a one-slot channel (reservations held
/// across a yield, `recv_many` in a select against a timer): the reduction reaches
/// every outcome that plain enumeration reaches.
#[test]
fn the_reduction_reaches_every_outcome_with_notify_watch_and_reservations() {
    let config = ProptestConfig { cases: 150, failure_persistence: None, ..ProptestConfig::default() };
    let mut runner = TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    let programs = prop::collection::vec(prop::collection::vec(sync_op(), 1..4), 2..4);
    let (compared, smaller) = (RefCell::new(0u32), RefCell::new(0u32));
    runner
        .run(&programs, |program| {
            let Some((agree, reduced_runs, all_runs)) = sync_outcomes_agree(&program, 4_000) else {
                return Ok(());
            };
            prop_assert!(agree, "the reduction lost outcomes of {:?}", program);
            *compared.borrow_mut() += 1;
            if reduced_runs < all_runs {
                *smaller.borrow_mut() += 1;
            }
            Ok(())
        })
        .unwrap();
    let (compared, smaller) = (compared.into_inner(), smaller.into_inner());
    assert!(compared >= 100, "most generated programs are small enough to enumerate ({compared})");
    assert!(smaller * 2 >= compared, "the reduction cuts most programs ({smaller} of {compared})");
}

// ---- JoinSet (and the primitives of issue 11 part B) ----

/// One operation of a generated task on a `JoinSet` of its own and a shared `Notify`.
#[derive(Clone, Copy, Debug)]
enum SetOp {
    /// Sleeps 0 or 5 ms.
    Sleep(u64),
    /// Spawns a child into the task's `JoinSet`: it yields twice, notifies the shared
    /// `Notify` and returns the task's number plus 10.
    Spawn,
    /// Waits at most 5 ms for the next child to end; notes its output, -1 when the
    /// set is empty, -5 when the child was aborted, -3 on timeout.
    Join,
    /// Takes an ended child's output without waiting; notes it, or -1.
    TryJoin,
    /// Aborts every child still in the set.
    AbortAll,
    /// Waits at most 5 ms for a notification; notes 1, or -3 on timeout.
    Notified,
    /// Appends to the declared log.
    Append,
    /// Waits at most 5 ms at the shared barrier for 2; notes 1 as the leader, 0 as
    /// not, -3 on timeout (the arrival still counts, as tokio's).
    BarrierWait,
    /// Waits at most 5 ms for the shared `OnceCell`, initializing it (after a yield)
    /// with the task's number if it is empty; notes the value, or -3 on timeout.
    CellInit,
    /// Notes the `OnceCell`'s value, or -1.
    CellGet,
    /// Sends the task's number on the broadcast channel (capacity 1); notes how many
    /// receivers see it, or -1.
    Broadcast,
    /// Waits at most 5 ms on the task's own broadcast receiver; notes the value, -10
    /// minus the count when it lagged, -4 when closed, -3 on timeout.
    BroadcastRecv,
    /// Takes a value from the task's own broadcast receiver without waiting; notes
    /// it, -1 when there is none, -10 minus the count when it lagged.
    BroadcastTryRecv,
}

fn set_op() -> impl Strategy<Value = SetOp> {
    prop_oneof![
        prop_oneof![Just(0u64), Just(5)].prop_map(SetOp::Sleep),
        Just(SetOp::Spawn),
        Just(SetOp::Join),
        Just(SetOp::TryJoin),
        Just(SetOp::AbortAll),
        Just(SetOp::Notified),
        Just(SetOp::Append),
        Just(SetOp::BarrierWait),
        Just(SetOp::CellInit),
        Just(SetOp::CellGet),
        Just(SetOp::Broadcast),
        Just(SetOp::BroadcastRecv),
        Just(SetOp::BroadcastTryRecv),
    ]
}

/// Each task owns a `JoinSet` (dropped, aborting what is left, when the task ends);
/// the children share a `Notify` with every task.
fn set_run(program: &[Vec<SetOp>], sim: &mut Sim) -> (Vec<Vec<i64>>, Vec<usize>, String) {
    let log = Rc::new(RefCell::new(Vec::new()));
    let notify = Rc::new(sim_core::named("n", || Notify::new()));
    let barrier = Rc::new(sim_core::named("b", || Barrier::new(2)));
    let cell = Rc::new(sim_core::named("c", || OnceCell::new()));
    let (btx, _) = sim_core::named("bc", || broadcast::channel::<usize>(1));
    let btx = Rc::new(btx);
    let notes: Vec<Rc<RefCell<Vec<i64>>>> = program.iter().map(|_| Rc::new(RefCell::new(Vec::new()))).collect();
    for (t, ops) in program.iter().enumerate() {
        let (ops, log, notes, notify) = (ops.clone(), log.clone(), notes[t].clone(), notify.clone());
        let (barrier, cell, btx, mut brx) = (barrier.clone(), cell.clone(), btx.clone(), btx.subscribe());
        sim.spawn_named(format!("t{t}"), async move {
            let note = |v: i64| notes.borrow_mut().push(v);
            let mut set = sim_core::named(format!("set{t}"), || JoinSet::new());
            for op in ops {
                match op {
                    SetOp::Sleep(ms) => sleep(Duration::from_millis(ms)).await,
                    SetOp::Spawn => {
                        let notify = notify.clone();
                        set.spawn(async move {
                            yield_now().await;
                            yield_now().await;
                            notify.notify_one();
                            t as i64 + 10
                        });
                    }
                    SetOp::Join => note(match timeout(Duration::from_millis(5), set.join_next()).await {
                        Ok(Some(Ok(v))) => v,
                        Ok(Some(Err(_))) => -5,
                        Ok(None) => -1,
                        Err(_) => -3,
                    }),
                    SetOp::TryJoin => note(match set.try_join_next() {
                        Some(Ok(v)) => v,
                        Some(Err(_)) => -5,
                        None => -1,
                    }),
                    SetOp::AbortAll => set.abort_all(),
                    SetOp::Notified => {
                        note(if timeout(Duration::from_millis(5), notify.notified()).await.is_ok() { 1 } else { -3 })
                    }
                    SetOp::Append => {
                        touch("log");
                        log.borrow_mut().push(t);
                    }
                    SetOp::BarrierWait => note(match timeout(Duration::from_millis(5), barrier.wait()).await {
                        Ok(r) => i64::from(r.is_leader()),
                        Err(_) => -3,
                    }),
                    SetOp::CellInit => {
                        let init = cell.get_or_init(|| async move {
                            yield_now().await;
                            t as i64
                        });
                        note(timeout(Duration::from_millis(5), init).await.map_or(-3, |v| *v));
                    }
                    SetOp::CellGet => note(cell.get().copied().unwrap_or(-1)),
                    SetOp::Broadcast => note(btx.send(t).map_or(-1, |n| n as i64)),
                    SetOp::BroadcastRecv => note(match timeout(Duration::from_millis(5), brx.recv()).await {
                        Ok(Ok(v)) => v as i64,
                        Ok(Err(broadcast::error::RecvError::Lagged(n))) => -10 - n as i64,
                        Ok(Err(broadcast::error::RecvError::Closed)) => -4,
                        Err(_) => -3,
                    }),
                    SetOp::BroadcastTryRecv => note(match brx.try_recv() {
                        Ok(v) => v as i64,
                        Err(broadcast::error::TryRecvError::Lagged(n)) => -10 - n as i64,
                        Err(_) => -1,
                    }),
                }
            }
        });
    }
    let result = match sim.run() {
        Ok(()) => "pass".to_string(),
        Err(failure) => failure.kind.class().to_string(),
    };
    let noted = notes.iter().map(|n| n.borrow().clone()).collect();
    let out = log.borrow().clone();
    (noted, out, result)
}

/// Whether the reduced enumeration reaches exactly the outcomes of every order.
fn set_outcomes_agree(program: &[Vec<SetOp>], limit: usize) -> Option<(bool, usize, usize)> {
    let mut all = BTreeSet::new();
    let every = explore_all(limit, |prefix| {
        let mut sim = Sim::new(Config::replay(prefix.clone()));
        all.insert(set_run(program, &mut sim));
        sim.recorded_tape()
    });
    if !every.exhausted {
        return None;
    }
    let mut reduced = BTreeSet::new();
    let classes = explore_reduced(100_000, |strategy| {
        let mut sim = sim_core::tooling::strategy::sim_with(Config::default(), strategy);
        reduced.insert(set_run(program, &mut sim));
        false
    })
    .expect("generated programs are deterministic");
    assert!(classes.exhausted);
    Some((reduced == all, classes.runs, every.runs))
}

/// 120 generated programs of 2 or 3 tasks, each with a `JoinSet` of its own
/// (children that yield and notify, joins under a timeout, `try_join_next`,
/// `abort_all`, the set dropped with the task), a shared `Notify`, a `Barrier` for 2
/// (waits under a timeout), a `OnceCell` (initializers that yield, cancelled by a
/// timeout, and plain reads) and a broadcast channel of capacity 1 (sends, receives
/// that lag, under a timeout): the reduction reaches every outcome that plain
/// enumeration reaches.
#[test]
fn the_reduction_reaches_every_outcome_with_join_sets_barriers_once_cells_and_broadcast() {
    let config = ProptestConfig { cases: 120, failure_persistence: None, ..ProptestConfig::default() };
    let mut runner = TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    let programs = prop::collection::vec(prop::collection::vec(set_op(), 1..4), 2..4);
    let (compared, smaller) = (RefCell::new(0u32), RefCell::new(0u32));
    runner
        .run(&programs, |program| {
            let Some((agree, reduced_runs, all_runs)) = set_outcomes_agree(&program, 4_000) else {
                return Ok(());
            };
            prop_assert!(agree, "the reduction lost outcomes of {:?}", program);
            *compared.borrow_mut() += 1;
            if reduced_runs < all_runs {
                *smaller.borrow_mut() += 1;
            }
            Ok(())
        })
        .unwrap();
    let (compared, smaller) = (compared.into_inner(), smaller.into_inner());
    assert!(compared >= 80, "most generated programs are small enough to enumerate ({compared})");
    assert!(smaller * 2 >= compared, "the reduction cuts most programs ({smaller} of {compared})");
}

/// One operation of a generated task on the locks.
#[derive(Clone, Copy, Debug)]
enum LockOp {
    /// Sleeps 0 or 5 ms.
    Sleep(u64),
    /// Acquires 1 or 2 permits of the shared semaphore (at most 5 ms), yields
    /// holding them, releases; notes the permits left while it held them, or -3 on
    /// timeout.
    Acquire(u32),
    /// `try_acquire` of one permit, released at once; notes whether it got one.
    TryAcquire,
    /// Adds a permit to the semaphore.
    AddPermit,
    /// Locks the mutex (at most 5 ms), appends the task's number to its value across
    /// a yield; notes the value's length, or -3.
    Lock,
    /// Read-locks the `RwLock` (at most 5 ms), yields holding it; notes the value, or -3.
    Read,
    /// Write-locks the `RwLock` (at most 5 ms), adds the task's number + 1; notes the
    /// new value, or -3.
    Write,
    /// `try_write` on the `RwLock`; notes whether it got it.
    TryWrite,
}

fn lock_op() -> impl Strategy<Value = LockOp> {
    prop_oneof![
        prop_oneof![Just(0u64), Just(5)].prop_map(LockOp::Sleep),
        prop_oneof![Just(1u32), Just(2)].prop_map(LockOp::Acquire),
        Just(LockOp::TryAcquire),
        Just(LockOp::AddPermit),
        Just(LockOp::Lock),
        Just(LockOp::Read),
        Just(LockOp::Write),
        Just(LockOp::TryWrite),
    ]
}

/// A semaphore of 2 permits, a mutex and an `RwLock` shared by every task; the
/// notes of each task, the final values, and how the run ended.
fn lock_run(program: &[Vec<LockOp>], sim: &mut Sim) -> (Vec<Vec<i64>>, Vec<usize>, u64, usize, String) {
    use sim_core::sync::{Mutex, RwLock, Semaphore};
    use std::sync::Arc;
    let sem = Arc::new(sim_core::named("s", || Semaphore::new(2)));
    let mutex = Arc::new(sim_core::named("m", || Mutex::new(Vec::new())));
    let rw = Arc::new(sim_core::named("rw", || RwLock::new(0u64)));
    let notes: Vec<Rc<RefCell<Vec<i64>>>> = program.iter().map(|_| Rc::new(RefCell::new(Vec::new()))).collect();
    let five = Duration::from_millis(5);
    for (t, ops) in program.iter().enumerate() {
        let (ops, notes) = (ops.clone(), notes[t].clone());
        let (sem, mutex, rw) = (sem.clone(), mutex.clone(), rw.clone());
        sim.spawn_named(format!("t{t}"), async move {
            let note = |v: i64| notes.borrow_mut().push(v);
            for op in ops {
                match op {
                    LockOp::Sleep(ms) => sleep(Duration::from_millis(ms)).await,
                    LockOp::Acquire(n) => match timeout(five, sem.acquire_many(n)).await {
                        Ok(Ok(permit)) => {
                            note(sem.available_permits() as i64);
                            yield_now().await;
                            drop(permit);
                        }
                        Ok(Err(_)) => note(-4),
                        Err(_) => note(-3),
                    },
                    LockOp::TryAcquire => note(i64::from(sem.try_acquire().is_ok())),
                    LockOp::AddPermit => sem.add_permits(1),
                    LockOp::Lock => match timeout(five, mutex.lock()).await {
                        Ok(mut held) => {
                            held.push(t);
                            yield_now().await;
                            note(held.len() as i64);
                        }
                        Err(_) => note(-3),
                    },
                    LockOp::Read => match timeout(five, rw.read()).await {
                        Ok(read) => {
                            yield_now().await;
                            note(*read as i64);
                        }
                        Err(_) => note(-3),
                    },
                    LockOp::Write => match timeout(five, rw.write()).await {
                        Ok(mut write) => {
                            *write += t as u64 + 1;
                            note(*write as i64);
                        }
                        Err(_) => note(-3),
                    },
                    LockOp::TryWrite => note(i64::from(rw.try_write().is_ok())),
                }
            }
        });
    }
    let result = match sim.run() {
        Ok(()) => "pass".to_string(),
        Err(failure) => failure.kind.class().to_string(),
    };
    let noted = notes.iter().map(|n| n.borrow().clone()).collect();
    let value = *rw.try_read().expect("no task holds the lock after the run");
    let order = mutex.try_lock().expect("no task holds the lock after the run").clone();
    let permits = sem.available_permits();
    (noted, order, value, permits, result)
}

/// 150 generated programs of 2 or 3 tasks on a semaphore (waits for 1 or 2
/// permits under a timeout, held across a yield; `try_acquire`; `add_permits`), a
/// mutex held across a yield, and an `RwLock` (reads held across a yield, writes,
/// `try_write`): the reduction reaches every outcome that plain enumeration reaches.
#[test]
fn the_reduction_reaches_every_outcome_with_semaphores_mutexes_and_rwlocks() {
    let config = ProptestConfig { cases: 150, failure_persistence: None, ..ProptestConfig::default() };
    let mut runner = TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    let programs = prop::collection::vec(prop::collection::vec(lock_op(), 1..4), 2..4);
    let (compared, smaller) = (RefCell::new(0u32), RefCell::new(0u32));
    runner
        .run(&programs, |program| {
            let mut all = BTreeSet::new();
            let every = explore_all(4_000, |prefix| {
                let mut sim = Sim::new(Config::replay(prefix.clone()));
                all.insert(lock_run(&program, &mut sim));
                sim.recorded_tape()
            });
            if !every.exhausted {
                return Ok(());
            }
            let mut reduced = BTreeSet::new();
            let classes = explore_reduced(100_000, |strategy| {
                let mut sim = sim_core::tooling::strategy::sim_with(Config::default(), strategy);
                reduced.insert(lock_run(&program, &mut sim));
                false
            })
            .expect("generated programs are deterministic");
            prop_assert!(classes.exhausted);
            prop_assert_eq!(&reduced, &all, "the reduction lost outcomes of {:?}", program);
            *compared.borrow_mut() += 1;
            if classes.runs < every.runs {
                *smaller.borrow_mut() += 1;
            }
            Ok(())
        })
        .unwrap();
    let (compared, smaller) = (compared.into_inner(), smaller.into_inner());
    assert!(compared >= 100, "most generated programs are small enough to enumerate ({compared})");
    assert!(smaller * 2 >= compared, "the reduction cuts most programs ({smaller} of {compared})");
}
