//! The determinism check: run the same seed twice and compare the runs.
//!
//! A simulation is a pure function of its code and its seed, unless something
//! outside it leaks in: the wall clock, iteration order of a `HashMap` with a random
//! hasher, an OS thread, randomness not drawn through [`choose`](crate::choose).
//! [`check_determinism`] runs a seed twice with the full trace kept; when the
//! fingerprints differ it names the first differing step, both runs' records there,
//! and the likely leak.
//!
//! ```
//! use std::sync::atomic::{AtomicU64, Ordering};
//! use std::time::Duration;
//! use sim_core::determinism::{check_determinism, Leak};
//! use sim_core::Config;
//!
//! // A counter that lives outside the simulation picks the sleep: the second run differs.
//! static CALLS: AtomicU64 = AtomicU64::new(0);
//! let err = check_determinism(&Config::default(), 7, || async {
//!     let ms = 10 + CALLS.fetch_add(1, Ordering::Relaxed);
//!     sim_core::time::sleep(Duration::from_millis(ms)).await;
//! })
//! .unwrap_err();
//! assert_eq!(err.leak, Leak::WallClock);
//! assert!(err.to_string().contains("at step 1 (t=0s)"));
//! ```

use std::fmt;
use std::future::Future;
use std::ops::Range;

use crate::check::SeedGuard;
use crate::strategy::StrategyKind;
use crate::time::Instant;
use crate::trace::{Fingerprint, TraceLine, TraceMode};
use crate::{Config, Sim};

/// What most likely made two runs of one seed differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Leak {
    /// A waker was invoked from another OS thread.
    OsThread,
    /// A timer deadline differed: the wall clock, or other state kept outside the
    /// simulation (a global counter), chose it.
    WallClock,
    /// The same operations happened in another order, or the same kind of operation
    /// touched another task, channel or timer: iteration over a `HashMap`/`HashSet`
    /// with a random hasher, or randomness not drawn through [`choose`](crate::choose).
    HashOrderOrRandomness,
    /// Nothing points at one cause.
    Unknown,
}

impl fmt::Display for Leak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Leak::OsThread => "an OS thread",
            Leak::WallClock => "the wall clock (or other state kept outside the simulation)",
            Leak::HashOrderOrRandomness => "hash-map iteration order or unseeded randomness",
            Leak::Unknown => "one of: the wall clock, hash-map iteration order, an OS thread, unseeded randomness",
        })
    }
}

/// Two runs of one seed differed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Nondeterminism {
    /// The test or scenario name, when known.
    pub name: Option<String>,
    /// The seed that was run twice.
    pub seed: u64,
    /// The first step at which the runs differ.
    pub step: u64,
    /// The virtual time of that step.
    pub time: Instant,
    /// The first run's record there; `None` when the first run had already ended.
    pub first: Option<TraceLine>,
    /// The second run's record there; `None` when the second run had already ended.
    pub second: Option<TraceLine>,
    /// The fingerprints of the two runs.
    pub fingerprints: [Fingerprint; 2],
    /// The likely leak.
    pub leak: Leak,
    /// Why that leak is suspected.
    pub evidence: &'static str,
}

impl fmt::Display for Nondeterminism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.name.as_deref().unwrap_or("simulation");
        writeln!(
            f,
            "lockstep: non-determinism in `{name}` at step {} (t={}): seed {} ran twice and differed",
            self.step, self.time, self.seed
        )?;
        let show =
            |line: &Option<TraceLine>| line.as_ref().map_or("(the run had ended)".to_string(), |l| l.to_string());
        writeln!(f, "  first run:  {}", show(&self.first))?;
        writeln!(f, "  second run: {}", show(&self.second))?;
        writeln!(f, "  likely leak: {} ({})", self.leak, self.evidence)?;
        write!(f, "  fingerprints: {} vs {}", self.fingerprints[0], self.fingerprints[1])
    }
}

impl std::error::Error for Nondeterminism {}

/// Runs `seed` twice under `cfg` (its strategy replaced by the seed's random one, its
/// trace mode by [`TraceMode::Full`]) and compares the runs: their fingerprints, and
/// their traces with task and channel names resolved (names are not fingerprinted,
/// so tasks spawned under names taken from a `HashSet` are caught here).
///
/// A run that fails is still a run: two identical failing runs are deterministic.
///
/// # Errors
/// [`Nondeterminism`] naming the first differing step and the likely leak.
///
/// # Panics
/// When a panic escapes a run (the [`SeedGuard`] names the seed first).
pub fn check_determinism<F, Fut>(cfg: &Config, seed: u64, f: F) -> Result<Fingerprint, Box<Nondeterminism>>
where
    F: Fn() -> Fut,
    Fut: Future<Output = ()> + 'static,
{
    let config = cfg.clone().strategy(StrategyKind::Random { seed }).trace(TraceMode::Full);
    let first = Run::record(&config, &f);
    let second = Run::record(&config, &f);
    // Names are not part of the fingerprint; compare them too.
    if first.fingerprint == second.fingerprint && first.lines == second.lines {
        return Ok(first.fingerprint);
    }
    Err(Box::new(compare(&config, seed, &first, &second)))
}

/// [`check_determinism`] over a range of seeds, stopping at the first that differs.
/// Returns every seed's fingerprint, in seed order.
///
/// # Errors
/// The first [`Nondeterminism`] found.
///
/// # Panics
/// When a panic escapes a run.
pub fn check_determinism_seeds<F, Fut>(
    cfg: &Config,
    seeds: Range<u64>,
    f: F,
) -> Result<Vec<Fingerprint>, Box<Nondeterminism>>
where
    F: Fn() -> Fut,
    Fut: Future<Output = ()> + 'static,
{
    seeds.map(|seed| check_determinism(cfg, seed, &f)).collect()
}

/// What one run left behind.
struct Run {
    fingerprint: Fingerprint,
    lines: Vec<TraceLine>,
    foreign_wake: bool,
}

impl Run {
    fn record<F, Fut>(config: &Config, f: &F) -> Run
    where
        F: Fn() -> Fut,
        Fut: Future<Output = ()> + 'static,
    {
        let _guard = SeedGuard::new(config);
        let mut sim = Sim::new(config.clone());
        let future = sim.enter(f);
        // A failing run is compared like any other.
        let _outcome = sim.block_on(future);
        Run { fingerprint: sim.fingerprint(), lines: sim.trace().lines, foreign_wake: sim.saw_foreign_wake() }
    }
}

fn compare(config: &Config, seed: u64, a: &Run, b: &Run) -> Nondeterminism {
    let index = (0..a.lines.len().max(b.lines.len()))
        .find(|&i| a.lines.get(i) != b.lines.get(i))
        .unwrap_or(a.lines.len().min(b.lines.len()));
    let first = a.lines.get(index).cloned();
    let second = b.lines.get(index).cloned();
    let at = first.as_ref().or(second.as_ref());
    let (leak, evidence) = classify(a, b, first.as_ref(), second.as_ref());
    Nondeterminism {
        name: config.name.clone(),
        seed,
        step: at.map_or(0, |l| l.step),
        time: Instant::from_nanos(at.map_or(0, |l| l.t_ns)),
        first,
        second,
        fingerprints: [a.fingerprint, b.fingerprint],
        leak,
        evidence,
    }
}

fn classify(a: &Run, b: &Run, x: Option<&TraceLine>, y: Option<&TraceLine>) -> (Leak, &'static str) {
    if a.foreign_wake || b.foreign_wake {
        return (Leak::OsThread, "a waker was invoked from another OS thread");
    }
    if let (Some(x), Some(y)) = (x, y) {
        let unnamed = |l: &TraceLine| TraceLine { task: None, channel: None, ..l.clone() };
        if unnamed(x) == unnamed(y) {
            return (Leak::HashOrderOrRandomness, "the same task or channel got a different name");
        }
    }
    if same_operations(&a.lines, &b.lines) {
        return (Leak::HashOrderOrRandomness, "both runs did the same operations, in a different order");
    }
    let (Some(x), Some(y)) = (x, y) else {
        return (Leak::Unknown, "one run did more than the other");
    };
    if x.kind != y.kind {
        return (Leak::Unknown, "the runs took different kinds of steps");
    }
    if x.deadline_ns.is_some() && x.deadline_ns != y.deadline_ns {
        return (Leak::WallClock, "a timer was set for a different deadline");
    }
    if (x.task_id, x.channel_id, x.timer_id) != (y.task_id, y.channel_id, y.timer_id) {
        return (Leak::HashOrderOrRandomness, "the same kind of operation touched a different task, channel or timer");
    }
    (Leak::Unknown, "the runs differ in time or in a choice")
}

/// Whether the runs hold the same records up to order, ids and step numbers aside.
fn same_operations(a: &[TraceLine], b: &[TraceLine]) -> bool {
    let key = |l: &TraceLine| (l.kind as u8, l.t_ns, l.deadline_ns, l.choice);
    let sorted = |lines: &[TraceLine]| {
        let mut keys: Vec<_> = lines.iter().map(key).collect();
        keys.sort_unstable();
        keys
    };
    a.len() == b.len() && sorted(a) == sorted(b)
}
