//! Failure artefacts: what a failing check leaves on disk.
//!
//! When a check fails (any search of the check runner: `check_random`, `check_pct`,
//! `check_exhaustive`, `check_proptest`, `Check::run`, and
//! sim-tokio's `#[tokio::test]`, `#[tokio::main]` and `Runtime::block_on`), it writes
//! the failing run to a fresh directory and names it in the report:
//!
//! ```text
//! target/lockstep/<test name>-seed-<seed>/     (or -tape-<fingerprint>; then -2, -3, … when taken by another failure)
//!   report.txt      the failure report
//!   tape.txt        the tape (LOCKSTEP_TAPE='<tape>' replays it)
//!   trace.jsonl     the whole trace as JSON Lines (feature `json`)
//!   timeline.html   the trace as one self-contained HTML page (feature `timeline`),
//!                   the critical pair marked when it is known
//! ```
//!
//! A check replays the failing tape with its whole trace kept ([`TraceMode::Full`]) to
//! write them; a `Runtime::block_on` failure cannot be re-run (its future is gone), so it
//! writes the trace it kept (the last records, unless the configuration kept all).
//!
//! **Where.** [`Artefacts::Target`] (the default) is `lockstep/` under the workspace's
//! target directory: `CARGO_TARGET_DIR` when set (a relative one is taken from the
//! workspace root), else `target/` in the workspace root, found by walking up from
//! `CARGO_MANIFEST_DIR` (or the current directory) to the outermost `Cargo.toml` with a
//! `[workspace]` table (or the nearest `Cargo.toml` when none has one).
//! [`Artefacts::Dir`] puts them under a directory of your choice; [`Artefacts::Off`]
//! writes nothing. The environment variable `LOCKSTEP_ARTEFACTS` overrides the
//! configuration: `off` (or `0`, `false`, `none`) turns them off, any other value is the
//! directory to write under.
//!
//! **Never a panic, never a changed run.** A directory or file that cannot be written is
//! named in the report's `artefacts:` line with the reason; the check fails (or passes)
//! exactly as it would without artefacts. Artefacts are written after the run, from its
//! trace: nothing of them reaches a trace, a tape or a fingerprint.
//!
//! **The critical pair**: the failing tape's departures from the canonical order are
//! flipped back one at a time, *latest first*; the first flip that makes the run pass is
//! the last choice that decides the outcome (departures after it do not matter: flipping
//! them still fails). On a shrunk tape (the exhaustive and proptest checks report one),
//! every departure is needed and this is its last departure;
//! [`explore::critical_pair`](crate::explore::critical_pair) flips earliest first and names
//! the first. The two runs agree up to that choice point; the *failing*
//! event is the record the failing run took there, the *overtaken* event is the record
//! the passing run took there instead, found in the failing trace as the first later
//! record with the same kind, task, channel and timer. The timeline marks both
//! (`class="critical"`, `data-critical="failing"` / `"overtaken"`). When no single flip
//! passes (or the run cannot be re-run), nothing is marked.

use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::trace::{Trace, TraceLine, TraceMode};
use crate::{Config, Failure, Sim, StrategyKind, Tape};

/// The environment variable that overrides [`Config::artefacts`]: `off` or a directory.
pub(crate) const ENV: &str = "LOCKSTEP_ARTEFACTS";

pub use crate::sim::Artefacts;

impl Artefacts {
    /// This setting with `LOCKSTEP_ARTEFACTS` applied.
    pub(crate) fn with_env(self) -> Artefacts {
        match std::env::var(ENV) {
            Ok(v) if v.trim().is_empty() => self,
            Ok(v) if matches!(v.trim().to_ascii_lowercase().as_str(), "off" | "0" | "false" | "none") => Artefacts::Off,
            Ok(v) => Artefacts::Dir(PathBuf::from(v.trim())),
            Err(_) => self,
        }
    }

    /// The directory the artefact directories go in, or `None` when off.
    pub fn root(&self) -> Option<PathBuf> {
        match self {
            Artefacts::Off => None,
            Artefacts::Target => Some(target_dir().join("lockstep")),
            Artefacts::Dir(dir) => Some(dir.clone()),
        }
    }
}

/// The workspace's target directory, as cargo would choose it (see the [module docs](self)).
pub(crate) fn target_dir() -> PathBuf {
    let start = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_else(|| PathBuf::from("."));
    let root = workspace_root(&start).unwrap_or(start);
    match std::env::var_os("CARGO_TARGET_DIR").filter(|v| !v.is_empty()) {
        Some(dir) => root.join(dir),
        None => root.join("target"),
    }
}

/// The outermost ancestor of `start` whose `Cargo.toml` has a `[workspace]` table, else
/// the nearest with a `Cargo.toml`.
fn workspace_root(start: &Path) -> Option<PathBuf> {
    let mut nearest = None;
    let mut workspace = None;
    for dir in start.ancestors() {
        let Ok(text) = std::fs::read_to_string(dir.join("Cargo.toml")) else { continue };
        nearest.get_or_insert_with(|| dir.to_path_buf());
        if text.lines().any(|l| l.trim() == "[workspace]") {
            workspace = Some(dir.to_path_buf());
        }
    }
    workspace.or(nearest)
}

/// What writing the artefacts of one failure did: the directory, the files written,
/// and what could not be written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written {
    /// The directory (`None` when it could not be made).
    pub dir: Option<PathBuf>,
    /// The files written in it, by name.
    pub files: Vec<&'static str>,
    /// What could not be written, and why.
    pub errors: Vec<String>,
    /// How many events the timeline marks as the critical pair (0 or 2).
    pub critical: usize,
}

impl fmt::Display for Written {
    /// The report's line after `artefacts: `: the directory and its files, then any error.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.dir {
            Some(dir) => write!(f, "{} ({})", dir.display(), self.files.join(", "))?,
            None => f.write_str("not written")?,
        }
        for e in &self.errors {
            write!(f, "; {e}")?;
        }
        Ok(())
    }
}

/// Where a failing and a passing trace part: the failing run's record there, and the
/// first later record of the failing run that is the event the passing run took there.
fn critical_indices(failing: &[TraceLine], passing: &[TraceLine]) -> Option<[usize; 2]> {
    let at = failing.iter().zip(passing).position(|(a, b)| a != b)?;
    let other = &passing[at];
    let same = |l: &TraceLine| {
        l.kind == other.kind
            && l.task_id == other.task_id
            && l.channel_id == other.channel_id
            && l.timer_id == other.timer_id
    };
    let later = failing[at + 1..].iter().position(same)?;
    Some([at, at + 1 + later])
}

/// Writes the artefacts of `failure` under `root`: its report, tape, trace and timeline
/// (with the critical pair marked when given). Errors are collected, never raised.
pub(crate) fn write(root: &Path, failure: &Failure, trace: &Trace, critical: Option<[usize; 2]>) -> Written {
    let mut written = Written { dir: None, files: Vec::new(), errors: Vec::new(), critical: 0 };
    let dir = match make_dir(root, &dir_name(failure), failure) {
        Ok(dir) => dir,
        Err(e) => {
            written.errors.push(format!("cannot make a directory under {}: {e}", root.display()));
            return written;
        }
    };
    let mut file = |name: &'static str, body: &dyn Fn(&mut std::fs::File) -> std::io::Result<()>| {
        let path = dir.join(name);
        match std::fs::File::create(&path).and_then(|mut f| body(&mut f).and_then(|()| f.flush())) {
            Ok(()) => written.files.push(name),
            Err(e) => written.errors.push(format!("cannot write {}: {e}", path.display())),
        }
    };
    file("report.txt", &|f| writeln!(f, "{failure}"));
    file("tape.txt", &|f| writeln!(f, "{}", failure.tape));
    #[cfg(feature = "json")]
    file("trace.jsonl", &|f| trace.write_jsonl(std::io::BufWriter::new(f)));
    #[cfg(feature = "timeline")]
    {
        let title = failure.name.clone().unwrap_or_else(|| "simulation".to_string());
        let marks = crate::timeline::Marks { critical };
        file("timeline.html", &|f| {
            f.write_all(crate::timeline::render_marked(trace, Some(failure), &title, &marks).as_bytes())
        });
        if written.files.contains(&"timeline.html") {
            written.critical = critical.map_or(0, |_| 2);
        }
    }
    #[cfg(not(feature = "timeline"))]
    let _ = critical;
    #[cfg(not(feature = "json"))]
    let _ = trace;
    written.dir = Some(dir);
    written
}

/// `<name>-seed-<seed>`, or `<name>-tape-<fingerprint>`, with characters outside
/// `[A-Za-z0-9_.-]` as `_` (`::` as `.`), at most 100 characters.
fn dir_name(failure: &Failure) -> String {
    let name = failure.name.as_deref().unwrap_or("simulation").replace("::", ".");
    let mut name: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || "_.-".contains(c) { c } else { '_' }).take(100).collect();
    match failure.seed {
        Some(seed) => name.push_str(&format!("-seed-{seed}")),
        None => name.push_str(&format!("-tape-{}", failure.fingerprint)),
    }
    name
}

/// Makes a new directory `root/name`, or `root/name-2`, `-3`, … when taken by another
/// failure; a directory that holds this very run (the same tape and fingerprint: a
/// check run again, a printed replay) is written again rather than piled up beside.
fn make_dir(root: &Path, name: &str, failure: &Failure) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(root)?;
    let tape = format!("{}\n", failure.tape);
    let fingerprint = format!("fingerprint: {}\n", failure.fingerprint);
    let same_run = |dir: &Path| {
        std::fs::read_to_string(dir.join("tape.txt")).is_ok_and(|t| t == tape)
            && std::fs::read_to_string(dir.join("report.txt")).is_ok_and(|r| r.contains(&fingerprint))
    };
    for n in 1..=100_000u32 {
        let dir = if n == 1 { root.join(name) } else { root.join(format!("{name}-{n}")) };
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && same_run(&dir) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other("100000 directories of that name already exist"))
}

/// Writes the artefacts of a failing check: re-runs `failure`'s tape under `template`
/// (see [`replay_marked`](tool::replay_marked)) for the whole trace and the critical pair, and writes them where
/// `template.artefacts` (or `LOCKSTEP_ARTEFACTS`) says. `None` when turned off.
pub(crate) fn for_check(
    template: &Config,
    failure: &Failure,
    property: &dyn Fn(&mut Sim) -> Result<(), Box<Failure>>,
) -> Option<Written> {
    let root = template.artefacts.clone().with_env().root()?;
    let mut template = template.clone();
    template.model = failure.model;
    if let Some(name) = &failure.name {
        template.name = Some(name.clone());
    }
    // A panic that escapes the re-run (it did not escape the first run) leaves the tail.
    let rerun = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        tool::replay_marked(&template, &failure.tape, property)
    }));
    let (trace, critical) = rerun.ok().flatten().unwrap_or_else(|| (tail(failure), None));
    Some(write(&root, failure, &trace, critical))
}

/// The failure's own trace tail, as a trace.
fn tail(failure: &Failure) -> Trace {
    Trace { lines: failure.trace_tail.clone(), fingerprint: Some(failure.fingerprint), complete: false }
}

/// What tools call ([`crate::tooling::artefacts`]).
pub(crate) mod tool {
    use super::*;

    /// The whole trace of a failing run, replayed from its tape under `template`, and the
    /// trace indices of its critical pair when a single flip of a departure passes (see
    /// the [module docs](super)), ready for the timeline's `Marks` (feature `timeline`).
    ///
    /// `property` runs the world on a simulation; `template` gives the name and limits
    /// (its strategy and trace mode are replaced). Returns `None` when the replay does not
    /// fail (then the failure's own tail is all there is). The checks call it to write
    /// their artefacts; a tool that replays runs itself calls it to mark the pair in the
    /// timelines it writes (the `lockstep` tool's `replay --timeline`).
    pub fn replay_marked(
        template: &Config,
        tape: &Tape,
        property: &dyn Fn(&mut Sim) -> Result<(), Box<Failure>>,
    ) -> Option<(Trace, Option<[usize; 2]>)> {
        let config = |tape: Tape| template.clone().strategy(StrategyKind::Replay(tape)).trace(TraceMode::Full);
        let run = |tape: Tape| {
            let mut sim = Sim::new(config(tape));
            let result = property(&mut sim);
            (result.is_err(), sim.trace(), sim.recorded_tape())
        };
        let (failed, trace, recorded) = run(tape.clone());
        if !failed {
            return None;
        }
        let choices = recorded.choices().to_vec();
        let pair = choices.iter().enumerate().rev().filter(|(_, c)| c.is_departure()).find_map(|(position, _)| {
            let mut flipped = choices.clone();
            flipped[position].index = 0;
            let (failed, passing, _) = run(Tape::from_choices(flipped));
            if failed {
                return None;
            }
            critical_indices(&trace.lines, &passing.lines)
        });
        Some((trace, pair))
    }

    /// Writes the artefacts of a failed run that cannot be re-run, from the trace it kept.
    pub fn for_run(config: &Config, failure: &Failure, trace: &Trace) -> Option<Written> {
        let root = config.artefacts.clone().with_env().root()?;
        Some(write(&root, failure, trace, None))
    }
}
