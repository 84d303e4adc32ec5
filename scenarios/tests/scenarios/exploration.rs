//! The catalogue under every exploration strategy (issue: exploration).

use scenarios::exploration::{proptest_path, reduced, replay_class};
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
fn reduced_enumeration_exhausts_the_small_fixed_variants_without_a_failure() {
    let mut exhausted = Vec::new();
    for s in registry::all().iter().filter(|s| s.variant != Variant::Buggy) {
        let result = reduced(s, RUNS).unwrap();
        assert_eq!(result.failing, 0, "{}: a fixed variant failed under some order", s.name);
        if result.exhausted {
            exhausted.push(s.name);
        }
    }
    // The rest (two-phase: 8,000 classes; drain: beyond 20,000) are covered by
    // `cargo run --release -p scenarios --example catalogue_exploration`.
    assert_eq!(exhausted, ["throttle-hang/fixed", "state-channel/fixed", "tick-loss/fixed", "size-vs-latency/fixed"]);
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
