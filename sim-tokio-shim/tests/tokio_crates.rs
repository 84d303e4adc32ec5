//! The route for crates that import tokio, end to end: the shim command writes the
//! package `tokio` into `examples/tokio-crates/lockstep-tokio` (the path that
//! workspace's `[patch.crates-io]` names), then that workspace's tests run in a child
//! `cargo test` (its own target dir, its committed Cargo.lock) with tokio-stream and
//! tokio-util on the simulator, and their outcome counts are checked here.

use std::path::{Path, PathBuf};
use std::process::Command;

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/tokio-crates")
}

/// Runs the shim command as a user does; returns its status, stdout and stderr.
fn shim(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sim-tokio-shim")).args(args).current_dir(example()).output().unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code().unwrap_or(-1), text(&out.stdout), text(&out.stderr))
}

#[test]
fn bad_arguments_exit_2_with_one_line() {
    for (args, reason) in [
        (&["--lockfile", "Cargo.lock"][..], "sim-tokio-shim: --out is required; usage: "),
        (&["--out"][..], "sim-tokio-shim: --out needs a value; usage: "),
        (&["--out", "x", "--frobnicate"][..], "sim-tokio-shim: unknown argument `--frobnicate`; usage: "),
        (
            &["--out", "x", "--version", "1.2.3", "--lockfile", "Cargo.lock"][..],
            "sim-tokio-shim: --lockfile and --version are exclusive",
        ),
        (&["--out", "x", "--version", "0.2.25"][..], "sim-tokio-shim: `0.2.25` is not tokio 1.x"),
        (&["--out", "x", "--lockfile", "no-such.lock"][..], "sim-tokio-shim: no-such.lock: "),
    ] {
        let (code, stdout, stderr) = shim(args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stderr.starts_with(reason) && stderr.lines().count() == 1, "{args:?}: {stderr}");
        assert_eq!(stdout, "", "{args:?}");
    }
    assert!(!example().join("x").exists(), "a refused command writes nothing");
}

/// The value of `key` in the `[[package]]` block of `name` in a Cargo.lock.
fn locked(lock: &str, name: &str) -> String {
    sim_tokio_shim::locked_version(lock, name).unwrap_or_else(|| panic!("no {name} in the lockfile"))
}

#[test]
fn the_example_workspace_runs_tokio_stream_and_tokio_util_on_the_simulator() {
    // 1. The command, as docs/tokio.md shows it (from the example's folder).
    let lockfile = std::fs::read_to_string(example().join("Cargo.lock")).unwrap();
    let (code, stdout, stderr) = shim(&["--out", "lockstep-tokio", "--lockfile", "Cargo.lock"]);
    assert_eq!(code, 0, "{stderr}");
    let version = locked(&lockfile, "tokio");
    assert!(stdout.contains(&format!("package tokio {version} (locked in Cargo.lock)")), "{stdout}");
    assert!(stdout.contains("[patch.crates-io]\ntokio = { path = "), "{stdout}");
    let manifest = std::fs::read_to_string(example().join("lockstep-tokio/Cargo.toml")).unwrap();
    assert!(
        manifest.contains("name = \"tokio\"") && manifest.contains(&format!("version = \"{version}\"")),
        "{manifest}"
    );

    // 2. The workspace's tests in a child cargo: its own target dir, its own config
    //    (`--cfg lockstep`), the committed lockfile, no LOCKSTEP_* or flags inherited.
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("tokio-crates");
    let mut cargo = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cargo.args(["test", "--locked", "--test", "crates", "--test", "sync_rt", "--", "--show-output"]);
    cargo.current_dir(example()).env("CARGO_TARGET_DIR", &target).env("CARGO_INCREMENTAL", "0");
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "LOCKSTEP_SEED",
        "LOCKSTEP_TAPE",
        "LOCKSTEP_SEEDS",
    ] {
        cargo.env_remove(var);
    }
    let out = cargo.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("because --locked was passed"),
        "examples/tokio-crates/Cargo.lock is stale (sim-tokio's or sim-core's dependencies changed): \
         run `cargo fetch` in examples/tokio-crates and commit its Cargo.lock\n{stderr}"
    );
    assert!(out.status.success(), "{stdout}\n{stderr}");

    // Every test of the user's two files ran and passed: none skipped, none filtered out.
    for names in [&NAMES[..], &SYNC_RT[..]] {
        let summary =
            format!("test result: ok. {} passed; 0 failed; 0 ignored; 0 measured; 0 filtered out", names.len());
        assert!(stdout.contains(&summary), "{summary}\n{stdout}");
        for name in names {
            assert!(stdout.contains(&format!("test {name} ... ok")), "{name}\n{stdout}");
        }
    }
    // The outcome counts: every order, and seeds 0..300 (a pure function of the seed).
    for line in OUTCOMES {
        assert!(stdout.lines().any(|l| l.ends_with(line)), "expected the line\n{line}\nin\n{stdout}");
    }
}

/// The tests of `examples/tokio-crates/tests/crates.rs`.
const NAMES: [&str; 11] = [
    "an_item_at_the_deadline_lands_in_either_batch",
    "throttle_spaces_items_by_the_period",
    "timeout_reports_one_quiet_spell_once",
    "a_key_is_emitted_once_quiet_and_a_repeat_restarts_its_wait",
    "a_repeat_at_the_deadline_is_emitted_once_or_twice",
    "cancelling_the_parent_token_stops_a_worker_on_a_child_token",
    "a_framed_reader_splits_lines_from_memory",
    "every_order_of_an_item_at_the_deadline_gives_both_batchings",
    "every_order_of_a_repeat_at_the_deadline_gives_both_emissions",
    "seeds_show_both_outcomes",
    "a_seed_run_twice_gives_the_same_fingerprint",
];

/// The tests of `examples/tokio-crates/tests/sync_rt.rs`: tokio-stream's `sync`
/// wrappers, tokio-util's `sync` and `rt` types.
const SYNC_RT: [&str; 14] = [
    "a_lagging_subscriber_learns_how_many_values_it_lost",
    "every_subscriber_sees_every_value_when_it_is_sent",
    "a_watch_stream_sees_the_current_value_then_the_latest_of_each_change",
    "a_poll_semaphore_runs_two_jobs_at_a_time",
    "a_poll_sender_waits_for_room_in_the_channel",
    "a_poll_sender_stops_when_the_receiver_is_gone",
    "a_task_tracker_waits_for_its_last_task",
    "a_join_map_hands_out_each_key_as_its_task_ends",
    "a_seed_run_twice_gives_the_same_fingerprint",
    "a_poll_sender_on_a_channel_nobody_reads_is_a_deadlock_naming_the_channel",
    "a_task_tracker_never_closed_is_a_deadlock_naming_its_wait",
    "a_watch_stream_whose_sender_is_kept_is_a_deadlock_naming_the_channel",
    "a_broadcast_subscriber_whose_sender_is_kept_is_a_deadlock_naming_the_channel",
    "spawn_pinned_is_reported_not_hung",
];

/// Measured. chunks_timeout: 7 orders (the simulator's choices at the tie of the two
/// 10 ms timers and the wake-ups after them); 3 close `[1, 2]` at the deadline, 4 take
/// item 3 first. Only the first is an order tokio's current-thread runtime takes: the
/// same program on tokio 1.54.1 with paused time gave `[[1, 2], [3]]` in 200 runs of 200.
/// DelayQueue: 1,932 orders; both emissions are in the tokio model, and tokio 1.54.1 with
/// paused time gave both (96 and 104 of 200 runs: its `select!` draws at random).
const OUTCOMES: [&str; 4] = [
    "chunks_timeout, an item at the deadline: 7 orders: [[1, 2], [3]] in 3 (tokio model: reachable), [[1, 2, 3]] in 4 (tokio model: not reachable)",
    "chunks_timeout, an item at the deadline, seeds 0..300: {[[1, 2], [3]]: 135, [[1, 2, 3]]: 165}",
    "DelayQueue, a repeat at the deadline: 1932 orders: [(\"x\", 10ms), (\"x\", 20ms)] in 1792 (tokio model: reachable), [(\"x\", 20ms)] in 140 (tokio model: reachable)",
    "DelayQueue, a repeat at the deadline, seeds 0..300: {[(\"x\", 10ms), (\"x\", 20ms)]: 210, [(\"x\", 20ms)]: 90}",
];

/// Runs `sh -c command` in the example's folder as a user would there: its own target
/// dir, its config, no LOCKSTEP_* variable or flags inherited.
fn user_shell(command: &str) -> (bool, String) {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("tokio-crates");
    let mut sh = Command::new("sh");
    sh.args(["-c", command]).current_dir(example()).env("CARGO_TARGET_DIR", &target).env("CARGO_INCREMENTAL", "0");
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "LOCKSTEP_SEED",
        "LOCKSTEP_TAPE",
        "LOCKSTEP_SEEDS",
    ] {
        sh.env_remove(var);
    }
    let out = sh.output().unwrap();
    (
        out.status.success(),
        format!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
    )
}

/// The value after `key` on the first line that has it.
fn field<'a>(text: &'a str, key: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.trim_start().strip_prefix(key))
        .unwrap_or_else(|| panic!("no `{key}` in:\n{text}"))
        .trim()
}

#[test]
fn a_failing_test_on_the_patched_route_prints_a_replay_that_reproduces_it() {
    // The shim must exist for cargo to load the workspace; the other test may be writing it
    // too (same content: writing it twice changes nothing).
    let (code, _, stderr) = shim(&["--out", "lockstep-tokio", "--lockfile", "Cargo.lock"]);
    assert_eq!(code, 0, "{stderr}");
    let test = "an_item_at_the_deadline_always_starts_a_new_batch";
    let (ok, report) = user_shell(&format!("cargo test --locked -q --test failing -- --exact {test}"));
    assert!(!ok, "{report}");
    assert!(report.contains("assertion `left == right` failed"), "{report}");
    let seed = field(&report, "seed: ").split_whitespace().next().unwrap().to_string();
    let fingerprint = field(&report, "fingerprint: ").to_string();
    let replay = field(&report, "replay: ").to_string();
    assert_eq!(replay, format!("LOCKSTEP_SEED={seed} cargo test -p tokio-crates --test failing -- --exact {test}"));

    // Run exactly as printed, from the example's folder: one test, the same failure and fingerprint.
    let (ok, replayed) = user_shell(&replay);
    assert!(!ok, "{replayed}");
    assert!(replayed.contains("running 1 test"), "the command selects exactly the test\n{replayed}");
    assert!(replayed.contains("assertion `left == right` failed"), "{replayed}");
    assert_eq!(field(&replayed, "fingerprint: "), fingerprint, "{replayed}");
}
