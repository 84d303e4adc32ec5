//! The user's own tool, `user-lockstep`, driven through every command in child processes:
//! exit statuses, one-line errors, the files `replay` writes, the corpus, and every replay
//! command it prints, run exactly as printed (`cargo run -p user-scenarios --bin
//! user-lockstep -- replay …`, the debug build this test already has).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use user_scenarios::COMMAND;

fn tool(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_user-lockstep"))
        .args(args)
        .env("RUST_BACKTRACE", "0")
        .output()
        .expect("the user-lockstep binary runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Asserts the exit status, showing both streams when it differs.
fn status(out: &Output, code: i32) {
    assert_eq!(out.status.code(), Some(code), "stdout:\n{}\nstderr:\n{}", stdout(out), stderr(out));
}

/// A fresh scratch directory for one test.
fn scratch(test: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("user-lockstep").join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The value after `key` on the first line that has it.
fn field<'a>(text: &'a str, key: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.trim_start().strip_prefix(key))
        .unwrap_or_else(|| panic!("no `{key}` in:\n{text}"))
        .trim()
}

/// Every replay command in `text` (the `replay: ` lines).
fn replays(text: &str) -> Vec<String> {
    text.lines().filter_map(|l| l.trim_start().strip_prefix("replay: ")).map(str::to_string).collect()
}

/// Runs `command` with `sh -c` from the workspace root, as a user pastes it.
fn shell_in_workspace(command: &str) -> Output {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    Command::new("sh").args(["-c", command]).current_dir(root).env("RUST_BACKTRACE", "0").output().expect("sh runs")
}

/// Runs a printed replay command as printed and checks it reproduces `retry/buggy`'s
/// panic with `fingerprint`, and prints itself again.
fn replays_as_printed(replay: &str, fingerprint: &str) {
    assert!(replay.starts_with(&format!("{COMMAND} replay retry/buggy ")), "the user's own command: {replay}");
    let out = shell_in_workspace(replay);
    status(&out, 1);
    let text = stdout(&out);
    assert!(text.contains("lockstep: panic in `retry/buggy`"), "{replay}\n{text}");
    assert!(text.contains("one deposit of 5 left a balance of 10"), "{replay}\n{text}");
    assert_eq!(field(&text, "fingerprint: "), fingerprint, "{replay}\n{text}");
    assert!(replays(&text).iter().any(|r| r == replay), "the replay prints itself again:\n{text}");
}

/// The reference report of a replay: the same arguments through this test's build.
fn reference_fingerprint(replay: &str) -> String {
    let args = replay.strip_prefix(COMMAND).expect("the user's command").trim();
    let words: Vec<String> = args.split(' ').map(|w| w.trim_matches('\'').to_string()).collect();
    let out = tool(&words.iter().map(String::as_str).collect::<Vec<_>>());
    status(&out, 1);
    field(&stdout(&out), "fingerprint: ").to_string()
}

#[test]
fn list_shows_the_users_scenarios_and_nothing_of_the_catalogue() {
    let out = tool(&["list"]);
    status(&out, 0);
    let text = stdout(&out);
    let rows: Vec<Vec<&str>> = text.lines().skip(1).map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(rows.len(), 2, "{text}");
    assert_eq!(&rows[0][..8], ["retry/buggy", "-", "buggy", "caught", "within", "100", "seeds", "a"], "{text}");
    assert_eq!(&rows[1][..8], ["retry/fixed", "-", "fixed", "clean", "over", "200", "seeds", "the"], "{text}");
    assert!(!text.contains("throttle-hang"), "{text}");
}

#[test]
fn run_catches_the_buggy_scenario_and_its_printed_replays_reproduce_it() {
    // Random seeds: the buggy one is caught, the fixed one clean over its budget.
    let out = tool(&["run", "--all"]);
    status(&out, 0);
    let text = stdout(&out);
    let cells = |name: &str| -> Vec<String> {
        let row = text.lines().find(|l| l.starts_with(name)).unwrap_or_else(|| panic!("no {name}:\n{text}"));
        row.split_whitespace().map(str::to_string).collect()
    };
    assert_eq!(cells("retry/fixed")[..5], ["retry/fixed", "fixed", "200", "0", "-"], "{text}");
    assert!(text.lines().any(|l| l.starts_with("retry/buggy") && l.ends_with("caught (expected)")), "{text}");
    assert!(text.contains("2 of 2 scenarios met their expectation"), "{text}");
    // The failing `assert!` is in the report; no panic message is printed besides.
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
    let seed_replay = replays(&text).pop().expect("a replay line");
    assert!(seed_replay.starts_with(&format!("{COMMAND} replay retry/buggy --seed ")), "{seed_replay}");

    // PCT: its failures replay by tape.
    let out = tool(&["run", "retry/buggy", "--strategy", "pct", "--depth", "2", "--seeds", "100"]);
    status(&out, 0);
    let tape_replay = replays(&stdout(&out)).pop().expect("a replay line");
    assert!(tape_replay.starts_with(&format!("{COMMAND} replay retry/buggy --tape 't")), "{tape_replay}");

    for replay in [seed_replay, tape_replay] {
        let fingerprint = reference_fingerprint(&replay);
        replays_as_printed(&replay, &fingerprint);
    }
}

#[test]
fn run_exits_1_when_an_expectation_is_not_met() {
    // The canonical order sets the server's timer first, so it fires first: no failure.
    let out = tool(&["run", "retry/buggy", "--strategy", "fifo"]);
    status(&out, 1);
    assert!(stdout(&out).contains("NOT CAUGHT"), "{}", stdout(&out));
}

/// The cells of `name`'s row of a table, before the result.
fn row_cells(text: &str, name: &str) -> Vec<String> {
    let row = text.lines().find(|l| l.starts_with(name)).unwrap_or_else(|| panic!("no {name}:\n{text}"));
    row.split_whitespace().take(6).map(str::to_string).collect()
}

// The orders, by hand. At 0s nothing is ever a choice: the client sends, the server takes the
// request, accepts it and sets its timer S (100ms), the client then sets its timeout C (100ms),
// each the only task able to run. At 100ms: fire S (then poll the server, pS: it applies the
// deposit and replies) and fire C (then poll the client, pM); pS also wakes the client.
// Every order of those steps:
//   fS pS pM (C cancelled)  pass      fS pS fC pM  pass      fS fC pS pM  pass
//   fS fC pM pS             FAIL      fC pM fS pS  FAIL
//   fC fS pS pM             pass      fC fS pM pS  FAIL
// A client polled before the server's reply times out and retries (FAIL: deposited twice);
// what follows is forced. 7 orders, 3 failing; the fixed server makes all 7 pass. Classes of
// orders that differ only by commuting steps: pS and pM conflict (the reply), pM and fC conflict
// (the timer) when pM comes first: {pS pM before fC}, {pS, fC, then pM}, {pM before pS} (the
// failing one): 3 classes, 1 failing, in both variants' worlds.
#[test]
fn explore_counts_every_order_derived_by_hand() {
    let out = tool(&["explore", "--all", "--every-order"]);
    status(&out, 0);
    let text = stdout(&out);
    assert_eq!(row_cells(&text, "retry/buggy"), ["retry/buggy", "buggy", "7", "0", "3", "yes"], "{text}");
    assert_eq!(row_cells(&text, "retry/fixed"), ["retry/fixed", "fixed", "7", "0", "0", "yes"], "{text}");
}

#[test]
fn explore_proves_the_fixed_scenario_and_its_printed_replay_reproduces_the_buggy_one() {
    let out = tool(&["explore", "--all"]);
    status(&out, 0);
    let text = stdout(&out);
    let row = |name: &str| text.lines().find(|l| l.starts_with(name)).unwrap_or_else(|| panic!("{text}")).to_string();
    assert!(row("retry/buggy").ends_with("caught (expected)"), "{text}");
    assert!(row("retry/fixed").ends_with("proven (expected)"), "{text}");
    // Classes (derived above): 3, of which 1 fails; the fixed variant's 3 all pass.
    let (buggy, fixed) = (row_cells(&text, "retry/buggy"), row_cells(&text, "retry/fixed"));
    assert_eq!((&buggy[2], &buggy[4], &buggy[5]), (&"3".to_string(), &"1".to_string(), &"yes".to_string()), "{text}");
    assert_eq!((&fixed[2], &fixed[4], &fixed[5]), (&"3".to_string(), &"0".to_string(), &"yes".to_string()), "{text}");
    assert!(text.contains("critical pair: "), "{text}");
    let replay = replays(&text).pop().expect("a replay line");
    assert!(replay.starts_with(&format!("{COMMAND} replay retry/buggy --tape 't")), "{replay}");
    replays_as_printed(&replay, &reference_fingerprint(&replay));
}

#[test]
fn replay_writes_the_trace_and_the_timeline_and_exits_by_the_runs_outcome() {
    let dir = scratch("replay");
    let (trace, timeline) = (dir.join("run.jsonl"), dir.join("run.html"));
    let first = tool(&["run", "retry/buggy"]);
    let seed = stdout(&first)
        .lines()
        .find(|l| l.starts_with("retry/buggy"))
        .and_then(|l| l.split_whitespace().nth(4).map(str::to_string))
        .unwrap();
    let args = [
        "replay",
        "retry/buggy",
        "--seed",
        &seed,
        "--trace",
        trace.to_str().unwrap(),
        "--timeline",
        timeline.to_str().unwrap(),
    ];
    let out = tool(&args);
    status(&out, 1);
    let text = stdout(&out);
    assert!(text.starts_with(&format!("user-lockstep: replaying `retry/buggy` (seed {seed})")), "{text}");
    let records = std::fs::read_to_string(&trace).unwrap();
    assert!(records.lines().count() > 10 && records.lines().all(|l| l.starts_with('{')), "{records}");
    let html = std::fs::read_to_string(&timeline).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains("retry/buggy"), "{}", &html[..200.min(html.len())]);
    // The same replay twice: the same run.
    let again = tool(&args);
    assert_eq!(field(&stdout(&again), "fingerprint: "), field(&text, "fingerprint: "));
    // A passing run exits 0.
    let out = tool(&["replay", "retry/fixed", "--seed", &seed, "--tail", "3"]);
    status(&out, 0);
    assert!(stdout(&out).contains("trace tail (last 3 of"), "{}", stdout(&out));
}

#[test]
fn check_determinism_runs_each_seed_twice() {
    let out = tool(&["check-determinism", "retry/buggy", "--seeds", "20"]);
    status(&out, 0);
    assert!(
        stdout(&out).starts_with("user-lockstep: `retry/buggy`: 20 seeds each ran twice with identical traces"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn record_appends_to_the_users_corpus_and_corpus_replays_it() {
    let dir = scratch("record");
    let corpus = dir.join("failures.txt");
    let path = corpus.to_str().unwrap();
    let out = tool(&["run", "retry", "--record", "--corpus", path]);
    status(&out, 0);
    assert!(stdout(&out).contains(&format!("recorded 1 new failure in {path}")), "{}", stdout(&out));
    let text = std::fs::read_to_string(&corpus).unwrap();
    assert!(text.starts_with("# Lockstep regression corpus of `user-lockstep`"), "{text}");
    assert!(text.contains(&format!("{COMMAND} corpus --file")), "the header names the user's command:\n{text}");
    let again = tool(&["run", "retry", "--record", "--corpus", path]);
    assert!(stdout(&again).contains("recorded 0 new failures"), "{}", stdout(&again));

    let out = tool(&["corpus", "--file", path]);
    status(&out, 0);
    assert!(stdout(&out).contains("1 corpus entry of"), "{}", stdout(&out));

    // An entry whose fingerprint no longer matches is a finding (1), named with its line.
    let entry = text.lines().find(|l| l.starts_with("scenario=")).unwrap();
    let recorded = entry.split_whitespace().find_map(|w| w.strip_prefix("fingerprint=")).unwrap();
    std::fs::write(&corpus, text.replace(recorded, "0000000000000000")).unwrap();
    let out = tool(&["corpus", "--file", path]);
    status(&out, 1);
    assert!(
        stdout(&out).contains("retry/buggy")
            && stdout(&out).contains("expected panic with fingerprint 0000000000000000"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn the_committed_corpus_replays_as_recorded() {
    // The tool's own corpus (`Registry::corpus`), used when no file is named.
    let out = tool(&["corpus"]);
    status(&out, 0);
    assert!(stdout(&out).contains("corpus entr"), "{}", stdout(&out));
    let entries =
        scenarios::corpus::load(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("corpus/failures.txt")).unwrap();
    assert!(entries.iter().any(|e| e.scenario == "retry/buggy"), "{entries:?}");
}

#[test]
fn bad_input_exits_2_with_a_one_line_reason_naming_the_users_tool() {
    let cases: &[(&[&str], &str)] = &[
        (&[], "user-lockstep: a command is required"),
        (
            &["replay", "retry/nope", "--seed", "1"],
            "user-lockstep: no scenario named `retry/nope` (see `user-lockstep list`)",
        ),
        (&["run"], "user-lockstep: name the scenarios, or pass --all (see `user-lockstep list`)"),
        (&["run", "nope"], "user-lockstep: no scenario or family named `nope`"),
        (&["run", "--bogus"], "user-lockstep: unexpected argument '--bogus' found (see `user-lockstep --help`)"),
        (&["replay", "retry/buggy", "--tape", "t2:9.9"], "user-lockstep: "),
        (
            &["corpus", "--file", "/nonexistent/failures.txt"],
            "user-lockstep: no corpus file at /nonexistent/failures.txt",
        ),
    ];
    for (args, start) in cases {
        let out = tool(args);
        status(&out, 2);
        let err = stderr(&out);
        assert!(err.starts_with(start), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: one line: {err}");
        assert!(stdout(&out).is_empty(), "{args:?}: {}", stdout(&out));
    }
}

#[test]
fn a_registry_with_a_bad_or_duplicate_name_is_refused() {
    use scenarios::{Expectation, Registry, Scenario};
    let scenario = |name| Scenario::from_fn(name, "x", Expectation::Clean { seeds: 1 }, || async {});
    let registry =
        Registry::new("t", "t --").register(scenario("a/b")).register(scenario("a/b")).register(scenario("has space"));
    assert_eq!(
        registry.problems(),
        [
            "two scenarios are named `a/b`",
            "scenario name `has space` is not one word of ASCII letters, digits and `-_./:` (not starting with `-`)"
        ]
    );
    assert!(user_scenarios::registry().problems().is_empty());
}

#[test]
fn a_seed_runs_the_same_twice() {
    // The determinism rule, in process: one seed of each scenario twice, same fingerprint.
    let registry = user_scenarios::registry();
    for scenario in registry.all() {
        for seed in [0, 1, 7] {
            let (a, b) = (scenario.run_seed(seed), scenario.run_seed(seed));
            assert_eq!(a.fingerprint, b.fingerprint, "{} seed {seed}", scenario.name);
            assert_eq!(a.class(), b.class());
        }
    }
}

/// The tool with the poll watchdog's bound at 300 ms (for `mistake/spin`).
fn tool_with_watchdog(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_user-lockstep"))
        .args(args)
        .env("RUST_BACKTRACE", "0")
        .env("LOCKSTEP_POLL_TIMEOUT", "300ms")
        .output()
        .expect("the user-lockstep binary runs")
}

// Every command's exit statuses, as documented (`docs/scenarios.md`): 0 met, 1 not met, 2 bad
// input (one line on standard error), 3 a poll that never returned (the watchdog: task, run
// and replay command on standard error). The hidden `mistake/*` scenarios go wrong on
// purpose: `mistake/nondeterministic` takes an id from a process-wide counter, so a seed run
// twice differs (1 from `check-determinism`, `run` and `explore`, which all run something
// twice); `mistake/spin` never returns from a poll (3 from every command that runs it).
#[test]
fn every_command_exits_0_1_2_or_3_as_documented_on_the_users_scenarios() {
    let dir = scratch("statuses");
    let changed = dir.join("changed.txt");
    let committed = std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("corpus/failures.txt"))
        .expect("the committed corpus");
    let recorded = committed.lines().find_map(|l| l.split(" fingerprint=").nth(1)?.split(' ').next()).unwrap();
    std::fs::write(&changed, committed.replace(recorded, "0000000000000000")).unwrap();
    let spinning = dir.join("spin.txt");
    std::fs::write(
        &spinning,
        "scenario=mistake/spin variant=buggy seed=0 outcome=panic fingerprint=0000000000000000 tape=t1:\n",
    )
    .unwrap();
    let (changed, spinning) = (changed.to_str().unwrap(), spinning.to_str().unwrap());
    // (arguments, status, what standard output (0, 1) or standard error (2, 3) says)
    let cases: &[(&[&str], i32, &str)] = &[
        (&["list"], 0, "retry/buggy"),
        (&["list", "extra"], 2, "user-lockstep: unexpected argument 'extra' found"),
        (&["run", "retry"], 0, "2 of 2 scenarios met their expectation"),
        (&["run", "retry/buggy", "--strategy", "fifo"], 1, "NOT CAUGHT"),
        (&["run", "mistake/nondeterministic"], 1, "  NONDETERMINISTIC\n"),
        (&["run", "nope"], 2, "user-lockstep: no scenario or family named `nope`"),
        (&["run", "mistake/spin"], 3, "(seed 0 of `mistake/spin`)"),
        (&["explore", "retry"], 0, "2 of 2 scenarios met their expectation"),
        (
            &["explore", "mistake/nondeterministic"],
            1,
            "ran differently when run again (see `user-lockstep check-determinism mistake/nondeterministic`)",
        ),
        (&["explore", "retry", "--max-runs", "0"], 2, "user-lockstep: invalid value '0' for '--max-runs <N>'"),
        (&["explore", "mistake/spin"], 3, "(the canonical order of `mistake/spin`)"),
        (&["replay", "retry/fixed", "--seed", "0"], 0, "passed; fingerprint"),
        (&["replay", "retry/buggy", "--seed", "0"], 1, "one deposit of 5 left a balance of 10"),
        (&["replay", "retry/buggy"], 2, "user-lockstep: the following required arguments were not provided"),
        (&["replay", "mistake/spin", "--seed", "0"], 3, "(seed 0 of `mistake/spin`)"),
        (&["check-determinism", "retry/buggy", "--seeds", "10"], 0, "10 seeds each ran twice with identical traces"),
        (
            &["check-determinism", "mistake/nondeterministic", "--seeds", "10"],
            1,
            "what differed: a time: timer 0 of task `mistakes.rs:29` is set for 1ms in the first run, 2ms in the second",
        ),
        (&["check-determinism", "retry/buggy", "--seeds", "0"], 2, "user-lockstep: invalid value '0' for '--seeds <N>'"),
        (&["check-determinism", "mistake/spin"], 3, "(seed 0 of `mistake/spin`)"),
        (&["corpus"], 0, "1 corpus entry of"),
        (&["corpus", "--file", changed], 1, "expected panic with fingerprint 0000000000000000"),
        (&["corpus", "--file", "/nonexistent/failures.txt"], 2, "user-lockstep: no corpus file at /nonexistent"),
        (&["corpus", "--file", spinning], 3, "(the canonical order of `mistake/spin`)"),
    ];
    let mut printed = Vec::new();
    for (args, code, says) in cases {
        let out = tool_with_watchdog(args);
        status(&out, *code);
        let (err, text) = (stderr(&out), stdout(&out));
        match code {
            0 | 1 => {
                assert!(text.contains(says), "{args:?}: {says}\n{text}");
                assert!(err.is_empty(), "{args:?}: {err}");
            }
            2 => {
                assert!(err.starts_with(says), "{args:?}: {says}\n{err}");
                assert_eq!(err.lines().count(), 1, "{args:?}: one line: {err}");
            }
            _ => {
                let watchdog =
                    "lockstep: watchdog: a poll of task `main` has not returned after 300ms of wall-clock time";
                assert!(err.starts_with(watchdog) && err.contains(says), "{args:?}: {says}\n{err}");
                assert!(text.is_empty(), "{args:?}: {text}");
            }
        }
        for replay in replays(&text).into_iter().chain(replays(&err)) {
            if replay.contains(" mistake/") && !printed.contains(&replay) {
                printed.push(replay);
            }
        }
    }
    // Every replay command printed for the mistakes, run as printed: a spinning run spins
    // again (3); one run of the nondeterministic scenario passes (it takes two to differ).
    printed.sort();
    assert_eq!(
        printed,
        [
            format!("{COMMAND} replay mistake/nondeterministic --seed 0"),
            format!("{COMMAND} replay mistake/nondeterministic --tape 't1:'"),
            format!("{COMMAND} replay mistake/spin --seed 0"),
            format!("{COMMAND} replay mistake/spin --tape 't1:'"),
        ]
    );
    for replay in &printed {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let out = Command::new("sh")
            .args(["-c", replay])
            .current_dir(root)
            .env("RUST_BACKTRACE", "0")
            .env("LOCKSTEP_POLL_TIMEOUT", "300ms")
            .output()
            .expect("sh runs");
        if replay.contains("mistake/spin") {
            status(&out, 3);
            assert!(stderr(&out).contains(&format!("  replay: {replay}")), "{replay}: {}", stderr(&out));
        } else {
            status(&out, 0);
            assert!(stdout(&out).contains("passed; fingerprint"), "{replay}: {}", stdout(&out));
        }
    }
    // The mistakes are reachable by name only.
    assert!(!stdout(&tool(&["list"])).contains("mistake/"));
}

#[test]
fn a_reader_that_goes_away_is_no_panic() {
    // `user-lockstep explore retry | head -0`: the pipe is closed before the tool writes.
    let mut child = Command::new(env!("CARGO_BIN_EXE_user-lockstep"))
        .args(["explore", "retry"])
        .env("RUST_BACKTRACE", "0")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the user-lockstep binary runs");
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "the verdict stands: {}", stderr(&out));
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
}
