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
use sim_core::explore::{proptest_check_with, PropCheck};
use sim_core::time::sleep;
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
/// replay of the first case catches it, naming a time.
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
    let passing =
        proptest_check_with(PropCheck::default().cases(8).determinism(Share::NONE), Just(()), |(), sim| leak(sim));
    assert!(passing.is_ok(), "without sampling nothing replays a passing case: {passing}");
}
