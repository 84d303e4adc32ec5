//! `#[tokio::test]` failing: the lowest failing seed's report, and a replay command
//! that, run exactly as printed, reproduces the failure.

use std::cell::Cell;
use std::process::Command;
use std::rc::Rc;
use std::time::Duration;

use tokio::time::sleep;

const MS: Duration = Duration::from_millis(1);
const RACE: &str = "replay::reader_sees_the_writers_flag";
/// Set in the child processes: the test then runs its buggy variant.
const BUGGY: &str = "SIM_TOKIO_BUGGY_HANDOFF";

/// A writer sets a flag at 10 ms; the reader checks it at 10 ms too (buggy: it
/// sleeps to the same instant, so the two timers' order decides) or after joining
/// the writer (fixed: passes every seed). No `seeds` argument: the default 1,000.
#[tokio::test]
async fn reader_sees_the_writers_flag() {
    let buggy = std::env::var_os(BUGGY).is_some();
    let flag = Rc::new(Cell::new(false));
    let f = flag.clone();
    let writer = tokio::spawn(async move {
        sleep(10 * MS).await;
        f.set(true);
    });
    if buggy {
        sleep(10 * MS).await;
    } else {
        writer.await.unwrap();
    }
    assert!(flag.get(), "the reader ran before the writer");
}

/// The value after `key: ` on the first line of `text` that has it.
fn field<'a>(text: &'a str, key: &str) -> &'a str {
    let line =
        text.lines().find_map(|l| l.trim_start().strip_prefix(key)).unwrap_or_else(|| panic!("no `{key}` in:\n{text}"));
    line.trim()
}

#[test]
fn the_printed_replay_command_reproduces_the_failure() {
    // 1. The buggy variant over 200 seeds fails with the lowest failing seed's report.
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", RACE])
        .env(BUGGY, "1")
        .env_remove("LOCKSTEP_SEED")
        .env_remove("LOCKSTEP_TAPE")
        .env_remove("LOCKSTEP_SEEDS")
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(!out.status.success(), "{report}");
    assert!(report.contains("lockstep: panic in `replay::reader_sees_the_writers_flag`"), "{report}");
    assert!(report.contains("the reader ran before the writer"), "{report}");
    assert!(report.contains("failed (seeds 0..1000; stopped at the first failure after"), "{report}");
    let seed: u64 = field(&report, "seed: ").split_whitespace().next().unwrap().parse().unwrap();
    let fingerprint = field(&report, "fingerprint: ").to_string();
    let replay = field(&report, "replay: ").to_string();
    assert_eq!(replay, format!("LOCKSTEP_SEED={seed} cargo test -p sim-tokio --test tokio -- --exact {RACE}"));

    // 2. Run exactly as printed (from the package's folder): the same failure, the same fingerprint.
    let out = Command::new("sh")
        .args(["-c", &replay])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env(BUGGY, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains(&format!("lockstep: `{RACE}`: seed {seed} failed")), "{stdout}\n{stderr}");
    assert!(stdout.contains("the reader ran before the writer"), "{stdout}");
    assert_eq!(field(&stdout, "fingerprint: "), fingerprint, "{stdout}");
    // The single seed's full trace is printed too (captured by libtest with the test's output).
    assert!(stdout.contains(&format!("seed {seed}: failed: panic in task `main`: the reader ran before the writer; fingerprint {fingerprint}; full trace:")), "{stdout}");
}

/// `LOCKSTEP_SEEDS` overrides the count: the two seeds below the first failing one pass.
#[test]
fn lockstep_seeds_sets_the_number_of_seeds() {
    let run = |seeds: &str| {
        let out = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", RACE])
            .env(BUGGY, "1")
            .env("LOCKSTEP_SEEDS", seeds)
            .env_remove("LOCKSTEP_SEED")
            .env_remove("LOCKSTEP_TAPE")
            .output()
            .unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    // Seed 2 is the first failing one (the report of the test above says so too).
    let (passed, stdout) = run("2");
    assert!(passed, "{stdout}");
    let (passed, stdout) = run("3");
    assert!(!passed, "{stdout}");
    assert!(stdout.contains("seed 2 failed (seeds 0..3; stopped at the first failure after 3 runs)"), "{stdout}");
}

/// Set in the child processes: the test below runs its failing `#[tokio::main]` helper.
const MAIN_FAILS: &str = "SIM_TOKIO_MAIN_FAILS";
const MAIN_TEST: &str = "replay::a_failing_tokio_main_prints_the_replay_of_the_test_that_called_it";

/// `#[tokio::main]` on a helper that fails in every order: it checks at 5 ms a flag
/// that a task sets at 10 ms.
#[tokio::main(flavor = "current_thread")]
async fn failing_main() {
    let flag = Rc::new(Cell::new(false));
    let f = flag.clone();
    tokio::spawn(async move {
        sleep(10 * MS).await;
        f.set(true);
    });
    sleep(5 * MS).await;
    assert!(flag.get(), "main checked the flag before the writer set it");
}

/// The helper is no test: its printed replay runs the test that called it (found by the
/// test's thread, as sim-core's checks find theirs), with the run's tape in front. Run
/// exactly as printed, it fails the same way with the same fingerprint.
#[test]
fn a_failing_tokio_main_prints_the_replay_of_the_test_that_called_it() {
    if std::env::var_os(MAIN_FAILS).is_some() {
        return failing_main();
    }
    let mut first = Command::new(std::env::current_exe().unwrap());
    first.args(["--exact", MAIN_TEST]).env(MAIN_FAILS, "1");
    for var in ["LOCKSTEP_SEED", "LOCKSTEP_TAPE", "LOCKSTEP_SEEDS"] {
        first.env_remove(var);
    }
    let out = first.output().unwrap();
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(!out.status.success(), "{report}");
    assert!(report.contains("main checked the flag before the writer set it"), "{report}");
    let fingerprint = field(&report, "fingerprint: ").to_string();
    let replay = field(&report, "replay: ").to_string();
    assert!(replay.starts_with("LOCKSTEP_TAPE='t"), "{replay}");
    assert!(replay.ends_with(&format!("' cargo test -p sim-tokio --test tokio -- --exact {MAIN_TEST}")), "{replay}");

    let out = Command::new("sh")
        .args(["-c", &replay])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env(MAIN_FAILS, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("running 1 test\n") && stdout.contains("1 failed;"), "exactly this test: {stdout}");
    assert!(stdout.contains("main checked the flag before the writer set it"), "{stdout}");
    assert_eq!(field(&stdout, "fingerprint: "), fingerprint, "{stdout}");
    assert_eq!(field(&stdout, "replay: "), replay, "{stdout}");
}
