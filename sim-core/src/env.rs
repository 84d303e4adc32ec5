//! The parser of the `LOCKSTEP_*` environment variables (the crate docs list them,
//! with what each means): the one place where Lockstep reads them. The checks read
//! them themselves; a tool that drives runs its own way (sim-tokio's runtime, the
//! `lockstep` tool) reads them here, or runs a check with [`EnvOverrides::none`] so
//! that the environment does not change what it runs.
//!
//! Which test a replay command selects also comes from here ([`cargo_test_command`]):
//! `cargo test` runs each test on a thread named after the test's path and sets
//! `CARGO_PKG_NAME` and `CARGO_MANIFEST_DIR` for the test binary.
//!
//! A variable that is unset or set to the empty string is no override. A bad value is
//! an [`EnvError`] that names the variable and the value:
//!
//! ```
//! use sim_core::tooling::env::EnvOverrides;
//! let err = EnvOverrides::from_lookup(|name| (name == "LOCKSTEP_SHARD").then(|| "4/4".to_string()))
//!     .unwrap_err();
//! assert_eq!(err.variable, "LOCKSTEP_SHARD");
//! assert_eq!(err.value, "4/4");
//! ```

use std::fmt;
use std::num::NonZeroUsize;
use std::time::Duration;

use tracing::level_filters::LevelFilter;

use crate::share::{Shard, Share};
use crate::Tape;

/// Run only this seed, with the full trace kept, and print its report.
pub(crate) const SEED: &str = "LOCKSTEP_SEED";
/// Replay this tape.
pub(crate) const TAPE: &str = "LOCKSTEP_TAPE";
/// How many seeds to run.
pub(crate) const SEEDS: &str = "LOCKSTEP_SEEDS";
/// Which shard of the seed range to run, as `i/n`.
pub(crate) const SHARD: &str = "LOCKSTEP_SHARD";
/// How many worker threads run seeds.
pub(crate) const JOBS: &str = "LOCKSTEP_JOBS";
/// The share of passing runs a check runs twice and compares.
pub(crate) const DETERMINISM: &str = "LOCKSTEP_DETERMINISM";
/// The level of the test logging subscriber.
pub(crate) const LOG: &str = "LOCKSTEP_LOG";
/// The poll watchdog's bound.
pub(crate) const POLL_TIMEOUT: &str = "LOCKSTEP_POLL_TIMEOUT";

/// The overrides found in the environment; `None` means "not set".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct EnvOverrides {
    /// `LOCKSTEP_SEED`: run only this seed (with the seeded random strategy), keep
    /// its full trace and print its report. Decimal, as printed in reports.
    pub seed: Option<u64>,
    /// `LOCKSTEP_TAPE`: replay this tape instead of running seeds. Cannot be combined
    /// with `LOCKSTEP_SEED`.
    pub tape: Option<Tape>,
    /// `LOCKSTEP_SEEDS`: run this many seeds, starting at the configured range's start.
    /// At least 1.
    pub seeds: Option<u64>,
    /// `LOCKSTEP_SHARD`: run only the seeds of shard `i/n` (`0 <= i < n`), so `n`
    /// machines can split one range.
    pub shard: Option<Shard>,
    /// `LOCKSTEP_JOBS`: how many worker threads run seeds. At least 1.
    pub jobs: Option<NonZeroUsize>,
    /// `LOCKSTEP_DETERMINISM`: the share of passing runs a check runs a second time
    /// and compares with the first (`0.05` or `5%`; `0` for none, `100%` for all);
    /// the check's determinism share.
    /// Failing runs are always replayed.
    pub determinism: Option<Share>,
    /// `LOCKSTEP_LOG`: the most verbose level the test logging subscriber shows
    /// (`off`, `error`, `warn`, `info`, `debug`, `trace`).
    pub log: Option<LevelFilter>,
    /// Not a variable: the `cargo test` command that runs only the calling test
    /// ([`cargo_test_command`]), which the checks print with `LOCKSTEP_SEED` or
    /// `LOCKSTEP_TAPE` in front as their replay command. `None` outside a test that
    /// `cargo test` started; then the checks print Rust that replays the run.
    pub test_command: Option<String>,
    /// `LOCKSTEP_POLL_TIMEOUT`: the [poll watchdog](crate::watchdog)'s bound, wall
    /// clock (`Duration::ZERO`: off). Seconds (`30`), or suffixed (`500ms`, `2s`), or `off`.
    pub poll_timeout: Option<Duration>,
}

impl EnvOverrides {
    /// No overrides at all: what a run that ignores the environment uses.
    pub fn none() -> EnvOverrides {
        EnvOverrides::default()
    }

    /// Reads the `LOCKSTEP_*` variables of this process, and the calling test's
    /// [`cargo_test_command`] (so call it on the test's own thread).
    ///
    /// # Errors
    /// An [`EnvError`] naming the first variable whose value is bad (or not Unicode).
    pub fn from_env() -> Result<EnvOverrides, EnvError> {
        let mut bad = None;
        let found = EnvOverrides::from_lookup(|name| match std::env::var(name) {
            Ok(value) => Some(value),
            Err(std::env::VarError::NotPresent) => None,
            Err(std::env::VarError::NotUnicode(raw)) => {
                bad.get_or_insert_with(|| EnvError::new(name, raw.to_string_lossy().into_owned(), "not Unicode"));
                None
            }
        });
        match bad {
            Some(err) => Err(err),
            None => found.map(|found| EnvOverrides { test_command: cargo_test_command(), ..found }),
        }
    }

    /// Reads the overrides through `lookup`, which returns a variable's value, if
    /// set. This is [`EnvOverrides::from_env`] without the process environment, for
    /// tests and tools ([`EnvOverrides::test_command`] stays `None`).
    ///
    /// # Errors
    /// An [`EnvError`] naming the first variable whose value is bad.
    pub fn from_lookup(mut lookup: impl FnMut(&'static str) -> Option<String>) -> Result<EnvOverrides, EnvError> {
        let mut get = |name: &'static str| lookup(name).filter(|v| !v.trim().is_empty()).map(|v| (name, v));
        let found = EnvOverrides {
            seed: get(SEED)
                .map(|(n, v)| parse_u64(n, v, "expected a seed: a decimal integer below 2^64"))
                .transpose()?,
            tape: get(TAPE).map(|(n, v)| parse_tape(n, v)).transpose()?,
            seeds: get(SEEDS).map(|(n, v)| parse_count(n, v)).transpose()?,
            shard: get(SHARD).map(|(n, v)| parse_shard(n, v)).transpose()?,
            jobs: get(JOBS).map(|(n, v)| parse_jobs(n, v)).transpose()?,
            determinism: get(DETERMINISM)
                .map(|(n, v)| v.parse::<Share>().map_err(|reason| EnvError { variable: n, value: v, reason }))
                .transpose()?,
            log: get(LOG).map(|(n, v)| parse_level(n, v)).transpose()?,
            test_command: None,
            poll_timeout: get(POLL_TIMEOUT).map(|(n, v)| parse_bound(n, v)).transpose()?,
        };
        if let (Some(seed), Some(tape)) = (found.seed, &found.tape) {
            let value = tape.to_string();
            let reason = format!("cannot be combined with {SEED}={seed}: set only one of them");
            return Err(EnvError { variable: TAPE, value, reason });
        }
        Ok(found)
    }
}

/// Reads `LOCKSTEP_POLL_TIMEOUT` alone, for tools that take no other override (the
/// `lockstep` tool). `None` when unset or empty.
///
/// # Errors
/// An [`EnvError`] when its value is not a bound.
pub fn poll_timeout_from_env() -> Result<Option<Duration>, EnvError> {
    match std::env::var(POLL_TIMEOUT) {
        Ok(v) if v.trim().is_empty() => Ok(None),
        Ok(v) => parse_bound(POLL_TIMEOUT, v).map(Some),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(raw)) => {
            Err(EnvError::new(POLL_TIMEOUT, raw.to_string_lossy().into_owned(), "not Unicode"))
        }
    }
}

fn parse_bound(name: &'static str, value: String) -> Result<Duration, EnvError> {
    let reason = "expected a wall-clock bound: seconds (`30`), `500ms`, `2s`, or `off`";
    let text = value.trim();
    if text == "off" {
        return Ok(Duration::ZERO);
    }
    let (number, unit) = match (text.strip_suffix("ms"), text.strip_suffix('s')) {
        (Some(n), _) => (n, 1),
        (None, Some(n)) => (n, 1000),
        (None, None) => (text, 1000),
    };
    let millis = number.trim().parse::<u64>().ok().and_then(|n| n.checked_mul(unit));
    millis.map(Duration::from_millis).ok_or_else(|| EnvError::new(name, value, reason))
}

fn parse_u64(name: &'static str, value: String, reason: &str) -> Result<u64, EnvError> {
    value.trim().parse().map_err(|_| EnvError::new(name, value, reason))
}

fn parse_count(name: &'static str, value: String) -> Result<u64, EnvError> {
    let reason = "expected a number of seeds: a decimal integer of at least 1";
    match parse_u64(name, value.clone(), reason)? {
        0 => Err(EnvError::new(name, value, reason)),
        n => Ok(n),
    }
}

fn parse_jobs(name: &'static str, value: String) -> Result<NonZeroUsize, EnvError> {
    let reason = "expected a number of worker threads: a decimal integer of at least 1";
    value.trim().parse().map_err(|_| EnvError::new(name, value, reason))
}

fn parse_tape(name: &'static str, value: String) -> Result<Tape, EnvError> {
    value.parse().map_err(|e| {
        let reason = format!("not a tape ({e}); copy the `t2:` (or `t1:`) text from a failure report");
        EnvError { variable: name, value, reason }
    })
}

fn parse_shard(name: &'static str, value: String) -> Result<Shard, EnvError> {
    value.parse::<Shard>().map_err(|e| EnvError::new(name, value, e.reason))
}

fn parse_level(name: &'static str, value: String) -> Result<LevelFilter, EnvError> {
    let reason = "expected a level: off, error, warn, info, debug or trace";
    value.trim().parse().map_err(|_| EnvError::new(name, value, reason))
}

/// A `LOCKSTEP_*` variable holds a value that cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvError {
    /// The variable, as in `LOCKSTEP_SHARD`.
    pub variable: &'static str,
    /// The value it holds.
    pub value: String,
    /// What is wrong with it.
    pub reason: String,
}

impl EnvError {
    fn new(variable: &'static str, value: String, reason: &str) -> EnvError {
        EnvError { variable, value, reason: reason.to_string() }
    }
}

impl fmt::Display for EnvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad environment variable {}={:?}: {}", self.variable, self.value, self.reason)
    }
}

impl std::error::Error for EnvError {}

/// The `cargo test` command that runs exactly the test running on this thread, as in
/// `cargo test -p sim-core --test engine -- --exact check::finds_the_race`, or `None`
/// when this thread is not a test that `cargo test` started (a doctest, a binary, a
/// thread of your own).
///
/// It is built from what `cargo test` sets up: the thread's name (libtest names each
/// test's thread after the test's path), `CARGO_PKG_NAME` and `CARGO_MANIFEST_DIR`,
/// and the test binary's file name (`target/…/deps/<target>-<hash>`), which says
/// whether the test is in the library (`--lib`), a binary (`--bin NAME`) or an
/// integration test target (`--test NAME`). The checks of this crate print it, with
/// `LOCKSTEP_SEED` or `LOCKSTEP_TAPE` in front, as their replay command.
pub fn cargo_test_command() -> Option<String> {
    command_for_thread(std::thread::current().name())
}

/// [`cargo_test_command`] for a thread called `thread`.
fn command_for_thread(thread: Option<&str>) -> Option<String> {
    let test = thread.filter(|n| *n != "main" && is_test_path(n))?;
    let package = std::env::var("CARGO_PKG_NAME").ok().filter(|p| is_word(p))?;
    let manifest_dir = std::path::PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR")?);
    let exe = std::env::current_exe().ok()?;
    if exe.parent()?.file_name()? != "deps" {
        return None;
    }
    let stem = exe.file_stem()?.to_str()?;
    // `<target>-<16 hex digits>`: the target's name with `-` written as `_`.
    let (crate_name, hash) = stem.rsplit_once('-')?;
    if hash.is_empty() || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let selector = target_selector(&manifest_dir, &package, crate_name)?;
    Some(format!("cargo test -p {package} {selector} -- --exact {test}"))
}

/// `--lib`, `--bin NAME` or `--test NAME` for the target compiled as `crate_name`.
fn target_selector(manifest_dir: &std::path::Path, package: &str, crate_name: &str) -> Option<String> {
    let same = |name: &str| name.replace('-', "_") == crate_name;
    let entries = |dir: &str| -> Vec<String> {
        std::fs::read_dir(manifest_dir.join(dir))
            .map(|d| d.filter_map(|e| e.ok()?.file_name().into_string().ok()).collect())
            .unwrap_or_default()
    };
    let target = |file: &str| file.strip_suffix(".rs").unwrap_or(file).to_string();
    if let Some(name) = entries("tests").iter().map(|f| target(f)).find(|t| same(t)) {
        return Some(format!("--test {name}"));
    }
    if same(package) && manifest_dir.join("src/lib.rs").is_file() {
        return Some("--lib".to_string());
    }
    if let Some(name) = entries("src/bin").iter().map(|f| target(f)).find(|t| same(t)) {
        return Some(format!("--bin {name}"));
    }
    if same(package) && manifest_dir.join("src/main.rs").is_file() {
        return Some(format!("--bin {package}"));
    }
    is_word(crate_name).then(|| format!("--test {crate_name}"))
}

/// A name a shell passes on unquoted: letters, digits, `_` and `-`.
fn is_word(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// A test path as libtest names threads: identifiers joined by `::`.
fn is_test_path(text: &str) -> bool {
    text.split("::").all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_of_a_library_test_selects_it_with_lib() {
        assert_eq!(
            cargo_test_command().as_deref(),
            Some(
                "cargo test -p sim-core --lib -- --exact tooling::env::tests::the_command_of_a_library_test_selects_it_with_lib"
            )
        );
    }

    #[test]
    fn no_command_off_a_test_thread() {
        assert_eq!(command_for_thread(None), None, "an unnamed thread");
        assert_eq!(command_for_thread(Some("main")), None, "a binary's or a doctest's main thread");
        assert_eq!(command_for_thread(Some("lockstep-worker-0")), None, "not a test path");
        assert_eq!(command_for_thread(Some("a::b c")), None, "not a test path");
        let named = command_for_thread(Some("m::t")).unwrap();
        assert!(named.ends_with(" -- --exact m::t"), "{named}");
    }

    #[test]
    fn a_bad_tape_names_the_text_reports_print() {
        let err = EnvOverrides::from_lookup(|name| (name == TAPE).then(|| "2.1".to_string())).unwrap_err();
        assert!(err.reason.contains("copy the `t2:` (or `t1:`) text from a failure report"), "{err}");
    }
}
