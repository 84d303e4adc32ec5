//! The `tokio-suite` command as a user runs it: argument errors (exit 2, one line, before
//! anything is fetched), and, behind `LOCKSTEP_TOKIO_SUITE=1`, a real run on two files
//! against both sim-tokio and tokio (minutes: it builds both test crates).

use std::process::{Command, Output};

fn tokio_suite(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tokio-suite")).args(args).output().expect("runs")
}

#[test]
fn bad_arguments_exit_2_with_one_line() {
    let cases: &[(&[&str], &str)] = &[
        (&["--frobnicate"], "tokio-suite: unknown option `--frobnicate` (see --help)\n"),
        (&["--seeds", "0"], "tokio-suite: --seeds must be at least 1, got 0\n"),
        (&["--timeout"], "tokio-suite: --timeout needs a value\n"),
        (&["sync/../x"], "tokio-suite: `sync/../x` is not a test file name like `sync_mpsc`\n"),
    ];
    for (args, stderr) in cases {
        let out = tokio_suite(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert_eq!(String::from_utf8_lossy(&out.stderr), *stderr, "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn help_exits_0() {
    let out = tokio_suite(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("usage: cargo run -p tokio-suite --"));
}

/// The whole pipeline on two small files: fetch from the registry, generate, build on both
/// sides, run, print. Slow (it builds real tokio and the simulator in their own target
/// dirs under target/tokio-suite/), so it runs only with `LOCKSTEP_TOKIO_SUITE=1`.
#[test]
fn end_to_end_with_lockstep_tokio_suite_1() {
    if std::env::var("LOCKSTEP_TOKIO_SUITE").as_deref() != Ok("1") {
        eprintln!("end_to_end: set LOCKSTEP_TOKIO_SUITE=1 to run tokio's tests end to end (minutes)");
        return;
    }
    // A name tokio's tests/ does not hold is bad input, found after the fetch.
    let out = tokio_suite(&["no_such_file"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.lines().last().unwrap().ends_with("'s tests/ has no no_such_file.rs"), "{stderr}");

    let out = tokio_suite(&["--baseline", "time_timeout", "sync_oneshot"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    // Real tokio: every test of both files passes (8 + 22, counted in tokio 1.54.1's
    // files: time_timeout has 8 tests, sync_oneshot 22 with one #[should_panic]).
    let (_, tokio_side) = stdout.split_once("the same files on tokio").expect("baseline table");
    assert!(tokio_side.contains("| time_timeout | yes | 8 | 8 | 0 | 0 | 0 | 0 |  |"), "{tokio_side}");
    assert!(tokio_side.contains("| sync_oneshot | yes | 22 | 22 | 0 | 0 | 0 | 0 |  |"), "{tokio_side}");
    assert!(tokio_side.contains("passed 30 of 30 tests (100.0%)"), "{tokio_side}");
    // The sim side has a row per file and the same test counts, whatever passes today.
    let sim_side = stdout.split_once("the same files on tokio").unwrap().0;
    for file in ["time_timeout", "sync_oneshot"] {
        let row = sim_side.lines().find(|l| l.starts_with(&format!("| {file} |"))).expect("row");
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let expected = if file == "time_timeout" { "8" } else { "22" };
        assert_eq!(cells[3], expected, "{row}");
        let sum: usize = cells[4..=8].iter().map(|c| c.parse::<usize>().unwrap()).sum();
        assert_eq!(sum.to_string(), expected, "passed+failed+hung+cut+not run = tests: {row}");
    }
    assert!(sim_side.contains(" of 30 tests ("), "{sim_side}");
}
