//! The `lockstep` binary end to end: exit statuses 0, 1 and 2, one-line reasons
//! for bad input, the files `replay` writes, the corpus `run --record` appends to.

use std::path::PathBuf;
use std::process::{Command, Output};

fn lockstep(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lockstep")).args(args).output().expect("the lockstep binary runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A fresh scratch directory for one test.
fn scratch(test: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("lockstep-cli").join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn list_names_every_scenario_with_its_variant_and_expectation() {
    let out = lockstep(&["list"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    for s in scenarios::registry::all() {
        let line =
            text.lines().find(|l| l.starts_with(s.name)).unwrap_or_else(|| panic!("{} missing:\n{text}", s.name));
        assert!(line.contains(s.variant.label()) && line.contains(&s.expect.to_string()), "{line}");
    }
}

#[test]
fn run_exits_0_when_every_scenario_meets_its_expectation_and_prints_the_table() {
    let out = lockstep(&["run", "throttle-hang", "drain/no-straggler", "--seeds", "200", "--jobs", "2"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("scenario "), "{text}");
    let row = text.lines().find(|l| l.starts_with("throttle-hang/fixed")).unwrap();
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(&cells[..5], ["throttle-hang/fixed", "fixed", "200", "0", "-"], "{row}");
    assert!(row.ends_with("clean (expected)"), "{row}");
    let buggy = text.lines().find(|l| l.starts_with("throttle-hang/buggy")).unwrap();
    assert!(buggy.ends_with("caught (expected)"), "{buggy}");
    assert!(
        text.contains("replay: cargo run --release -p scenarios --bin lockstep -- replay throttle-hang/buggy --seed")
    );
    assert!(text.contains("3 of 3 scenarios met their expectation"), "{text}");
    assert!(stderr(&out).is_empty(), "no progress bar when standard error is not a terminal: {}", stderr(&out));
}

#[test]
fn run_exits_1_when_a_buggy_variant_is_not_caught() {
    // The canonical order alone does not hit the race.
    let out = lockstep(&["run", "throttle-hang/buggy", "--strategy", "fifo"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stdout(&out).contains("NOT CAUGHT"), "{}", stdout(&out));
}

#[test]
fn run_splits_a_seed_range_into_shards_and_runs_one_seed() {
    let out = lockstep(&["run", "throttle-hang/fixed", "--seeds", "100", "--shard", "1/4"]);
    assert_eq!(out.status.code(), Some(0));
    let row = stdout(&out).lines().find(|l| l.starts_with("throttle-hang/fixed")).unwrap().to_string();
    assert_eq!(row.split_whitespace().nth(2), Some("25"), "{row}");
    let out = lockstep(&["run", "throttle-hang/buggy", "--seed", "2"]);
    let row = stdout(&out).lines().find(|l| l.starts_with("throttle-hang/buggy")).unwrap().to_string();
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(&cells[2..5], ["1", "1", "2"], "{row}");
}

#[test]
fn bad_input_exits_2_with_a_one_line_reason() {
    let cases: &[(&[&str], &str)] = &[
        (&[], "a command is required"),
        (&["frobnicate"], "unrecognized subcommand"),
        (&["run"], "name the scenarios, or pass --all"),
        (&["explore"], "name the scenarios, or pass --all"),
        (&["explore", "no-such-race"], "no scenario or family named `no-such-race`"),
        (&["explore", "--all", "--max-runs", "0"], "invalid value '0' for '--max-runs <N>'"),
        (&["explore", "--all", "drain"], "cannot be used with"),
        (&["run", "no-such-race"], "no scenario or family named `no-such-race`"),
        (&["run", "--all", "--seeds", "0"], "invalid value '0' for '--seeds <N>'"),
        (&["run", "--all", "--seeds", "5", "--seed", "1"], "cannot be used with"),
        (&["run", "--all", "--shard", "4/4"], "the shard index must be below the count"),
        (&["run", "--all", "--strategy", "dfs"], "invalid value 'dfs'"),
        (&["run", "--all", "--depth", "2"], "--depth and --pct-steps apply to --strategy pct only"),
        (&["run", "--all", "--strategy", "pct", "--depth", "0"], "invalid value '0' for '--depth <D>'"),
        (&["run", "--all", "--jobs", "0"], "invalid value '0' for '--jobs <J>'"),
        (&["run", "--all", "--jobs", "5000"], "invalid value '5000' for '--jobs <J>'"),
        (&["run", "--all", "--bogus"], "unexpected argument '--bogus'"),
        (&["replay", "throttle-hang/buggy"], "required arguments were not provided: --seed <S>"),
        (&["replay", "nope/buggy", "--seed", "1"], "no scenario named `nope/buggy`"),
        (&["replay", "throttle-hang/buggy", "--tape", "t9:zz"], "invalid value 't9:zz' for '--tape <T>'"),
        (&["replay", "throttle-hang/buggy", "--seed", "x"], "invalid value 'x' for '--seed <S>'"),
        (&["replay", "throttle-hang/buggy", "--seed", "1", "--trace", "/nonexistent/dir/t.jsonl"], "cannot create"),
        (&["check-determinism", "nope"], "no scenario named `nope`"),
    ];
    for (args, reason) in cases {
        let out = lockstep(args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: not one line: {err}");
        assert!(err.starts_with("lockstep: ") && err.contains(reason), "{args:?}: {err}");
        assert!(stdout(&out).is_empty(), "{args:?}: {}", stdout(&out));
    }
}

#[test]
fn help_exits_0() {
    let out = lockstep(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains("check-determinism"));
}

#[test]
fn replay_prints_the_report_and_writes_the_trace_and_the_timeline() {
    let dir = scratch("replay");
    let (trace, timeline) = (dir.join("run.jsonl"), dir.join("run.html"));
    let out = lockstep(&[
        "replay",
        "throttle-hang/buggy",
        "--seed",
        "2",
        "--trace",
        trace.to_str().unwrap(),
        "--timeline",
        timeline.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "a failing run: {}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("lockstep: deadlock in `throttle-hang/buggy`"), "{text}");
    assert!(text.contains("driver (recv on `out`)"), "{text}");
    let records: usize = text
        .lines()
        .find_map(|l| l.strip_prefix("wrote the trace (")?.split(' ').next()?.parse().ok())
        .expect("says how many records it wrote");
    let jsonl = std::fs::read_to_string(&trace).unwrap();
    assert_eq!(jsonl.lines().count(), records);
    assert!(jsonl.lines().all(|l| l.starts_with('{') && l.ends_with('}')));
    let html = std::fs::read_to_string(&timeline).unwrap();
    assert!(html.to_ascii_lowercase().starts_with("<!doctype html"), "{}", &html[..40.min(html.len())]);

    // The tape in the report replays the same run.
    let tape = text.lines().find_map(|l| l.trim().strip_prefix("tape: ")).unwrap();
    let fingerprint = text.lines().find_map(|l| l.trim().strip_prefix("fingerprint: ")).unwrap();
    let again = lockstep(&["replay", "throttle-hang/buggy", "--tape", tape]);
    assert_eq!(again.status.code(), Some(1));
    assert!(stdout(&again).contains(&format!("fingerprint: {fingerprint}")), "{}", stdout(&again));

    let pass = lockstep(&["replay", "throttle-hang/fixed", "--seed", "2", "--tail", "3"]);
    assert_eq!(pass.status.code(), Some(0));
    assert!(stdout(&pass).contains("passed; fingerprint"), "{}", stdout(&pass));
    assert!(stdout(&pass).contains("trace tail (last 3 of"), "{}", stdout(&pass));
}

#[test]
fn explore_proves_the_fixed_variants_and_finds_the_buggy_ones_in_every_order() {
    let out = lockstep(&["explore", "throttle-hang", "tick-loss"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    let cells = |name: &str| -> Vec<String> {
        let row = text.lines().find(|l| l.starts_with(name)).unwrap_or_else(|| panic!("{name} missing:\n{text}"));
        row.split_whitespace().map(str::to_string).collect()
    };
    // Classes, redundant executions, failing classes, exhausted: pinned counts.
    assert_eq!(cells("throttle-hang/fixed")[..6], ["throttle-hang/fixed", "fixed", "24", "0", "0", "yes"]);
    assert!(text.contains("proven (expected)"), "{text}");
    assert_eq!(cells("throttle-hang/buggy")[2..6], ["72", "12", "24", "yes"]);
    assert_eq!(cells("tick-loss/fixed")[2..6], ["8", "6", "0", "yes"]);
    // The first failing class, shrunk, with the pair of events that decides it; its
    // tape replays to the same failure.
    assert!(text.contains("shrunk in 2 runs to 1 departure from the canonical order"), "{text}");
    assert!(text.contains("critical pair: poll of task `driver` at 50ms vs poll of task `throttle` at 50ms"), "{text}");
    assert!(text.contains("tick-loss/buggy: first failing class (run 1)"), "{text}");
    assert!(text.contains("the canonical order itself fails"), "{text}");
    let replay = text.lines().find(|l| l.contains("replay throttle-hang/buggy --tape")).expect("a replay line");
    let tape = replay.split('\'').nth(1).expect("a quoted tape");
    let again = lockstep(&["replay", "throttle-hang/buggy", "--tape", tape]);
    assert_eq!(again.status.code(), Some(1));
    assert!(stdout(&again).contains("deadlock"), "{}", stdout(&again));
    // Every order, without the reduction.
    let every = lockstep(&["explore", "throttle-hang/fixed", "--every-order"]);
    assert_eq!(every.status.code(), Some(0));
    assert!(stdout(&every)
        .lines()
        .any(|l| l.split_whitespace().collect::<Vec<_>>()[..6]
            == ["throttle-hang/fixed", "fixed", "54", "0", "0", "yes"]));
}

#[test]
fn run_with_pct_catches_the_buggy_variants_and_reports_a_tape_to_replay() {
    let out = lockstep(&["run", "throttle-hang", "drain", "--strategy", "pct", "--depth", "2", "--seeds", "300"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("5 of 5 scenarios met their expectation"), "{text}");
    // A PCT seed is not a random seed: the replay command carries the tape.
    let replay = text.lines().find(|l| l.contains("replay throttle-hang/buggy")).expect("a replay line");
    assert!(replay.contains("--tape"), "{replay}");
    let tape = replay.split('\'').nth(1).expect("a quoted tape");
    let again = lockstep(&["replay", "throttle-hang/buggy", "--tape", tape]);
    assert_eq!(again.status.code(), Some(1));
    assert!(stdout(&again).contains("deadlock"), "{}", stdout(&again));
    assert!(text.contains("also found after the run: message conservation on `events`"), "{text}");
}

#[test]
fn explore_exits_1_when_the_bound_leaves_a_fixed_variant_unproven() {
    let out = lockstep(&["explore", "drain/fixed", "--max-runs", "10"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains("NOT EXHAUSTED") && text.contains("not proven"), "{text}");
}

#[test]
fn check_determinism_runs_each_seed_twice() {
    let out = lockstep(&["check-determinism", "drain/no-straggler", "--seeds", "5"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("5 seeds each ran twice with identical traces"), "{}", stdout(&out));
}

#[test]
fn run_record_appends_new_failures_to_the_corpus_once() {
    let dir = scratch("record");
    let corpus = dir.join("failures.txt");
    let args =
        ["run", "throttle-hang/buggy", "size-vs-latency/buggy", "--record", "--corpus", corpus.to_str().unwrap()];
    let out = lockstep(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("recorded 2 new failures"), "{}", stdout(&out));
    let entries = scenarios::corpus::load(&corpus).unwrap();
    assert_eq!(entries.len(), 2);
    for entry in &entries {
        entry.check().unwrap_or_else(|e| panic!("{entry}: {e:?}"));
    }
    let again = lockstep(&args);
    assert!(stdout(&again).contains("recorded 0 new failures"), "{}", stdout(&again));
    assert_eq!(scenarios::corpus::load(&corpus).unwrap().len(), 2);
}
