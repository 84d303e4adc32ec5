//! Every scenario of the catalogue shows what it must: buggy variants are caught
//! within their bound and replay exactly, fixed variants pass their budget (and
//! every order, where the world is small), and the reports say what they must.

use scenarios::{registry, Expectation, Scenario, Variant};
use sim_core::check::Check;
use sim_core::FailureKind;

fn scenarios(filter: impl Fn(&Scenario) -> bool) -> Vec<&'static Scenario> {
    registry::all().iter().filter(|s| filter(s)).collect()
}

/// Set (to anything but `0`) to run every fixed variant over its whole seed budget
/// (10,000 seeds each, in a debug build: most of this binary's time) instead of its
/// first [`DEFAULT_SEEDS`].
const LONG_TESTS: &str = "LOCKSTEP_LONG_TESTS";

/// Seeds of its budget a fixed variant runs in the default test run. The whole budget
/// runs with [`LONG_TESTS`] set, and in CI's main job (`lockstep run --all`, in
/// release), which fails when a fixed variant fails any seed of its budget.
const DEFAULT_SEEDS: u64 = 1_000;

/// The seeds a fixed variant runs here: its whole budget with [`LONG_TESTS`] set, else
/// the first [`DEFAULT_SEEDS`] of it.
fn seed_budget(s: &Scenario) -> u64 {
    let long = std::env::var(LONG_TESTS).is_ok_and(|v| !v.is_empty() && v != "0");
    if long {
        s.expect.seeds()
    } else {
        s.expect.seeds().min(DEFAULT_SEEDS)
    }
}

#[test]
fn the_catalogue_holds_every_race_buggy_and_fixed_and_the_no_straggler_drain() {
    for race in 1..=6 {
        for variant in [Variant::Buggy, Variant::Fixed] {
            assert!(
                registry::all().iter().any(|s| s.race == race && s.variant == variant),
                "race {race} has no {variant} variant"
            );
        }
    }
    assert!(registry::get("drain/no-straggler").is_some());
    for s in registry::all() {
        assert_eq!(s.name, format!("{}/{}", s.family, s.variant), "names are family/variant");
        assert_eq!(s.expect.must_fail(), s.variant == Variant::Buggy, "{}: only buggy variants must fail", s.name);
    }
}

#[test]
fn every_buggy_variant_fails_within_its_bound_and_replays_from_its_tape_to_the_same_fingerprint() {
    for s in scenarios(|s| s.variant == Variant::Buggy) {
        let Expectation::Caught { within } = s.expect else { unreachable!() };
        let summary = s.check(Check::default().seeds(0..within), &|| {});
        let first = summary.first_failure().unwrap_or_else(|| panic!("{}: not caught in {within} seeds", s.name));
        let failure = &first.failure;
        let replayed = s.run_tape(failure.tape.clone());
        let again = replayed.result.as_ref().expect_err("the replay fails too");
        assert_eq!(replayed.fingerprint, failure.fingerprint, "{}: the replay differs", s.name);
        assert_eq!(again.kind, failure.kind, "{}: the replay fails another way", s.name);
        let by_seed = s.run_seed(first.seed.expect("seeded"));
        assert_eq!(by_seed.fingerprint, failure.fingerprint, "{}: the seed runs differently alone", s.name);
    }
}

/// Every fixed variant passes the seeds of its budget this run covers ([`seed_budget`]).
#[test]
fn every_fixed_variant_passes_its_seed_budget() {
    for s in scenarios(|s| s.variant != Variant::Buggy) {
        let seeds = seed_budget(s);
        assert!(seeds >= DEFAULT_SEEDS.min(s.expect.seeds()), "{}: {seeds} seeds", s.name);
        let summary = s.check(Check::default().seeds(0..seeds), &|| {});
        assert!(summary.is_ok(), "{}: {summary}", s.name);
        assert_eq!(summary.seeds_run, seeds);
    }
}

#[test]
fn the_drain_without_a_straggler_passes_its_seeds_and_interleaves_both_ways() {
    let s = registry::get("drain/no-straggler").unwrap();
    let summary = s.check(Check::default().seeds(0..seed_budget(s)), &|| {});
    summary.assert_ok();
    // Same-instant sends of the two producers really are interleaved both ways.
    let outputs: std::collections::BTreeSet<String> = (0..20).map(|seed| s.run_seed(seed).output.to_string()).collect();
    assert!(outputs.len() > 1, "the seeds explore different interleavings");
}

#[test]
fn the_throttle_hang_is_a_deadlock_naming_the_driver_and_the_throttle_and_what_each_waits_on() {
    let s = registry::get("throttle-hang/buggy").unwrap();
    let summary = s.check(Check::default().seeds(0..100), &|| {});
    let failure = &summary.first_failure().expect("caught").failure;
    let FailureKind::Deadlock { blocked } = &failure.kind else { panic!("not a deadlock: {failure}") };
    let waits = |task: &str| blocked.iter().find(|b| b.name == task).map(|b| b.waits.clone());
    assert_eq!(waits("driver"), Some(vec!["recv on `out`".to_string()]));
    assert_eq!(waits("throttle"), Some(vec!["recv on `in`".to_string()]));
    let report = failure.to_string();
    assert!(report.starts_with("lockstep: deadlock in `throttle-hang/buggy`"), "{report}");
    let seed = failure.seed.unwrap();
    let command =
        format!("replay: cargo run --release -p scenarios --bin lockstep -- replay throttle-hang/buggy --seed {seed}");
    assert!(report.contains(&command), "{report}");
}

#[test]
fn the_straggling_drain_reports_the_lost_events_and_the_blocked_helper() {
    let s = registry::get("drain/buggy").unwrap();
    let outcome = s.run_seed(0);
    let failure = outcome.result.as_ref().expect_err("the straggler's events are lost");
    let FailureKind::Deadlock { blocked } = &failure.kind else { panic!("not a deadlock: {failure}") };
    let helper = blocked.iter().find(|b| b.name == "helper").expect("the helper is blocked");
    assert_eq!(helper.waits, ["send on full `events`"]);
    assert_eq!(outcome.findings.len(), 1, "{:?}", outcome.findings);
    assert!(
        outcome.findings[0].contains("100 left in the buffer after its reader stopped (lost)"),
        "{}",
        outcome.findings[0]
    );
}

#[test]
fn small_worlds_fail_in_some_order_when_buggy_and_in_none_when_fixed() {
    let small = scenarios(|s| s.explore_limit.is_some());
    assert!(small.len() >= 4, "the throttle hang and the state channel are enumerated");
    for s in small {
        let e = s.explore(s.explore_limit.unwrap());
        assert!(e.exhausted, "{}: {} orders were not all", s.name, e.runs);
        match s.variant {
            Variant::Buggy => {
                assert!(e.failing > 0 && e.failing < e.runs, "{}: {} of {} orders fail", s.name, e.failing, e.runs);
                let tape = e.first_failing.expect("a failing order");
                assert!(s.run_tape(tape).result.is_err(), "{}: the failing order replays", s.name);
            }
            _ => assert_eq!(e.failing, 0, "{}: {} of {} orders fail", s.name, e.failing, e.runs),
        }
    }
}

#[test]
fn every_scenario_runs_a_seed_the_same_twice() {
    for s in registry::all() {
        for seed in [0, 7, 1234] {
            let (a, b) = (s.run_seed(seed), s.run_seed(seed));
            assert_eq!(a.fingerprint, b.fingerprint, "{} seed {seed}", s.name);
            assert_eq!(a.output, b.output, "{} seed {seed}", s.name);
        }
    }
}

#[test]
fn the_fixed_variants_emit_what_the_processor_semantics_say() {
    let expected = [
        ("throttle-hang/fixed", "[0s 1, 50ms 6]"),
        ("state-channel/fixed", "[0s 1, 50ms 6]"),
        ("two-phase-debounce/fixed", "[100ms 1, 250ms 3, 350ms 4, 500ms 5]"),
        ("two-phase-batcher/fixed", "[100ms [1, 2], 200ms [3, 4], 300ms [5]]"),
        ("size-vs-latency/fixed", "[100ms [1, 2], 140ms [3, 4, 5], 300ms [6]]"),
        (
            "tick-loss/fixed",
            "[400ms [0ns, 100ms): [1], 400ms [100ms, 200ms): [2], 500ms [400ms, 500ms): [3, 4], 600ms [500ms, 600ms): [5]]",
        ),
    ];
    for (name, timeline) in expected {
        let s = registry::get(name).unwrap();
        for seed in 0..20 {
            assert_eq!(s.run_seed(seed).output.to_string(), timeline, "{name} seed {seed}");
        }
    }
}

#[test]
fn buggy_outputs_depend_on_the_order_of_same_instant_events() {
    // Schedule dependence: one input timeline, several output timelines.
    for name in ["two-phase-batcher/buggy", "size-vs-latency/buggy", "tick-loss/buggy", "two-phase-debounce/buggy"] {
        let s = registry::get(name).unwrap();
        let outputs: std::collections::BTreeSet<String> =
            (0..50).map(|seed| s.run_seed(seed).output.to_string()).collect();
        assert!(outputs.len() > 1, "{name}: every seed emitted the same");
    }
}
