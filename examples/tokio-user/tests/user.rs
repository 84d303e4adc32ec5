//! A tokio user's processors under Lockstep: the races are found, reported, replayed by the
//! printed command, and the timestamp fixes pass every seed.

use std::process::Command;

use sim_core::check::{Check, Report, StopAt};
use sim_core::{Config, FailureKind, Sim};
use tokio_user::{debounce, throttle};

// ---- the fixed processors: `#[tokio::test]` over 1,000 seeds, as a user runs them ----

#[tokio::test(seeds = 1000)]
async fn the_timestamp_debounce_emits_an_item_followed_by_quiet_in_every_order() {
    assert_eq!(debounce::item_at_the_deadline(false).await, [1, 2]);
}

#[tokio::test(seeds = 1000)]
async fn the_timestamp_throttle_passes_six_after_the_cooldown_in_every_order() {
    assert!(throttle::six_after_the_cooldown(false).await);
}

// ---- failures per 1,000 seeds, pinned (a seed's run is a pure function of the seed) ----

/// Runs seeds 0..1000 of `world`, counting failures; returns (failures, lowest failing seed).
fn failures<F, Fut>(name: &str, world: F) -> (u64, Option<u64>)
where
    F: Fn() -> Fut + Sync + Send,
    Fut: std::future::Future<Output = ()> + 'static,
{
    let Report::Seeds(summary) = Check::random(1000).name(name).stop(StopAt::Never).run(world) else { unreachable!() };
    (summary.failure_count, summary.failures.first().and_then(|f| f.seed))
}

#[test]
fn lockstep_finds_the_debounce_losing_an_item_at_the_deadline() {
    let (count, first) = failures("debounce_buggy", || async {
        let out = debounce::item_at_the_deadline(true).await;
        if out != [1, 2] {
            sim_core::fail(format!("debounce emitted {out:?}, not [1, 2]"));
        }
    });
    assert_eq!((count, first), (PINNED_DEBOUNCE_FAILURES, Some(PINNED_DEBOUNCE_FIRST)));
}

#[test]
fn lockstep_finds_the_throttle_hang() {
    let (count, first) = failures("throttle_buggy", || async {
        assert!(throttle::six_after_the_cooldown(true).await);
    });
    assert_eq!((count, first), (PINNED_THROTTLE_FAILURES, Some(PINNED_THROTTLE_FIRST)));
}

#[test]
fn the_fixed_processors_fail_no_seed() {
    let (count, _) = failures("debounce_fixed", || async {
        assert_eq!(debounce::item_at_the_deadline(false).await, [1, 2]);
    });
    assert_eq!(count, 0);
    let (count, _) = failures("throttle_fixed", || async {
        assert!(throttle::six_after_the_cooldown(false).await);
    });
    assert_eq!(count, 0);
}

// Measured, and deterministic: each seed's run is a pure function of the seed. About one
// seed in eight loses the item or hangs; tokio with paused time never does
// (on-tokio/tests/on_tokio.rs, the tokio-user-on-tokio package).
const PINNED_DEBOUNCE_FAILURES: u64 = 122;
const PINNED_DEBOUNCE_FIRST: u64 = 2;
const PINNED_THROTTLE_FAILURES: u64 = 130;
const PINNED_THROTTLE_FIRST: u64 = 5;

// ---- the report: a deadlock naming the tasks; a seed replays to the same fingerprint ----

#[test]
fn the_throttle_hang_is_a_deadlock_naming_both_tasks_and_their_waits() {
    let mut sim = Sim::new(Config::random(PINNED_THROTTLE_FIRST).name("throttle_buggy"));
    let failure = sim.block_on(throttle::six_after_the_cooldown(true)).unwrap_err();
    let FailureKind::Deadlock { blocked } = &failure.kind else { panic!("{failure}") };
    let blocked: Vec<String> = blocked.iter().map(|b| b.to_string()).collect();
    assert_eq!(blocked.len(), 2, "{failure}");
    assert!(
        blocked.iter().any(|b| b.starts_with("throttle.rs:") && b.contains("(recv on `throttle.rs:")),
        "{blocked:?}"
    );
}

#[test]
fn a_seed_run_twice_gives_the_same_fingerprint() {
    for seed in [0, PINNED_DEBOUNCE_FIRST, PINNED_THROTTLE_FIRST, 7] {
        let run = |buggy: bool| {
            let mut sim = Sim::new(Config::random(seed));
            let _ = sim.block_on(async move {
                debounce::item_at_the_deadline(buggy).await;
                throttle::six_after_the_cooldown(buggy).await;
            });
            sim.fingerprint()
        };
        assert_eq!(run(true), run(true), "seed {seed}");
        assert_eq!(run(false), run(false), "seed {seed}");
    }
}

// ---- the failing #[tokio::test]s and their printed replay commands, run as printed ----

/// The value after `key` on the first line that has it.
fn field<'a>(text: &'a str, key: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.trim_start().strip_prefix(key))
        .unwrap_or_else(|| panic!("no `{key}` in:\n{text}"))
        .trim()
}

/// Runs `sh -c command` in this package's folder, with no LOCKSTEP_* variable inherited.
fn shell(command: &str) -> (bool, String) {
    let out = Command::new("sh")
        .args(["-c", command])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("LOCKSTEP_SEED")
        .env_remove("LOCKSTEP_TAPE")
        .env_remove("LOCKSTEP_SEEDS")
        .env_remove("LOCKSTEP_ARTEFACTS")
        .output()
        .unwrap();
    let text = format!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

fn failing_test_replays(test: &str, seed: u64, message: &str) {
    let (ok, report) = shell(&format!("cargo test -q -p tokio-user --test failing -- --exact {test}"));
    assert!(!ok, "{report}");
    assert!(report.contains(message), "{report}");
    let reported_seed: u64 = field(&report, "seed: ").split_whitespace().next().unwrap().parse().unwrap();
    assert_eq!(reported_seed, seed, "the lowest failing seed\n{report}");
    let fingerprint = field(&report, "fingerprint: ").to_string();
    let replay = field(&report, "replay: ").to_string();
    assert_eq!(replay, format!("LOCKSTEP_SEED={seed} cargo test -p tokio-user --test failing -- --exact {test}"));

    let (ok, replayed) = shell(&replay);
    assert!(!ok, "{replayed}");
    assert!(replayed.contains("running 1 test"), "the command selects exactly the test\n{replayed}");
    assert!(replayed.contains(message), "{replayed}");
    assert_eq!(field(&replayed, "fingerprint: "), fingerprint, "{replayed}");
}

#[test]
fn the_failing_debounce_test_prints_a_replay_that_reproduces_it() {
    failing_test_replays("the_debounce_emits_an_item_followed_by_quiet", PINNED_DEBOUNCE_FIRST, "[1, 2]");
}

#[test]
fn the_failing_throttle_test_prints_a_replay_that_reproduces_it() {
    failing_test_replays("the_throttle_passes_six_after_the_cooldown", PINNED_THROTTLE_FIRST, "deadlock");
}

/// A `#[tokio::main]` binary run under a failing seed prints the replay of the binary itself
/// (`cargo run -p tokio-user --bin throttle_main`), and that command, run as printed,
/// reproduces the failure with the same fingerprint.
#[test]
fn a_failing_tokio_main_binary_prints_a_replay_that_reproduces_it() {
    let seed = PINNED_THROTTLE_FIRST;
    let (ok, report) = shell(&format!("LOCKSTEP_SEED={seed} cargo run -q -p tokio-user --bin throttle_main"));
    assert!(!ok, "{report}");
    assert!(report.contains("deadlock"), "{report}");
    let fingerprint = field(&report, "fingerprint: ").to_string();
    let replay = field(&report, "replay: ").to_string();
    assert_eq!(replay, format!("LOCKSTEP_SEED={seed} cargo run -p tokio-user --bin throttle_main"));

    let (ok, replayed) = shell(&replay);
    assert!(!ok, "{replayed}");
    assert!(replayed.contains("deadlock"), "{replayed}");
    assert_eq!(field(&replayed, "fingerprint: "), fingerprint, "{replayed}");

    // Without a seed the binary runs the canonical order, in which the throttle works.
    let (ok, canonical) = shell("cargo run -q -p tokio-user --bin throttle_main");
    assert!(ok, "{canonical}");
    assert!(canonical.contains("passed the item after its cooldown"), "{canonical}");
}

// ---- the failing #[tokio::test]'s artefacts, and its timeline in a real browser ----

/// The directory and files of the report's `artefacts: <dir> (<files>)` line.
fn artefacts_of(report: &str) -> Option<(std::path::PathBuf, String)> {
    let line = report.lines().find_map(|l| l.trim_start().strip_prefix("artefacts: "))?;
    let (dir, files) = line.rsplit_once(" (")?;
    Some((dir.into(), files.trim_end_matches(')').to_string()))
}

/// Where artefacts go by default: `lockstep/` in the workspace's target directory.
fn default_root() -> std::path::PathBuf {
    let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap();
    match std::env::var_os("CARGO_TARGET_DIR").filter(|v| !v.is_empty()) {
        Some(dir) => workspace.join(dir).join("lockstep"),
        None => workspace.join("target").join("lockstep"),
    }
}

#[test]
fn the_failing_throttle_test_leaves_its_artefacts_and_its_timeline_marks_the_critical_pair_in_chromium() {
    let test = "the_throttle_passes_six_after_the_cooldown";
    let command = format!("cargo test -q -p tokio-user --test failing -- --exact {test}");
    let (ok, report) = shell(&command);
    assert!(!ok, "{report}");
    let (dir, files) = artefacts_of(&report).unwrap_or_else(|| panic!("no artefacts line:\n{report}"));
    assert_eq!(files, "report.txt, tape.txt, trace.jsonl, timeline.html", "{report}");
    let seed = PINNED_THROTTLE_FIRST;
    assert_eq!(dir.parent(), Some(default_root().as_path()), "{report}");
    let leaf = dir.file_name().unwrap().to_string_lossy().to_string();
    assert!(leaf.starts_with(&format!("{test}-seed-{seed}")), "{leaf}");
    let read = |file: &str| std::fs::read_to_string(dir.join(file)).unwrap();
    assert_eq!(read("tape.txt").trim(), field(&report, "tape: "));
    assert!(read("report.txt").contains(&format!("fingerprint: {}", field(&report, "fingerprint: "))));
    let trace = read("trace.jsonl");
    assert!(trace.lines().count() > 10 && trace.lines().all(|l| l.starts_with("{\"step\":")), "{trace}");
    let html = read("timeline.html");
    assert!(html.contains("data-critical-events=\"2\""), "the timeline knows the critical pair");

    // The same failure again (the same tape and fingerprint) writes into its own directory
    // again, never a copy beside it (docs/artefacts.md); what it holds is that failure's.
    let (_, again) = shell(&command);
    let (dir2, _) = artefacts_of(&again).unwrap();
    assert_eq!(dir2, dir, "{again}");
    assert_eq!(field(&again, "fingerprint: "), field(&report, "fingerprint: "));
    assert_eq!(read("tape.txt").trim(), field(&again, "tape: "));
    assert!(dir.join("timeline.html").is_file());
    // Turned off, no artefacts and no line; pointed at a file, the reason, and the same failure.
    let (_, off) = shell(&format!("LOCKSTEP_ARTEFACTS=off {command}"));
    assert!(artefacts_of(&off).is_none(), "{off}");
    assert_eq!(field(&off, "fingerprint: "), field(&report, "fingerprint: "));
    let blocker = dir.join("tape.txt");
    let (_, unwritable) = shell(&format!("LOCKSTEP_ARTEFACTS='{}' {command}", blocker.display()));
    assert!(field(&unwritable, "artefacts: ").starts_with("not written; cannot make a directory"), "{unwritable}");
    assert_eq!(field(&unwritable, "fingerprint: "), field(&report, "fingerprint: "));

    // The timeline as Chromium builds it: exactly the two events of the critical pair marked.
    let Some(chromium) = browser::chromium_or_skip() else { return };
    let dom = browser::dump_dom(&chromium, &dir.join("timeline.html"));
    assert_eq!(dom.matches("data-critical=\"").count(), 2, "two marked events in the DOM");
    assert_eq!(dom.matches("data-critical=\"failing\"").count(), 1);
    assert_eq!(dom.matches("data-critical=\"overtaken\"").count(), 1);
    assert!(dom.contains("class=\"critical-note\""), "the pair is explained in words");
}

#[test]
fn a_failing_tests_timeline_shows_the_values_its_channel_shows_in_chromium() {
    let test = "the_throttle_passes_six_after_the_cooldown_with_its_values_shown";
    let (ok, report) = shell(&format!("cargo test -q -p tokio-user --test failing -- --exact {test}"));
    assert!(!ok, "{report}");
    let (dir, _) = artefacts_of(&report).unwrap_or_else(|| panic!("no artefacts line:\n{report}"));
    let read = |file: &str| std::fs::read_to_string(dir.join(file)).unwrap();
    // The input channel carries 1 and then 6, each sent by the test and received by the
    // throttle (which drops 6 while cooling: the hang): four records with a value text.
    let trace = read("trace.jsonl");
    let texts = |kind: &str| -> Vec<String> {
        let kind = format!("\"kind\":\"{kind}\"");
        let text = |l: &str| Some(l.split("\"value_text\":\"").nth(1)?.split('"').next()?.to_string());
        trace.lines().filter(|l| l.contains(&kind)).filter_map(text).collect()
    };
    assert_eq!((texts("send"), texts("recv")), (vec!["1".into(), "6".into()], vec!["1".into(), "6".into()]), "{trace}");
    let html = read("timeline.html");
    assert!(html.contains("data-values=\"4\""), "the root counts the shown values");

    // Chromium builds the chart with each value written under its marker, in the SVG (not
    // only in the collapsed listing or a hover title).
    let Some(chromium) = browser::chromium_or_skip() else { return };
    let dom = browser::dump_dom(&chromium, &dir.join("timeline.html"));
    let labels: Vec<&str> = dom
        .split("<text class=\"value-text\"")
        .skip(1)
        .map(|rest| rest.split_once('>').unwrap().1.split("</text>").next().unwrap())
        .collect();
    // One label per shown value, in trace order (the records' order, which the columns keep).
    let in_order: Vec<String> = trace
        .lines()
        .filter_map(|l| Some(l.split("\"value_text\":\"").nth(1)?.split('"').next()?.to_string()))
        .collect();
    assert_eq!(labels, in_order, "{dom}");
    assert_eq!(labels.iter().filter(|l| **l == "6").count(), 2, "the dropped 6, sent and received");
}

/// Headless Chromium, with the rules of scenarios' `timeline_browser` test: a missing
/// browser fails the test, in CI always, elsewhere unless `LOCKSTEP_SKIP_BROWSER_TESTS=1`.
mod browser {
    use std::fs::{self, File};
    use std::path::{Path, PathBuf};
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant as WallClock};

    const SKIP_VAR: &str = "LOCKSTEP_SKIP_BROWSER_TESTS";

    /// Chromium's path (`LOCKSTEP_CHROMIUM`, `/usr/bin/chromium`, `chromium` or
    /// `chromium-browser` on PATH); `None` only when opted out outside CI.
    pub fn chromium_or_skip() -> Option<PathBuf> {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        if let Some(path) = env("LOCKSTEP_CHROMIUM") {
            let path = PathBuf::from(path);
            assert!(path.is_file(), "LOCKSTEP_CHROMIUM={} is not a file", path.display());
            return Some(path);
        }
        let on_path = env("PATH").unwrap_or_default();
        let found = std::iter::once(PathBuf::from("/usr/bin/chromium")).chain(
            ["chromium", "chromium-browser"]
                .iter()
                .flat_map(|name| std::env::split_paths(&on_path).map(move |dir| dir.join(name))),
        );
        if let Some(path) = found.into_iter().find(|p| p.is_file()) {
            return Some(path);
        }
        let set = |name: &str| env(name).is_some_and(|v| v != "0" && v != "false");
        if set("CI") {
            panic!("no Chromium, and CI is set: a browser test must run in CI (.ci/run installs Debian's chromium)");
        } else if set(SKIP_VAR) {
            eprintln!("note: NOT RUN: no Chromium; {SKIP_VAR} is set, so the timeline is not opened");
            None
        } else {
            panic!("no Chromium: install it (apt-get install chromium) or set LOCKSTEP_CHROMIUM; {SKIP_VAR}=1 skips");
        }
    }

    /// The DOM Chromium builds from `html`.
    pub fn dump_dom(chromium: &Path, html: &Path) -> String {
        // A profile per timeline directory: tests opening different timelines run at once.
        let leaf = html.parent().and_then(Path::file_name).map(|n| n.to_string_lossy().into_owned());
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("chromium").join(leaf.unwrap_or_default());
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let stdout_path = dir.join("dom.html");
        let mut child = Command::new(chromium)
            .args(["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"])
            .args(["--disable-component-update", "--disable-sync", "--dump-dom"])
            .arg(format!("--user-data-dir={}", dir.join("profile").display()))
            .arg(format!("file://{}", html.display()))
            .stdin(Stdio::null())
            .stdout(File::create(&stdout_path).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromium starts");
        let started = WallClock::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if started.elapsed() > Duration::from_secs(60) {
                let _ = child.kill();
                let _ = child.wait();
                panic!("chromium --dump-dom did not finish within 60s");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        assert!(status.success(), "chromium --dump-dom failed: {status}");
        fs::read_to_string(&stdout_path).unwrap()
    }
}
