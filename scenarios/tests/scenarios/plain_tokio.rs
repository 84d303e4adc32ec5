//! The catalogue in plain tokio (`scenarios::races::plain_tokio`): races 1, 2 and 5
//! written with `tokio::spawn`, `tokio::sync`, `tokio::time` and `tokio::select!`,
//! run through sim-tokio. Each must behave as its `sim-core` twin does: caught the
//! same way when buggy, the same output when fixed, deterministic per seed.

use std::collections::BTreeSet;
use std::process::Command;

use scenarios::exploration::reduced;
use scenarios::{registry, Scenario};
use sim_core::check::Check;
use sim_core::FailureKind;

/// Each tokio variant and its `sim-core` twin.
const TWINS: [(&str, &str); 7] = [
    ("tokio-throttle-hang/buggy", "throttle-hang/buggy"),
    ("tokio-throttle-hang/fixed", "throttle-hang/fixed"),
    ("tokio-two-phase/buggy", "two-phase-debounce/buggy"),
    ("tokio-two-phase/fixed", "two-phase-debounce/fixed"),
    ("tokio-drain/buggy", "drain/buggy"),
    ("tokio-drain/no-straggler", "drain/no-straggler"),
    ("tokio-drain/fixed", "drain/fixed"),
];

fn get(name: &str) -> &'static Scenario {
    registry::get(name).unwrap_or_else(|| panic!("{name} is not in the catalogue"))
}

fn tokio_variants() -> Vec<&'static Scenario> {
    registry::all().iter().filter(|s| s.family.starts_with("tokio-")).collect()
}

#[test]
fn the_catalogue_holds_the_three_races_in_plain_tokio_buggy_and_fixed() {
    let names: Vec<&str> = tokio_variants().iter().map(|s| s.name).collect();
    let twins: Vec<&str> = TWINS.iter().map(|(t, _)| *t).collect();
    assert_eq!(names, twins);
    for (tokio, twin) in TWINS {
        let (tokio, twin) = (get(tokio), get(twin));
        assert_eq!((tokio.race, tokio.variant, tokio.expect), (twin.race, twin.variant, twin.expect), "{}", tokio.name);
        assert_eq!(tokio.schedule_independent, twin.schedule_independent, "{}", tokio.name);
    }
    // `lockstep run tokio-drain` selects the family.
    assert_eq!(registry::select("tokio-drain").len(), 3);
}

#[test]
fn every_tokio_variant_runs_a_seed_the_same_twice() {
    for s in tokio_variants() {
        let mut fingerprints = BTreeSet::new();
        for seed in [0, 3, 9, 1234] {
            let (a, b) = (s.run_seed(seed), s.run_seed(seed));
            assert_eq!(a.fingerprint, b.fingerprint, "{} seed {seed}", s.name);
            assert_eq!(a.output, b.output, "{} seed {seed}", s.name);
            assert_eq!(a.class(), b.class(), "{} seed {seed}", s.name);
            fingerprints.insert(a.fingerprint);
        }
        // The fingerprint tells runs apart: these seeds do not all run the same order.
        assert!(fingerprints.len() > 1, "{}: four seeds, one fingerprint", s.name);
    }
}

#[test]
fn each_buggy_tokio_variant_is_caught_as_its_sim_core_twin_is() {
    for (tokio, twin) in TWINS.iter().filter(|(t, _)| t.ends_with("/buggy")) {
        let (tokio, twin) = (get(tokio), get(twin));
        let first = |s: &Scenario| {
            let summary = s.check(Check::default().seeds(0..s.expect.seeds()).jobs(1), &|| {});
            summary.first_failure().unwrap_or_else(|| panic!("{}: not caught", s.name)).failure.clone()
        };
        let (found, expected) = (first(tokio), first(twin));
        assert_eq!(found.kind.class(), expected.kind.class(), "{}: {found}", tokio.name);
        if let (FailureKind::Deadlock { blocked: a }, FailureKind::Deadlock { blocked: b }) =
            (&found.kind, &expected.kind)
        {
            // The same tasks, waiting on the same named channels.
            let waits = |blocked: &[sim_core::BlockedTask]| -> Vec<(String, Vec<String>)> {
                blocked.iter().map(|t| (t.name.clone(), t.waits.clone())).collect()
            };
            assert_eq!(waits(a), waits(b), "{}", tokio.name);
        }
        // Its tape replays to the same run.
        let replayed = tokio.run_tape(found.tape.clone());
        assert_eq!(replayed.fingerprint, found.fingerprint, "{}", tokio.name);
        assert_eq!(replayed.class(), found.kind.class(), "{}", tokio.name);
    }
}

#[test]
fn the_throttle_hang_in_tokio_names_both_tasks_and_the_lost_item() {
    let s = get("tokio-throttle-hang/buggy");
    let failing = (0..100).map(|seed| s.run_seed(seed)).find(|o| o.result.is_err()).expect("caught in 100 seeds");
    let failure = failing.result.as_ref().unwrap_err();
    let FailureKind::Deadlock { blocked } = &failure.kind else { panic!("not a deadlock: {failure}") };
    let waits = |task: &str| blocked.iter().find(|b| b.name == task).map(|b| b.waits.clone());
    assert_eq!(waits("driver"), Some(vec!["recv on `out`".to_string()]));
    assert_eq!(waits("throttle"), Some(vec!["recv on `in`".to_string()]));
    assert_eq!(
        failing.findings,
        ["message conservation on `throttle`: 2 sent, 1 received, 0 dropped on purpose, 1 unaccounted for"]
    );
}

#[test]
fn the_drain_in_tokio_reports_the_blocked_helper_and_the_lost_events() {
    let outcome = get("tokio-drain/buggy").run_seed(0);
    let failure = outcome.result.as_ref().expect_err("the straggler's events are lost");
    let FailureKind::Deadlock { blocked } = &failure.kind else { panic!("not a deadlock: {failure}") };
    let helper = blocked.iter().find(|b| b.name == "helper").expect("the helper is blocked");
    assert_eq!(helper.waits, ["send on full `events`"]);
    assert_eq!(outcome.findings.len(), 1, "{:?}", outcome.findings);
    assert!(
        outcome.findings[0].contains("100 left in the buffer after its reader stopped (lost)"),
        "{:?}",
        outcome.findings
    );
}

#[test]
fn the_fixed_tokio_variants_emit_what_their_sim_core_twins_emit() {
    for (tokio, twin) in TWINS.iter().filter(|(t, _)| !t.ends_with("/buggy")) {
        let (tokio, twin) = (get(tokio), get(twin));
        for seed in 0..20 {
            let (a, b) = (tokio.run_seed(seed), twin.run_seed(seed));
            assert!(a.result.is_ok(), "{} seed {seed}: {:?}", tokio.name, a.result);
            if tokio.schedule_independent {
                assert_eq!(a.output, b.output, "{} seed {seed}", tokio.name);
            } else {
                // The drain interleaves its two producers in any order: the same events, each once.
                let events = |o: &scenarios::Outcome| {
                    let mut all: Vec<String> = o.output.0.iter().map(|e| e.value.clone()).collect();
                    all.sort();
                    all
                };
                assert_eq!(events(&a), events(&b), "{} seed {seed}", tokio.name);
            }
        }
    }
    assert_eq!(get("tokio-throttle-hang/fixed").run_seed(5).output.to_string(), "[0s 1, 50ms 6]");
    assert_eq!(get("tokio-two-phase/fixed").run_seed(5).output.to_string(), "[100ms 1, 250ms 3, 350ms 4, 500ms 5]");
}

#[test]
fn the_buggy_tokio_debounce_depends_on_the_order_of_same_instant_events() {
    let s = get("tokio-two-phase/buggy");
    let outputs: BTreeSet<String> = (0..50).map(|seed| s.run_seed(seed).output.to_string()).collect();
    assert!(outputs.len() > 1, "every seed emitted the same");
    assert!(outputs.contains("[100ms 1, 250ms 3, 350ms 4, 500ms 5]"), "the canonical output is among them");
}

/// A select! with `biased;` (or none) adds no choice point: the fixed throttle and
/// debounce in tokio have exactly the classes of orders of their `sim-core` twins
/// (24 and 512). An unbiased select! records its start index on every loop where two
/// branches are enabled, which is why the buggy debounce has many more.
#[test]
fn the_fixed_tokio_variants_have_exactly_the_classes_of_orders_of_their_twins() {
    for (tokio, twin) in
        [("tokio-throttle-hang/fixed", "throttle-hang/fixed"), ("tokio-two-phase/fixed", "two-phase-debounce/fixed")]
    {
        let (a, b) = (reduced(get(tokio), 5_000).unwrap(), reduced(get(twin), 5_000).unwrap());
        assert!(a.exhausted && b.exhausted, "{tokio}");
        assert_eq!((a.runs, a.failing), (b.runs, 0), "{tokio}");
    }
}

#[test]
fn the_printed_replay_of_each_buggy_tokio_variant_reproduces_its_failure() {
    let lockstep = |args: &[&str]| Command::new(env!("CARGO_BIN_EXE_lockstep")).args(args).output().unwrap();
    for name in ["tokio-throttle-hang/buggy", "tokio-two-phase/buggy", "tokio-drain/buggy"] {
        let out = lockstep(&["run", name, "--jobs", "1"]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert_eq!(out.status.code(), Some(0), "{text}");
        let replay = text.lines().find_map(|l| l.trim_start().strip_prefix("replay: ")).expect("a replay line");
        let prefix = format!("cargo run --release -p scenarios --bin lockstep -- replay {name} --seed ");
        let seed: u64 = replay.strip_prefix(&prefix).unwrap_or_else(|| panic!("{replay}")).parse().unwrap();
        // The arguments after `--`, as printed, on this test's build of the tool.
        let args: Vec<&str> = replay.split(" -- ").nth(1).unwrap().split(' ').collect();
        let again = lockstep(&args);
        let report = String::from_utf8_lossy(&again.stdout).into_owned();
        assert_eq!(again.status.code(), Some(1), "{report}");
        let expected = get(name).run_seed(seed);
        let failure = expected.result.as_ref().expect_err("the seed the tool printed fails");
        let headline = failure.to_string().lines().next().unwrap().to_string();
        assert!(headline.starts_with("lockstep: ") && headline.contains(name), "{headline}");
        assert!(report.contains(&headline), "{name}: {headline}\n{report}");
        assert!(report.contains(&expected.fingerprint.to_string()), "{name}: {}\n{report}", expected.fingerprint);
    }
}
