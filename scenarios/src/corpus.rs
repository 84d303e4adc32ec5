//! The regression corpus: failing runs, kept in a reviewable text file, that must
//! go on failing exactly the same way.
//!
//! One entry per line; `#` starts a comment. Fields are `key=value`, the tape last
//! (it runs to the end of the line):
//!
//! ```text
//! scenario=throttle-hang/buggy variant=buggy seed=2 outcome=deadlock fingerprint=0c453d68d72cce4d tape=t2:…
//! ```
//!
//! [`Entry::check`] replays an entry from its tape (and, when it has one, from its
//! seed) and compares the outcome class and the fingerprint. A mismatch names the
//! entry and the command that refreshes the corpus on purpose ([`REFRESH_COMMAND`]);
//! nothing is ever updated silently. `lockstep run --record` appends newly found
//! failures ([`append`]). A user's tool has a corpus of its own
//! ([`Registry::corpus`], or `--corpus FILE`): its `corpus` command, or
//! [`check_file`] in a test, replays every entry.

use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use sim_core::{Failure, Fingerprint, Tape};

use crate::registry::{self, Registry};
use crate::scenario::{Outcome, Scenario};

/// The command that re-records every entry from its seed, on purpose. It refuses
/// (and changes nothing) when an entry would turn from failing to passing.
pub const REFRESH_COMMAND: &str = "LOCKSTEP_REFRESH_CORPUS=1 cargo test -p tests corpus";

/// The command that re-records every entry and lets entries that now pass go: each
/// is commented out (`# now passes: …`) and listed.
pub const REFRESH_ALLOW_PASS_COMMAND: &str = "LOCKSTEP_REFRESH_CORPUS=allow-pass cargo test -p tests corpus";

/// The environment variable that makes the corpus test refresh the file instead of
/// failing: `1` to re-record, `allow-pass` to also let entries that now pass go.
pub const REFRESH_VAR: &str = "LOCKSTEP_REFRESH_CORPUS";

/// The value of [`REFRESH_VAR`] that lets a refresh turn failing entries into passing ones.
pub const ALLOW_PASS: &str = "allow-pass";

/// The corpus file of this checkout: `tests/corpus/failures.txt`.
pub fn default_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/corpus/failures.txt")
}

/// One failing run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The scenario's name.
    pub scenario: String,
    /// The scenario's variant, for readers (`buggy`).
    pub variant: String,
    /// The seed that found it, if a seed did.
    pub seed: Option<u64>,
    /// The expected outcome class (`deadlock`, `violation`, …).
    pub outcome: String,
    /// The expected fingerprint.
    pub fingerprint: Fingerprint,
    /// The tape that replays it.
    pub tape: Tape,
    /// The line of the file it came from (1-based; 0 when not from a file).
    pub line: usize,
}

impl Entry {
    /// The entry of a failed run of `scenario`.
    pub fn from_failure(scenario: &Scenario, failure: &Failure) -> Entry {
        Entry {
            scenario: scenario.name.to_string(),
            variant: scenario.variant.label().to_string(),
            seed: failure.seed,
            outcome: failure.kind.class().to_string(),
            fingerprint: failure.fingerprint,
            tape: failure.tape.clone(),
            line: 0,
        }
    }

    /// Where this entry is, for messages: `tests/corpus/failures.txt:3 (drain/buggy seed 0)`.
    pub fn describe(&self, path: &Path) -> String {
        let seed = self.seed.map_or_else(|| "from its tape".to_string(), |s| format!("seed {s}"));
        format!("{}:{} ({} {seed})", path.display(), self.line, self.scenario)
    }

    /// Replays the entry, a failure of the catalogue, from its tape, and from its seed
    /// when it has one, and compares outcome class and fingerprint with the recorded
    /// ones. A replay that passes is always a problem: every entry records a failure.
    ///
    /// # Errors
    /// What differs, for each replay that differs.
    pub fn check(&self) -> Result<(), Vec<String>> {
        self.check_in(registry::catalogue())
    }

    /// [`Entry::check`] for an entry of `registry`'s scenarios.
    ///
    /// # Errors
    /// What differs, for each replay that differs.
    pub fn check_in(&self, registry: &Registry) -> Result<(), Vec<String>> {
        let Some(scenario) = registry.get(&self.scenario) else {
            return Err(vec![format!("no scenario named `{}` any more", self.scenario)]);
        };
        let mut problems = Vec::new();
        let mut compare = |how: &str, outcome: Outcome| {
            if outcome.diverged {
                problems
                    .push(format!("replayed {how}: the tape no longer fits the scenario (the run diverged from it)"));
            }
            if outcome.result.is_ok() {
                problems.push(format!(
                    "replayed {how}: PASSED, but the entry expects it to fail ({}); the failure is lost",
                    self.outcome
                ));
            } else if outcome.class() != self.outcome || outcome.fingerprint != self.fingerprint {
                problems.push(format!(
                    "replayed {how}: outcome {} with fingerprint {}, expected {} with fingerprint {}",
                    outcome.class(),
                    outcome.fingerprint,
                    self.outcome,
                    self.fingerprint
                ));
            }
        };
        compare("from its tape", scenario.run_tape(self.tape.clone()));
        if let Some(seed) = self.seed {
            compare(&format!("from seed {seed}"), scenario.run_seed(seed));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    /// The entry re-recorded from its seed (or its tape, when it has no seed).
    ///
    /// # Errors
    /// When its scenario no longer exists.
    pub fn refreshed(&self) -> Result<Entry, String> {
        let scenario = registry::catalogue()
            .get(&self.scenario)
            .ok_or_else(|| format!("no scenario named `{}`", self.scenario))?;
        let outcome = match self.seed {
            Some(seed) => scenario.run_seed(seed),
            None => scenario.run_tape(self.tape.clone()),
        };
        Ok(Entry {
            variant: scenario.variant.label().to_string(),
            outcome: outcome.class().to_string(),
            fingerprint: outcome.fingerprint,
            tape: outcome.tape,
            ..self.clone()
        })
    }

    /// Whether `other` records the same run (same scenario and seed, or same fingerprint).
    pub fn same_run(&self, other: &Entry) -> bool {
        self.scenario == other.scenario
            && ((self.seed.is_some() && self.seed == other.seed) || self.fingerprint == other.fingerprint)
    }
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seed = self.seed.map_or_else(|| "-".to_string(), |s| s.to_string());
        write!(
            f,
            "scenario={} variant={} seed={seed} outcome={} fingerprint={} tape={}",
            self.scenario, self.variant, self.outcome, self.fingerprint, self.tape
        )
    }
}

/// A corpus line that cannot be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// The line (1-based).
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "corpus line {}: {}", self.line, self.reason)
    }
}

impl std::error::Error for ParseError {}

/// Reads the entries of a corpus text.
///
/// # Errors
/// The first line that is not a valid entry.
pub fn parse(text: &str) -> Result<Vec<Entry>, ParseError> {
    let mut entries = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        entries.push(parse_line(line).map_err(|reason| ParseError { line: i + 1, reason })?);
        if let Some(entry) = entries.last_mut() {
            entry.line = i + 1;
        }
    }
    Ok(entries)
}

fn parse_line(line: &str) -> Result<Entry, String> {
    let (head, tape) = line.split_once(" tape=").ok_or("no `tape=` field (it comes last)")?;
    let mut fields = std::collections::BTreeMap::new();
    for field in head.split_whitespace() {
        let (key, value) = field.split_once('=').ok_or_else(|| format!("`{field}` is not `key=value`"))?;
        fields.insert(key, value);
    }
    let get = |key: &str| fields.get(key).copied().ok_or_else(|| format!("no `{key}=` field"));
    if get("outcome")? == "pass" {
        return Err("`outcome=pass`: a corpus entry records a failing run".to_string());
    }
    let seed = match get("seed")? {
        "-" => None,
        s => Some(s.parse().map_err(|_| format!("seed `{s}` is not a number"))?),
    };
    let fingerprint = get("fingerprint")?;
    let fingerprint = u64::from_str_radix(fingerprint, 16)
        .map(Fingerprint)
        .map_err(|_| format!("fingerprint `{fingerprint}` is not 16 hex digits"))?;
    Ok(Entry {
        scenario: get("scenario")?.to_string(),
        variant: get("variant")?.to_string(),
        seed,
        outcome: get("outcome")?.to_string(),
        fingerprint,
        tape: tape.trim().parse().map_err(|e| format!("bad tape: {e}"))?,
        line: 0,
    })
}

/// Reads the corpus file at `path` (an absent file is an empty corpus).
///
/// # Errors
/// An I/O error, or a line that is not a valid entry.
pub fn load(path: &Path) -> io::Result<Vec<Entry>> {
    match fs::read_to_string(path) {
        Ok(text) => parse(&text).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

/// The header of a new corpus file.
pub const HEADER: &str = "\
# Lockstep regression corpus: failing runs that must keep failing exactly this way.
# `cargo test` (the `tests` crate) replays every entry from its tape and from its seed
# and compares the outcome class and the trace fingerprint.
# Append new failures: cargo run --release -p scenarios --bin lockstep -- run --all --record
# Re-record every entry on purpose (after a deliberate engine change):
#   LOCKSTEP_REFRESH_CORPUS=1 cargo test -p tests corpus
";

/// The header of a new corpus file of `registry`: [`HEADER`] for the catalogue's,
/// the same lines naming the tool's own command for a user's.
pub fn header(registry: &Registry) -> String {
    if std::ptr::eq(registry, registry::catalogue()) {
        return HEADER.to_string();
    }
    let command = registry.command();
    format!(
        "# Lockstep regression corpus of `{tool}`: failing runs that must keep failing exactly this way.\n\
         # Check every entry (replayed from its tape and its seed): {command} corpus --file <this file>\n\
         # Append new failures: {command} run --all --record\n",
        tool = registry.tool()
    )
}

/// Replays every entry of the corpus at `path` with [`Entry::check_in`]: returns how
/// many entries there are (an absent file holds none).
///
/// # Errors
/// The file cannot be read (one line), or one line per entry that no longer
/// replays as recorded.
pub fn check_file(registry: &Registry, path: &Path) -> Result<usize, Vec<String>> {
    let entries = load(path).map_err(|e| vec![format!("cannot read the corpus {}: {}", path.display(), e)])?;
    let problems: Vec<String> = entries
        .iter()
        .filter_map(|e| e.check_in(registry).err().map(|p| format!("{}: {}", e.describe(path), p.join("; "))))
        .collect();
    if problems.is_empty() {
        Ok(entries.len())
    } else {
        Err(problems)
    }
}

/// Checks, before any run, that new failures can be recorded at `path`: an existing
/// corpus must read as one and be writable; a missing one is created with `header`
/// in a directory that must exist (a mistyped path is never created).
///
/// # Errors
/// What is wrong with the path.
pub fn prepare(path: &Path, header: &str) -> io::Result<()> {
    match fs::metadata(path) {
        Ok(meta) if !meta.is_file() => Err(io::Error::new(io::ErrorKind::InvalidInput, "not a regular file")),
        Ok(_) => {
            load(path)?;
            fs::OpenOptions::new().append(true).open(path).map(drop)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let dir = match path.parent() {
                Some(d) if !d.as_os_str().is_empty() => d,
                _ => Path::new("."),
            };
            if !dir.is_dir() {
                return Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("the directory {} does not exist", dir.display()),
                ));
            }
            let mut file = fs::OpenOptions::new().create_new(true).write(true).open(path)?;
            file.write_all(header.as_bytes())
        }
        Err(e) => Err(e),
    }
}

/// Appends the entries not already in the corpus at `path` (creating it with
/// `header` if needed, in a directory that must exist). Returns how many were added.
///
/// # Errors
/// An I/O error, or an existing line that is not a valid entry.
pub fn append(path: &Path, new: &[Entry], header: &str) -> io::Result<usize> {
    let mut known = load(path)?;
    let mut text = String::new();
    for entry in new {
        if known.iter().any(|k| k.same_run(entry)) {
            continue;
        }
        text.push_str(&format!("{entry}\n"));
        known.push(entry.clone());
    }
    if text.is_empty() {
        return Ok(0);
    }
    // The directory must exist: a mistyped path is not silently created.
    let mut file = fs::OpenOptions::new().create(true).append(true).open(path)?;
    if file.metadata()?.len() == 0 {
        file.write_all(header.as_bytes())?;
    }
    file.write_all(text.as_bytes())?;
    Ok(text.lines().count())
}

/// Rewrites the corpus at `path` with every entry re-recorded from its seed,
/// keeping comments and order. Returns a line per entry that changed.
///
/// A refresh never turns a failing entry into a passing one unless `allow_pass` is
/// set: without it, an entry whose run now passes makes the whole refresh an error
/// that lists them, and the file is left as it was. With it, each such entry is
/// commented out (`# now passes: …`, kept for review) and listed among the changes.
///
/// # Errors
/// An I/O error, a line that is not a valid entry, an entry whose scenario is gone,
/// or (without `allow_pass`) entries that now pass.
pub fn refresh(path: &Path, allow_pass: bool) -> io::Result<Vec<String>> {
    let text = fs::read_to_string(path)?;
    let entries = parse(&text).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let mut changed = Vec::new();
    let mut now_passing = Vec::new();
    for entry in entries {
        let fresh = entry.refreshed().map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        let line = &mut lines[entry.line - 1];
        if fresh.outcome == "pass" {
            let what =
                format!("{}: {} -> pass (fingerprint {})", entry.describe(path), entry.outcome, fresh.fingerprint);
            now_passing.push(what.clone());
            changed.push(what);
            *line = format!("# now passes: {}", line.trim());
            continue;
        }
        let fresh_line = fresh.to_string();
        if line.trim() != fresh_line {
            changed.push(format!(
                "{}: {} {} -> {} {}",
                entry.describe(path),
                entry.outcome,
                entry.fingerprint,
                fresh.outcome,
                fresh.fingerprint
            ));
            *line = fresh_line;
        }
    }
    if !now_passing.is_empty() && !allow_pass {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "refusing to refresh: {} entr{} would turn from failing to passing (nothing was written): {}; \
                 if that is on purpose, run {REFRESH_ALLOW_PASS_COMMAND}",
                now_passing.len(),
                if now_passing.len() == 1 { "y" } else { "ies" },
                now_passing.join("; ")
            ),
        ));
    }
    fs::write(path, lines.join("\n") + "\n")?;
    Ok(changed)
}
