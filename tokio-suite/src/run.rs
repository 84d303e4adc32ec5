//! Running one test binary under wall-clock limits: a test that makes no progress for the
//! per-test limit is killed and reported as hung, and the binary is started again on the
//! tests that did not run yet; the whole file has its own limit. Nothing is waited on
//! forever.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::parse::{parse_libtest, parse_list, Reported};

/// The outcome of one test of one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It passed.
    Passed,
    /// It failed; the first line of the reason when libtest printed one.
    Failed(String),
    /// libtest ignored it (`#[ignore]`).
    Ignored,
    /// It was running when a time limit ran out, and was killed.
    Hung,
    /// The process died while it was running (an abort, a signal): the exit status.
    Crashed(String),
    /// It never ran: why.
    NotRun(String),
}

/// Wall-clock limits for one file.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// A test with no result after this long is hung.
    pub per_test: Duration,
    /// The whole file (all restarts) gets this long; tests not run by then are not run.
    pub per_file: Duration,
}

/// Lists and runs every test of `exe`, with `envs` set, under `limits`. Returns every
/// listed test's outcome, by name. `Err` when the binary cannot be started or listed.
pub fn run_file(exe: &Path, envs: &[(String, String)], limits: Limits) -> Result<BTreeMap<String, Outcome>, String> {
    let deadline = Instant::now() + limits.per_file;
    let listed = run_once(exe, &["--list".to_string()], envs, limits.per_test, deadline)?;
    if !matches!(listed.end, End::Exited(s) if s.success()) {
        return Err(format!("`{} --list` did not finish cleanly", exe.display()));
    }
    let all = parse_list(&listed.stdout);
    let mut outcomes = BTreeMap::new();
    loop {
        let remaining: Vec<String> = all.iter().filter(|t| !outcomes.contains_key(*t)).cloned().collect();
        if remaining.is_empty() {
            break;
        }
        if Instant::now() >= deadline {
            let why = format!("the file's {} s limit ran out", limits.per_file.as_secs());
            for t in remaining {
                outcomes.insert(t, Outcome::NotRun(why.clone()));
            }
            break;
        }
        let mut args = vec!["--exact".to_string(), "--test-threads=1".to_string()];
        args.extend(remaining.iter().cloned());
        let run = run_once(exe, &args, envs, limits.per_test, deadline)?;
        let log = parse_libtest(&run.stdout);
        let wanted: BTreeSet<&String> = remaining.iter().collect();
        let before = outcomes.len();
        for (name, reported) in log.results {
            if wanted.contains(&name) {
                outcomes.insert(name, from_reported(reported));
            }
        }
        let running = log.running.filter(|t| wanted.contains(t) && !outcomes.contains_key(t));
        match (run.end, running) {
            (End::Exited(_), None) if outcomes.len() == before => {
                // No progress and nothing running: do not loop.
                for t in remaining {
                    outcomes.entry(t).or_insert_with(|| Outcome::NotRun("the binary exited before running it".into()));
                }
            }
            (End::Exited(_), None) => {}
            (End::Exited(status), Some(t)) => {
                outcomes.insert(t, Outcome::Crashed(describe(status)));
            }
            (End::TestLimit | End::FileLimit, Some(t)) => {
                outcomes.insert(t, Outcome::Hung);
            }
            (End::TestLimit | End::FileLimit, None) => {
                // Stuck between tests (or before the first one started): blame the next.
                let next = remaining.into_iter().find(|t| !outcomes.contains_key(t));
                outcomes.extend(next.map(|t| (t, Outcome::Hung)));
            }
        }
    }
    // A run cut short by a limit never printed its failures section: the tests that
    // failed in it have no reason yet. Run them once more, alone, for their messages.
    let silent: Vec<String> = outcomes
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::Failed(why) if why.is_empty()))
        .map(|(t, _)| t.clone())
        .collect();
    if !silent.is_empty() && Instant::now() < deadline {
        let mut args = vec!["--exact".to_string(), "--test-threads=1".to_string()];
        args.extend(silent);
        let log = parse_libtest(&run_once(exe, &args, envs, limits.per_test, deadline)?.stdout);
        for (name, reported) in log.results {
            if let (Reported::Failed(why), Some(Outcome::Failed(old))) = (reported, outcomes.get_mut(&name)) {
                *old = why;
            }
        }
    }
    Ok(outcomes)
}

fn from_reported(r: Reported) -> Outcome {
    match r {
        Reported::Passed => Outcome::Passed,
        Reported::Failed(why) => Outcome::Failed(why),
        Reported::Ignored => Outcome::Ignored,
    }
}

fn describe(status: ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            return format!("killed by signal {sig}");
        }
    }
    format!("the process exited ({status})")
}

enum End {
    Exited(ExitStatus),
    TestLimit,
    FileLimit,
}

struct Run {
    stdout: String,
    end: End,
}

/// Runs `exe args` once. Kills it when no test result has come for `per_test`, or at
/// `deadline`.
fn run_once(
    exe: &Path,
    args: &[String],
    envs: &[(String, String)],
    per_test: Duration,
    deadline: Instant,
) -> Result<Run, String> {
    let mut cmd = Command::new(exe);
    cmd.args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::null());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().map_err(|e| format!("cannot start {}: {e}", exe.display()))?;
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    let mut out = child.stdout.take().expect("stdout is piped");
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n) = out.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut bytes = Vec::new();
    let mut results_seen = 0;
    let mut last_progress = Instant::now();
    let end = loop {
        loop {
            match rx.recv_timeout(Duration::from_millis(50)) {
                Ok(chunk) => bytes.extend(chunk),
                Err(mpsc::RecvTimeoutError::Timeout) => break,
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    std::thread::sleep(Duration::from_millis(50));
                    break;
                }
            }
        }
        let seen = parse_libtest(&String::from_utf8_lossy(&bytes)).results.len();
        if seen != results_seen {
            results_seen = seen;
            last_progress = Instant::now();
        }
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break End::Exited(status);
        }
        let now = Instant::now();
        if now >= deadline {
            kill(&mut child);
            break End::FileLimit;
        }
        if now.duration_since(last_progress) >= per_test {
            kill(&mut child);
            break End::TestLimit;
        }
    };
    // Drain what is left; a grandchild holding the pipe open must not keep us here.
    let drain_until = Instant::now() + Duration::from_secs(2);
    while let Some(left) = drain_until.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(chunk) => bytes.extend(chunk),
            Err(_) => break,
        }
    }
    if reader.is_finished() {
        let _ = reader.join();
    }
    Ok(Run { stdout: String::from_utf8_lossy(&bytes).into_owned(), end })
}

fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}
