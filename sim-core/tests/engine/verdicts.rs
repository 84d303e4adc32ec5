//! Verdicts you can trust: no check reports a pass while a run under it failed, and
//! every check catches a program whose runs do not replay. Each program here is
//! nondeterministic on purpose, through a counter that outlives its runs; each
//! check must report it as a failure of kind `Nondeterministic`, and the same
//! program made deterministic must pass.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use proptest::strategy::Just;
use sim_core::check::Share;
use sim_core::determinism::Difference;
use sim_core::explore::{exhaustive_check, proptest_check_with, ExhaustiveCheck, PropCheck};
use sim_core::time::sleep;
use sim_core::touch;
use sim_core::{fail, Failure, FailureKind, Sim};

/// Two tasks wake at 10 ms; the property fails when `b` goes first, but only on
/// the runs `flip` says: a counter outside the simulation decides.
fn order_property(sim: &mut Sim, flip: &AtomicU64, modulo: u64) -> Result<(), Box<Failure>> {
    let order = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    for name in ["a", "b"] {
        let order = order.clone();
        sim.spawn_named(name, async move {
            sleep(Duration::from_millis(10)).await;
            order.borrow_mut().push(name);
        });
    }
    let counted = flip.fetch_add(1, Ordering::SeqCst) % modulo != 0;
    sim.spawn_named("check", async move {
        sleep(Duration::from_millis(20)).await;
        if order.borrow()[0] == "b" && counted {
            fail("b went first");
        }
    });
    sim.run()
}

fn nondeterminism(failure: &Failure) -> &sim_core::Nondeterminism {
    match &failure.kind {
        FailureKind::Nondeterministic(nd) => nd,
        _ => panic!("expected a nondeterminism failure, got {failure}"),
    }
}

/// The false pass: a failure found, then the shrunk case passed on re-run,
/// and `proptest_check_with` said `is_ok() == true`. Here every third run passes
/// whatever the order, so the first failing case (or the shrunk one) passes when
/// replayed: the check must fail, with "failed, then passed on replay". (The
/// verdict alternates from run to run, so the replay of any failing run passes.)
#[test]
fn proptest_never_turns_a_failure_that_does_not_replay_into_a_pass() {
    static FLIP: AtomicU64 = AtomicU64::new(1);
    let cfg = PropCheck::default().name("flaky").cases(64).determinism(Share::NONE);
    let summary = proptest_check_with(cfg, Just(()), |(), sim| order_property(sim, &FLIP, 2));
    assert!(!summary.is_ok(), "{summary}");
    let found = summary.counterexample.as_ref().unwrap();
    let nd = nondeterminism(&found.failure);
    assert_eq!(nd.outcomes, [Some("violation"), None], "{summary}");
    assert!(summary.to_string().contains("then passed on replay"), "{summary}");
}

/// The same property, deterministic (the counter never flips the verdict): found,
/// shrunk to one departure, reported as a violation.
#[test]
fn proptest_reports_a_deterministic_failure_as_itself() {
    static FLIP: AtomicU64 = AtomicU64::new(1);
    let cfg = PropCheck::default().name("steady").cases(64).determinism(Share::ALL);
    let summary = proptest_check_with(cfg, Just(()), |(), sim| order_property(sim, &FLIP, u64::MAX));
    let found = summary.counterexample.as_ref().expect("b goes first in some case");
    assert!(matches!(found.failure.kind, FailureKind::Violation { .. }), "{summary}");
    assert_eq!(found.tape.departures(), 1);
}

/// A property that always passes but leaks a counter into a timer: the sampled
/// replay of the first case catches it, naming a time. With no case sampled, case
/// 2 (which makes the same choices as case 1: none) is compared with case 1.
#[test]
fn proptest_sampling_catches_a_leak_in_a_passing_property() {
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let leak = |sim: &mut Sim| {
        let ms = 1 + CALLS.fetch_add(1, Ordering::SeqCst);
        sim.spawn_named("sleeper", async move { sleep(Duration::from_millis(ms)).await });
        sim.run()
    };
    let summary = proptest_check_with(PropCheck::default().cases(8), Just(()), |(), sim| leak(sim));
    let found = summary.counterexample.as_ref().expect("the replay of case 1 differs");
    let nd = nondeterminism(&found.failure);
    assert_eq!((nd.outcomes, nd.difference), ([None, None], Difference::Time), "{summary}");
    assert_eq!(found.failing_case, 1);
    let unsampled =
        proptest_check_with(PropCheck::default().cases(8).determinism(Share::NONE), Just(()), |(), sim| leak(sim));
    let found = unsampled.counterexample.as_ref().expect("case 2 ends unlike case 1");
    let nd = nondeterminism(&found.failure);
    assert_eq!((found.failing_case, nd.difference), (2, Difference::Time), "{unsampled}");
    assert!(
        nd.evidence.starts_with(
            "runs 1 and 2 of the check did not do the same thing before making any choice: run 1 ended at step 3"
        ),
        "{}",
        nd.evidence
    );
}

// ---- exhaustive_check ----

/// Two tasks wake at 10 ms and append to a log they declare with `touch`, so the
/// reduction keeps both orders (2 classes); the check at 20 ms fails when `b` went
/// first, but only on the runs `counted` says. Before the race, a task `noise`
/// sleeps `noise_ms` (a timer in the trace before the first choice point).
fn touched_race(sim: &mut Sim, noise_ms: u64, counted: bool) -> Result<(), Box<Failure>> {
    let order = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    sim.spawn_named("noise", async move { sleep(Duration::from_millis(noise_ms)).await });
    for name in ["a", "b"] {
        let order = order.clone();
        sim.spawn_named(name, async move {
            sleep(Duration::from_millis(10)).await;
            touch("order");
            order.borrow_mut().push(name);
        });
    }
    sim.spawn_named("check", async move {
        sleep(Duration::from_millis(20)).await;
        touch("order");
        if order.borrow()[0] == "b" && counted {
            fail("b went first");
        }
    });
    sim.run()
}

/// The lucky proof: the verdict alone flips from run to run (every choice
/// point the same), so one enumeration said "2 of 2 classes failing" and another
/// "1 of 2". Runs alternate: run 1 (`a` first) passes whatever, run 2 (`b` first)
/// fails; its replay (run 3 of the program) passes. With no passing run sampled,
/// only the replay of the failing run can catch it: "failed, then passed on replay".
#[test]
fn exhaustive_check_replays_its_failing_runs() {
    static FLIP: AtomicU64 = AtomicU64::new(0);
    let cfg = ExhaustiveCheck::default().name("flaky").determinism(Share::NONE).print(false);
    let summary = exhaustive_check(cfg, |sim| touched_race(sim, 1, FLIP.fetch_add(1, Ordering::SeqCst) % 2 == 1));
    assert!(!summary.is_proven() && summary.is_nondeterministic(), "{summary}");
    let found = summary.first_failing.as_ref().unwrap();
    let nd = nondeterminism(&found.failure);
    assert_eq!(nd.outcomes, [Some("violation"), None], "{summary}");
    assert_eq!((found.run, summary.replayed), (2, 1), "{summary}");
    let text = summary.to_string();
    assert!(text.contains("nondeterministic: run 2 of the enumeration did not replay"), "{text}");
    assert!(text.contains("then passed on replay"), "{text}");

    // The same program, deterministic: both classes run, one fails, and it is shrunk.
    let steady = exhaustive_check(ExhaustiveCheck::default().print(false), |sim| touched_race(sim, 1, true));
    assert_eq!((steady.runs, steady.failing, steady.is_nondeterministic()), (2, 1, false), "{steady}");
    assert!(matches!(steady.first_failing.unwrap().failure.kind, FailureKind::Violation { .. }));
}

/// A leak before the first choice point (a counter picks the `noise` task's sleep)
/// changes no choice point and no verdict: without replaying anything, the check
/// sees that run 2 did not reach the choice point run 1 reached with the same
/// trace, and its replays name the first differing step: the timer set for 2ms in
/// one run, 3ms in the next. Both the reduced and the every-order enumerations.
#[test]
fn exhaustive_check_verifies_each_run_replays_its_prefix() {
    for every_order in [false, true] {
        static CALLS: AtomicU64 = AtomicU64::new(0);
        let cfg = ExhaustiveCheck::default().determinism(Share::NONE).every_order(every_order).print(false);
        let summary = exhaustive_check(cfg, |sim| touched_race(sim, 1 + CALLS.fetch_add(1, Ordering::SeqCst), false));
        assert!(summary.is_nondeterministic() && !summary.is_proven(), "{summary}");
        let found = summary.first_failing.as_ref().unwrap();
        assert_eq!((found.run, summary.replayed), (2, 0), "{summary}");
        let nd = nondeterminism(&found.failure);
        assert_eq!(nd.difference, Difference::Time, "{summary}");
        assert_eq!(nd.step, 1, "the noise timer is set in step 1: {summary}");
        // Step 1 polls `noise` (the first of four tasks due at 0s, canonically), which
        // sets its timer; the next choice point, among the other three, is step 2.
        let prefix = "runs 1 and 2 of the check did not do the same thing after making the same choice: \
                      both reached a choice among 3 at step 2 (t=0s), with trace fingerprints";
        assert!(nd.evidence.starts_with(prefix), "{}", nd.evidence);
        assert!(nd.evidence.contains("is set for"), "{}", nd.evidence);

        // Deterministic: proven, every run replayed and compared when asked.
        let cfg = ExhaustiveCheck::default().determinism(Share::ALL).every_order(every_order);
        let proven = exhaustive_check(cfg, |sim| touched_race(sim, 1, false));
        assert!(proven.is_proven(), "{proven}");
        assert_eq!(proven.replayed, proven.runs + proven.redundant, "{proven}");
    }
}

/// A leak that only the first run of the process sees: the replays of run 2's tape
/// agree with each other, so the report names the steps between the last place the
/// runs agreed and the first where they did not.
#[test]
fn exhaustive_check_names_where_a_one_off_difference_lies() {
    static FIRST: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);
    let cfg = ExhaustiveCheck::default().determinism(Share::NONE).print(false);
    let summary = exhaustive_check(cfg, |sim| {
        let noise = if FIRST.swap(false, Ordering::SeqCst) { 2 } else { 1 };
        touched_race(sim, noise, false)
    });
    let found = summary.first_failing.as_ref().expect("run 2 did not replay run 1's prefix");
    let nd = nondeterminism(&found.failure);
    assert_eq!(nd.difference, Difference::NotLocated, "{summary}");
    assert!(nd.evidence.contains("the first difference is a step after step 1 and up to step 2"), "{}", nd.evidence);
}

/// A program with a single order (no choice point: nothing to compare a run's
/// prefix with) that leaks a counter into a timer: the sampled replay of the first
/// run catches it; with sampling off, nothing can, and it is proven.
#[test]
fn exhaustive_check_samples_passing_runs() {
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let leak = |sim: &mut Sim| {
        let ms = 1 + CALLS.fetch_add(1, Ordering::SeqCst);
        sim.spawn_named("sleeper", async move { sleep(Duration::from_millis(ms)).await });
        sim.run()
    };
    let summary = exhaustive_check(ExhaustiveCheck::default().print(false), leak);
    let found = summary.first_failing.as_ref().expect("the replay of run 1 differs");
    let nd = nondeterminism(&found.failure);
    assert_eq!((nd.outcomes, nd.difference, summary.replayed), ([None, None], Difference::Time, 1), "{summary}");
    let blind = exhaustive_check(ExhaustiveCheck::default().determinism(Share::NONE), leak);
    assert!(blind.is_proven(), "without sampling nothing replays a single passing run: {blind}");
}

// ---- proptest: each run against the earlier runs that made the same choices ----

/// The leak before the second choice point, under generated schedules with no run
/// sampled: two cases that make the same first choice must have reached the second
/// the same way, and do not (case 2 may choose otherwise; a later case does not).
#[test]
fn proptest_verifies_each_run_replays_its_prefix() {
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let cfg = PropCheck::default().cases(32).determinism(Share::NONE);
    let summary = proptest_check_with(cfg, Just(()), |(), sim| {
        touched_race(sim, 1 + CALLS.fetch_add(1, Ordering::SeqCst), false)
    });
    let found = summary.counterexample.as_ref().expect("case 2 did not replay case 1's prefix");
    let nd = nondeterminism(&found.failure);
    assert_eq!(nd.difference, Difference::Time, "{summary}");
    let runs = format!(
        "runs 1 and {} of the check did not do the same thing after making the same choice",
        found.failing_case
    );
    assert!(found.failing_case >= 2 && nd.evidence.starts_with(&runs), "{}", nd.evidence);
}

/// Runs are compared only with runs of the same inputs: inputs that change the
/// trace (here the noise timer) are no nondeterminism.
#[test]
fn proptest_compares_runs_of_the_same_inputs_only() {
    let cfg = PropCheck::default().cases(64).determinism(Share::NONE);
    let summary = proptest_check_with(cfg, 1u64..40, |&noise, sim| touched_race(sim, noise, false));
    assert!(summary.is_ok(), "{summary}");
}
