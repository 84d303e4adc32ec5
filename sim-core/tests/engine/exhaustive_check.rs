//! The exhaustive search of the one runner (`Check::exhaustive`, `check_exhaustive`):
//! every order of a world, proven or explained.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};

use sim_core::artefacts::Artefacts;
use sim_core::check::{Check, Report};
use sim_core::explore::ExhaustiveSummary;
use sim_core::sync::mpsc;
use sim_core::task::Builder;
use sim_core::FailureKind;

use crate::support::throttle_world;

/// The crate tutorial's throttle hang, items 1 and 6 (see [`throttle_world`]).
fn throttle_hang() -> impl Future<Output = ()> {
    throttle_world(vec![1, 6])
}

/// Three senders and a receiver that must get all three messages: correct in every
/// order. The closure spawns the senders `a`, `b`, `c` (each sends its name on an
/// unbounded channel and ends, dropping its sender) and drops its own sender; the
/// receiver is `main`, which drains the channel in each poll and ends once it is
/// closed (all three senders gone) and empty.
///
/// The orders, by hand (every step touches the channel, so no two steps commute and
/// the classes are the orders). With `k` senders left, let `D(k)` count the orders
/// from a state where `main`'s poll is due and `W(k)` those where `main` waits (a
/// send wakes it, making its poll due). When `main` is due, the `k` senders and
/// `main` are the events due: `main` first ends the run when `k = 0` and else
/// waits; a sender first leaves `k - 1` senders with `main` still due. When `main`
/// waits, only the senders are due, and the one that runs wakes `main`:
/// `D(0) = 1`, `D(k) = W(k) + k D(k-1)`, `W(k) = k D(k-1)`. So `D(1) = 1 + 1 = 2`,
/// `D(2) = 4 + 4 = 8`, `D(3) = 24 + 24 = 48`: at 0 s all four polls are due, 48 orders.
async fn three_senders_main(mut rx: mpsc::UnboundedReceiver<&'static str>) -> Result<(), String> {
    let mut got = Vec::new();
    while let Some(v) = rx.recv().await {
        got.push(v);
    }
    got.sort_unstable();
    match got == ["a", "b", "c"] {
        true => Ok(()),
        false => Err(format!("got {got:?}")),
    }
}

fn three_senders() -> impl Future<Output = Result<(), String>> {
    let (tx, rx) = sim_core::named("in", || mpsc::unbounded_channel());
    for name in ["a", "b", "c"] {
        let tx = tx.clone();
        Builder::new().name(name).spawn(async move { tx.send(name).unwrap() });
    }
    drop(tx);
    three_senders_main(rx)
}

fn exhaustive(report: &Report) -> &ExhaustiveSummary {
    match report {
        Report::Exhaustive(summary) => summary,
        other => panic!("not the exhaustive search: {other}"),
    }
}

#[test]
fn the_throttle_hang_is_found_in_every_enumeration_shrunk_and_replayed() {
    let check = Check::exhaustive().name("exhaustive::throttle_hang").artefacts(Artefacts::Off);
    let report = check.run(throttle_hang);
    let summary = exhaustive(&report);
    assert!(summary.exhausted && !summary.is_proven());
    // The classes of the throttle hang, counted by `examples/exploration_table.rs`
    // (where the driver is a task of its own: the same orders, see `throttle_world`).
    assert_eq!((summary.runs, summary.redundant, summary.failing), (8, 2, 4), "{summary}");
    let found = summary.first_failing.as_ref().expect("a failing class");
    assert!(matches!(found.failure.kind, FailureKind::Deadlock { .. }), "{summary}");
    assert!(found.tape.departures() <= 2, "{summary}");
    assert!(found.critical.is_some(), "flipping a departure of the shrunk tape passes: {summary}");
    assert!(found.failure.replay.contains("LOCKSTEP_TAPE='t2:"), "{}", found.failure.replay);
    // The shrunk tape replays to the same deadlock.
    let replayed = catch_unwind(|| sim_core::replay(throttle_hang, found.tape.clone())).unwrap_err();
    let text = replayed.downcast_ref::<String>().unwrap();
    assert!(text.contains(&format!("fingerprint: {}", found.failure.fingerprint)), "{text}");
    // Without the reduction: every order, more of them, the same verdict.
    let every = check.clone().every_order(true).explain(false).run(throttle_hang);
    let every = exhaustive(&every);
    assert!(every.exhausted && every.runs > summary.runs && every.failing > 0, "{every}");
    assert_eq!(every.first_failing.as_ref().map(|f| f.shrink_runs), Some(0), "explain(false) does not shrink");
}

#[test]
fn a_correct_program_is_proven_and_a_cut_enumeration_proves_nothing() {
    let report = Check::exhaustive().artefacts(Artefacts::Off).run(three_senders);
    let proven = exhaustive(&report);
    assert!(proven.is_proven(), "{proven}");
    assert_eq!((proven.runs, proven.failing), (48, 0), "{proven}");
    assert_eq!(
        proven.to_string(),
        "lockstep: `exhaustive_check::a_correct_program_is_proven_and_a_cut_enumeration_proves_nothing`: proven: all 48 classes of orders pass",
        "the default name is the test's path"
    );
    report.assert_ok();
    sim_core::check_exhaustive(three_senders);
    let every = Check::exhaustive().every_order(true).run(three_senders);
    assert!(every.is_ok() && every.runs() == 48, "{every}");

    let cut = Check::exhaustive().name("cut").runs(5).run(three_senders);
    let summary = exhaustive(&cut);
    assert!(!summary.exhausted && !summary.is_proven() && summary.runs == 5, "{cut}");
    assert!(cut.to_string().contains("not proven"), "{cut}");
    assert!(!cut.is_ok() && cut.failure().is_none(), "nothing failed, and nothing is proven");
}

#[test]
fn assert_ok_panics_with_the_shrunk_failure_and_its_replay_command() {
    let report = Check::exhaustive().name("exhaustive::throttle_hang").artefacts(Artefacts::Off).run(throttle_hang);
    let panic = catch_unwind(AssertUnwindSafe(|| report.assert_ok())).expect_err("not proven");
    let message = panic.downcast_ref::<String>().expect("a formatted message");
    assert!(
        message.starts_with("lockstep: `exhaustive::throttle_hang`: deadlock in 4 of 8 classes of orders"),
        "{message}"
    );
    for part in ["critical pair: ", "replay: LOCKSTEP_TAPE='t2:", "the shrunk run's report:"] {
        assert!(message.contains(part), "{part} missing from {message}");
    }
}

const REPLAYED: &str = "exhaustive_check::the_printed_replay_command_runs_only_that_tape";

/// The report's replay command, run as printed (this test binary, `--exact` this
/// test, `LOCKSTEP_TAPE` set): only that tape runs, with its full trace.
#[test]
fn the_printed_replay_command_runs_only_that_tape() {
    let check = Check::exhaustive().name(REPLAYED).artefacts(Artefacts::Off);
    if std::env::var_os("LOCKSTEP_TAPE").is_some() {
        let report = check.run(throttle_hang);
        let Report::Seeds(summary) = &report else { panic!("a tape runs once, whatever the search: {report}") };
        assert_eq!((summary.seeds_run, summary.failures.len()), (1, 1), "{report}");
        return;
    }
    let report = check.run(throttle_hang);
    let found = exhaustive(&report).first_failing.as_ref().expect("a failing class");
    let expected = format!("LOCKSTEP_TAPE='{}' cargo test -p sim-core --test engine -- --exact {REPLAYED}", found.tape);
    assert_eq!(found.failure.replay, expected);
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", REPLAYED, "--nocapture"])
        .env("LOCKSTEP_TAPE", found.tape.to_string())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let header = format!("lockstep: `{REPLAYED}`: tape {}: failed: deadlock", found.tape);
    assert!(stderr.contains(&header), "{stderr}");
    assert!(stderr.contains(&format!("fingerprint {}; full trace:", found.failure.fingerprint)), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 passed"));
}
