//! The determinism check: the same seed twice gives the same run, and a program
//! that lets the outside world in is caught at its first differing step.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::future::{poll_fn, Future};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::Poll;
use std::time::Duration;

use sim_core::determinism::{check_determinism, check_determinism_seeds, Leak};
use sim_core::time::{sleep, sleep_until, Instant};
use sim_core::trace::RecordKind;
use sim_core::{choose, spawn, Config, Sim, TraceMode};

/// Four tasks sleep to the same instants (10, 20, 30 ms), draw a number at each and
/// log it: every instant is a choice point among the four timers, plus a draw each.
async fn same_instants() -> Vec<(u32, u64)> {
    let log = Rc::new(RefCell::new(Vec::new()));
    let tasks: Vec<_> = (0..4u32)
        .map(|id| {
            let log = log.clone();
            spawn(async move {
                for round in 1..=3u64 {
                    sleep_until(Instant::from_millis(10 * round)).await;
                    let draw = choose(3) as u64;
                    log.borrow_mut().push((id, round * 10 + draw));
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let out = log.borrow().clone();
    out
}

fn outcome(seed: u64) -> Vec<(u32, u64)> {
    Sim::new(Config::random(seed)).block_on(same_instants()).unwrap()
}

/// Runs `program` twice under `seed` and returns the step and time of the first
/// record where the traces differ, found without the determinism check.
fn first_difference<Fut: Future<Output = ()> + 'static>(seed: u64, program: impl Fn() -> Fut) -> (u64, u64) {
    let run = || {
        let mut sim = Sim::new(Config::random(seed).trace(TraceMode::Full));
        sim.block_on(program()).unwrap();
        sim.trace().lines
    };
    let (a, b) = (run(), run());
    let i = (0..a.len().max(b.len())).find(|&i| a.get(i) != b.get(i)).expect("the runs differ");
    (a[i].step, a[i].t_ns)
}

#[test]
fn the_same_seed_gives_the_same_fingerprint_over_a_thousand_seeds() {
    let fingerprints = check_determinism_seeds(&Config::default(), 0..1000, || async {
        same_instants().await;
    })
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(fingerprints.len(), 1000);
    let distinct: BTreeSet<_> = fingerprints.iter().collect();
    assert!(distinct.len() > 100, "seeds must explore different orders: {} distinct", distinct.len());
}

#[test]
fn different_seeds_reach_more_than_one_outcome() {
    let outcomes: BTreeSet<_> = (0..50).map(outcome).collect();
    assert!(outcomes.len() > 1, "every seed gave the same outcome");
    for seed in [0, 7, 49] {
        assert_eq!(outcome(seed), outcome(seed));
    }
}

#[test]
fn a_deterministic_failing_run_passes_the_check() {
    let fingerprint = check_determinism(&Config::default(), 3, || async {
        same_instants().await;
        sim_core::fail("always");
    });
    assert!(fingerprint.is_ok());
}

static CALLS: AtomicU64 = AtomicU64::new(0);

/// Deterministic until 30ms, then sleeps for a time picked by a counter that
/// outlives the simulation.
async fn counter_leak() {
    same_instants().await;
    let ms = 5 + CALLS.fetch_add(1, Ordering::Relaxed);
    sleep(Duration::from_millis(ms)).await;
}

#[test]
fn a_counter_outside_the_simulation_is_caught_as_a_timer_deadline_leak() {
    let err = check_determinism(&Config::default().name("counter"), 11, counter_leak).unwrap_err();
    assert_eq!(err.leak, Leak::WallClock);
    assert_eq!((err.step, err.time.as_nanos()), first_difference(11, counter_leak));
    assert_eq!(err.time, Instant::from_millis(30));
    let (first, second) = (err.first.as_ref().unwrap(), err.second.as_ref().unwrap());
    assert_eq!((first.kind, second.kind), (RecordKind::TimerSet, RecordKind::TimerSet));
    assert_eq!(second.deadline_ns.unwrap() - first.deadline_ns.unwrap(), 1_000_000);
    let report = err.to_string();
    assert!(report.contains(&format!("non-determinism in `counter` at step {} (t=30ms)", err.step)), "{report}");
    assert!(report.contains(&format!("first run:  {first}")), "{report}");
    assert!(report.contains(&format!("second run: {second}")), "{report}");
    assert!(report.contains("likely leak: the wall clock"), "{report}");
}

/// Deterministic until 30ms, then sets 32 timers in the iteration order of a
/// `HashMap` with a random hasher, and awaits them by deadline.
async fn hash_ordered_timers() {
    same_instants().await;
    let delays: HashMap<u64, u64> = (1..=32).map(|k| (k, k)).collect();
    let mut timers: Vec<_> = delays.values().map(|&ms| sleep(Duration::from_millis(ms))).collect();
    timers.sort_by_key(|t| t.deadline());
    for timer in timers {
        timer.await;
    }
}

#[test]
fn a_hash_map_ordering_timers_is_caught_at_its_first_differing_step() {
    let err = check_determinism(&Config::default(), 5, hash_ordered_timers).unwrap_err();
    assert_eq!(err.leak, Leak::HashOrderOrRandomness);
    assert_eq!(err.evidence, "both runs did the same operations, in a different order");
    assert_eq!((err.step, err.time.as_nanos()), first_difference(5, hash_ordered_timers));
    assert_eq!(err.time, Instant::from_millis(30));
    let (first, second) = (err.first.as_ref().unwrap(), err.second.as_ref().unwrap());
    assert_eq!(first.kind, RecordKind::TimerSet);
    assert_ne!(first.deadline_ns, second.deadline_ns);
    assert!(err.to_string().contains("likely leak: hash-map iteration order or unseeded randomness"));
}

/// Spawns identical tasks named in the iteration order of a `HashSet`: the ids and
/// the fingerprint are the same every run, only the names move.
async fn hash_named_tasks() {
    let names: HashSet<String> = (0..16).map(|i| format!("worker-{i}")).collect();
    for name in names {
        sim_core::task::Builder::new().name(name).spawn(sleep(Duration::from_millis(10)));
    }
    sleep(Duration::from_millis(20)).await;
}

#[test]
fn tasks_named_in_hash_order_are_caught_by_their_names() {
    let err = check_determinism(&Config::default(), 2, hash_named_tasks).unwrap_err();
    assert_eq!(err.fingerprints[0], err.fingerprints[1], "names are not fingerprinted");
    assert_eq!(err.leak, Leak::HashOrderOrRandomness);
    assert_eq!(err.evidence, "the same task or channel got a different name");
    let (first, second) = (err.first.as_ref().unwrap(), err.second.as_ref().unwrap());
    assert_eq!((first.kind, first.task_id), (second.kind, second.task_id));
    assert_ne!(first.task, second.task);
}

static FOREIGN: AtomicBool = AtomicBool::new(false);

/// Wakes itself once: from another OS thread on every other run.
async fn sometimes_woken_by_a_thread() {
    let mut polled = false;
    poll_fn(|cx| {
        if polled {
            return Poll::Ready(());
        }
        polled = true;
        let waker = cx.waker().clone();
        if FOREIGN.fetch_xor(true, Ordering::Relaxed) {
            waker.wake();
        } else {
            std::thread::spawn(move || waker.wake()).join().unwrap();
        }
        Poll::Pending
    })
    .await;
}

#[test]
fn a_wake_from_an_os_thread_is_named_as_an_os_thread_leak() {
    let err = check_determinism(&Config::default(), 1, sometimes_woken_by_a_thread).unwrap_err();
    assert_eq!(err.leak, Leak::OsThread);
    assert!(err.to_string().contains("likely leak: an OS thread"), "{err}");
}
