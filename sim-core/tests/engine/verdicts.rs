//! Verdicts you can trust: no check reports a pass while a run under it failed, and
//! every check catches a program whose runs do not replay. Each program here is
//! nondeterministic on purpose, through a counter that outlives its runs; each
//! check must report it as a failure of kind `Nondeterministic`, and the same
//! program made deterministic must pass.

//!
//! Each world is a closure of the one runner whose future, the task `main`, is the
//! check: the closure spawns the other tasks first, so `main` is the last task
//! spawned, and it ends last (at 20 ms, after every other task ended). The runs,
//! steps and choice points are those of the same program with the check a task
//! of its own spawned last, as the engine's own explorers ran these programs.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sim_core::artefacts::Artefacts;
use sim_core::check::{Check, Report, Share};
use sim_core::determinism::Difference;
use sim_core::explore::{ExhaustiveSummary, PropSummary};
use sim_core::task::Builder;
use sim_core::time::sleep;
use sim_core::touch;
use sim_core::{fail, Failure, FailureKind};

fn exhaustive(report: &Report) -> &ExhaustiveSummary {
    match report {
        Report::Exhaustive(summary) => summary,
        other => panic!("not the exhaustive search: {other}"),
    }
}

fn proptest<V: std::fmt::Debug>(report: &Report<V>) -> &PropSummary<V> {
    match report {
        Report::Proptest(summary) => summary,
        other => panic!("not the proptest search: {other}"),
    }
}

/// Two tasks wake at 10 ms; the world fails when `b` goes first, but only on the
/// runs `flip` says: a counter outside the simulation decides.
fn order_property(flip: &'static AtomicU64, modulo: u64) -> impl Future<Output = ()> {
    let order = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    for name in ["a", "b"] {
        let order = order.clone();
        Builder::new().name(name).spawn(async move {
            sleep(Duration::from_millis(10)).await;
            order.borrow_mut().push(name);
        });
    }
    let counted = flip.fetch_add(1, Ordering::SeqCst) % modulo != 0;
    async move {
        sleep(Duration::from_millis(20)).await;
        if order.borrow()[0] == "b" && counted {
            fail("b went first");
        }
    }
}

/// A world that always passes but leaks a counter into a timer: `main` sleeps a
/// millisecond longer on every run (steps: its poll, its timer, its last poll).
fn leak(calls: &'static AtomicU64) -> impl Future<Output = ()> {
    let ms = 1 + calls.fetch_add(1, Ordering::SeqCst);
    async move { sleep(Duration::from_millis(ms)).await }
}

fn nondeterminism(failure: &Failure) -> &sim_core::Nondeterminism {
    match &failure.kind {
        FailureKind::Nondeterministic(nd) => nd,
        _ => panic!("expected a nondeterminism failure, got {failure}"),
    }
}

/// The false pass: a failure found, then the shrunk case passed on re-run,
/// and the proptest check said `is_ok() == true`. Here every third run passes
/// whatever the order, so the first failing case (or the shrunk one) passes when
/// replayed: the check must fail, with "failed, then passed on replay". (The
/// verdict alternates from run to run, so the replay of any failing run passes.)
#[test]
fn proptest_never_turns_a_failure_that_does_not_replay_into_a_pass() {
    static FLIP: AtomicU64 = AtomicU64::new(1);
    let check = Check::proptest(64).name("flaky").determinism(Share::NONE).artefacts(Artefacts::Off);
    let report = check.run(|| order_property(&FLIP, 2));
    let summary = proptest(&report);
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
    let check = Check::proptest(64).name("steady").determinism(Share::ALL).artefacts(Artefacts::Off);
    let report = check.run(|| order_property(&FLIP, u64::MAX));
    let summary = proptest(&report);
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
    let report = Check::proptest(8).artefacts(Artefacts::Off).run(|| leak(&CALLS));
    let summary = proptest(&report);
    let found = summary.counterexample.as_ref().expect("the replay of case 1 differs");
    let nd = nondeterminism(&found.failure);
    assert_eq!((nd.outcomes, nd.difference), ([None, None], Difference::Time), "{summary}");
    assert_eq!(found.failing_case, 1);
    let unsampled = Check::proptest(8).determinism(Share::NONE).artefacts(Artefacts::Off).run(|| leak(&CALLS));
    let unsampled = proptest(&unsampled);
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

// ---- the exhaustive search ----

/// Two tasks wake at 10 ms and append to a log they declare with `touch`, so the
/// reduction keeps both orders (2 classes); `main`, the check, at 20 ms fails when
/// `b` went first, but only on the runs `counted` says. Before the race, a task
/// `noise` sleeps `noise_ms` (a timer in the trace before the first choice point).
fn touched_race(noise_ms: u64, counted: bool) -> impl Future<Output = ()> {
    let order = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    Builder::new().name("noise").spawn(async move { sleep(Duration::from_millis(noise_ms)).await });
    for name in ["a", "b"] {
        let order = order.clone();
        Builder::new().name(name).spawn(async move {
            sleep(Duration::from_millis(10)).await;
            touch("order");
            order.borrow_mut().push(name);
        });
    }
    async move {
        sleep(Duration::from_millis(20)).await;
        touch("order");
        if order.borrow()[0] == "b" && counted {
            fail("b went first");
        }
    }
}

/// The exhaustive search with the artefacts off.
fn every() -> Check {
    Check::exhaustive().artefacts(Artefacts::Off)
}

/// The lucky proof: the verdict alone flips from run to run (every choice
/// point the same), so one enumeration said "2 of 2 classes failing" and another
/// "1 of 2". Runs alternate: run 1 (`a` first) passes whatever, run 2 (`b` first)
/// fails; its replay (run 3 of the program) passes. With no passing run sampled,
/// only the replay of the failing run can catch it: "failed, then passed on replay".
#[test]
fn exhaustive_search_replays_its_failing_runs() {
    static FLIP: AtomicU64 = AtomicU64::new(0);
    let check = every().name("flaky").determinism(Share::NONE);
    let report = check.run(|| touched_race(1, FLIP.fetch_add(1, Ordering::SeqCst) % 2 == 1));
    let summary = exhaustive(&report);
    assert!(!summary.is_proven() && summary.is_nondeterministic(), "{summary}");
    let found = summary.first_failing.as_ref().unwrap();
    let nd = nondeterminism(&found.failure);
    assert_eq!(nd.outcomes, [Some("violation"), None], "{summary}");
    assert_eq!((found.run, summary.replayed), (2, 1), "{summary}");
    let text = summary.to_string();
    assert!(text.contains("nondeterministic: run 2 of the enumeration did not replay"), "{text}");
    assert!(text.contains("then passed on replay"), "{text}");

    // The same program, deterministic: both classes run, one fails, and it is shrunk.
    let steady = every().run(|| touched_race(1, true));
    let steady = exhaustive(&steady);
    assert_eq!((steady.runs, steady.failing, steady.is_nondeterministic()), (2, 1, false), "{steady}");
    assert!(matches!(steady.first_failing.as_ref().unwrap().failure.kind, FailureKind::Violation { .. }));
}

/// A leak before the first choice point (a counter picks the `noise` task's sleep)
/// changes no choice point and no verdict: without replaying anything, the check
/// sees that run 2 did not reach the choice point run 1 reached with the same
/// trace, and its replays name the first differing step: the timer set for 2ms in
/// one run, 3ms in the next. Both the reduced and the every-order enumerations.
#[test]
fn exhaustive_search_verifies_each_run_replays_its_prefix() {
    for every_order in [false, true] {
        static CALLS: AtomicU64 = AtomicU64::new(0);
        let check = every().determinism(Share::NONE).every_order(every_order);
        let report = check.run(|| touched_race(1 + CALLS.fetch_add(1, Ordering::SeqCst), false));
        let summary = exhaustive(&report);
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
        let proven = every().determinism(Share::ALL).every_order(every_order).run(|| touched_race(1, false));
        let proven = exhaustive(&proven);
        assert!(proven.is_proven(), "{proven}");
        assert_eq!(proven.replayed, proven.runs + proven.redundant, "{proven}");
    }
}

/// A leak that only the first run of the process sees: the replays of run 2's tape
/// agree with each other, so the report names the steps between the last place the
/// runs agreed and the first where they did not.
#[test]
fn exhaustive_search_names_where_a_one_off_difference_lies() {
    static FIRST: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);
    let report = every().determinism(Share::NONE).run(|| {
        let noise = if FIRST.swap(false, Ordering::SeqCst) { 2 } else { 1 };
        touched_race(noise, false)
    });
    let summary = exhaustive(&report);
    let found = summary.first_failing.as_ref().expect("run 2 did not replay run 1's prefix");
    let nd = nondeterminism(&found.failure);
    assert_eq!(nd.difference, Difference::NotLocated, "{summary}");
    assert!(nd.evidence.contains("the first difference is a step after step 1 and up to step 2"), "{}", nd.evidence);
}

/// A program with a single order (no choice point: nothing to compare a run's
/// prefix with) that leaks a counter into a timer: the sampled replay of the first
/// run catches it; with sampling off, nothing can, and it is proven.
#[test]
fn exhaustive_search_samples_passing_runs() {
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let report = every().run(|| leak(&CALLS));
    let summary = exhaustive(&report);
    let found = summary.first_failing.as_ref().expect("the replay of run 1 differs");
    let nd = nondeterminism(&found.failure);
    assert_eq!((nd.outcomes, nd.difference, summary.replayed), ([None, None], Difference::Time, 1), "{summary}");
    let blind = every().determinism(Share::NONE).run(|| leak(&CALLS));
    let blind = exhaustive(&blind);
    assert!(blind.is_proven(), "without sampling nothing replays a single passing run: {blind}");
}

// ---- proptest: each run against the earlier runs that made the same choices ----

/// The leak before the second choice point, under generated schedules with no run
/// sampled: two cases that make the same first choice must have reached the second
/// the same way, and do not (case 2 may choose otherwise; a later case does not).
#[test]
fn proptest_verifies_each_run_replays_its_prefix() {
    static CALLS: AtomicU64 = AtomicU64::new(0);
    let check = Check::proptest(32).determinism(Share::NONE).artefacts(Artefacts::Off);
    let report = check.run(|| touched_race(1 + CALLS.fetch_add(1, Ordering::SeqCst), false));
    let summary = proptest(&report);
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
    let check = Check::proptest(64).determinism(Share::NONE).artefacts(Artefacts::Off);
    let report = check.run_inputs(1u64..40, |noise| touched_race(noise, false)).expect("a proptest check");
    assert!(report.is_ok(), "{report}");
}
