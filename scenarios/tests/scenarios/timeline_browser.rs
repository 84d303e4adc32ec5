//! The timeline opens and renders in a real headless browser.
//!
//! Runs only where Debian's Chromium is installed (`/usr/bin/chromium`, or the path in
//! `LOCKSTEP_CHROMIUM`); elsewhere it prints a note and passes. It renders the timeline
//! of a deadlocking throttle, takes a screenshot and checks that it is a real picture,
//! then dumps the DOM the browser built and counts its lanes and events. The files stay
//! in `target/tmp/timeline_browser/` for a look.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant as WallClock};

use scenarios::timeline::render_timeline;
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
    let (to_throttle, from_driver) = mpsc::channel_named("in", 1);
    let (to_driver, mut from_throttle) = mpsc::channel_named("out", 1);
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

/// Chromium's path, or the path where it was looked for.
fn chromium() -> Result<PathBuf, PathBuf> {
    let path = std::env::var_os("LOCKSTEP_CHROMIUM").map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    if path.is_file() {
        Ok(path)
    } else {
        Err(path)
    }
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
    let chromium = match chromium() {
        Ok(path) => path,
        Err(path) => {
            println!(
                "note: skipped: no Chromium at {} (apt-get install chromium, or set LOCKSTEP_CHROMIUM)",
                path.display()
            );
            return;
        }
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
