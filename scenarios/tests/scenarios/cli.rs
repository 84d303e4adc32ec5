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
        // A run of 0 seeds is no verdict.
        (&["run", "throttle-hang/fixed", "--seeds", "3", "--shard", "5/10"], "holds no seed"),
        (&["run", "throttle-hang/buggy", "--seed", "3", "--shard", "1/2"], "cannot be used with"),
        (&["run", "--all", "--seeds", "1e30"], "invalid value '1e30' for '--seeds <N>'"),
        // fifo runs the canonical order once: seed options are refused, not ignored.
        (&["run", "throttle-hang/buggy", "--strategy", "fifo", "--seed", "2"], "apply to --strategy random or pct"),
        (&["run", "throttle-hang/buggy", "--strategy", "fifo", "--seeds", "9"], "apply to --strategy random or pct"),
        (&["run", "throttle-hang/buggy", "--strategy", "fifo", "--shard", "0/2"], "apply to --strategy random or pct"),
        (&["run", "throttle-hang/buggy", "--strategy", "fifo", "--keep-going"], "apply to --strategy random or pct"),
        // A name holding a newline stays on one line, escaped.
        (&["run", "drain\nbuggy"], "no scenario or family named `drain\\nbuggy`"),
        (&["replay", "a\nb\r", "--seed", "1"], "no scenario named `a\\nb\\r`"),
        // A tape that does not fit the scenario replays nothing: never "passed".
        (&["replay", "throttle-hang/buggy", "--tape", "t1:97.96*5"], "the tape does not fit `throttle-hang/buggy`"),
        (&["replay", "throttle-hang/buggy", "--tape", "t2:2.1@poll:nobody#99"], "the tape does not fit"),
        // 40 items of 2^24 choices each (a 522-byte tape once asked for 8 GiB).
        (&["replay", "throttle-hang/buggy", "--tape", HUGE_TAPE], "the tape expands to more than 1048576 choices"),
        (&["replay", "throttle-hang/buggy", "--tape-file", "/nonexistent/tape.txt"], "cannot read a tape from"),
        (&["replay", "throttle-hang/buggy", "--tape", "t1:", "--tape-file", "x"], "cannot be used with"),
        // The corpus path is checked before any run.
        (&["run", "throttle-hang/buggy", "--record", "--corpus", "/proc/x"], "cannot record in the corpus /proc/x"),
        (&["run", "throttle-hang/buggy", "--record", "--corpus", "/proc"], "cannot record in the corpus /proc"),
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

const HUGE_TAPE: &str = "t1:2.1*16777216,2.1*16777216,2.1*16777216,2.1*16777216,2.1*16777216,2.1*16777216,\
2.1*16777216,2.1*16777216,2.1*16777216,2.1*16777216,2.1*16777216,2.1*16777216,2.1*16777216,2.1*16777216,\
2.1*16777216,2.1*16777216,2.1*16777216,2.1*16777216,2.1*16777216,2.1*16777216,2.1*16777216,2.1*16777216,\
2.1*16777216,2.1*16777216,2.1*16777216,2.1*16777216,2.1*16777216,2.1*16777216,2.1*16777216,2.1*16777216,\
2.1*16777216,2.1*16777216,2.1*16777216,2.1*16777216,2.1*16777216,2.1*16777216,2.1*16777216,2.1*16777216,\
2.1*16777216,2.1*16777216";

/// The scenario's row of a `run` table, split into cells.
fn row_cells(text: &str, name: &str) -> Vec<String> {
    let row = text.lines().find(|l| l.starts_with(name)).unwrap_or_else(|| panic!("{name} missing:\n{text}"));
    row.split_whitespace().map(str::to_string).collect()
}

#[test]
fn the_last_seed_runs_and_huge_seed_counts_start_at_once() {
    // `--seed u64::MAX` is one seed (no `Range<u64>` holds it).
    let out = lockstep(&["run", "throttle-hang/fixed", "--seed", "18446744073709551615"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(row_cells(&stdout(&out), "throttle-hang/fixed")[2..5], ["1", "0", "-"]);
    // Seeds are not counted before they run: a buggy variant stops at seed 2 of 10^12
    // or of 2^64-1 (counting them first would never end).
    for seeds in ["1e12", "18446744073709551615"] {
        let out = lockstep(&["run", "throttle-hang/buggy", "--seeds", seeds, "--jobs", "2"]);
        assert_eq!(out.status.code(), Some(0), "{seeds}: {}{}", stdout(&out), stderr(&out));
        assert_eq!(row_cells(&stdout(&out), "throttle-hang/buggy")[2..5], ["3", "1", "2"], "{seeds}");
    }
}

#[test]
fn a_tape_file_replays_a_tape_longer_than_a_command_line_argument() {
    let dir = scratch("tape-file");
    let scenario = scenarios::registry::get("throttle-hang/buggy").unwrap();
    let run = scenario.run_seed(2);
    // Every choice of the run by position, canonical ones included, then 200 KiB of
    // choices past the run's end (never reached): longer than one argument may be (128 KiB).
    let items: Vec<String> = run.recorded.choices().iter().map(|c| format!("{}.{}", c.options, c.index)).collect();
    let text = format!("t1:{}{}\n", items.join(","), ",2.0".repeat(50_000));
    assert!(text.len() > 128 * 1024);
    let path = dir.join("tape.txt");
    std::fs::write(&path, &text).unwrap();
    let out = lockstep(&["replay", "throttle-hang/buggy", "--tape-file", path.to_str().unwrap(), "--tail", "1"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stdout(&out).contains(&format!("fingerprint: {}", run.fingerprint)), "{}", stdout(&out));
    // A file over 16 MiB is refused without reading it all.
    let big = dir.join("big.txt");
    std::fs::write(&big, vec![b' '; 16 * 1024 * 1024 + 1]).unwrap();
    let out = lockstep(&["replay", "throttle-hang/buggy", "--tape-file", big.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("the file is longer than 16 MiB"), "{}", stderr(&out));
}

#[test]
fn the_same_file_for_trace_and_timeline_is_refused_before_writing() {
    let dir = scratch("same-file");
    let path = dir.join("run.out");
    let same = dir.join(".").join("run.out");
    for (trace, timeline) in [(&path, &path), (&path, &same)] {
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
        assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
        assert!(stderr(&out).contains("--trace and --timeline name the same file"), "{}", stderr(&out));
        assert!(!path.exists(), "nothing is written");
    }
}

#[test]
fn record_never_creates_a_missing_directory_and_creates_a_missing_corpus_with_its_header() {
    let dir = scratch("record-dirs");
    let missing = dir.join("no-such-dir").join("failures.txt");
    let out = lockstep(&["run", "throttle-hang/buggy", "--record", "--corpus", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(stderr(&out).contains("does not exist"), "{}", stderr(&out));
    assert!(stdout(&out).is_empty(), "checked before any run: {}", stdout(&out));
    assert!(!dir.join("no-such-dir").exists());
    // A corpus that is not one is refused before any run, and left alone.
    let garbage = dir.join("garbage.txt");
    std::fs::write(&garbage, "not a corpus line\n").unwrap();
    let out = lockstep(&["run", "throttle-hang/buggy", "--record", "--corpus", garbage.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("corpus line 1"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&garbage).unwrap(), "not a corpus line\n");
    // A clean run records nothing but leaves a valid, empty corpus behind.
    let fresh = dir.join("fresh.txt");
    let out =
        lockstep(&["run", "throttle-hang/fixed", "--seeds", "5", "--record", "--corpus", fresh.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("recorded 0 new failures"), "{}", stdout(&out));
    assert_eq!(std::fs::read_to_string(&fresh).unwrap(), scenarios::corpus::HEADER);
}

#[test]
fn corpus_replays_every_entry_and_names_the_ones_that_changed() {
    // The catalogue's own corpus: every entry still fails as recorded.
    let entries = scenarios::corpus::load(&scenarios::corpus::default_path()).unwrap();
    let out = lockstep(&["corpus"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).starts_with(&format!("lockstep: {} corpus entries of ", entries.len())), "{}", stdout(&out));
    // One entry with another fingerprint: status 1, the entry named with its line.
    let dir = scratch("corpus-command");
    let file = dir.join("failures.txt");
    let mut entry = entries[0].clone();
    entry.fingerprint = sim_core::Fingerprint(0);
    std::fs::write(&file, format!("{}{}\n", scenarios::corpus::HEADER, entries[0])).unwrap();
    let out = lockstep(&["corpus", "--file", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    std::fs::write(&file, format!("{}{entry}\n", scenarios::corpus::HEADER)).unwrap();
    let out = lockstep(&["corpus", "--file", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(text.contains(&format!("failures.txt:7 ({}", entry.scenario)), "{text}");
    assert!(text.contains("with fingerprint 0000000000000000"), "{text}");
    // A missing file and a file that is no corpus are bad input.
    for (path, reason) in [(dir.join("missing.txt"), "no corpus file at"), (dir.join("garbage.txt"), "corpus line 1")] {
        if reason == "corpus line 1" {
            std::fs::write(&path, "not a corpus line\n").unwrap();
        }
        let out = lockstep(&["corpus", "--file", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
        assert!(stderr(&out).starts_with("lockstep: ") && stderr(&out).contains(reason), "{}", stderr(&out));
        assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    }
}

#[test]
fn keep_going_counts_every_failure_and_records_the_lowest_hundred() {
    let dir = scratch("keep-going");
    let corpus = dir.join("failures.txt");
    let scenario = scenarios::registry::get("tick-loss/buggy").unwrap();
    let failing: Vec<(u64, sim_core::Fingerprint)> = (0..300)
        .map(|seed| (seed, scenario.run_seed(seed)))
        .filter(|(_, run)| run.result.is_err())
        .map(|(seed, run)| (seed, run.fingerprint))
        .collect();
    let expected: Vec<u64> = failing.iter().map(|(seed, _)| *seed).collect();
    assert!(expected.len() > 100, "more failures than are kept: {}", expected.len());
    let out = lockstep(&[
        "run",
        "tick-loss/buggy",
        "--seeds",
        "300",
        "--keep-going",
        "--jobs",
        "2",
        "--record",
        "--corpus",
        corpus.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let count = expected.len().to_string();
    let first = expected[0].to_string();
    assert_eq!(row_cells(&stdout(&out), "tick-loss/buggy")[2..5], ["300", count.as_str(), first.as_str()]);
    let recorded: Vec<u64> = scenarios::corpus::load(&corpus).unwrap().iter().filter_map(|e| e.seed).collect();
    // The lowest 100 are kept; the corpus takes each run once (a seed repeating an
    // earlier seed's run, same fingerprint, is not recorded again).
    let mut distinct: Vec<u64> = Vec::new();
    for (i, (seed, fingerprint)) in failing.iter().take(100).enumerate() {
        if !failing[..i].iter().any(|(_, f)| f == fingerprint) {
            distinct.push(*seed);
        }
    }
    assert_eq!(recorded, distinct);
}

/// Runs the tool with `env` set, with a hang guard of two minutes (a hang fails the test).
fn lockstep_guarded(args: &[&str], env: &[(&str, &str)]) -> Output {
    use std::process::Stdio;
    use std::time::{Duration, Instant as WallClock};
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lockstep"));
    cmd.args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("the lockstep binary runs");
    let deadline = WallClock::now() + Duration::from_secs(120);
    while child.try_wait().unwrap().is_none() {
        if WallClock::now() > deadline {
            child.kill().unwrap();
            panic!("lockstep {args:?} hung");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn a_task_that_never_yields_ends_the_tool_with_the_watchdog_report() {
    let bound = [("LOCKSTEP_POLL_TIMEOUT", "300ms")];
    // One worker: seed 0 is the only run in progress when the watchdog looks.
    let out = lockstep_guarded(&["run", "spin/buggy", "--seeds", "3", "--jobs", "1"], &bound);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(sim_core::tooling::watchdog::EXIT_CODE), "{err}");
    assert!(
        err.contains(
            "lockstep: watchdog: a poll of task `spinner` has not returned after 300ms of wall-clock time \
             (seed 0 of `spin/buggy`)"
        ),
        "{err}"
    );
    // The printed replay command, run as printed (on the binary cargo would build).
    let replay = err.lines().find_map(|l| l.strip_prefix("  replay: ")).expect("a replay line");
    assert_eq!(replay, "cargo run --release -p scenarios --bin lockstep -- replay spin/buggy --seed 0");
    let args: Vec<&str> = replay.split(" -- ").nth(1).unwrap().split(' ').collect();
    let again = lockstep_guarded(&args, &bound);
    assert_eq!(again.status.code(), Some(sim_core::tooling::watchdog::EXIT_CODE), "{}", stderr(&again));
    assert!(stderr(&again).contains("task `spinner`") && stderr(&again).contains(replay), "{}", stderr(&again));
    // The hidden scenario is in no listing and no --all.
    assert!(!stdout(&lockstep(&["list"])).contains("spin/"));
    // A bad bound is bad input.
    let bad = lockstep_guarded(&["list"], &[("LOCKSTEP_POLL_TIMEOUT", "soon")]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).starts_with("lockstep: bad environment variable LOCKSTEP_POLL_TIMEOUT=\"soon\""));
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
    // The critical pair is marked, as in a failing check's artefacts: the failing event is
    // a departure from the canonical order (a choice point taken with index >= 1), the
    // overtaken one a later record at the same instant; the tool names both.
    assert_critical_pair_marked(&html, &text, &jsonl);

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

/// The timeline `html` of a failing replay marks exactly two events, the critical pair,
/// and the tool's output `text` names them; `jsonl` is the run's trace.
pub(crate) fn assert_critical_pair_marked(html: &str, text: &str, jsonl: &str) {
    assert!(html.contains("data-critical-events=\"2\""), "the root counts the marked events");
    assert_eq!(html.matches("data-critical=\"failing\"").count(), 1, "one failing event");
    assert_eq!(html.matches("data-critical=\"overtaken\"").count(), 1, "one overtaken event");
    let marked = text
        .lines()
        .find_map(|l| l.split_once("(critical pair marked: `")?.1.strip_suffix("`)"))
        .unwrap_or_else(|| panic!("the tool names the critical pair:\n{text}"));
    let (failing, overtaken) = marked.split_once("` overtook `").expect("`a` overtook `b`");
    // The failing event was a departure: a choice point taken other than canonically.
    let choice = failing.rsplit_once("[choice ").map(|(_, c)| c.trim_end_matches(']')).expect(failing);
    let (index, options) = choice.split_once(" of ").unwrap();
    assert!(index.parse::<u32>().unwrap() >= 1 && index < options, "{failing}");
    // Both are records of the trace, the overtaken one later, at the same instant.
    let step = |line: &str| -> u64 { line.strip_prefix('#').unwrap().split(' ').next().unwrap().parse().unwrap() };
    let time = |line: &str| line.split(' ').nth(1).unwrap().to_string();
    assert!(step(failing) <= step(overtaken) && time(failing) == time(overtaken), "{failing} / {overtaken}");
    let steps: Vec<u64> = jsonl
        .lines()
        .map(|l| l.split("\"step\":").nth(1).unwrap().split(',').next().unwrap().parse().unwrap())
        .collect();
    assert!(steps.contains(&step(failing)) && steps.contains(&step(overtaken)));
    // The hover titles of the marked events are those lines.
    let esc = |t: &str| {
        t.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
    };
    for (role, line) in [("failing", failing), ("overtaken", overtaken)] {
        assert!(html.contains(&format!("<title>critical pair ({role}): {}</title>", esc(line))), "{role}: {line}");
    }
}

#[test]
fn replay_of_a_passing_run_marks_no_critical_pair() {
    let dir = scratch("replay-pass");
    let timeline = dir.join("pass.html");
    let out = lockstep(&["replay", "throttle-hang/fixed", "--seed", "2", "--timeline", timeline.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains(&format!("wrote the timeline to {}\n", timeline.display())), "{}", stdout(&out));
    let html = std::fs::read_to_string(&timeline).unwrap();
    assert!(html.contains("data-critical-events=\"0\"") && !html.contains("data-critical=\""));
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
    // Classes, redundant executions, failing classes, exhausted. These worlds are too big to
    // count their orders by hand, so nothing here is a number taken from a run: every order
    // of each world is counted below by two enumerators that share no code (the tool's
    // `--every-order` and sim-core's plain depth-first `explore_all`), which must agree;
    // every class is one or more of those orders, so 1 <= classes <= orders, and a class
    // fails exactly when its orders do, so failing classes <= failing orders and is 0
    // exactly when no order fails. The tool's class and order counts are pinned exactly,
    // derived by hand, on a world small enough for that: the example user scenario's
    // `explore_counts_every_order_derived_by_hand` (examples/user-scenarios/tests/tool.rs),
    // and the reduction's own, on small programs, in sim-core/tests/engine/reduction.rs.
    assert_eq!(cells("throttle-hang/fixed")[1], "fixed");
    assert!(text.contains("proven (expected)"), "{text}");
    for name in ["throttle-hang/fixed", "throttle-hang/buggy", "tick-loss/fixed", "tick-loss/buggy"] {
        let plain = scenarios::registry::get(name).unwrap().explore(100_000);
        assert!(plain.exhausted, "{name}");
        let every = lockstep(&["explore", name, "--every-order"]);
        let text = stdout(&every);
        let row = text.lines().find(|l| l.starts_with(name)).unwrap_or_else(|| panic!("{name}: {text}")).to_string();
        let orders: Vec<&str> = row.split_whitespace().collect();
        let (runs, failing) = (plain.runs.to_string(), plain.failing.to_string());
        assert_eq!(orders[2..6], [runs.as_str(), "0", failing.as_str(), "yes"], "{name}: {row}");
        let classes: Vec<usize> = cells(name)[2..5].iter().map(|c| c.parse().unwrap()).collect();
        assert!((1..=plain.runs).contains(&classes[0]), "{name}: {classes:?} vs {plain:?}");
        assert!(classes[2] <= plain.failing && classes[2] <= classes[0], "{name}: {classes:?} vs {plain:?}");
        assert_eq!(classes[2] == 0, plain.failing == 0, "{name}");
        assert_eq!(cells(name)[5], "yes", "{name}: exhausted");
        // What the catalogue says of each variant: no fixed one fails in any order, every
        // buggy one in some.
        if name.ends_with("/fixed") {
            assert_eq!(plain.failing, 0, "{name}");
        } else {
            assert!(plain.failing > 0, "{name}");
        }
    }
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

/// Runs `command` with `sh -c` from the workspace root, as a user pastes it.
fn shell_in_workspace(command: &str) -> Output {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    Command::new("sh").args(["-c", command]).current_dir(root).output().expect("sh runs")
}

/// The value after `key` on the first line that has it.
fn field_of<'a>(text: &'a str, key: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.trim_start().strip_prefix(key))
        .unwrap_or_else(|| panic!("no `{key}` in:\n{text}"))
        .trim()
}

#[test]
fn every_replay_command_the_tool_prints_reproduces_the_failure_when_run_as_printed() {
    // One command per form the tool prints: a random seed, and a PCT run's tape. Each is run
    // exactly as printed (it builds the tool in release, as the main job does), and must
    // fail the same way, with the fingerprint the same replay gives here.
    for args in [
        &["run", "throttle-hang/buggy", "--seeds", "50"][..],
        &["run", "throttle-hang/buggy", "--strategy", "pct", "--depth", "2", "--seeds", "300"][..],
    ] {
        let out = lockstep(args);
        assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
        let replay = field_of(&stdout(&out), "replay: ").to_string();
        assert!(
            replay.starts_with("cargo run --release -p scenarios --bin lockstep -- replay throttle-hang/buggy"),
            "{replay}"
        );

        // The same replay through this test's own build of the tool: the reference report.
        let words: Vec<String> =
            replay.split(" -- ").nth(1).unwrap().split(' ').map(|w| w.trim_matches('\'').to_string()).collect();
        let reference = lockstep(&words.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(reference.status.code(), Some(1), "{}{}", stdout(&reference), stderr(&reference));
        let fingerprint = field_of(&stdout(&reference), "fingerprint: ").to_string();

        let printed = shell_in_workspace(&replay);
        let text = stdout(&printed);
        assert_eq!(printed.status.code(), Some(1), "{replay}\n{text}{}", stderr(&printed));
        assert!(text.contains("lockstep: deadlock in `throttle-hang/buggy`"), "{text}");
        assert_eq!(field_of(&text, "fingerprint: "), fingerprint, "{replay}\n{text}");
        assert!(text.contains(&format!("replay: {replay}")), "the replay prints itself again\n{text}");
    }
}
