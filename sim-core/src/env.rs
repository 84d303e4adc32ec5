//! Environment overrides: the one place where Lockstep reads environment variables.
//!
//! | variable | meaning | example |
//! | --- | --- | --- |
//! | `LOCKSTEP_SEED` | run only this seed, keep its full trace, print its report | `LOCKSTEP_SEED=17` |
//! | `LOCKSTEP_TAPE` | replay this tape (the `t1:` text of a report) | `LOCKSTEP_TAPE='t1:2.1,3.0*4'` |
//! | `LOCKSTEP_SEEDS` | how many seeds to run, from the range's start | `LOCKSTEP_SEEDS=100000` |
//! | `LOCKSTEP_SHARD` | run only shard `i` of `n` of the range (0-based) | `LOCKSTEP_SHARD=1/4` |
//! | `LOCKSTEP_JOBS` | how many worker threads run seeds | `LOCKSTEP_JOBS=1` |
//! | `LOCKSTEP_LOG` | the level [`init_test_logging`](crate::log::init_test_logging) installs | `LOCKSTEP_LOG=debug` |
//!
//! A variable that is unset or set to the empty string is no override. A bad value is
//! an [`EnvError`] that names the variable and the value:
//!
//! ```
//! use sim_core::env::EnvOverrides;
//! let err = EnvOverrides::from_lookup(|name| (name == "LOCKSTEP_SHARD").then(|| "4/4".to_string()))
//!     .unwrap_err();
//! assert_eq!(err.variable, "LOCKSTEP_SHARD");
//! assert_eq!(err.value, "4/4");
//! ```

use std::fmt;
use std::num::NonZeroUsize;

use tracing::level_filters::LevelFilter;

use crate::check::Shard;
use crate::Tape;

/// Run only this seed, with the full trace kept, and print its report.
pub const SEED: &str = "LOCKSTEP_SEED";
/// Replay this tape.
pub const TAPE: &str = "LOCKSTEP_TAPE";
/// How many seeds to run.
pub const SEEDS: &str = "LOCKSTEP_SEEDS";
/// Which shard of the seed range to run, as `i/n`.
pub const SHARD: &str = "LOCKSTEP_SHARD";
/// How many worker threads run seeds.
pub const JOBS: &str = "LOCKSTEP_JOBS";
/// The level of the test logging subscriber.
pub const LOG: &str = "LOCKSTEP_LOG";

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
    /// `LOCKSTEP_LOG`: the most verbose level the test logging subscriber shows
    /// (`off`, `error`, `warn`, `info`, `debug`, `trace`).
    pub log: Option<LevelFilter>,
}

impl EnvOverrides {
    /// No overrides at all: what a run that ignores the environment uses.
    pub fn none() -> EnvOverrides {
        EnvOverrides::default()
    }

    /// Reads the `LOCKSTEP_*` variables of this process.
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
            None => found,
        }
    }

    /// Reads the overrides through `lookup`, which returns a variable's value, if
    /// set. This is [`EnvOverrides::from_env`] without the process environment, for
    /// tests and tools.
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
            log: get(LOG).map(|(n, v)| parse_level(n, v)).transpose()?,
        };
        if let (Some(seed), Some(tape)) = (found.seed, &found.tape) {
            let value = tape.to_string();
            let reason = format!("cannot be combined with {SEED}={seed}: set only one of them");
            return Err(EnvError { variable: TAPE, value, reason });
        }
        Ok(found)
    }
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
        let reason = format!("not a tape ({e}); copy the `t1:` text from a failure report");
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
