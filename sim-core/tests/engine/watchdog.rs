//! The poll watchdog: a task that never returns from `poll` ends the process with
//! its name, the seed and the replay command, instead of hanging the check. Run in
//! a child process (this test binary, re-invoked on this one test), because the
//! watchdog exits the process.
//!
//! Nothing here asserts a wall-clock time. The children run with a watchdog bound of
//! [`BOUND`] (long beside any poll but the hung one, even on a loaded machine: the
//! other polls take microseconds), and each child runs under a hang guard
//! ([`guarded`]) that only tells a hang from a pass. A printed `cargo test` replay
//! builds the test binary first when this run's build does not fit it (`cargo test
//! -p sim-core` unifies other features than `cargo test --workspace`): that build
//! runs before, outside the guard ([`build_the_printed_command_s_binary`]), so the
//! guard covers only the replay itself.

use std::io::Read;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant as WallClock};

use sim_core::check::{current_seed, Check};
use sim_core::tooling::env::EnvOverrides;
use sim_core::tooling::watchdog::{DEFAULT_BOUND, EXIT_CODE};

/// The poll watchdog's variable.
const POLL_TIMEOUT: &str = "LOCKSTEP_POLL_TIMEOUT";

/// This test's path, as `cargo test -- --exact` takes it.
const NAME: &str = "watchdog::a_poll_that_never_returns_ends_the_process_with_a_report";
/// Set in the child: run the hanging check instead of watching it.
const CHILD: &str = "LOCKSTEP_WATCHDOG_TEST_CHILD";
/// The watchdog's bound in the children, as `LOCKSTEP_POLL_TIMEOUT` takes it and as
/// the report prints it.
const BOUND: &str = "2s";
/// The hang guard of one child: a child finishes a few seconds after its hung poll
/// passes [`BOUND`]; this only tells a hang (the watchdog not firing) from a pass, with
/// a margin for a loaded 2-core machine.
const HANG_GUARD: Duration = Duration::from_secs(600);

/// Seeds 0..8; seed 3's task `spinner` loops without ever yielding.
fn hanging_check() {
    Check::random(8).jobs(2).name(NAME).run(|| async {
        let seed = current_seed().expect("a seeded run");
        let spinner = sim_core::task::Builder::new().name("spinner").spawn(async move {
            while seed == 3 && std::hint::black_box(true) {
                std::hint::spin_loop();
            }
        });
        spinner.await.unwrap();
    });
    unreachable!("seed 3 never returns from its poll");
}

/// Runs this test in a child process with `env`, under the hang guard.
fn child(env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", NAME, "--nocapture"]).env(CHILD, "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    guarded(cmd, HANG_GUARD)
}

#[test]
fn a_poll_that_never_returns_ends_the_process_with_a_report() {
    if std::env::var_os(CHILD).is_some() {
        return hanging_check();
    }
    let out = child(&[(POLL_TIMEOUT, BOUND)]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(EXIT_CODE), "{err}");
    let report = format!(
        "lockstep: watchdog: a poll of task `spinner` has not returned after {BOUND} of wall-clock time (seed 3 of `{NAME}`)"
    );
    assert!(err.contains(&report), "{err}");
    let replay = format!("  replay: LOCKSTEP_SEED=3 cargo test -p sim-core --test engine -- --exact {NAME}");
    assert!(err.contains(&replay), "{err}");

    // The printed replay, as that `cargo test` command runs this binary: seed 3 alone, which
    // hangs again and is reported again.
    let again = child(&[(POLL_TIMEOUT, BOUND), ("LOCKSTEP_SEED", "3")]);
    let err = String::from_utf8_lossy(&again.stderr);
    assert_eq!(again.status.code(), Some(EXIT_CODE), "{err}");
    assert!(err.contains(&report) && err.contains(&replay), "{err}");
}

#[test]
fn the_bound_is_read_from_lockstep_poll_timeout() {
    let bound = |value: &str| EnvOverrides::from_lookup(|n| (n == POLL_TIMEOUT).then(|| value.to_string()));
    assert_eq!(bound("2").unwrap().poll_timeout, Some(Duration::from_secs(2)));
    assert_eq!(bound("2s").unwrap().poll_timeout, Some(Duration::from_secs(2)));
    assert_eq!(bound("250ms").unwrap().poll_timeout, Some(Duration::from_millis(250)));
    assert_eq!(bound("off").unwrap().poll_timeout, Some(Duration::ZERO));
    assert_eq!(bound("0").unwrap().poll_timeout, Some(Duration::ZERO));
    let err = bound("soon").unwrap_err();
    assert_eq!((err.variable, err.value.as_str()), (POLL_TIMEOUT, "soon"));
    assert_eq!(EnvOverrides::from_lookup(|_| None).unwrap().poll_timeout, None);
    assert_eq!(DEFAULT_BOUND, Duration::from_secs(60));
}

/// The PCT test's path.
const PCT_NAME: &str = "watchdog::a_pct_run_that_hangs_prints_the_tape_that_replays_it";

/// PCT seeds 0..100: tasks `a` and `b` wake at 10 ms and note who came first; at
/// 20 ms, task `spinner` loops without ever yielding when `b` did. A PCT run is not
/// replayed by its seed: the report must carry the choices made before the hang.
fn hanging_pct_check() {
    Check::pct(100, 2).steps(4).jobs(1).name(PCT_NAME).run(|| async {
        let first = std::rc::Rc::new(std::cell::Cell::new(""));
        for name in ["a", "b"] {
            let first = first.clone();
            sim_core::task::Builder::new().name(name).spawn(async move {
                sim_core::time::sleep(Duration::from_millis(10)).await;
                if first.get().is_empty() {
                    first.set(name);
                }
            });
        }
        let spinner = sim_core::task::Builder::new().name("spinner").spawn(async move {
            sim_core::time::sleep(Duration::from_millis(20)).await;
            while first.get() == "b" && std::hint::black_box(true) {
                std::hint::spin_loop();
            }
        });
        spinner.await.unwrap();
    });
    unreachable!("some PCT run puts `b` first and never returns from its poll");
}

/// The report names the PCT run and prints a command, not prose: the tape of the
/// choices made before the hung poll, in front of the test's `cargo test` command.
/// That command, run as printed in `sh` (with the same bound in the environment),
/// replays the tape and hangs in the same poll, reported with the same command.
#[test]
fn a_pct_run_that_hangs_prints_the_tape_that_replays_it() {
    if std::env::var_os(CHILD).is_some() {
        return hanging_pct_check();
    }
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", PCT_NAME, "--nocapture"]).env(CHILD, "1").env(POLL_TIMEOUT, BOUND);
    let out = guarded(cmd, HANG_GUARD);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(EXIT_CODE), "{err}");
    let hung = &format!(
        "lockstep: watchdog: a poll of task `spinner` has not returned after {BOUND} of wall-clock time (PCT seed "
    );
    assert!(err.contains(hung) && err.contains(&format!(" (depth 2, 4 steps) of `{PCT_NAME}`)")), "{err}");
    let replay = err.lines().find_map(|l| l.strip_prefix("  replay: ")).expect("a replay line").to_string();
    assert!(replay.starts_with("LOCKSTEP_TAPE='t1:"), "{replay}");
    assert!(replay.ends_with(&format!("' cargo test -p sim-core --test engine -- --exact {PCT_NAME}")), "{replay}");

    build_the_printed_command_s_binary();
    let mut again = crate::printed_replays::clean(Command::new("sh"));
    again.arg("-c").arg(&replay).env(CHILD, "1").env(POLL_TIMEOUT, BOUND);
    let out = guarded(again, HANG_GUARD);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(EXIT_CODE), "cargo exits with the test binary's code: {err}");
    assert!(err.contains("(exit status: 3)"), "{err}");
    let hung = &format!(
        "lockstep: watchdog: a poll of task `spinner` has not returned after {BOUND} of wall-clock time (tape t1:"
    );
    assert!(err.contains(hung), "{err}");
    assert!(err.contains(&format!("  replay: {replay}\n")), "the same command again: {err}");
}

/// The exhaustive test's path.
const EXHAUSTIVE_NAME: &str = "watchdog::an_exhaustive_check_that_hangs_prints_the_tape_that_replays_it";

/// Every order of: `a` and `b` wake at 10 ms and note who came first (declared with
/// `touch`, so both orders are classes of their own); at 20 ms `spinner` loops
/// without yielding when `b` did. Run 1 (canonical: `a` first) passes; run 2 hangs.
fn hanging_exhaustive_check() {
    Check::exhaustive().run(|| async {
        let first = std::rc::Rc::new(std::cell::Cell::new(""));
        for name in ["a", "b"] {
            let first = first.clone();
            sim_core::task::Builder::new().name(name).spawn(async move {
                sim_core::time::sleep(Duration::from_millis(10)).await;
                sim_core::touch("first");
                if first.get().is_empty() {
                    first.set(name);
                }
            });
        }
        let spinner = sim_core::task::Builder::new().name("spinner").spawn(async move {
            sim_core::time::sleep(Duration::from_millis(20)).await;
            sim_core::touch("first");
            while first.get() == "b" && std::hint::black_box(true) {
                std::hint::spin_loop();
            }
        });
        spinner.await.unwrap();
    });
    unreachable!("the order with `b` first never returns from its poll");
}

/// The exhaustive search is watched like the seeded ones: a hung run is reported with the tape of
/// the choices that led to it, and that command, run as printed, hangs the same way.
#[test]
fn an_exhaustive_check_that_hangs_prints_the_tape_that_replays_it() {
    if std::env::var_os(CHILD).is_some() {
        return hanging_exhaustive_check();
    }
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", EXHAUSTIVE_NAME]).env(CHILD, "1").env(POLL_TIMEOUT, BOUND);
    let out = guarded(cmd, HANG_GUARD);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(EXIT_CODE), "{err}");
    let hung = &format!(
        "lockstep: watchdog: a poll of task `spinner` has not returned after {BOUND} of wall-clock time (tape t1:"
    );
    assert!(err.contains(hung) && err.contains(&format!(" of `{EXHAUSTIVE_NAME}`)")), "{err}");
    let replay = err.lines().find_map(|l| l.strip_prefix("  replay: ")).expect("a replay line").to_string();
    let command = format!("' cargo test -p sim-core --test engine -- --exact {EXHAUSTIVE_NAME}");
    assert!(replay.starts_with("LOCKSTEP_TAPE='t1:") && replay.ends_with(&command), "{replay}");

    build_the_printed_command_s_binary();
    let mut again = crate::printed_replays::clean(Command::new("sh"));
    again.arg("-c").arg(&replay).env(CHILD, "1").env(POLL_TIMEOUT, BOUND);
    let out = guarded(again, HANG_GUARD);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(EXIT_CODE), "{err}");
    assert!(err.contains(hung) && err.contains(&format!("  replay: {replay}\n")), "the same hang: {err}");
}

/// Builds the test binary the printed replays (`cargo test -p sim-core --test engine
/// ...`) run, once per process, the way they build it (the same environment), so that
/// a replay under the hang guard does not include a build of sim-core and of this test
/// binary (minutes on a loaded machine). A build is not a hang: it runs to its end.
fn build_the_printed_command_s_binary() {
    static BUILT: std::sync::Once = std::sync::Once::new();
    BUILT.call_once(|| {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut build = crate::printed_replays::clean(Command::new(cargo));
        build.args(["test", "-p", "sim-core", "--test", "engine", "--no-run"]);
        let out = build.output().expect("cargo runs");
        assert!(
            out.status.success(),
            "building the replay's test binary failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    });
}

/// Runs `cmd` with its output captured, in a process group of its own; kills the
/// group (a `sh`, the `cargo` it runs and the test binary that runs) when it has not
/// finished within `guard`, a hang guard only. The output is read while the child runs,
/// so a child that writes more than a pipe holds never blocks on it.
fn guarded(mut cmd: Command, guard: Duration) -> Output {
    use std::os::unix::process::CommandExt;
    let mut process = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0).spawn().unwrap();
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            pipe.read_to_end(&mut bytes).unwrap();
            bytes
        })
    };
    let stdout = drain(Box::new(process.stdout.take().unwrap()));
    let stderr = drain(Box::new(process.stderr.take().unwrap()));
    let deadline = WallClock::now() + guard;
    let status = loop {
        if let Some(status) = process.try_wait().unwrap() {
            break status;
        }
        if WallClock::now() > deadline {
            let group = format!("-{}", process.id());
            let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
            let _ = process.wait();
            panic!("the child hung: the watchdog did not end it within {guard:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output { status, stdout: stdout.join().unwrap(), stderr: stderr.join().unwrap() }
}
