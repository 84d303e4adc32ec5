//! The one runner: one world, written once as an async closure, run under every
//! search (random, PCT, exhaustive, proptest with and without inputs) and replayed
//! as its reports print.

use std::cell::Cell;
use std::panic::catch_unwind;
use std::rc::Rc;

use sim_core::artefacts::Artefacts;
use sim_core::check::Share;
use sim_core::check::{Check, Report};
use sim_core::tooling::env::EnvOverrides;
use sim_core::{spawn, yield_now, FailureKind};

/// `n` tasks each add 1 to a shared counter. The buggy ones read, yield, then
/// write back (a lost update when another task writes in between); the fixed ones
/// read and write in one poll. The world checks the sum.
async fn counter(buggy: bool, n: u32) -> Result<(), String> {
    let count = Rc::new(Cell::new(0u32));
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let count = count.clone();
            spawn(async move {
                let read = count.get();
                if buggy {
                    yield_now().await;
                }
                count.set(read + 1);
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    match count.get() {
        sum if sum == n => Ok(()),
        sum => Err(format!("lost update: {sum} of {n}")),
    }
}

/// Every search but the inputs one, with the artefacts off (they are tested in `artefacts`).
fn searches() -> Vec<Check> {
    [Check::random(100), Check::pct(100, 2), Check::exhaustive(), Check::proptest(64)]
        .into_iter()
        .map(|check| check.name("runner::counter").artefacts(Artefacts::Off))
        .collect()
}

fn failure_of<V: std::fmt::Debug>(report: &Report<V>) -> &sim_core::Failure {
    report.failure().unwrap_or_else(|| panic!("the search finds the lost update:\n{report}"))
}

#[test]
fn the_same_world_runs_under_every_search_and_replays_as_printed() {
    let buggy = || counter(true, 2);
    let fixed = || counter(false, 2);
    for check in searches() {
        let report = check.run(buggy);
        let failure = failure_of(&report);
        // A returned `Err` is the failure: a violation with the error's text.
        let FailureKind::Violation { message, .. } = &failure.kind else { panic!("{failure}") };
        assert_eq!(message, "Error: \"lost update: 1 of 2\"", "{:?}", check.search);
        // The one replay runs what the report printed, whatever the search.
        let payload = catch_unwind(|| sim_core::replay(buggy, failure.tape.clone())).unwrap_err();
        let text = payload.downcast_ref::<String>().expect("the report");
        assert!(text.contains(&format!("fingerprint: {}", failure.fingerprint)), "{:?}:\n{text}", check.search);
        // The fixed world passes every search (the exhaustive one proves it).
        let report = check.run(fixed);
        assert!(report.is_ok(), "{:?}:\n{report}", check.search);
    }
    // With inputs: proptest draws the number of tasks and shrinks it to 2.
    let inputs = Check::proptest(64).name("runner::counter_inputs").artefacts(Artefacts::Off);
    let report = inputs.run_inputs(1u32..5, |n| counter(true, n)).expect("a proptest check");
    let Report::Proptest(summary) = &report else { panic!("{report}") };
    let found = summary.counterexample.as_ref().expect("a lost update");
    assert_eq!(found.inputs, 2, "{report}");
    let failure = failure_of(&report);
    let payload = catch_unwind(|| sim_core::replay(|| counter(true, 2), failure.tape.clone())).unwrap_err();
    let text = payload.downcast_ref::<String>().unwrap();
    assert!(text.contains(&format!("fingerprint: {}", failure.fingerprint)), "{text}");
    inputs.run_inputs(1u32..5, |n| counter(false, n)).expect("a proptest check").assert_ok();
}

/// Every order of the fixed world with two tasks, derived by hand: `main` spawns
/// t1 and t2 and awaits t1. At 0 s the polls of t1 and t2 are due together (choice 1).
/// t1 first: t1 ends and wakes `main`; `main`'s and t2's polls are due together
/// (choice 2), and either order ends the run: 2 orders. t2 first: t2 ends, then t1
/// is the only event due, then `main`: 1 order. 3 in all.
#[test]
fn the_exhaustive_search_proves_the_fixed_world_and_counts_its_orders() {
    let report = Check::exhaustive().every_order(true).artefacts(Artefacts::Off).run(|| counter(false, 2));
    let Report::Exhaustive(summary) = &report else { panic!("{report}") };
    assert!(summary.is_proven(), "{report}");
    assert_eq!(summary.runs, 3, "{report}");
}

/// A torn snapshot (as in `explore`): the reader must go first, then stay behind
/// the writer for ten choice points in a row: a bug of depth 2.
async fn torn_snapshot() -> Result<(), String> {
    const WRITES: u32 = 10;
    let version = Rc::new(Cell::new(0u32));
    let v = version.clone();
    let reader = spawn(async move {
        let first = v.get();
        yield_now().await;
        v.get() - first
    });
    let writer = spawn(async move {
        for _ in 0..WRITES {
            version.set(version.get() + 1);
            yield_now().await;
        }
    });
    writer.await.unwrap();
    match reader.await.unwrap() {
        WRITES => Err("torn snapshot".to_string()),
        _ => Ok(()),
    }
}

#[test]
fn pct_without_steps_finds_the_depth_two_bug_a_fixed_budget_finds() {
    let check = Check::pct(100, 2).name("runner::torn").jobs(1).artefacts(Artefacts::Off);
    let fixed = check.clone().steps(16).run(torn_snapshot);
    let estimated = check.run(torn_snapshot);
    let (Report::Seeds(fixed), Report::Seeds(estimated)) = (&fixed, &estimated) else { panic!() };
    assert!(fixed.first_failure().is_some(), "{fixed}");
    assert!(estimated.first_failure().is_some(), "{estimated}");
    // The estimate is the most scheduling choice points of the canonical run and of 16
    // pilot PCT runs. The canonical run passes 3: the reader's first poll against the
    // writer's, its second against the writer's next, then it has ended and only the
    // writer's wake-ups are due, one at a time. PCT runs pass up to 13, the most any
    // order can: `main` spawns both and awaits the writer. Held back, the reader's first
    // poll is due beside each of the writer's 11 polls (10 writes, then its end): 11
    // choice points; the writer's end wakes `main`, due beside the reader's first poll
    // (12), then, if the reader goes, its second (13); the reader's last polls and
    // `main`'s last one then run alone. A pilot reaches it, so the change point can land
    // on any choice point a run passes, as PCT's bound needs.
    assert!(estimated.plan.ends_with("PCT depth 2 over 13 choice points"), "{}", estimated.plan);
    assert!(fixed.plan.ends_with("PCT depth 2 over 16 choice points"), "{}", fixed.plan);
    // Random tie-breaking needs the reader behind the writer ten times in a row.
    let random = Check::random(100).jobs(1).artefacts(Artefacts::Off).run(torn_snapshot);
    assert!(random.is_ok(), "random tie-breaking misses it in 100 seeds: {random}");
}

#[test]
fn a_seed_run_twice_gives_equal_fingerprints() {
    // Every passing run replayed and compared: none differs.
    let report = Check::random(50).determinism(Share::ALL).run(|| counter(true, 3));
    let Report::Seeds(summary) = &report else { panic!() };
    // Failing seeds stop the check: the runs up to the lowest failing one were all replayed.
    assert_eq!(summary.replayed, summary.seeds_run, "{report}");
    let failure = failure_of(&report);
    let seed = failure.seed.expect("seeded random replays by seed");
    let fingerprint = |printed: sim_core::check::Printed| {
        let payload = catch_unwind(|| sim_core::replay(|| counter(true, 3), printed)).unwrap_err();
        let text = payload.downcast_ref::<String>().unwrap().clone();
        text.lines().find_map(|l| l.trim().strip_prefix("fingerprint: ").map(str::to_string)).unwrap()
    };
    let by_seed = fingerprint(seed.into());
    assert_eq!(by_seed, fingerprint(seed.to_string().into()), "the seed as text");
    assert_eq!(by_seed, fingerprint(failure.tape.clone().into()), "the tape the seed made");
    assert_eq!(by_seed, failure.fingerprint.to_string());
}

/// Outside a test that `cargo test` started, each search prints the Rust call that
/// replays the check's closure `f`: run here as printed, with `f` the closure.
#[test]
fn every_search_prints_one_rust_replay_and_it_runs_as_printed() {
    let f = || counter(true, 2);
    for check in searches() {
        let report = check.run_with_env(&EnvOverrides::none(), f);
        let failure = failure_of(&report);
        let printed = match failure.seed {
            Some(seed) => format!("sim_core::replay(f, {seed})"),
            None => format!("sim_core::replay(f, {:?})", failure.tape.to_string()),
        };
        assert_eq!(failure.replay, printed, "{:?}", check.search);
        assert!(report.to_string().contains(&format!("replay: {printed}")), "{report}");
        let tape = failure.tape.to_string();
        let payload = match failure.seed {
            Some(seed) => catch_unwind(|| sim_core::replay(f, seed)),
            None => catch_unwind(|| sim_core::replay(f, tape.as_str())),
        };
        let text = payload.unwrap_err().downcast_ref::<String>().unwrap().clone();
        assert!(text.contains(&format!("fingerprint: {}", failure.fingerprint)), "{text}");
    }
}

#[test]
fn replay_names_text_that_is_neither_a_seed_nor_a_tape() {
    let payload = catch_unwind(|| sim_core::replay(|| counter(false, 1), "seventeen")).unwrap_err();
    let text = payload.downcast_ref::<String>().unwrap();
    assert!(text.starts_with("lockstep: cannot replay \"seventeen\": neither a seed nor a tape"), "{text}");
    // A passing run replays without a panic.
    sim_core::replay(|| counter(false, 2), 3);
}

/// With generated inputs, the report's replay is the Rust call that runs the shrunk
/// run again (a tape holds no inputs), in a test as outside one: run here as printed,
/// with `f` the closure given to the check.
#[test]
fn the_rust_replay_of_a_check_with_inputs_runs_as_printed() {
    let f = |n: u32| counter(true, n);
    let check = Check::proptest(64).name("runner::inputs").artefacts(Artefacts::Off);
    for env in [EnvOverrides::none(), EnvOverrides::from_env().unwrap()] {
        let report = check.run_inputs_with_env(&env, 1u32..5, f).expect("a proptest check");
        let failure = failure_of(&report);
        let printed = format!("sim_core::replay(|| f(2), {:?})", failure.tape.to_string());
        assert_eq!(failure.replay, printed, "{report}");
        assert!(report.to_string().contains(&format!("\n  replay: {printed}\n")), "{report}");
        let tape = failure.tape.to_string();
        let payload = catch_unwind(|| sim_core::replay(|| f(2), tape.as_str())).unwrap_err();
        let text = payload.downcast_ref::<String>().unwrap();
        assert!(text.contains(&format!("fingerprint: {}", failure.fingerprint)), "{text}");
        // Run by `cargo test` (the second pass), the command that reruns the whole
        // check is printed too (`printed_replays` runs one as printed).
        let Report::Proptest(summary) = &report else { panic!("{report}") };
        let rerun = summary.counterexample.as_ref().and_then(|c| c.rerun.clone());
        assert_eq!(rerun.is_some(), env.test_command.is_some(), "{report}");
    }
}

/// Only proptest generates inputs: another search, or a tape from the environment
/// (which holds no inputs), is a typed error, not a panic.
#[test]
fn run_inputs_refuses_a_search_that_does_not_generate_inputs() {
    use sim_core::check::InputsError;
    let f = |n: u32| counter(false, n);
    for check in [Check::random(10), Check::pct(10, 2), Check::exhaustive()] {
        let search = check.search.clone();
        let error = check.run_inputs(1u32..5, f).expect_err("not a proptest check");
        assert_eq!(error, InputsError::NotProptest(search.clone()));
        let text = error.to_string();
        assert!(text.starts_with("`Check::run_inputs` generates inputs with proptest"), "{text}");
        assert!(text.ends_with(&format!("not {search:?}")), "{text}");
    }
    let tape: sim_core::Tape = "t1:2.1".parse().unwrap();
    let mut env = EnvOverrides::none();
    env.tape = Some(tape.clone());
    let error = Check::proptest(8).run_inputs_with_env(&env, 1u32..5, f).expect_err("a tape holds no inputs");
    assert_eq!(error, InputsError::Tape(tape));
    assert!(error.to_string().contains("the `rerun:` command its report prints"), "{error}");
}

const QUIET: &str = "runner::a_check_prints_nothing_its_report_says_it_all";

/// A check's output is its report: no search prints to standard error on its own
/// (the proptest search once printed its counterexample there, whether or not the
/// caller printed the report). Run in a child with `--nocapture`, so that anything
/// printed would reach its standard error.
#[test]
fn a_check_prints_nothing_its_report_says_it_all() {
    if std::env::var_os("LOCKSTEP_RUNNER_CHILD").is_some() {
        for check in searches() {
            assert!(!check.run(|| counter(true, 2)).is_ok(), "{:?}", check.search);
        }
        let inputs = Check::proptest(64).artefacts(Artefacts::Off);
        assert!(!inputs.run_inputs(1u32..5, |n| counter(true, n)).unwrap().is_ok());
        return;
    }
    let mut child = crate::printed_replays::clean(std::process::Command::new(std::env::current_exe().unwrap()));
    child.args(["--exact", QUIET, "--nocapture"]).env("LOCKSTEP_RUNNER_CHILD", "1");
    let out = child.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 passed"));
    assert!(!stderr.contains("lockstep"), "a check printed on its own:\n{stderr}");
}
