//! Exploration: PCT finds a depth-2 bug, proptest schedules shrink, the critical
//! pair names the deciding events, schedule independence tells racy from
//! deterministic programs.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use proptest::collection::vec;
use proptest::test_runner::{Config as RunnerConfig, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};
use sim_core::artefacts::Artefacts;
use sim_core::check::{Check, Report};
use sim_core::explore::{
    critical_pair, schedule_independence, schedules, shrink_tape, shrink_tape_bounded, timeline_independence,
    Independence, Minimality, OutputDifference, PropSummary,
};
use sim_core::sync::mpsc;
use sim_core::time::sleep;
use sim_core::tooling::strategy::PCT_DEFAULT_STEPS;
use sim_core::{yield_now, Config, Failure, FailureKind, Sim, StrategyKind, Tape};

// ---- a depth-2 bug: a snapshot torn by a whole batch of writes ----

const WRITES: u32 = 10;

/// A reader reads a version twice, yielding in between; a writer bumps it `WRITES`
/// times, yielding after each. The snapshot is torn when the writer's whole batch
/// lands between the reader's two reads: the reader must go first (one ordering
/// constraint) and then stay behind the writer for ten choice points in a row (the
/// second). Random tie-breaking hits that about once in 2^11 runs.
fn torn_snapshot(sim: &mut Sim) -> Result<(), Box<Failure>> {
    let version = Rc::new(Cell::new(0u32));
    let v = version.clone();
    sim.spawn_named("reader", async move {
        let first = v.get();
        yield_now().await;
        if v.get() - first == WRITES {
            sim_core::fail("torn snapshot: every write landed between the two reads");
        }
    });
    sim.spawn_named("writer", async move {
        for _ in 0..WRITES {
            version.set(version.get() + 1);
            yield_now().await;
        }
    });
    sim.run()
}

fn pct(seed: u64, depth: u32) -> Config {
    Config::default().strategy(StrategyKind::Pct { seed, depth, steps: 16 })
}

fn fails(config: Config, program: impl Fn(&mut Sim) -> Result<(), Box<Failure>>) -> Option<Box<Failure>> {
    program(&mut Sim::new(config)).err()
}

#[test]
fn pct_of_depth_two_finds_the_torn_snapshot_within_100_seeds() {
    assert!(fails(Config::default(), torn_snapshot).is_none(), "the canonical order interleaves");
    let seed = (0..100).find(|&s| fails(pct(s, 2), torn_snapshot).is_some());
    let seed = seed.expect("PCT depth 2 finds it within 100 seeds (p >= 1/(2*16) per seed)");
    let failure = fails(pct(seed, 2), torn_snapshot).unwrap();
    assert!(matches!(failure.kind, FailureKind::Violation { .. }), "{failure}");
    assert!(failure.strategy.starts_with("pct(seed="), "{}", failure.strategy);
    assert_eq!(failure.seed, None, "a PCT report replays by tape, not by LOCKSTEP_SEED");
    let replayed = fails(Config::replay(failure.tape.clone()), torn_snapshot).expect("the tape replays the failure");
    assert_eq!(replayed.fingerprint, failure.fingerprint);
}

#[test]
fn pct_of_depth_one_never_tears_the_snapshot() {
    // Without a change point the higher-priority task runs to its end first: the
    // reader reads twice in a row, or the writer writes all before the first read.
    for seed in 0..200 {
        assert!(fails(pct(seed, 1), torn_snapshot).is_none(), "seed {seed}");
    }
}

#[test]
fn pct_is_deterministic_per_seed() {
    for seed in 0..50 {
        let run = |config: Config| {
            let mut sim = Sim::new(config);
            let _ = torn_snapshot(&mut sim);
            (sim.fingerprint(), sim.tape())
        };
        let config = Config::default().strategy(StrategyKind::Pct { seed, depth: 3, steps: PCT_DEFAULT_STEPS });
        assert_eq!(run(config.clone()), run(config), "seed {seed}");
    }
}

/// Two messages on channels with latency arrive at 5 ms: deliveries belong to no
/// task, so each gets a priority of its own.
fn two_deliveries(config: Config) -> (Vec<&'static str>, sim_core::Fingerprint) {
    let mut sim = Sim::new(config);
    let log = Rc::new(RefCell::new(Vec::new()));
    let mut senders = Vec::new();
    for name in ["a", "b"] {
        let (tx, mut rx) = mpsc::Builder::new().name(name).latency(Duration::from_millis(5)).channel::<u32>(1);
        senders.push(tx);
        let log = log.clone();
        sim.spawn_named(name, async move {
            rx.recv().await;
            log.borrow_mut().push(name);
        });
    }
    sim.spawn_named("sender", async move {
        for tx in senders {
            tx.send(0).await.unwrap();
        }
    });
    sim.run().unwrap();
    let out = log.borrow().clone();
    (out, sim.fingerprint())
}

#[test]
fn pct_orders_deliveries_that_belong_to_no_task() {
    let mut orders = std::collections::BTreeSet::new();
    for seed in 0..40 {
        let config = || Config::default().strategy(StrategyKind::Pct { seed, depth: 1, steps: 8 });
        let (order, fingerprint) = two_deliveries(config());
        assert_eq!(two_deliveries(config()).1, fingerprint, "seed {seed}");
        orders.insert(order);
    }
    assert_eq!(orders.len(), 2, "both orders under some seed: {orders:?}");
}

// ---- a task that must be polled before its own timer due at the same instant ----

const LEASE: Duration = Duration::from_millis(10);

/// A lease holder arms its lease's expiry (its timer 0, at 10 ms), then works until
/// 10 ms (its timer 1) and writes if its lease has not expired. The bug: it asks
/// whether the expiry timer has *fired* instead of comparing the time with the
/// deadline, so at 10 ms it writes when it is polled (after timer 1 fired) before its
/// own timer 0 fires. A rival sleeps to 10 ms and takes the lease over.
fn lease(sim: &mut Sim) -> Result<(), Box<Failure>> {
    sim.spawn_named("holder", async move {
        let expiry = sleep(LEASE);
        sleep(LEASE).await;
        if !expiry.is_elapsed() {
            sim_core::fail("wrote at 10ms under a lease that expired at 10ms");
        }
    });
    sim.spawn_named("rival", async move {
        sleep(LEASE).await;
    });
    sim.run()
}

/// How many of `seeds` fail the lease program under `strategy`, each seed run twice
/// with the same fingerprint.
fn lease_failures(seeds: std::ops::Range<u64>, strategy: impl Fn(u64) -> StrategyKind) -> usize {
    seeds
        .filter(|&seed| {
            let run = || {
                let mut sim = Sim::new(Config::default().strategy(strategy(seed)));
                let failed = lease(&mut sim).is_err();
                (failed, sim.fingerprint())
            };
            let first = run();
            assert_eq!(first, run(), "seed {seed} runs the same twice");
            first.0
        })
        .count()
}

/// The holder must be polled (woken by its timer 1) before its own timer 0, both due
/// at 10 ms. PCT's holders here are five (the holder task, its timers 0 and 1, the
/// rival task and its timer) and the canonical run has `k = 5` choice points, so the
/// documented bound per run is `1/(n k^(d-1))`: 1/5 at depth 1 (200 of 1,000 seeds),
/// 1/25 at depth 2 (40), 1/125 at depth 3 (8). At depth 1 the bug shows exactly when
/// timer 0 holds the lowest priority of the three holders it must follow (the
/// holder task and its timer 1): probability 1/3, measured 330 of 1,000. Random
/// tie-breaking fails 244 of 1,000. Before timers held priorities of their own (a
/// task's timers shared its priority and ties kept the canonical order, which fires
/// timer 0 first), PCT failed 0 of 1,000 at every depth.
#[test]
fn pct_finds_a_task_polled_before_its_own_timer_within_its_bound() {
    assert!(fails(Config::default(), lease).is_none(), "the canonical order fires the expiry first");
    let k = {
        let mut sim = Sim::new(Config::default());
        lease(&mut sim).unwrap();
        sim.recorded_tape().len() as u64
    };
    assert_eq!(k, 5);
    let random = lease_failures(0..1000, |seed| StrategyKind::Random { seed });
    assert_eq!(random, 244);
    let pct: Vec<usize> =
        (1..=3).map(|depth| lease_failures(0..1000, |seed| StrategyKind::Pct { seed, depth, steps: k })).collect();
    assert_eq!(pct, [330, 269, 294]);
    let bound = [200, 40, 8];
    for (depth, (found, bound)) in pct.iter().zip(bound).enumerate() {
        assert!(*found >= bound, "depth {}: {found} of 1000 is below the bound of {bound}", depth + 1);
    }
}

// ---- the throttle hang of the crate tutorial ----

use crate::support::{buggy_throttle, throttle_world, PERIOD};

/// The driver sends each item one period after the previous one was passed and
/// waits for it: a throttle that drops one leaves it waiting forever.
fn throttle_hang(items: &[u32], sim: &mut Sim) -> Result<(), Box<Failure>> {
    let (in_tx, in_rx) = sim_core::named("in", || mpsc::channel(1));
    let (out_tx, mut out_rx) = sim_core::named("out", || mpsc::channel(1));
    sim.spawn_named("throttle", buggy_throttle(in_rx, out_tx));
    let items = items.to_vec();
    sim.spawn_named("driver", async move {
        for (i, item) in items.into_iter().enumerate() {
            if i > 0 {
                sleep(PERIOD).await;
            }
            in_tx.send(item).await.unwrap();
            assert_eq!(out_rx.recv().await, Some(item));
        }
    });
    sim.run()
}

fn tutorial(sim: &mut Sim) -> Result<(), Box<Failure>> {
    throttle_hang(&[1, 6], sim)
}

fn proptest<V: std::fmt::Debug>(report: &Report<V>) -> &PropSummary<V> {
    match report {
        Report::Proptest(summary) => summary,
        other => panic!("not the proptest search: {other}"),
    }
}

/// The tutorial's throttle hang, items 1 and 6, as a world of the one runner.
fn tutorial_world() -> impl std::future::Future<Output = ()> {
    throttle_world(vec![1, 6])
}

#[test]
fn proptest_schedules_find_the_throttle_hang_and_shrink_it_to_at_most_two_departures() {
    let check = Check::proptest(200).name("explore::throttle_hang").artefacts(Artefacts::Off);
    let report = check.run(tutorial_world);
    let summary = proptest(&report);
    let found = summary.counterexample.as_ref().expect("some generated schedule hangs the throttle");
    assert!(matches!(found.failure.kind, FailureKind::Deadlock { .. }), "{found}");
    assert!(found.tape.departures() <= 2, "{found}");
    assert!(found.schedule.departures() <= 2, "{found}");
    // The printed tape replays the same failure, step for step.
    let tape: Tape = found.tape.to_string().parse().unwrap();
    let replayed = std::panic::catch_unwind(|| sim_core::replay(tutorial_world, tape.clone())).unwrap_err();
    let text = replayed.downcast_ref::<String>().unwrap();
    assert!(text.contains("deadlock: 2 tasks blocked: throttle (recv on `in`), main (recv on `out`)"), "{text}");
    assert!(text.contains(&format!("fingerprint: {}", found.failure.fingerprint)), "{text}");
    // The report carries the tape and the command that replays it.
    let report = summary.to_string();
    assert!(report.contains(&format!("shrunk tape: {tape}")), "{report}");
    assert!(
        report.contains(&format!(
            "LOCKSTEP_TAPE='{tape}' cargo test -p sim-core --test engine -- --exact \
             explore::proptest_schedules_find_the_throttle_hang_and_shrink_it_to_at_most_two_departures"
        )),
        "{report}"
    );
}

#[test]
fn proptest_checks_are_reproducible() {
    let run = || {
        let report = Check::proptest(100).seeds(7..107).artefacts(Artefacts::Off).run(tutorial_world);
        let found = proptest(&report).counterexample.as_ref().unwrap().clone();
        (proptest(&report).cases_run, found.schedule, found.tape, found.failure.fingerprint)
    };
    assert_eq!(run(), run());
}

#[test]
fn inputs_and_schedule_are_drawn_together_and_both_shrink() {
    let check = Check::proptest(200).name("explore::throttle_items").artefacts(Artefacts::Off);
    let items = vec(0u32..100, 1..6);
    let f = throttle_world;
    let report = check.run_inputs(items, f).expect("a proptest check");
    let summary = proptest(&report);
    let found = summary.counterexample.as_ref().expect("some case hangs the throttle");
    // One item cannot race: the smallest failing input is two items, shrunk to zeros.
    assert_eq!(found.inputs, vec![0, 0], "{found}");
    assert!(found.tape.departures() <= 2, "{found}");
    assert!(summary.to_string().contains("inputs: [0, 0]"));
    // The printed replay: the Rust call that runs the shrunk run again, with `f` the
    // closure given to the check (a tape holds no inputs: no `LOCKSTEP_TAPE` command).
    const PRINTED: &str = r#"sim_core::replay(|| f([0, 0].into()), "t2:2.0@poll:throttle#0,2.0@timer:throttle#0,2.0@timer:main#0,2.1@poll:main#2")"#;
    assert_eq!(found.replay, PRINTED, "{summary}");
    assert_eq!(found.failure.replay, PRINTED, "the shrunk run's own report prints it too");
    assert!(summary.to_string().contains(&format!("\n  replay: {PRINTED}\n")), "{summary}");
    // Run as printed: the same failure, step for step.
    let payload = std::panic::catch_unwind(|| {
        sim_core::replay(
            || f([0, 0].into()),
            "t2:2.0@poll:throttle#0,2.0@timer:throttle#0,2.0@timer:main#0,2.1@poll:main#2",
        )
    })
    .unwrap_err();
    let text = payload.downcast_ref::<String>().unwrap();
    assert!(text.contains(&format!("fingerprint: {}", found.failure.fingerprint)), "{text}");
    // Run by `cargo test`, the command that runs this whole check again with its seed
    // (`printed_replays` runs such a command as printed).
    let command = "LOCKSTEP_SEED=0 cargo test -p sim-core --test engine -- --exact \
                   explore::inputs_and_schedule_are_drawn_together_and_both_shrink";
    assert_eq!(found.rerun.as_deref(), Some(command));
    assert!(summary.to_string().contains(&format!("\n  rerun: {command}\n")), "{summary}");
}

#[test]
fn a_plain_proptest_runner_shrinks_a_schedule_drawn_beside_the_inputs() {
    // Without the helper: the schedule strategy composes with any input strategy.
    let config = RunnerConfig { cases: 200, failure_persistence: None, ..RunnerConfig::default() };
    let mut runner = TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    let cases = (schedules(32), vec(0u32..100, 1..6));
    let result = runner.run(&cases, |(schedule, items)| {
        let mut sim = Sim::new(schedule.config(Config::default()));
        throttle_hang(&items, &mut sim).map_err(|f| TestCaseError::fail(f.kind.class()))
    });
    let Err(TestError::Fail(_, (schedule, items))) = result else { panic!("some case hangs: {result:?}") };
    assert_eq!(items, [0, 0]);
    assert!(schedule.departures() <= 2, "{schedule:?}");
    assert!(fails(schedule.config(Config::default()), |sim| throttle_hang(&items, sim)).is_some());
}

#[test]
fn a_passing_property_reports_every_case_run() {
    let report = Check::proptest(20).run(|| throttle_world(vec![1]));
    assert!(report.is_ok(), "{report}");
    assert_eq!((proptest(&report).cases_run, report.runs()), (20, 20));
    report.assert_ok();
}

// ---- the critical pair ----

#[test]
fn the_critical_pair_of_the_throttle_hang_is_the_two_timers_at_50ms() {
    // Seed 3 of the crate tutorial: tape t1:2.0,2.1*3.
    let tape: Tape = "t1:2.0,2.1*3".parse().unwrap();
    assert!(fails(Config::replay(tape.clone()), tutorial).is_some());
    let shrunk = shrink_tape(&Config::default(), &tape, tutorial).expect("the tape fails");
    assert!(shrunk.tape.departures() <= tape.departures());
    let pair = critical_pair(&Config::default(), &shrunk.tape, tutorial).expect("a single flip passes");
    assert_eq!(pair.failing, "timer 1 of task `driver` at 50ms");
    assert_eq!(pair.passing, "timer 0 of task `throttle` at 50ms");
    assert!(fails(Config::replay(pair.passing_tape.clone()), tutorial).is_none(), "the passing tape passes");
    assert!(pair.to_string().starts_with("timer 1 of task `driver` at 50ms vs timer 0 of task `throttle` at 50ms"));
}

#[test]
fn a_passing_tape_has_no_critical_pair() {
    assert!(critical_pair(&Config::default(), &Tape::new(), tutorial).is_none());
    assert!(shrink_tape(&Config::default(), &Tape::new(), tutorial).is_none());
}

// ---- shrinking: 1-minimal against globally minimal ----

/// Three choices `a`, `b`, `c` of two options each; the run fails when `a` and `b`
/// both depart, or when `c` does.
fn two_or_one(sim: &mut Sim) -> Result<(), Box<Failure>> {
    sim.spawn_named("chooser", async {
        let (a, b, c) = (sim_core::choose(2), sim_core::choose(2), sim_core::choose(2));
        if (a == 1 && b == 1) || c == 1 {
            sim_core::fail("a and b, or c");
        }
    });
    sim.run()
}

/// The tape `a=1, b=1` is 1-minimal: setting `b` back passes, setting `a` back passes
/// (3 greedy runs, the replay included). Yet `c=1` alone fails the same way. The search
/// runs every tape with fewer than 2 departures, breadth first: the canonical one
/// (passes), then `a=1` (passes), `b=1` (passes), `c=1` (fails): 4 runs, and 1 departure.
#[test]
fn shrinking_finds_a_single_departure_that_a_one_minimal_pair_hides() {
    let tape: Tape = "t1:2.1,2.1".parse().unwrap();
    let shrunk = shrink_tape(&Config::default(), &tape, two_or_one).expect("a and b fail together");
    assert_eq!(shrunk.tape.to_string(), "t2:2.0@user:chooser#0,2.0@user:chooser#1,2.1@user:chooser#2");
    assert_eq!((shrunk.runs, shrunk.search_runs), (3, 4));
    assert_eq!(shrunk.minimality, Minimality::Global);
    let again = fails(Config::replay(shrunk.tape.clone()), two_or_one).expect("the shrunk tape fails");
    assert_eq!(again.fingerprint, shrunk.failure.fingerprint);

    // Bounded below what the search needs, the result is the 1-minimal pair, and says so.
    let bounded = shrink_tape_bounded(&Config::default(), &tape, 3, two_or_one).unwrap();
    assert_eq!(bounded.tape.departures(), 2);
    assert_eq!((bounded.search_runs, bounded.minimality), (3, Minimality::OneMinimal));
    // Twice the same, fingerprint included.
    let twice = shrink_tape_bounded(&Config::default(), &tape, 3, two_or_one).unwrap();
    assert_eq!((twice.tape, twice.failure.fingerprint), (bounded.tape, bounded.failure.fingerprint));
}

/// [`two_or_one`] with `c` drawn first, as a world of the one runner (`main` is the
/// chooser, its only task): every order enumerated depth first tries `c=0, a=0,
/// b=0`, then `b=1`, then `a=1`, then `a=1, b=1`, the first that fails.
async fn one_or_two() -> Result<(), &'static str> {
    let (c, a, b) = (sim_core::choose(2), sim_core::choose(2), sim_core::choose(2));
    match (a == 1 && b == 1) || c == 1 {
        true => Err("a and b, or c"),
        false => Ok(()),
    }
}

#[test]
fn exhaustive_and_proptest_checks_report_how_minimal_their_tape_is() {
    let report = Check::exhaustive().every_order(true).artefacts(Artefacts::Off).run(one_or_two);
    let Report::Exhaustive(summary) = &report else { panic!("{report}") };
    let found = summary.first_failing.as_ref().expect("fails");
    assert_eq!(found.run, 4, "{summary}");
    assert_eq!((found.tape.departures(), found.minimality), (1, Some(Minimality::Global)), "{summary}");
    // 3 greedy runs (the pair is 1-minimal), then the canonical order and `c=1`.
    assert_eq!(found.shrink_runs, 5, "{summary}");
    assert!(summary.to_string().contains("\n  globally minimal: no tape with fewer departures fails this way\n"));
    // (A search bounded below those 2 runs leaves the 1-minimal pair: the unit test
    // `explore::exhaustive::tests::a_bounded_search_reports_a_one_minimal_tape`.)

    let report = Check::proptest(64).artefacts(Artefacts::Off).run(one_or_two);
    let example = proptest(&report).counterexample.as_ref().expect("fails");
    assert_eq!((example.tape.departures(), example.minimality), (1, Some(Minimality::Global)), "{report}");
}

// ---- schedule independence ----

/// Two workers append their name at 10 ms: the log depends on the order.
fn racy_log(sim: &mut Sim) -> Vec<&'static str> {
    let log = Rc::new(RefCell::new(Vec::new()));
    for name in ["a", "b"] {
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

/// The same workers, but each appends at its own instant: one order only matters.
fn timed_log(sim: &mut Sim) -> Vec<&'static str> {
    let log = Rc::new(RefCell::new(Vec::new()));
    for (name, ms) in [("a", 10), ("b", 10), ("c", 20)] {
        let log = log.clone();
        sim.spawn_named(name, async move {
            sleep(Duration::from_millis(ms)).await;
            let entry = if ms == 10 { "early" } else { name };
            log.borrow_mut().push(entry);
        });
    }
    sim.run().unwrap();
    let out = log.borrow().clone();
    out
}

#[test]
fn schedule_independence_reports_the_first_differing_seed_of_a_racy_program() {
    let found = timeline_independence(&Independence::default().name("racy"), racy_log).unwrap_err();
    assert_eq!(found.first.label(), "fifo");
    assert_eq!(found.first.output, ["a", "b"]);
    assert_eq!(found.second.output, ["b", "a"]);
    let StrategyKind::Random { seed } = found.second.strategy else { panic!("{found}") };
    // The reported seed really is the first that differs from FIFO.
    for earlier in 0..seed {
        assert_eq!(racy_log(&mut Sim::new(Config::random(earlier))), ["a", "b"], "seed {earlier}");
    }
    assert_eq!(found.runs, seed + 2);
    let expected = OutputDifference::At { index: 0, first: Some("\"a\"".into()), second: Some("\"b\"".into()) };
    assert_eq!(found.difference, expected);
    let report = found.to_string();
    assert!(report.contains(&format!("fifo and seed {seed} differ")), "{report}");
    assert!(
        report.contains(&format!("first difference at output 0: fifo gave \"a\", seed {seed} gave \"b\"")),
        "{report}"
    );
    // The reported tape replays the differing output.
    assert_eq!(racy_log(&mut Sim::new(Config::replay(found.second.tape.clone()))), ["b", "a"]);
}

#[test]
fn schedule_independence_passes_a_program_whose_output_ignores_the_order() {
    assert_eq!(timeline_independence(&Independence::default().runs(200), timed_log), Ok(()));
    let whole = schedule_independence(&Independence::default(), |sim| timed_log(sim).len());
    assert_eq!(whole, Ok(()));
}

#[test]
fn schedule_independence_compares_whole_outputs_that_are_not_timelines() {
    let found = schedule_independence(&Independence::default(), |sim| racy_log(sim).join("")).unwrap_err();
    let expected = OutputDifference::Whole { first: "\"ab\"".into(), second: "\"ba\"".into() };
    assert_eq!(found.difference, expected);
}
