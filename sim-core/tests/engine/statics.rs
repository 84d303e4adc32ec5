//! Primitives that outlive a simulation (a `static`, one created outside a check's
//! closure): they move to the next simulation once theirs has ended, with their
//! state; two simulations running at once never share one by accident of timing.
//!
//! Each test has its own statics: the tests of this binary run in parallel, and a
//! static two of them used at once would be shared by two running simulations.

use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::thread::ThreadId;
use std::time::Duration;

use sim_core::check::{current_seed, Check, Report, Share};
use sim_core::sync::{Notify, OnceCell, Semaphore};
use sim_core::time::sleep;
use sim_core::{spawn, Config, Failure, FailureKind, Sim, TraceMode};

/// Two tasks take turns on a one-permit semaphore `lock`, each sleeping 1 ms
/// holding it. The semaphore ends as it began (one permit), so a later run that
/// uses it starts from the same state.
async fn take_turns(lock: &'static Semaphore) {
    let log = Rc::new(std::cell::RefCell::new(Vec::new()));
    let tasks: Vec<_> = ["a", "b"]
        .into_iter()
        .map(|name| {
            let log = log.clone();
            spawn(async move {
                let _permit = lock.acquire().await.unwrap();
                log.borrow_mut().push(name);
                sleep(Duration::from_millis(1)).await;
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(log.borrow().len(), 2);
    assert_eq!(lock.available_permits(), 1);
}

/// The fingerprint of `seed`'s run of `world`, and its trace's lines as text.
fn run_seed<F: std::future::Future<Output = ()> + 'static>(
    seed: u64,
    world: F,
) -> (sim_core::Fingerprint, Vec<String>) {
    let mut sim = Sim::new(Config::random(seed).trace(TraceMode::Full));
    sim.block_on(world).unwrap();
    let lines = sim.trace().lines.iter().map(|l| format!("{l:?}")).collect();
    (sim.fingerprint(), lines)
}

/// Before, the semaphore stayed bound to the first simulation that used it and every
/// later one ended as an escape ("registered in another simulation"). Now it moves
/// to each new simulation: a check of 40 seeds passes, every run replayed by the
/// determinism check (which runs each seed twice and compares the traces) matched,
/// and one seed run twice by hand has the same trace and fingerprint.
#[test]
fn a_static_semaphore_serves_every_seed_of_a_check() {
    static LOCK: Semaphore = Semaphore::const_new(1);
    let name = format!("`statics.rs:{}`", line!() - 1); // its name in traces
    let threads: Arc<Mutex<Vec<ThreadId>>> = Arc::default();
    let seen = threads.clone();
    let report = Check::random(40).jobs(2).determinism(Share::ALL).run(move || {
        seen.lock().unwrap().push(std::thread::current().id());
        take_turns(&LOCK)
    });
    let Report::Seeds(summary) = &report else { panic!("a seeded search") };
    assert!(report.is_ok(), "{report}");
    assert_eq!((summary.seeds_run, summary.replayed), (40, 40));
    // Every replay matched its run: the semaphore ends each run as it began.
    assert_eq!((summary.shared.as_deref(), summary.differed), (Some(name.as_str()), 0));
    // The first run used a primitive shared with other simulations, so every run
    // went on the calling thread, one after the other (80 runs: 40 seeds, each replayed).
    let threads = threads.lock().unwrap();
    assert_eq!(threads.len(), 80);
    assert!(threads.iter().all(|&t| t == std::thread::current().id()), "the runs went on several threads");

    let first = run_seed(7, take_turns(&LOCK));
    let second = run_seed(7, take_turns(&LOCK));
    assert_eq!(first, second);
    assert!(first.1.iter().any(|l| l.contains("statics.rs")), "the semaphore is named after its line: {:?}", first.1);
}

/// A `OnceCell` in a `static` set by the first simulation is seen set by the next,
/// as a tokio `OnceCell` is by the next runtime in one process: the second run does
/// not run the initializer (no `init` record), and `get` sees the value at once.
#[test]
fn a_static_once_cell_set_by_the_first_run_is_seen_set_by_the_next() {
    static CONFIG: OnceCell<u32> = OnceCell::const_new();
    let inits = |trace: &sim_core::Trace| trace.lines.iter().filter(|l| l.kind.label() == "init").count();

    let mut first = Sim::new(Config::default().trace(TraceMode::Full));
    let value = first.block_on(async { *CONFIG.get_or_init(|| async { 7 }).await }).unwrap();
    assert_eq!((value, inits(&first.trace())), (7, 1));
    drop(first);

    let mut second = Sim::new(Config::default().trace(TraceMode::Full));
    let seen = second
        .block_on(async {
            let before = CONFIG.get().copied();
            let value = *CONFIG.get_or_init(|| async { panic!("the initializer ran again") }).await;
            (before, value)
        })
        .unwrap();
    assert_eq!((seen, inits(&second.trace())), ((Some(7), 7), 0));
}

/// Tasks of an ended simulation that were waiting on a `static` left with their
/// futures (the simulation drops them): the next simulation finds no waiter of
/// theirs. The permit `notify_one` stores is not taken by a dead waiter, and a
/// permit added to the semaphore is not set aside for one.
#[test]
fn waiters_of_an_ended_simulation_do_not_hold_up_the_next() {
    static BELL: Notify = Notify::const_new();
    static GATE: Semaphore = Semaphore::const_new(0);
    let mut first = Sim::new(Config::default());
    first.spawn_named("listener", async { BELL.notified().await });
    first.spawn_named("waiter", async { drop(GATE.acquire().await.unwrap()) });
    let failure = first.run().unwrap_err();
    assert!(matches!(failure.kind, FailureKind::Deadlock { .. }), "{failure}");
    drop(first);

    let mut second = Sim::new(Config::default());
    let got = second
        .block_on(async {
            BELL.notify_one();
            BELL.notified().await;
            GATE.add_permits(1);
            GATE.try_acquire().map(drop).is_ok()
        })
        .unwrap();
    assert!(got, "the permit was set aside for the ended simulation's waiter");
}

/// The escape a run failed with: (task, cause).
fn escape(failure: &Failure) -> (&str, &str) {
    match &failure.kind {
        FailureKind::Escape { task, cause } => (task, cause),
        other => panic!("expected an escape, got {other:?}"),
    }
}

/// While the simulation a primitive belongs to still exists (here alive on the same
/// thread, not being driven), another one that uses it stops with an escape naming
/// the task and the primitive (the operation itself goes on, unrecorded: here the
/// listener takes the permit the first stored); once the first is dropped, it moves.
#[test]
fn a_primitive_of_a_running_simulation_is_not_shared_with_another() {
    let bell = Arc::new(sim_core::named("shared-bell", || Notify::new()));
    let mut first = Sim::new(Config::default());
    let b = bell.clone();
    first.spawn_named("ringer", async move { b.notify_one() });
    first.run().unwrap();

    let mut second = Sim::new(Config::default());
    let b = bell.clone();
    second.spawn_named("listener", async move { b.notified().await });
    let failure = second.run().unwrap_err();
    let (task, cause) = escape(&failure);
    assert_eq!(task, "listener");
    assert!(cause.contains("`shared-bell` is in use by another simulation that is still running"), "{cause}");
    drop(second);

    drop(first);
    let mut third = Sim::new(Config::default());
    let b = bell.clone();
    third.spawn_named("listener", async move {
        b.notify_one();
        b.notified().await;
    });
    third.run().expect("the bell moved to the third simulation");
}

/// A check whose first run uses no shared primitive runs in parallel; a later seed
/// that reaches a `static` then ends as an escape that says why and what to do,
/// whatever the timing of the other worker (the seed alone decides whether it
/// reaches the static). The same check on one thread passes.
#[test]
fn a_static_reached_only_by_later_seeds_of_a_parallel_check_is_reported() {
    static BELL: Notify = Notify::const_new();
    let world = || async {
        if current_seed() == Some(3) {
            BELL.notify_one();
        }
        sleep(Duration::from_millis(1)).await;
    };
    for _ in 0..2 {
        let report = Check::default().seeds(0..8).jobs(2).run(world);
        let failure = report.failure().expect("seed 3 reaches the static");
        assert_eq!(failure.seed, Some(3));
        let (task, cause) = escape(failure);
        assert_eq!(task, "main");
        assert!(cause.contains("is shared by the runs of this check"), "{cause}");
        assert!(cause.contains("`.jobs(1)`, `LOCKSTEP_JOBS=1`"), "{cause}");
    }
    let report = Check::default().seeds(0..8).jobs(1).run(world);
    assert!(report.is_ok(), "{report}");
}

/// A world whose `static` does not end as it began: each run adds a permit and takes
/// it back with one more, so the first run's `acquire_many(1)` waits for the task's
/// permit and every later run finds one and goes on at once. The runs go in order
/// on one thread, so the check runs the same way every time: it passes, and the one
/// replay that started from a state another run left and differed (seed 0's: its
/// first run found none) is counted, not failed. A replay that fails still fails the
/// check (the determinism check's report): here the world asserts the semaphore
/// starts empty, which only the very first run sees.
#[test]
fn a_static_that_carries_state_from_run_to_run_counts_differing_replays() {
    static GROWING: Semaphore = Semaphore::const_new(0);
    let name = format!("`statics.rs:{}`", line!() - 1);
    let world = || async {
        let adder = spawn(async { GROWING.add_permits(1) });
        drop(GROWING.acquire_many(1).await.unwrap());
        adder.await.unwrap();
    };
    let report = Check::default().seeds(0..6).jobs(2).run(world);
    let Report::Seeds(summary) = &report else { panic!("a seeded search") };
    assert!(report.is_ok(), "{report}");
    assert_eq!((summary.shared.as_deref(), summary.differed), (Some(name.as_str()), 1));
    assert!(
        report.to_string().contains(&format!(
            "the runs share {name}, so they ran in order on one thread, and 1 replay started from its state as \
             another run left it and differed"
        )),
        "{report}"
    );

    static FRESH: Semaphore = Semaphore::const_new(0);
    let report = Check::default().seeds(0..6).jobs(2).run(|| async {
        assert_eq!(FRESH.available_permits(), 0, "a run found the permit another left");
        FRESH.add_permits(1);
    });
    let failure = report.failure().expect("the replay of seed 0 finds the permit");
    assert_eq!(failure.seed, Some(0));
    assert!(matches!(failure.kind, FailureKind::Nondeterministic(_)), "{failure}");
}
