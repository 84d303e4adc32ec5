//! `explore::exhaustive_check`: every order of a property, proven or explained.

use std::panic::{catch_unwind, AssertUnwindSafe};

use sim_core::explore::{exhaustive_check, ExhaustiveCheck};
use sim_core::sync::mpsc;
use sim_core::time::sleep;
use sim_core::{fail, Config, Failure, FailureKind, Sim};

use crate::support::{buggy_throttle, PERIOD};

/// The crate tutorial's throttle hang: send 1, receive it, sleep a period, send 6,
/// receive it.
fn throttle_hang(sim: &mut Sim) -> Result<(), Box<Failure>> {
    let (in_tx, in_rx) = mpsc::channel_named("in", 1);
    let (out_tx, mut out_rx) = mpsc::channel_named("out", 1);
    sim.spawn_named("throttle", buggy_throttle(in_rx, out_tx));
    sim.spawn_named("driver", async move {
        for (i, item) in [1, 6].into_iter().enumerate() {
            if i > 0 {
                sleep(PERIOD).await;
            }
            in_tx.send(item).await.unwrap();
            assert_eq!(out_rx.recv().await, Some(item));
        }
    });
    sim.run()
}

/// Three senders and a receiver that must get all three messages: correct in every
/// order (48 of them, none of which commute: every step touches the channel).
fn three_senders(sim: &mut Sim) -> Result<(), Box<Failure>> {
    let (tx, mut rx) = mpsc::unbounded_channel_named("in");
    sim.spawn_named("receiver", async move {
        let mut got = Vec::new();
        while let Some(v) = rx.recv().await {
            got.push(v);
        }
        got.sort_unstable();
        if got != ["a", "b", "c"] {
            fail(format!("got {got:?}"));
        }
    });
    for name in ["a", "b", "c"] {
        let tx = tx.clone();
        sim.spawn_named(name, async move { tx.send(name).unwrap() });
    }
    drop(tx);
    sim.run()
}

#[test]
fn the_throttle_hang_is_found_in_every_enumeration_shrunk_and_replayed() {
    let summary = exhaustive_check(ExhaustiveCheck::default().name("exhaustive::throttle_hang"), throttle_hang);
    assert!(summary.exhausted && !summary.is_proven());
    // Pinned from a run (the classes agree with `examples/exploration_table.rs`).
    assert_eq!((summary.runs, summary.redundant, summary.failing), (8, 2, 4), "{summary}");
    let found = summary.first_failing.as_ref().expect("a failing class");
    assert!(matches!(found.failure.kind, FailureKind::Deadlock { .. }), "{summary}");
    assert!(found.tape.departures() <= 2, "{summary}");
    assert!(found.critical.is_some(), "flipping a departure of the shrunk tape passes: {summary}");
    assert!(found.failure.replay.contains("LOCKSTEP_TAPE='t2:"), "{}", found.failure.replay);
    // The shrunk tape replays to the same deadlock.
    let mut sim = Sim::new(Config::replay(found.tape.clone()));
    let again = throttle_hang(&mut sim).expect_err("the shrunk tape fails");
    assert_eq!(again.fingerprint, found.failure.fingerprint);
    // Without the reduction: every order, more of them, the same verdict.
    let every = exhaustive_check(ExhaustiveCheck::default().every_order(true).explain(false), throttle_hang);
    assert!(every.exhausted && every.runs > summary.runs && every.failing > 0, "{every}");
    assert_eq!(every.first_failing.as_ref().map(|f| f.shrink_runs), Some(0), "explain(false) does not shrink");
}

#[test]
fn a_correct_program_is_proven_and_a_cut_enumeration_proves_nothing() {
    let proven = exhaustive_check(ExhaustiveCheck::default(), three_senders);
    assert!(proven.is_proven(), "{proven}");
    assert_eq!((proven.runs, proven.failing), (48, 0));
    assert_eq!(
        proven.to_string(),
        "lockstep: `exhaustive_check::a_correct_program_is_proven_and_a_cut_enumeration_proves_nothing`: proven: all 48 classes of orders pass",
        "the default name is the test's path"
    );
    proven.assert_proven();
    let every = exhaustive_check(ExhaustiveCheck::default().every_order(true), three_senders);
    assert!(every.is_proven() && every.runs == 48);

    let cut = exhaustive_check(ExhaustiveCheck::default().name("cut").max_runs(5), three_senders);
    assert!(!cut.exhausted && !cut.is_proven() && cut.runs == 5);
    assert!(cut.to_string().contains("not proven"), "{cut}");
}

#[test]
fn assert_proven_panics_with_the_shrunk_failure_and_its_replay_command() {
    let summary = exhaustive_check(ExhaustiveCheck::default().name("exhaustive::throttle_hang"), throttle_hang);
    let panic = catch_unwind(AssertUnwindSafe(|| summary.assert_proven())).expect_err("not proven");
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
    let cfg = ExhaustiveCheck::default().name(REPLAYED);
    if std::env::var_os("LOCKSTEP_TAPE").is_some() {
        let summary = exhaustive_check(cfg, throttle_hang);
        assert_eq!((summary.runs, summary.failing, summary.exhausted), (1, 1, false));
        return;
    }
    let summary = exhaustive_check(cfg, throttle_hang);
    let found = summary.first_failing.expect("a failing class");
    let expected = format!("LOCKSTEP_TAPE='{}' cargo test -p sim-core --test engine -- --exact {REPLAYED}", found.tape);
    assert_eq!(found.failure.replay, expected);
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", REPLAYED, "--nocapture"])
        .env("LOCKSTEP_TAPE", found.tape.to_string())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains(&format!("lockstep: replaying tape {}; full trace:", found.tape)), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 passed"));
}
