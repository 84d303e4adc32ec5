//! Shares and shards of a check's runs: which runs a machine (a shard) or the
//! determinism check (a share) takes. No dependencies inside the crate, so that
//! the runner, the explorers and the environment can all use it.

use std::fmt;
use std::ops::Range;
use std::str::FromStr;

/// One shard `i/n` of a seed range: the seeds whose offset from the range's start
/// is `i` modulo `n`. The `n` shards of a range partition it exactly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Shard {
    index: u64,
    count: u64,
}

impl Shard {
    /// The whole range: shard `0/1`.
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    /// Shard `index` of `count` (0-based).
    ///
    /// # Errors
    /// When `count` is 0 or `index` is not below `count`.
    pub fn new(index: u64, count: u64) -> Result<Shard, ShardError> {
        let text = format!("{index}/{count}");
        match (index, count) {
            (_, 0) => Err(ShardError { text, reason: "the shard count must be at least 1" }),
            (i, n) if i >= n => Err(ShardError { text, reason: "the shard index must be below the count (0-based)" }),
            _ => Ok(Shard { index, count }),
        }
    }

    /// How many seeds of `range` belong to this shard.
    pub fn len_of(self, range: &Range<u64>) -> u64 {
        let span = range.end.saturating_sub(range.start);
        if span <= self.index {
            0
        } else {
            (span - self.index - 1) / self.count + 1
        }
    }

    /// The `k`-th seed of `range` in this shard, if there are that many.
    pub(crate) fn nth_of(self, range: &Range<u64>, k: u64) -> Option<u64> {
        let offset = k.checked_mul(self.count)?.checked_add(self.index)?;
        let seed = range.start.checked_add(offset)?;
        (seed < range.end).then_some(seed)
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = ShardError;

    /// Parses `i/n`, as in `1/4`.
    fn from_str(text: &str) -> Result<Shard, ShardError> {
        let bad = |reason| ShardError { text: text.to_string(), reason };
        let (i, n) = text.trim().split_once('/').ok_or_else(|| bad("expected `i/n`, as in `1/4`"))?;
        let i = i.trim().parse().map_err(|_| bad("the shard index `i` of `i/n` is not a number"))?;
        let n = n.trim().parse().map_err(|_| bad("the shard count `n` of `i/n` is not a number"))?;
        Shard::new(i, n).map_err(|e| bad(e.reason))
    }
}

/// Why a shard is not valid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardError {
    /// The shard as written.
    pub text: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl fmt::Display for ShardError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad shard `{}`: {}", self.text, self.reason)
    }
}

impl std::error::Error for ShardError {}

/// A share of runs, such as the share of seeds a check runs twice to verify
/// determinism: a whole number of millionths, from 0 (none) to 1,000,000 (all).
/// Written and parsed as a fraction (`0.05`) or a percentage (`5%`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Share(u32);

impl Share {
    /// No run.
    pub const NONE: Share = Share(0);
    /// Every run.
    pub const ALL: Share = Share(1_000_000);
    /// FoundationDB's share of runs checked for determinism, and the default: 5%.
    pub const DEFAULT_DETERMINISM: Share = Share(50_000);

    /// `percent` percent of the runs (at most 100).
    pub fn percent(percent: u32) -> Share {
        Share(percent.min(100) * 10_000)
    }

    /// The share as a fraction from 0.0 to 1.0.
    pub fn fraction(self) -> f64 {
        f64::from(self.0) / 1e6
    }

    /// Whether the run identified by `key` (a seed, or a run's position) is in the
    /// share: a fixed hash of the key, so the same keys are chosen on every machine,
    /// whatever the number of workers or the shard.
    pub fn picks(self, key: u64) -> bool {
        if self.0 == 0 {
            return false;
        }
        let mut z = key.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        z % 1_000_000 < u64::from(self.0)
    }
}

impl fmt::Display for Share {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}%", self.fraction() * 100.0)
    }
}

impl FromStr for Share {
    type Err = String;

    /// Parses `0.05` or `5%` (from 0 to 1, or 0% to 100%).
    fn from_str(text: &str) -> Result<Share, String> {
        let text = text.trim();
        let (number, scale) = match text.strip_suffix('%') {
            Some(number) => (number.trim(), 0.01),
            None => (text, 1.0),
        };
        let value = number
            .parse::<f64>()
            .ok()
            .map(|v| v * scale)
            .filter(|v| (0.0..=1.0).contains(v))
            .ok_or_else(|| "expected a share from 0 to 1 (`0.05`) or a percentage (`5%`)".to_string())?;
        Ok(Share((value * 1e6).round() as u32))
    }
}
