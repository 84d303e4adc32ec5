//! Exact counts of orders for small programs, and the sets of outcomes they reach.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;
use std::time::Duration;

use sim_core::time::sleep;
use sim_core::Sim;

use crate::support::explore;

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
        sim.spawn_named(name, async move { log.borrow_mut().push(name) });
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

/// Timers at different instants never compete: a single order.
#[test]
fn events_at_different_instants_are_not_choice_points() {
    let explored = explore(|sim| {
        let log = Rc::new(RefCell::new(Vec::new()));
        let l = log.clone();
        sim.spawn_named("only", async move {
            for ms in [5, 1, 3] {
                sleep(Duration::from_millis(ms)).await;
                l.borrow_mut().push(ms);
            }
        });
        sim.run().unwrap();
        let out = log.borrow().clone();
        out
    });
    assert_eq!(explored.runs, 1);
    assert_eq!(explored.outcomes, BTreeSet::from([vec![5, 1, 3]]));
}
