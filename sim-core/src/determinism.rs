//! The determinism check: run the same seed twice and compare the runs.
//!
//! A simulation is a pure function of its code and its seed, unless something
//! outside it leaks in: the wall clock, iteration order of a `HashMap` with a random
//! hasher, an OS thread, randomness not drawn through [`choose`](crate::choose), a
//! counter that outlives a run. [`check_determinism`] runs a seed twice with the full
//! trace kept and compares the runs: their [fingerprints](crate::Fingerprint) (which cover
//! every step, every task and channel name, and the values of channels that
//! fingerprint them), their outcomes, and their traces record by record. When they
//! differ it names the first differing step, both runs' records there, and **what
//! differed** ([`Difference`]: a name, a value, a time, an order, …), read off the two
//! records rather than guessed, with the places such a difference can come from.
//!
//! Every check runs this comparison as it goes: whatever its search, the check
//! runner replays every failing run and a share of the passing ones (the check's
//! determinism share, 5% by default). A
//! mismatch is a failure of its own kind, [`FailureKind::Nondeterministic`].
//!
//! ```
//! use std::sync::atomic::{AtomicU64, Ordering};
//! use std::time::Duration;
//! use sim_core::determinism::{check_determinism, Difference};
//! use sim_core::Config;
//!
//! // A counter that lives outside the simulation picks the sleep: the second run differs.
//! static CALLS: AtomicU64 = AtomicU64::new(0);
//! let err = check_determinism(&Config::default(), 7, || async {
//!     let ms = 10 + CALLS.fetch_add(1, Ordering::Relaxed);
//!     sim_core::time::sleep(Duration::from_millis(ms)).await;
//! })
//! .unwrap_err();
//! assert_eq!(err.difference, Difference::Time);
//! assert!(err.to_string().contains("first difference at step 1 (t=0s)"));
//! ```

use std::future::Future;
use std::ops::Range;

use crate::report::{replay_command, FailureKind};
use crate::strategy::StrategyKind;
use crate::time::Instant;
use crate::trace::{Fingerprint, TraceLine, TraceMode};
use crate::{Config, Failure, Sim, Tape};

pub use crate::report::{Difference, Nondeterminism};

/// Runs `seed` twice under `cfg` (its strategy replaced by the seed's random one, its
/// trace mode by [`TraceMode::Full`]) and compares the runs: their fingerprints,
/// their outcomes and their traces.
///
/// A run that fails is still a run: two identical failing runs are deterministic.
///
/// # Errors
/// [`Nondeterminism`] naming the first differing step and what differed there.
///
/// # Panics
/// When a panic escapes a run (the [`SeedGuard`] names the seed first).
pub fn check_determinism<F, Fut>(cfg: &Config, seed: u64, f: F) -> Result<Fingerprint, Box<Nondeterminism>>
where
    F: Fn() -> Fut,
    Fut: Future<Output = ()> + 'static,
{
    let config = cfg.clone().strategy(StrategyKind::Random { seed }).trace(TraceMode::Full);
    let mut run = |config: Config| {
        let _guard = SeedGuard::new(&config);
        let mut sim = Sim::new(config.clone());
        let future = sim.enter(&f);
        let outcome = sim.block_on(future).map(|_| ());
        Observed::of(&sim, &outcome)
    };
    let first = run(config.clone());
    verify(&config, &first, &mut run)?;
    Ok(first.fingerprint)
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

/// What one run left behind, for comparing it with another run of the same
/// configuration.
pub(crate) struct Observed {
    pub(crate) fingerprint: Fingerprint,
    /// The failure, if the run failed.
    pub(crate) failure: Option<Box<Failure>>,
    /// The whole trace, when the run kept it.
    lines: Option<Vec<TraceLine>>,
    /// Task names by id, then channel names by id.
    names: (Vec<String>, Vec<String>),
    foreign_wake: bool,
    /// What the run chose, trailing canonical choices left out.
    pub(crate) tape: Tape,
    /// The strategy, as in `random(seed=7)`.
    strategy: String,
    /// Whether the run's order is one tokio could take.
    tokio_model: crate::model::TokioReach,
}

impl Observed {
    /// Observes `sim` after a run that ended with `outcome`.
    pub(crate) fn of(sim: &Sim, outcome: &Result<(), Box<Failure>>) -> Observed {
        let trace = (sim.config().trace == TraceMode::Full).then(|| sim.trace().lines);
        Observed {
            fingerprint: sim.fingerprint(),
            failure: outcome.as_ref().err().cloned(),
            lines: trace,
            names: sim.names(),
            foreign_wake: sim.saw_foreign_wake(),
            tape: sim.tape(),
            strategy: sim.strategy_description(),
            tokio_model: sim.tokio_reach(),
        }
    }

    fn class(&self) -> Option<&'static str> {
        self.failure.as_ref().map(|f| f.kind.class())
    }

    /// Whether two runs did the same thing.
    pub(crate) fn same(&self, other: &Observed) -> bool {
        self.fingerprint == other.fingerprint
            && self.failure.as_ref().map(|f| &f.kind) == other.failure.as_ref().map(|f| &f.kind)
            && self.names == other.names
            && match (&self.lines, &other.lines) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            }
            && !self.foreign_wake
            && !other.foreign_wake
    }
}

/// How many more runs, with the full trace kept, are spent looking for the first
/// differing step once two runs differed.
const LOCATE_RUNS: usize = 8;

/// Runs the run that `first` observed once more (through `rerun`, under `config`
/// with the full trace kept) and compares the two. When they differ, re-runs it
/// until two full traces differ the way the two runs did, and names the first
/// differing step and what differed.
pub(crate) fn verify(
    config: &Config,
    first: &Observed,
    rerun: &mut dyn FnMut(Config) -> Observed,
) -> Result<(), Box<Nondeterminism>> {
    let full = config.clone().trace(TraceMode::Full);
    let second = rerun(full.clone());
    if first.same(&second) {
        return Ok(());
    }
    // A full trace that did what the first run did, to compare with the second's.
    let mut like_first = first.lines.is_some().then_some(first);
    let mut found = Vec::new();
    if like_first.is_none() {
        for _ in 0..LOCATE_RUNS {
            let run = rerun(full.clone());
            let hit = run.fingerprint == first.fingerprint && run.class() == first.class();
            found.push(run);
            if hit {
                break;
            }
        }
        like_first = found
            .iter()
            .find(|r| r.fingerprint == first.fingerprint && r.class() == first.class())
            .or_else(|| found.iter().find(|r| !r.same(&second)));
    }
    let (step, time, lines, difference, evidence) = match like_first {
        Some(a) => locate(a, &second),
        None => (
            0,
            Instant::ZERO,
            [None, None],
            Difference::NotLocated,
            format!("{LOCATE_RUNS} more runs with the full trace kept all did what the second run did"),
        ),
    };
    let [first_line, second_line] = lines;
    let name = config.name.clone();
    let seed = config.strategy.seed();
    let replay = match &first.failure {
        Some(failure) => failure.replay.clone(),
        None => replay_command(config.replay_hint.as_deref(), name.as_deref(), seed, Some(&first.tape), config.model),
    };
    Err(Box::new(Nondeterminism {
        name,
        seed,
        tape: first.tape.clone(),
        outcomes: [first.class(), second.class()],
        step,
        time,
        first: first_line,
        second: second_line,
        fingerprints: [first.fingerprint, second.fingerprint],
        difference,
        evidence,
        replay,
    }))
}

/// [`verify`], with a mismatch wrapped in a [`Failure`] of kind
/// [`FailureKind::Nondeterministic`]: the first run's failure report (its tape,
/// trace tail and replay) when it failed, else a report built from the
/// nondeterminism.
pub(crate) fn confirm(
    config: &Config,
    first: &Observed,
    rerun: &mut dyn FnMut(Config) -> Observed,
) -> Result<(), Box<Failure>> {
    match verify(config, first, rerun) {
        Ok(()) => Ok(()),
        Err(nd) => Err(into_failure(config, first, nd)),
    }
}

/// `nd` as a [`Failure`] of kind [`FailureKind::Nondeterministic`]: the first run's
/// failure report (its tape, trace tail and replay) when it failed, else a report
/// built from the nondeterminism.
pub(crate) fn into_failure(config: &Config, first: &Observed, nd: Box<Nondeterminism>) -> Box<Failure> {
    match &first.failure {
        Some(failure) => Box::new(Failure { kind: FailureKind::Nondeterministic(nd), ..(**failure).clone() }),
        None => Box::new(Failure {
            time: nd.time,
            step: nd.step,
            name: nd.name.clone(),
            seed: nd.seed,
            strategy: first.strategy.clone(),
            tape: nd.tape.clone(),
            fingerprint: nd.fingerprints[0],
            trace_tail: Vec::new(),
            replay: nd.replay.clone(),
            model: config.model,
            tokio_model: first.tokio_model.clone(),
            kind: FailureKind::Nondeterministic(nd),
        }),
    }
}

type Located = (u64, Instant, [Option<TraceLine>; 2], Difference, String);

/// The first step where two full traces differ, and what differed there.
fn locate(a: &Observed, b: &Observed) -> Located {
    let (empty_a, empty_b) = (Vec::new(), Vec::new());
    let la = a.lines.as_ref().unwrap_or(&empty_a);
    let lb = b.lines.as_ref().unwrap_or(&empty_b);
    let index = (0..la.len().max(lb.len())).find(|&i| la.get(i) != lb.get(i));
    let Some(index) = index else {
        let (difference, evidence) = same_records(a, b);
        return (0, Instant::ZERO, [None, None], difference, evidence);
    };
    let (x, y) = (la.get(index), lb.get(index));
    let at = x.or(y).expect("one run has a record here");
    let (difference, evidence) = classify(a, b, la, lb, x, y);
    (at.step, Instant::from_nanos(at.t_ns), [x.cloned(), y.cloned()], difference, evidence)
}

/// What differed between two runs whose records are all the same.
fn same_records(a: &Observed, b: &Observed) -> (Difference, String) {
    if a.foreign_wake || b.foreign_wake {
        return (Difference::OsThread, "a waker was invoked from another OS thread".to_string());
    }
    let tables = [("task", &a.names.0, &b.names.0), ("channel", &a.names.1, &b.names.1)];
    for (what, x, y) in tables {
        if let Some(i) = (0..x.len().max(y.len())).find(|&i| x.get(i) != y.get(i)) {
            let show = |n: Option<&String>| n.map_or("(none)".to_string(), |n| format!("`{n}`"));
            let evidence =
                format!("{what} {i} is named {} in the first run, {} in the second", show(x.get(i)), show(y.get(i)));
            return (Difference::Name, evidence);
        }
    }
    let outcome = |r: &Observed| r.failure.as_ref().map_or("passed".to_string(), |f| f.kind.to_string());
    let evidence = format!(
        "every record is the same; the first run {}, the second {}",
        outcome_text(&outcome(a)),
        outcome_text(&outcome(b))
    );
    (Difference::Outcome, evidence)
}

fn outcome_text(text: &str) -> String {
    if text == "passed" {
        text.to_string()
    } else {
        format!("failed: {text}")
    }
}

fn classify(
    a: &Observed,
    b: &Observed,
    la: &[TraceLine],
    lb: &[TraceLine],
    x: Option<&TraceLine>,
    y: Option<&TraceLine>,
) -> (Difference, String) {
    if a.foreign_wake || b.foreign_wake {
        return (Difference::OsThread, "a waker was invoked from another OS thread".to_string());
    }
    let (Some(x), Some(y)) = (x, y) else {
        let (ended, other) = if x.is_none() { ("first", y) } else { ("second", x) };
        let other = other.map_or(String::new(), |l| format!(" (`{l}`)"));
        return (Difference::Operations, format!("the {ended} run ended here; the other went on{other}"));
    };
    let unnamed = |l: &TraceLine| TraceLine { task: None, channel: None, timer: None, ..l.clone() };
    if unnamed(x) == unnamed(y) {
        let evidence = if x.task != y.task {
            format!(
                "task {} is named `{}` in the first run, `{}` in the second",
                x.task_id.unwrap_or_default(),
                x.task.as_deref().unwrap_or("-"),
                y.task.as_deref().unwrap_or("-")
            )
        } else {
            format!(
                "channel {} is named `{}` in the first run, `{}` in the second",
                x.channel_id.unwrap_or_default(),
                x.channel.as_deref().unwrap_or("-"),
                y.channel.as_deref().unwrap_or("-")
            )
        };
        return (Difference::Name, evidence);
    }
    let valueless = |l: &TraceLine| TraceLine { value: None, ..l.clone() };
    if valueless(x) == valueless(y) {
        let hex = |v: Option<u64>| v.map_or("-".to_string(), |v| format!("{v:016x}"));
        let evidence = format!(
            "the message {} on channel `{}` has value hash {} in the first run, {} in the second",
            if x.kind == crate::trace::RecordKind::Send { "sent" } else { "received" },
            x.channel.as_deref().unwrap_or("-"),
            hex(x.value),
            hex(y.value)
        );
        return (Difference::Value, evidence);
    }
    if same_operations(la, lb) {
        return (Difference::Order, "both runs did the same operations, in a different order".to_string());
    }
    let timeless = |l: &TraceLine| TraceLine { t_ns: 0, deadline_ns: None, ..l.clone() };
    if timeless(x) == timeless(y) {
        let owner = x.task.as_deref().map_or(String::new(), |t| format!(" of task `{t}`"));
        let evidence = match (x.timer_id, x.deadline_ns, y.deadline_ns) {
            (Some(id), Some(p), Some(q)) if p != q => format!(
                "timer {id}{owner} is set for {} in the first run, {} in the second",
                Instant::from_nanos(p),
                Instant::from_nanos(q)
            ),
            _ => format!(
                "the same {} happens at {} in the first run, {} in the second",
                x.kind.label(),
                Instant::from_nanos(x.t_ns),
                Instant::from_nanos(y.t_ns)
            ),
        };
        return (Difference::Time, evidence);
    }
    if x.kind == y.kind {
        let evidence =
            format!("the same kind of operation ({}) touched another task, channel or timer", x.kind.label());
        return (Difference::Order, evidence);
    }
    (
        Difference::Operations,
        format!("the first run took a {} step, the second a {} step", x.kind.label(), y.kind.label()),
    )
}

/// Whether the runs hold the same records up to order (ids and step numbers aside).
fn same_operations(a: &[TraceLine], b: &[TraceLine]) -> bool {
    let key =
        |l: &TraceLine| (l.kind as u8, l.t_ns, l.task.clone(), l.channel.clone(), l.deadline_ns, l.choice, l.value);
    let sorted = |lines: &[TraceLine]| {
        let mut keys: Vec<_> = lines.iter().map(key).collect();
        keys.sort_unstable();
        keys
    };
    a.len() == b.len() && sorted(a) == sorted(b)
}
/// While a run is in progress, reports its seed (or tape) and replay command on
/// standard error if a panic unwinds through it: a panic that escapes the engine
/// (from the check's closure itself, or from a destructor) still says which seed
/// it was. Task panics do not escape: they become [`Failure`]s.
#[derive(Debug)]
pub struct SeedGuard<'a> {
    config: &'a Config,
}

impl<'a> SeedGuard<'a> {
    /// Guards the run configured by `config`.
    pub fn new(config: &'a Config) -> SeedGuard<'a> {
        SeedGuard { config }
    }

    /// What the guard prints.
    pub fn message(&self) -> String {
        let config = self.config;
        let seed = config.strategy.seed();
        let tape = match &config.strategy {
            StrategyKind::Replay(tape) => tape.clone(),
            _ => Tape::new(),
        };
        let which = match (&config.strategy, seed) {
            (_, Some(seed)) => format!("seed {seed}"),
            (StrategyKind::Replay(tape), None) => format!("tape {tape}"),
            (StrategyKind::Pct { seed, depth, .. }, None) => format!("PCT seed {seed} (depth {depth})"),
            (StrategyKind::Fifo, None) => "the canonical order".to_string(),
            (other, None) => format!("{other:?}"),
        };
        let name = config.name.as_deref();
        let tape = matches!(config.strategy, StrategyKind::Replay(_)).then_some(&tape);
        let replay = replay_command(config.replay_hint.as_deref(), name, seed, tape, config.model);
        format!(
            "lockstep: failing {which} of `{}`: a panic escaped the simulation (no failure report)\n  replay: {replay}",
            name.unwrap_or("simulation")
        )
    }
}

impl Drop for SeedGuard<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("{}", self.message());
        }
    }
}
