//! The catalogue under every exploration strategy (issue: exploration).

use scenarios::exploration::{
    outcomes_of_every_order, outcomes_of_reduced_orders, proptest_path, reduced, replay_class,
};
use scenarios::{registry, Variant};

/// Enumeration bound for the default test run; every scenario below it is exhausted.
const RUNS: usize = 2_500;

#[test]
fn reduced_enumeration_finds_every_buggy_variant() {
    for s in registry::all().iter().filter(|s| s.variant == Variant::Buggy) {
        let found = reduced(s, RUNS).unwrap();
        assert!(found.failing > 0, "{}: no failing order in {} runs", s.name, found.runs);
    }
}

#[test]
fn reduced_enumeration_exhausts_every_fixed_variant_without_a_failure() {
    for s in registry::all().iter().filter(|s| s.variant != Variant::Buggy) {
        let result = reduced(s, RUNS).unwrap();
        assert_eq!(result.failing, 0, "{}: a fixed variant failed under some order", s.name);
        assert!(result.exhausted, "{}: more than {RUNS} classes of orders", s.name);
    }
}

/// The reduction is only sound if the worlds declare what they share: on every
/// scenario with at most 2,000 orders, one order per class reaches exactly the
/// outcomes (failure or pass, and the output timeline) that every order reaches.
/// `catalogue_exploration` compares the larger ones (up to 20,000 orders) in release.
#[test]
fn reduced_enumeration_reaches_every_outcome_that_plain_enumeration_reaches() {
    let mut compared = Vec::new();
    for s in registry::all() {
        let Some(all) = outcomes_of_every_order(s, 2_000) else { continue };
        let reduced = outcomes_of_reduced_orders(s, RUNS).unwrap().expect("fewer classes than orders");
        assert_eq!(reduced, all, "{}: the reduction missed outcomes", s.name);
        compared.push(s.name);
    }
    assert_eq!(
        compared,
        [
            "throttle-hang/buggy",
            "throttle-hang/fixed",
            "tokio-throttle-hang/fixed",
            "state-channel/fixed",
            "tick-loss/fixed"
        ]
    );
}

#[test]
fn every_buggy_variant_shrinks_to_at_most_two_departures_and_replays_to_the_same_failure() {
    for s in registry::all().iter().filter(|s| s.variant == Variant::Buggy) {
        let summary = proptest_path(s, 64);
        let found = summary.counterexample.unwrap_or_else(|| panic!("{}: not found in 64 cases", s.name));
        assert!(found.tape.departures() <= 2, "{}: {} departures ({})", s.name, found.tape.departures(), found.tape);
        let text = found.tape.to_string();
        assert_eq!(replay_class(s, &text.parse().unwrap()), found.failure.kind.class(), "{}: {text}", s.name);
    }
}
