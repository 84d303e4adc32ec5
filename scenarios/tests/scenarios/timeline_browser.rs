//! The timeline opens and renders in a real headless browser.
//!
//! Needs Chromium: the path in `LOCKSTEP_CHROMIUM`, else `/usr/bin/chromium` (Debian's
//! package, which `.ci/run` installs), else `chromium` or `chromium-browser` on `PATH`.
//! Without one the test fails, saying why: in CI (`CI` set) always, since a browser
//! test that does not run is not a pass; elsewhere unless `LOCKSTEP_SKIP_BROWSER_TESTS=1`
//! opts out, in which case it prints that it did not run.
//!
//! It renders the timeline of a deadlocking throttle, takes a screenshot and checks that
//! it is a real picture, then dumps the DOM the browser built and counts its lanes and
//! events. The files stay in `target/tmp/timeline_browser/` for a look.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant as WallClock};

use scenarios::sim_core::timeline::render_timeline;
use sim_core::select::{select, Either};
use sim_core::sync::mpsc::{self, Receiver, Sender};
use sim_core::time::{sleep, Sleep};
use sim_core::{Config, Failure, FailureKind, Sim, Trace, TraceMode};

/// How long one Chromium run may take before it is killed.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(60);
const PERIOD: Duration = Duration::from_millis(50);

/// The catalogue's throttle hang: the cooldown is armed after the hand-off.
async fn buggy_throttle(mut input: Receiver<u32>, output: Sender<u32>) {
    let mut cooling: Option<Sleep> = None;
    loop {
        let item = match cooling.as_mut() {
            None => input.recv().await,
            Some(timer) => match select(input.recv(), timer).await {
                Either::Left(item) => item,
                Either::Right(()) => {
                    cooling = None;
                    continue;
                }
            },
        };
        let Some(item) = item else { return };
        if cooling.is_some() {
            continue;
        }
        if output.send(item).await.is_err() {
            return;
        }
        cooling = Some(sleep(PERIOD));
    }
}

/// Runs one seed: its full trace, and its failure if it failed.
fn throttle_run(seed: u64) -> (Trace, Option<Box<Failure>>) {
    let mut sim = Sim::new(Config::random(seed).trace(TraceMode::Full).name("timeline::throttle_hang"));
    let (to_throttle, from_driver) = sim_core::named("in", || mpsc::channel(1));
    let (to_driver, mut from_throttle) = sim_core::named("out", || mpsc::channel(1));
    sim.spawn_named("throttle", buggy_throttle(from_driver, to_driver));
    sim.spawn_named("driver <main>", async move {
        to_throttle.send(1).await.unwrap();
        from_throttle.recv().await;
        sleep(PERIOD).await;
        to_throttle.send(6).await.unwrap();
        from_throttle.recv().await;
    });
    let failure = sim.run().err();
    (sim.trace(), failure)
}

/// The variable that lets a run without a browser pass (never in CI).
const SKIP_VAR: &str = "LOCKSTEP_SKIP_BROWSER_TESTS";

/// Chromium's path, or where it was looked for.
fn chromium(env: &dyn Fn(&str) -> Option<String>) -> Result<PathBuf, String> {
    if let Some(path) = env("LOCKSTEP_CHROMIUM").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        return if path.is_file() { Ok(path) } else { Err(format!("LOCKSTEP_CHROMIUM={}", path.display())) };
    }
    let debian = PathBuf::from("/usr/bin/chromium");
    if debian.is_file() {
        return Ok(debian);
    }
    let on_path = env("PATH").unwrap_or_default();
    let found = ["chromium", "chromium-browser"]
        .iter()
        .flat_map(|name| std::env::split_paths(&on_path).map(move |dir| dir.join(name)))
        .find(|candidate| candidate.is_file());
    found.ok_or_else(|| "/usr/bin/chromium and `chromium`, `chromium-browser` on PATH".to_string())
}

/// What to do without a browser: `Ok(note)` to pass saying it did not run (only when
/// opted out, never in CI), `Err(reason)` to fail.
fn without_browser(looked_at: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let set = |name: &str| env(name).is_some_and(|v| !v.is_empty() && v != "0" && v != "false");
    let missing = format!("no Chromium ({looked_at})");
    if set("CI") {
        Err(format!("{missing}, and CI is set: a browser test must run in CI (.ci/run installs Debian's chromium)"))
    } else if set(SKIP_VAR) {
        Ok(format!("note: NOT RUN: {missing}; {SKIP_VAR} is set, so this test passes without checking the timeline"))
    } else {
        Err(format!(
            "{missing}: install it (apt-get install chromium) or set LOCKSTEP_CHROMIUM; \
             {SKIP_VAR}=1 lets the test pass without running, outside CI"
        ))
    }
}

#[test]
fn a_missing_browser_fails_in_ci_and_elsewhere_unless_opted_out() {
    let env = |vars: &'static [(&'static str, &'static str)]| {
        move |name: &str| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| v.to_string())
    };
    assert!(without_browser("x", &env(&[("CI", "true")])).unwrap_err().contains("must run in CI"));
    assert!(without_browser("x", &env(&[("CI", "true"), (SKIP_VAR, "1")])).is_err(), "CI ignores the opt-out");
    assert!(without_browser("x", &env(&[])).unwrap_err().contains(SKIP_VAR), "the reason says how to opt out");
    assert!(without_browser("x", &env(&[(SKIP_VAR, "0")])).is_err(), "0 does not opt out");
    assert!(without_browser("x", &env(&[(SKIP_VAR, "1")])).unwrap().contains("NOT RUN"));
    assert!(without_browser("x", &env(&[("CI", "false"), (SKIP_VAR, "1")])).is_ok());
    let missing = chromium(&env(&[("LOCKSTEP_CHROMIUM", "/nonexistent/chromium")])).unwrap_err();
    assert_eq!(missing, "LOCKSTEP_CHROMIUM=/nonexistent/chromium", "an explicit path is not second-guessed");
}

/// Runs Chromium on `html` with `mode` (`--screenshot=…` or `--dump-dom`); its stdout.
fn run_chromium(chromium: &Path, dir: &Path, mode: &str, html: &Path) -> String {
    let profile = dir.join(format!("profile-{}", mode.trim_start_matches('-').split('=').next().unwrap_or("run")));
    let _ = fs::remove_dir_all(&profile);
    fs::create_dir_all(&profile).unwrap();
    let stdout_path = dir.join("stdout.txt");
    let mut child = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--window-size=1400,900",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(mode)
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
        if started.elapsed() > BROWSER_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium {mode} did not finish within {BROWSER_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "chromium {mode} failed: {status}");
    fs::read_to_string(&stdout_path).unwrap()
}

/// Decodes the PNG: its size, and how many distinct colours it holds.
fn png_summary(path: &Path) -> (u32, u32, usize) {
    let decoder = png::Decoder::new(File::open(path).unwrap());
    let mut reader = decoder.read_info().expect("a PNG header");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("a PNG frame");
    let bytes = &buf[..info.buffer_size()];
    let pixel = info.color_type.samples() * usize::from(info.bit_depth as u8).div_ceil(8);
    let colours: std::collections::BTreeSet<&[u8]> = bytes.chunks(pixel).collect();
    (info.width, info.height, colours.len())
}

#[test]
fn the_timeline_renders_in_headless_chromium_with_every_lane_and_event() {
    let env = |name: &str| std::env::var(name).ok();
    let chromium = match chromium(&env) {
        Ok(path) => path,
        Err(looked_at) => match without_browser(&looked_at, &env) {
            Ok(note) => {
                eprintln!("{note}");
                return;
            }
            Err(reason) => panic!("{reason}"),
        },
    };
    let (trace, failure) = (0..200)
        .map(throttle_run)
        .find_map(|(trace, failure)| failure.map(|f| (trace, f)))
        .expect("some seed below 200 hangs the throttle");
    assert!(matches!(failure.kind, FailureKind::Deadlock { .. }), "{failure}");

    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("timeline_browser");
    fs::create_dir_all(&dir).unwrap();
    let html_path = dir.join("throttle_hang.html");
    let png_path = dir.join("throttle_hang.png");
    fs::write(&html_path, render_timeline(&trace, Some(&failure), "throttle hang")).unwrap();
    let _ = fs::remove_file(&png_path);

    run_chromium(&chromium, &dir, &format!("--screenshot={}", png_path.display()), &html_path);
    let (width, height, colours) = png_summary(&png_path);
    assert_eq!((width, height), (1400, 900), "the screenshot has the window's size");
    assert!(colours > 8, "the screenshot is nearly uniform: {colours} colours");

    let dom = run_chromium(&chromium, &dir, "--dump-dom", &html_path);
    fs::write(dir.join("throttle_hang.dom.html"), &dom).unwrap();
    let lanes = 2 + 2; // tasks `throttle` and `driver <main>`, channels `in` and `out`
    assert!(dom.contains(&format!("data-lanes=\"{lanes}\"")), "the root states the lanes");
    assert_eq!(dom.matches("class=\"lane\"").count(), lanes, "the browser drew every lane");
    assert_eq!(dom.matches("<g class=\"event ").count(), trace.lines.len(), "one event per trace line");
    assert_eq!(dom.matches("<g class=\"blocked\"").count(), 2, "both blocked tasks are marked");
    assert!(dom.contains("driver &lt;main&gt;"), "names stay escaped in the DOM");
}

/// `lockstep replay --timeline` marks the critical pair, and Chromium shows it: the
/// timeline of a failing replay, opened headless, has exactly the two marked events (the
/// counts are read from the DOM the browser built, not from the file).
#[test]
fn the_tools_replay_timeline_marks_the_critical_pair_in_headless_chromium() {
    let env = |name: &str| std::env::var(name).ok();
    let chromium = match chromium(&env) {
        Ok(path) => path,
        Err(looked_at) => match without_browser(&looked_at, &env) {
            Ok(note) => {
                eprintln!("{note}");
                return;
            }
            Err(reason) => panic!("{reason}"),
        },
    };
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("timeline_browser").join("replay");
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    let (html_path, trace_path) = (dir.join("throttle_hang.html"), dir.join("throttle_hang.jsonl"));
    let out = Command::new(env!("CARGO_BIN_EXE_lockstep"))
        .args(["replay", "throttle-hang/buggy", "--seed", "2", "--timeline"])
        .arg(&html_path)
        .arg("--trace")
        .arg(&trace_path)
        .output()
        .expect("the lockstep binary runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "a failing run:\n{text}");
    let html = fs::read_to_string(&html_path).unwrap();
    let records = fs::read_to_string(&trace_path).unwrap();
    crate::cli::assert_critical_pair_marked(&html, &text, &records);

    let dom = run_chromium(&chromium, &dir, "--dump-dom", &html_path);
    fs::write(dir.join("throttle_hang.dom.html"), &dom).unwrap();
    assert_eq!(dom.matches("<g class=\"event ").count(), records.lines().count(), "one event per trace record");
    assert_eq!(dom.matches(" critical\" data-step=").count(), 2, "the browser drew two marked events");
    assert_eq!(dom.matches("data-critical=\"failing\"").count(), 1);
    assert_eq!(dom.matches("data-critical=\"overtaken\"").count(), 1);
    assert_eq!(dom.matches("<rect class=\"critical-col\"").count(), 2, "each outlined");
    assert_eq!(dom.matches("class=\"critical-note\"").count(), 1, "the note says which overtook which");
}
