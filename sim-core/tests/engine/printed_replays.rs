//! Every replay command a check prints, run as printed: each fixture of
//! `tests/replay_fixtures.rs` (tests that fail on purpose) runs through `cargo test` in
//! a child process; the `replay:` line of its report runs in `sh`, as printed, in
//! another; that run must select exactly the one test (a run of 0 tests exits 0) and
//! fail with the same failure and fingerprint.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The workspace root, where the printed commands run.
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("sim-core is in the workspace").to_path_buf()
}

/// `command` with no `LOCKSTEP_*` variable of this process (only what the printed
/// command sets) and with the `cargo` that runs these tests first on `PATH`.
pub(crate) fn clean(mut command: Command) -> Command {
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("LOCKSTEP_") {
            command.env_remove(name);
        }
    }
    let cargo = PathBuf::from(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    let mut path: Vec<PathBuf> = cargo.parent().map(Path::to_path_buf).into_iter().collect();
    path.extend(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()));
    command.env("PATH", std::env::join_paths(path).unwrap()).env("RUST_BACKTRACE", "0").current_dir(workspace());
    command
}

fn text(out: &Output) -> String {
    format!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// The first line of `output` that starts (after spaces) with `label`, without it.
fn field<'a>(output: &'a str, label: &str) -> &'a str {
    let found = output.lines().find_map(|line| line.trim_start().strip_prefix(label));
    found.unwrap_or_else(|| panic!("no `{label}` line in:\n{output}")).trim()
}

/// Runs the fixture `test`, then its printed replay command, and checks that the
/// replay ran exactly that test and failed the same way. Returns the command.
fn replay_of(test: &str) -> String {
    command_of(test, "replay: ")
}

/// [`replay_of`] for the command on the line labelled `label`.
fn command_of(test: &str, label: &str) -> String {
    let mut first = clean(Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())));
    first.args(["test", "-p", "sim-core", "--test", "replay_fixtures", "--", "--exact", test]);
    let out = first.output().expect("cargo runs");
    let found = text(&out);
    assert!(!out.status.success(), "the fixture fails:\n{found}");
    let replay = field(&found, label).to_string();
    let fingerprint = field(&found, "fingerprint: ").to_string();
    let violation = "property violated (reported by `";
    assert!(found.contains(violation), "{found}");

    let again = clean(Command::new("sh")).arg("-c").arg(&replay).output().expect("sh runs");
    let replayed = text(&again);
    assert_eq!(again.status.code(), Some(101), "the replay fails as the test did:\n{replayed}");
    assert!(replayed.contains("running 1 test\n"), "exactly one test runs:\n{replayed}");
    assert!(replayed.contains("1 failed;"), "{replayed}");
    assert!(replayed.contains(violation) && replayed.contains("b logged first"), "{replayed}");
    assert!(replayed.contains(&format!("fingerprint: {fingerprint}")), "the same run ({fingerprint}):\n{replayed}");
    replay
}

#[test]
fn the_replay_command_of_check_random_runs_only_its_test_on_the_failing_seed() {
    let replay = replay_of("check_random_fails");
    assert!(replay.starts_with("LOCKSTEP_SEED="), "{replay}");
    assert!(replay.ends_with(" cargo test -p sim-core --test replay_fixtures -- --exact check_random_fails"));
}

#[test]
fn the_replay_command_of_a_pct_check_replays_its_tape() {
    let replay = replay_of("check_pct_fails");
    assert!(replay.starts_with("LOCKSTEP_TAPE='t2:"), "{replay}");
    assert!(replay.ends_with("' cargo test -p sim-core --test replay_fixtures -- --exact check_pct_fails"));
}

#[test]
fn the_replay_command_of_check_exhaustive_selects_the_test_not_its_display_name() {
    let replay = replay_of("check_exhaustive_fails");
    assert!(replay.starts_with("LOCKSTEP_TAPE='t2:"), "{replay}");
    assert!(replay.ends_with("' cargo test -p sim-core --test replay_fixtures -- --exact check_exhaustive_fails"));
}

#[test]
fn the_replay_command_of_a_proptest_check_without_inputs_replays_its_shrunk_tape() {
    let replay = replay_of("check_proptest_without_inputs_fails");
    assert!(replay.starts_with("LOCKSTEP_TAPE='t2:"), "{replay}");
    assert!(replay
        .ends_with("' cargo test -p sim-core --test replay_fixtures -- --exact check_proptest_without_inputs_fails"));
}

/// With inputs, `replay:` is the Rust call that runs the one shrunk run (a tape holds
/// no inputs; `runner` runs such a call as printed) and `rerun:` the command that
/// runs the whole check again with its generator seed: the same cases, shrunk the
/// same way, to the same failure.
#[test]
fn the_rerun_command_of_check_proptest_runs_the_check_again_with_its_seed() {
    let rerun = command_of("check_proptest_fails", "rerun: ");
    assert_eq!(rerun, "LOCKSTEP_SEED=0 cargo test -p sim-core --test replay_fixtures -- --exact check_proptest_fails");
}

/// `LOCKSTEP_SEED` is the seed of the case generator: another seed generates other
/// cases (so another first failing case), and the report's command carries it.
#[test]
fn lockstep_seed_sets_the_generator_seed_of_check_proptest() {
    let mut first = clean(Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())));
    first.env("LOCKSTEP_SEED", "7");
    first.args(["test", "-p", "sim-core", "--test", "replay_fixtures", "--", "--exact", "check_proptest_fails"]);
    let found = text(&first.output().expect("cargo runs"));
    assert_eq!(
        field(&found, "rerun: "),
        "LOCKSTEP_SEED=7 cargo test -p sim-core --test replay_fixtures -- --exact check_proptest_fails"
    );
    assert!(field(&found, "replay: ").starts_with("sim_core::replay(|| f(1), \"t2:"), "{found}");
    assert!(found.contains("b logged first"), "{found}");
}
