//! The determinism check: the same seed twice gives the same run, and a program
//! that lets the outside world in is caught at its first differing step.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::future::{poll_fn, Future};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::Poll;
use std::time::Duration;

use sim_core::determinism::{check_determinism, check_determinism_seeds, Difference};
use sim_core::sync::{mpsc, FingerprintValues};
use sim_core::time::{sleep, sleep_until, Instant};
use sim_core::tooling::trace::RecordKind;
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
    assert_eq!(err.difference, Difference::Time);
    assert_eq!((err.step, err.time.as_nanos()), first_difference(11, counter_leak));
    assert_eq!(err.time, Instant::from_millis(30));
    let (first, second) = (err.first.as_ref().unwrap(), err.second.as_ref().unwrap());
    assert_eq!((first.kind, second.kind), (RecordKind::TimerSet, RecordKind::TimerSet));
    assert_eq!(second.deadline_ns.unwrap() - first.deadline_ns.unwrap(), 1_000_000);
    let report = err.to_string();
    let headline = format!(
        "lockstep: nondeterminism in `counter`: seed 11 ran twice and differed; first difference at step {} (t=30ms): a time",
        err.step
    );
    assert!(report.starts_with(&headline), "{report}");
    assert!(report.contains(&format!("first run:  {first}")), "{report}");
    assert!(report.contains(&format!("second run: {second}")), "{report}");
    let evidence = format!(
        "what differed: a time: timer {} of task `main` is set for {} in the first run, {} in the second",
        first.timer_id.unwrap(),
        Instant::from_nanos(first.deadline_ns.unwrap()),
        Instant::from_nanos(second.deadline_ns.unwrap())
    );
    assert!(report.contains(&evidence), "{report}");
    assert!(report.contains("it can come from: a duration or deadline computed from the wall clock"), "{report}");
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
    assert_eq!(err.difference, Difference::Order, "{err}");
    assert_eq!(err.evidence, "both runs did the same operations, in a different order");
    assert_eq!((err.step, err.time.as_nanos()), first_difference(5, hash_ordered_timers));
    assert_eq!(err.time, Instant::from_millis(30));
    let (first, second) = (err.first.as_ref().unwrap(), err.second.as_ref().unwrap());
    assert_eq!(first.kind, RecordKind::TimerSet);
    assert_ne!(first.deadline_ns, second.deadline_ns);
    assert!(err.to_string().contains("what differed: an order: both runs did the same operations"), "{err}");
    assert!(err.to_string().contains("it can come from: operations issued in hash-map iteration order"), "{err}");
}

/// Spawns identical tasks named in the iteration order of a `HashSet`: the ids,
/// times and operations are the same every run, only the names move.
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
    assert_ne!(err.fingerprints[0], err.fingerprints[1], "names are fingerprinted");
    assert_eq!(err.difference, Difference::Name, "{err}");
    let (first, second) = (err.first.as_ref().unwrap(), err.second.as_ref().unwrap());
    assert_eq!((first.kind, first.task_id), (second.kind, second.task_id));
    assert_ne!(first.task, second.task);
    let evidence = format!(
        "task {} is named `{}` in the first run, `{}` in the second",
        first.task_id.unwrap(),
        first.task.as_deref().unwrap(),
        second.task.as_deref().unwrap()
    );
    assert_eq!(err.evidence, evidence);
}

/// The fingerprint alone (as a corpus or another process sees it) tells two runs
/// apart when only a task's name differs.
#[test]
fn a_task_name_is_part_of_the_fingerprint() {
    let run = |name: &'static str| {
        let mut sim = Sim::new(Config::default());
        sim.spawn_named(name, async {});
        sim.run().unwrap();
        sim.fingerprint()
    };
    assert_eq!(run("a"), run("a"));
    assert_ne!(run("a"), run("b"));
}

/// The same, for a channel that no record shows (it is created and never used).
#[test]
fn a_channel_name_is_part_of_the_fingerprint_even_unused() {
    let run = |name: &'static str| {
        let mut sim = Sim::new(Config::default());
        let (_tx, _rx) = sim.enter(|| sim_core::named(name, || mpsc::channel::<u32>(1)));
        sim.run().unwrap();
        sim.fingerprint()
    };
    assert_eq!(run("in"), run("in"));
    assert_ne!(run("in"), run("out"));
}

/// A channel created under a name taken from a `HashSet` and never used: no record
/// differs, only the name table.
async fn hash_named_unused_channels() {
    let names: HashSet<String> = (0..16).map(|i| format!("link-{i}")).collect();
    let channels: Vec<_> = names.into_iter().map(|n| sim_core::named(n, || mpsc::channel::<u32>(1))).collect();
    sleep(Duration::from_millis(1)).await;
    drop(channels);
}

#[test]
fn channels_named_in_hash_order_are_caught_by_their_names() {
    let err = check_determinism(&Config::default(), 4, hash_named_unused_channels).unwrap_err();
    assert_eq!(err.difference, Difference::Name, "{err}");
    assert!(err.evidence.starts_with("channel "), "{err}");
    assert!(err.evidence.contains("is named `link-"), "{err}");
}

/// Sends the numbers of a `HashSet` on one channel that fingerprints its values:
/// the same sends and receives, at the same times, in every run; only the order of
/// the values moves.
async fn hash_ordered_values() {
    let (tx, mut rx) = sim_core::named("numbers", || mpsc::unbounded_channel::<u64>());
    tx.fingerprint_values();
    let values: HashSet<u64> = (0..32).collect();
    for v in values {
        tx.send(v).unwrap();
    }
    drop(tx);
    let mut sum = 0;
    while let Some(v) = rx.recv().await {
        sum += v;
    }
    assert_eq!(sum, 496);
}

#[test]
fn values_reordered_on_one_channel_are_caught_as_a_value() {
    let err = check_determinism(&Config::default().name("values"), 9, hash_ordered_values).unwrap_err();
    assert_eq!(err.difference, Difference::Value, "{err}");
    let (first, second) = (err.first.as_ref().unwrap(), err.second.as_ref().unwrap());
    assert_eq!((first.kind, first.channel.as_deref()), (RecordKind::Send, Some("numbers")));
    assert_ne!(first.value, second.value);
    assert!(err.to_string().contains("what differed: a value: the message sent on channel `numbers` has value hash"));
}

/// Without the opt-in, values are not fingerprinted: the same program's runs look
/// the same (what `fingerprint_values` is for).
#[test]
fn values_are_fingerprinted_only_on_channels_that_opt_in() {
    let run = |opt_in: bool, values: [u64; 2]| {
        let mut sim = Sim::new(Config::default());
        sim.block_on(async move {
            let (tx, mut rx) = sim_core::named("c", || mpsc::channel::<u64>(2));
            if opt_in {
                tx.fingerprint_values();
            }
            for v in values {
                tx.send(v).await.unwrap();
            }
            rx.recv().await;
            rx.recv().await;
        })
        .unwrap();
        sim.fingerprint()
    };
    assert_eq!(run(false, [1, 2]), run(false, [2, 1]));
    assert_ne!(run(true, [1, 2]), run(true, [2, 1]));
    assert_eq!(run(true, [1, 2]), run(true, [1, 2]));
}

/// Sleeps for a time computed from the order in which a `HashMap` yields its keys:
/// the deadline moves from run to run (a hash-map leak, not the wall clock: the
/// report says a time differed). Two runs agree on the order with odds of 1 in 32!.
async fn hash_chosen_deadline() {
    let delays: HashMap<u64, ()> = (1..=32).map(|k| (k, ())).collect();
    let ms = delays.keys().zip(1u64..).map(|(k, i)| k * i).sum::<u64>();
    sleep(Duration::from_millis(ms)).await;
}

#[test]
fn a_hash_map_that_moves_a_timer_deadline_is_caught_as_a_time() {
    let err = check_determinism(&Config::default(), 3, hash_chosen_deadline).unwrap_err();
    assert_eq!(err.difference, Difference::Time, "{err}");
    let (first, second) = (err.first.as_ref().unwrap(), err.second.as_ref().unwrap());
    assert_eq!(first.kind, RecordKind::TimerSet);
    assert_ne!(first.deadline_ns, second.deadline_ns);
}

/// Sends on sixteen channels in the iteration order of a `HashMap`: the same
/// operations, in another order (two runs agree with odds of 1 in 16!).
async fn hash_ordered_sends() {
    let channels: HashMap<u32, _> =
        (0..16).map(|i| (i, sim_core::named(format!("c{i}"), || mpsc::channel::<u32>(1)))).collect();
    for (i, (tx, _)) in &channels {
        tx.try_send(*i).unwrap();
    }
    sleep(Duration::from_millis(1)).await;
}

#[test]
fn sends_in_hash_order_are_caught_as_an_order() {
    let err = check_determinism(&Config::default(), 6, hash_ordered_sends).unwrap_err();
    assert_eq!(err.difference, Difference::Order, "{err}");
    let (first, second) = (err.first.as_ref().unwrap(), err.second.as_ref().unwrap());
    assert_eq!((first.kind, second.kind), (RecordKind::Send, RecordKind::Send));
    assert_ne!(first.channel, second.channel);
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
    assert_eq!(err.difference, Difference::OsThread);
    assert!(err.to_string().contains("what differed: an OS thread"), "{err}");
}

/// One-shot and watch channels opt in the same way: the value sent changes the
/// fingerprint only on a channel that asked for it.
#[test]
fn oneshot_and_watch_values_are_fingerprinted_when_asked() {
    use sim_core::sync::{oneshot, watch};
    let run = |opt_in: bool, value: u64| {
        let mut sim = Sim::new(Config::default());
        sim.block_on(async move {
            let (tx, rx) = sim_core::named("once", || oneshot::channel::<u64>());
            let (wtx, mut wrx) = sim_core::named("state", || watch::channel(0u64));
            if opt_in {
                tx.fingerprint_values();
                wtx.fingerprint_values();
            }
            tx.send(value).unwrap();
            assert_eq!(rx.await.unwrap(), value);
            wtx.send(value).unwrap();
            wrx.changed().await.unwrap();
        })
        .unwrap();
        sim.fingerprint()
    };
    assert_eq!(run(false, 1), run(false, 2));
    assert_ne!(run(true, 1), run(true, 2));
    assert_eq!(run(true, 1), run(true, 1));
}
