//! Exact counts of orders for small programs, and the sets of outcomes they reach.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;
use std::time::Duration;

use sim_core::sync::mpsc;
use sim_core::time::sleep;
use sim_core::touch;
use sim_core::Sim;

use crate::support::{explore, explore_reduced};

fn permutations(items: &[&'static str]) -> BTreeSet<Vec<&'static str>> {
    if items.len() <= 1 {
        return BTreeSet::from([items.to_vec()]);
    }
    let mut all = BTreeSet::new();
    for (i, first) in items.iter().enumerate() {
        let mut rest = items.to_vec();
        rest.remove(i);
        for mut tail in permutations(&rest) {
            tail.insert(0, first);
            all.insert(tail);
        }
    }
    all
}

/// Three tasks due at t = 0 that each append their name: 3! = 6 orders.
fn three_appenders(sim: &mut Sim) -> Vec<&'static str> {
    let log = Rc::new(RefCell::new(Vec::new()));
    for name in ["a", "b", "c"] {
        let log = log.clone();
        sim.spawn_named(name, async move {
            touch("log");
            log.borrow_mut().push(name)
        });
    }
    sim.run().unwrap();
    let out = log.borrow().clone();
    out
}

#[test]
fn three_tasks_due_at_once_have_exactly_six_orders() {
    let explored = explore(three_appenders);
    assert_eq!(explored.runs, 6);
    assert_eq!(explored.fingerprints.len(), 6, "every order is a distinct trace");
    assert_eq!(explored.outcomes, permutations(&["a", "b", "c"]));
}

/// Three tasks that sleep to the same instant: the t = 0 polls (3! orders), then at
/// 10 ms three timer firings and three polls. A firing wakes its task, so at 10 ms
/// the order is a sequence over 3 "fire" and 3 "poll" events in which each task's
/// poll follows its firing: 6! / 2^3 = 90 interleavings. Total: 6 * 90 = 540.
fn three_sleepers(sim: &mut Sim) -> Vec<&'static str> {
    let log = Rc::new(RefCell::new(Vec::new()));
    for name in ["a", "b", "c"] {
        let log = log.clone();
        sim.spawn_named(name, async move {
            sleep(Duration::from_millis(10)).await;
            touch("log");
            log.borrow_mut().push(name);
        });
    }
    sim.run().unwrap();
    let out = log.borrow().clone();
    out
}

#[test]
fn three_timers_due_at_once_have_exactly_540_orders() {
    let explored = explore(three_sleepers);
    assert_eq!(explored.runs, 540);
    assert_eq!(explored.fingerprints.len(), 540);
    assert_eq!(explored.outcomes, permutations(&["a", "b", "c"]));
}

/// Timers at different instants never compete: a single order. One task arms three
/// timers at once (5, 1 and 3 ms), so three timer events are pending together; they fall
/// on three different instants, so at each step exactly one event is due and none is a
/// choice point: one run, and the log follows the deadlines.
#[test]
fn events_at_different_instants_are_not_choice_points() {
    let explored = explore(|sim| {
        let log = Rc::new(RefCell::new(Vec::new()));
        let l = log.clone();
        sim.spawn_named("only", async move {
            let after = |ms: u64| {
                let l = l.clone();
                async move {
                    sleep(Duration::from_millis(ms)).await;
                    l.borrow_mut().push(ms);
                }
            };
            futures::join!(after(5), after(1), after(3));
        });
        sim.run().unwrap();
        let out = log.borrow().clone();
        out
    });
    assert_eq!(explored.runs, 1);
    assert_eq!(explored.outcomes, BTreeSet::from([vec![1, 3, 5]]));
}

/// Three senders and a receiver, all due at t = 0, on an unbounded channel. A
/// receiver poll takes everything buffered; a send wakes the receiver only when it
/// is waiting (not already scheduled). With k senders left and the receiver
/// scheduled, the choices are "receiver" (then it waits, and k senders remain) or
/// one of k senders: N(k) = k * N(k-1) + k * N(k-1) = 2k * N(k-1), N(0) = 1, so
/// N(3) = 6 * 4 * 2 = 48 orders.
fn three_senders(sim: &mut Sim) -> Vec<&'static str> {
    let (tx, mut rx) = sim_core::named("in", || mpsc::unbounded_channel());
    let got = Rc::new(RefCell::new(Vec::new()));
    let g = got.clone();
    sim.spawn_named("receiver", async move {
        for _ in 0..3 {
            let v = rx.recv().await.unwrap();
            g.borrow_mut().push(v);
        }
    });
    for name in ["a", "b", "c"] {
        let tx = tx.clone();
        sim.spawn_named(name, async move { tx.send(name).unwrap() });
    }
    drop(tx);
    sim.run().unwrap();
    let out = got.borrow().clone();
    out
}

#[test]
fn three_senders_and_a_receiver_have_exactly_48_orders() {
    let explored = explore(three_senders);
    assert_eq!(explored.runs, 48);
    assert_eq!(explored.fingerprints.len(), 48);
    assert_eq!(explored.outcomes, permutations(&["a", "b", "c"]), "every arrival order is reachable");
}

/// A timer and a message with 10 ms of latency, both due at 10 ms. At t = 0 three
/// tasks are polled (3! orders). At 10 ms the firing and the delivery compete, and
/// each wakes its task: after the firing, [delivery, poll timer-task] (2 orders
/// when the delivery goes first, since two polls then compete; 1 otherwise), so 3;
/// symmetrically 3 after the delivery: 6. Total 6 * 6 = 36; both outcomes reached.
fn timer_and_message(sim: &mut Sim) -> Vec<&'static str> {
    let log = Rc::new(RefCell::new(Vec::new()));
    let (tx, mut rx) = mpsc::Builder::new().name("link").latency(Duration::from_millis(10)).unbounded_channel();
    let l = log.clone();
    sim.spawn_named("timer", async move {
        sleep(Duration::from_millis(10)).await;
        touch("log");
        l.borrow_mut().push("timer");
    });
    sim.spawn_named("sender", async move { tx.send(()).unwrap() });
    let l = log.clone();
    sim.spawn_named("receiver", async move {
        rx.recv().await.unwrap();
        touch("log");
        l.borrow_mut().push("message");
    });
    sim.run().unwrap();
    let out = log.borrow().clone();
    out
}

#[test]
fn a_timer_and_a_message_due_at_once_have_exactly_36_orders() {
    let explored = explore(timer_and_message);
    assert_eq!(explored.runs, 36);
    assert_eq!(explored.fingerprints.len(), 36);
    assert_eq!(explored.outcomes, BTreeSet::from([vec!["message", "timer"], vec!["timer", "message"]]));
}

/// Steps commute when what they touched is disjoint, so the reduction is only as
/// good as the footprints: every step of these programs touches the log (declared
/// with `touch`) or the one channel, so no two of them commute and every order is
/// its own class.
#[test]
fn the_reduction_keeps_all_orders_of_tasks_that_touch_the_same_thing() {
    let appenders = explore_reduced(three_appenders);
    assert_eq!(appenders.runs, 6);
    assert_eq!(appenders.outcomes, permutations(&["a", "b", "c"]));
    let senders = explore_reduced(three_senders);
    assert_eq!(senders.runs, 48);
    assert_eq!(senders.outcomes, permutations(&["a", "b", "c"]));
}

/// Three tasks at t = 0 that each send on a channel of their own, then sleep 1, 2 and
/// 3 ms and end: 3! = 6 orders at 0 ms (nothing else ties), but the three polls touch
/// disjoint channels, tasks and timers, so they form one class. (A task's end is
/// ordered against every other task's end, since the last one stops `Sim::run`: the
/// sleeps keep the ends apart.)
fn three_loners(sim: &mut Sim) -> Vec<usize> {
    let mut receivers = Vec::new();
    for (i, name) in ["a", "b", "c"].into_iter().enumerate() {
        let (tx, rx) = sim_core::named(name, || mpsc::unbounded_channel::<&str>());
        receivers.push(rx);
        sim.spawn_named(name, async move {
            tx.send(name).unwrap();
            sleep(Duration::from_millis(i as u64 + 1)).await;
        });
    }
    sim.run().unwrap();
    receivers.iter().map(|rx| rx.len()).collect()
}

#[test]
fn steps_that_touch_disjoint_channels_commute() {
    assert_eq!(explore(three_loners).runs, 6);
    let reduced = explore_reduced(three_loners);
    assert_eq!(reduced.runs, 1);
    assert_eq!(reduced.outcomes, BTreeSet::from([vec![1, 1, 1]]));
}

/// Memory shared outside Lockstep's primitives is invisible unless declared: three
/// appenders without `touch` (ending at different instants, as the loners above) look
/// like three disjoint steps, and the reduction explores one order of them (this is
/// the contract `touch` exists for).
#[test]
fn undeclared_shared_memory_is_invisible_to_the_reduction() {
    let undeclared = |sim: &mut Sim| {
        let log = Rc::new(RefCell::new(Vec::new()));
        for (i, name) in ["a", "b", "c"].into_iter().enumerate() {
            let log = log.clone();
            sim.spawn_named(name, async move {
                log.borrow_mut().push(name);
                sleep(Duration::from_millis(i as u64 + 1)).await;
            });
        }
        sim.run().unwrap();
        let out = log.borrow().clone();
        out
    };
    assert_eq!(explore(undeclared).outcomes.len(), 6);
    assert_eq!(explore_reduced(undeclared).runs, 1);
}

/// With the reduction: at 0 ms the three polls only arm timers of their own (one
/// class); at 10 ms the three firings commute with each other and with polls of
/// other tasks, and only the order of the three polls matters, since each appends
/// to the log: 3! = 6 classes (of the 540 orders).
#[test]
fn the_reduction_explores_one_order_per_class_of_commuting_timers() {
    let reduced = explore_reduced(three_sleepers);
    assert_eq!(reduced.runs, 6);
    assert_eq!(reduced.outcomes, permutations(&["a", "b", "c"]), "no outcome is lost");
}

/// At 0 ms the timer task's poll touches only its own timer, while the sender and
/// the receiver both touch `link`: 2 classes. At 10 ms the firing F (wakes `timer`)
/// and the delivery D (touches `link`, wakes `receiver`) commute; each must precede
/// its task's poll, and the two polls both append to the log: 2 classes. 2 * 2 = 4
/// (of the 36 orders), and both outcomes are reached.
#[test]
fn the_reduction_merges_orders_of_a_timer_and_a_delivery() {
    let reduced = explore_reduced(timer_and_message);
    assert_eq!(reduced.runs, 4);
    assert_eq!(reduced.outcomes, BTreeSet::from([vec!["message", "timer"], vec!["timer", "message"]]));
}
