//! How a run ends, and the failure report that says how to replay it.

use std::fmt;
use std::time::Duration;

use crate::instant::{write_nanos, Instant};
use crate::model::{Model, TokioReach};
use crate::trace::{Fingerprint, TraceLine};
use crate::{Tape, TaskId};

/// A task that had not ended when the run deadlocked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockedTask {
    /// The task's id.
    pub id: TaskId,
    /// The task's name.
    pub name: String,
    /// What it waits on ("recv on `out`", "timer 3 at 50ms"); empty when it awaits
    /// something that is not a Lockstep primitive.
    pub waits: Vec<String>,
}

impl fmt::Display for BlockedTask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.waits.is_empty() {
            write!(f, "{} (a future that is not a Lockstep primitive)", self.name)
        } else {
            write!(f, "{} ({})", self.name, self.waits.join(", "))
        }
    }
}

/// The kind of failure.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailureKind {
    /// A task panicked.
    Panic {
        /// The task's name.
        task: String,
        /// The panic message.
        message: String,
    },
    /// Code reported a property violation with [`fail`](crate::fail).
    Violation {
        /// The task that reported it, if any.
        task: Option<String>,
        /// What was violated.
        message: String,
    },
    /// Tasks remain and nothing is pending: they wait forever.
    Deadlock {
        /// Every task that had not ended, with what it waits on.
        blocked: Vec<BlockedTask>,
    },
    /// The step limit was reached (a livelock, or a limit set too low).
    StepLimit {
        /// The limit.
        limit: u64,
    },
    /// The next event lies beyond the virtual-time limit.
    TimeLimit {
        /// The limit.
        limit: Duration,
    },
    /// A task did something the simulation cannot order: it was woken from another
    /// OS thread, used a blocking thread pool, or polled a real tokio timer. The run
    /// cannot be trusted past this point, so it stops.
    Escape {
        /// The task that escaped (`-` when none was running).
        task: String,
        /// What escaped, and how.
        cause: String,
    },
    /// The run did not replay: run again from the same seed or tape, it did
    /// something else (it failed, then passed on replay; or its trace differed).
    /// Every check replays the runs it reports and a share of the others; see
    /// [`crate::determinism`].
    Nondeterministic(Box<Nondeterminism>),
}

impl FailureKind {
    /// A short name for the class of bug: `panic`, `violation`, `deadlock`,
    /// `step-limit`, `time-limit`, `escape`, `nondeterminism`.
    pub fn class(&self) -> &'static str {
        match self {
            FailureKind::Panic { .. } => "panic",
            FailureKind::Violation { .. } => "violation",
            FailureKind::Deadlock { .. } => "deadlock",
            FailureKind::StepLimit { .. } => "step-limit",
            FailureKind::TimeLimit { .. } => "time-limit",
            FailureKind::Escape { .. } => "escape",
            FailureKind::Nondeterministic(_) => "nondeterminism",
        }
    }
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailureKind::Panic { task, message } => write!(f, "panic in task `{task}`: {message}"),
            FailureKind::Violation { task: Some(task), message } => {
                write!(f, "property violated (reported by `{task}`): {message}")
            }
            FailureKind::Violation { task: None, message } => write!(f, "property violated: {message}"),
            FailureKind::Deadlock { blocked } => {
                let n = blocked.len();
                write!(f, "deadlock: {n} task{} blocked: ", if n == 1 { "" } else { "s" })?;
                for (i, b) in blocked.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{b}")?;
                }
                Ok(())
            }
            FailureKind::StepLimit { limit } => write!(f, "step limit of {limit} steps reached (livelock?)"),
            FailureKind::TimeLimit { limit } => {
                f.write_str("virtual-time limit of ")?;
                write_nanos(f, u64::try_from(limit.as_nanos()).unwrap_or(u64::MAX))?;
                f.write_str(" reached (livelock?)")
            }
            FailureKind::Escape { task, cause } => write!(f, "escape from the simulation in task `{task}`: {cause}"),
            FailureKind::Nondeterministic(nd) => nd.kind_text(f),
        }
    }
}

/// A failed run: what went wrong, where, and the exact way to replay it.
///
/// Its `Debug` form is the report itself, so `sim.run().unwrap()` in a test prints
/// the report with the replay command.
#[derive(Clone, PartialEq, Eq)]
pub struct Failure {
    /// What went wrong.
    pub kind: FailureKind,
    /// Virtual time of the failure.
    pub time: Instant,
    /// Steps taken.
    pub step: u64,
    /// The test or scenario name, when known.
    pub name: Option<String>,
    /// The seed, for seeded strategies.
    pub seed: Option<u64>,
    /// The strategy, as in `random(seed=7)`.
    pub strategy: String,
    /// The choices made, which replay the run under any strategy.
    pub tape: Tape,
    /// The fingerprint of the run up to the failure.
    pub fingerprint: Fingerprint,
    /// The last records of the trace.
    pub trace_tail: Vec<TraceLine>,
    /// The command that replays this run.
    pub replay: String,
    /// The model of the world the run was made in (its replay needs the same).
    pub model: Model,
    /// Whether the failing run's order is one tokio's current-thread runtime could
    /// take (see [`crate::model`]); the report's `tokio model:` line.
    pub tokio_model: TokioReach,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.name.as_deref().unwrap_or("simulation");
        writeln!(f, "lockstep: {} in `{name}`", self.kind.class())?;
        writeln!(f, "  {}", self.kind)?;
        writeln!(f, "  at {} after {} steps", self.time, self.step)?;
        let model = match self.model {
            Model::Any => String::new(),
            model => format!("  model: {model}"),
        };
        match self.seed {
            Some(seed) => writeln!(f, "  seed: {seed}  strategy: {}{model}", self.strategy)?,
            None => writeln!(f, "  strategy: {}{model}", self.strategy)?,
        }
        writeln!(f, "  tape: {}", self.tape)?;
        writeln!(f, "  fingerprint: {}", self.fingerprint)?;
        writeln!(f, "  tokio model: {}", self.tokio_model)?;
        if !self.trace_tail.is_empty() {
            writeln!(f, "  last steps:")?;
            for line in &self.trace_tail {
                writeln!(f, "    {line}")?;
            }
        }
        write!(f, "  replay: {}", self.replay)
    }
}

impl fmt::Debug for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f)?;
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for Failure {}

/// The replay a report prints. With a template (a check's command, a tool's), fills it
/// in: `{seed}`, `{name}`, and `{tape}`, written for a single-quoted shell word (each
/// `'` as `'\''`). Without one (a raw [`Sim`](crate::Sim)), the Rust that builds the
/// replaying simulation: `Sim::new(Config::replay("<tape>".parse()?))`, or
/// `Sim::new(Config::random(<seed>))` when only the seed is known; under
/// [`Model::Tokio`] the configuration ends in `.model(Model::Tokio)`.
pub(crate) fn replay_command(
    template: Option<&str>,
    name: Option<&str>,
    seed: Option<u64>,
    tape: Option<&Tape>,
    model: Model,
) -> String {
    let Some(template) = template else {
        let model = if model == Model::Tokio { ".model(Model::Tokio)" } else { "" };
        return match (tape, seed) {
            (Some(tape), _) => format!("Sim::new(Config::replay({:?}.parse()?){model})", tape.to_string()),
            (None, Some(seed)) => format!("Sim::new(Config::random({seed}){model})"),
            (None, None) => format!("Sim::new(Config::default(){model})"),
        };
    };
    let tape = tape.map_or_else(String::new, |t| t.to_string().replace('\'', "'\\''"));
    template
        .replace("{seed}", &seed.map_or_else(|| "-".to_string(), |s| s.to_string()))
        .replace("{tape}", &tape)
        .replace("{name}", name.unwrap_or("-"))
}

/// What differed between two runs that should have been the same, read off the
/// first record where their traces differ. The first that applies, in this order:
/// an OS thread (a `foreign-wake` record in either run); a name (the records are
/// the same but for a task or channel name); a value (the same but for the message
/// value); an order (both runs hold the same records, in another order); a time (the
/// same but for the virtual time or the timer deadline); an order again (the same
/// kind of operation on another task, channel or timer); the operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Difference {
    /// A waker was invoked from another OS thread in one of the runs (a
    /// `foreign-wake` record).
    OsThread,
    /// The same record names a different task or channel, or a channel that no
    /// record shows was created under another name.
    Name,
    /// The same send or receive carried a different value (on a channel that
    /// fingerprints its values).
    Value,
    /// The same record happened at another virtual time, or set a timer for
    /// another deadline.
    Time,
    /// Both runs did the same operations in a different order, or the same kind of
    /// operation on another task, channel or timer.
    Order,
    /// The runs did different operations: another kind of step, or one run ended
    /// where the other went on.
    Operations,
    /// Every record is the same, but the outcome differs (a failure message, or a
    /// verdict computed from state outside the simulation).
    Outcome,
    /// The runs differed, but no two re-runs with the full trace kept differed: the
    /// leak is intermittent, and only the fingerprints are known.
    NotLocated,
}

impl Difference {
    /// Where a difference of this kind can come from.
    pub(crate) fn sources(self) -> &'static str {
        match self {
            Difference::OsThread => "a waker invoked from an OS thread (a thread the code started, a blocking pool)",
            Difference::Name => {
                "a name built from hash-map iteration order, a counter that outlives a run, or unseeded randomness"
            }
            Difference::Value => {
                "a value computed from hash-map iteration order, the wall clock, state that outlives a run, or unseeded randomness"
            }
            Difference::Time => {
                "a duration or deadline computed from the wall clock, state that outlives a run, hash-map iteration order, or unseeded randomness"
            }
            Difference::Order => {
                "operations issued in hash-map iteration order, or a branch taken on unseeded randomness or state that outlives a run"
            }
            Difference::Operations => "a branch taken on state from outside the simulation (a counter that outlives a run, the wall clock, hash-map iteration order, unseeded randomness)",
            Difference::Outcome => "a verdict or failure message computed from state outside the simulation",
            Difference::NotLocated => "an intermittent leak: an OS thread, the wall clock, or state shared with other runs",
        }
    }
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Difference::OsThread => "an OS thread",
            Difference::Name => "a name",
            Difference::Value => "a value",
            Difference::Time => "a time",
            Difference::Order => "an order",
            Difference::Operations => "the operations",
            Difference::Outcome => "the outcome",
            Difference::NotLocated => "the fingerprint (the step was not located)",
        })
    }
}

/// Two runs of one seed (or one tape) differed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Nondeterminism {
    /// The test or scenario name, when known.
    pub name: Option<String>,
    /// The seed that was run twice, for seeded strategies.
    pub seed: Option<u64>,
    /// The first run's tape (it replays that run's choices).
    pub tape: Tape,
    /// The two runs' outcomes: `None` for a pass, else the failure's class.
    pub outcomes: [Option<&'static str>; 2],
    /// The first step at which the runs differ (0 when not located, or when only
    /// the outcome differs).
    pub step: u64,
    /// The virtual time of that step.
    pub time: Instant,
    /// The first run's record there; `None` when that run had already ended.
    pub first: Option<TraceLine>,
    /// The second run's record there; `None` when that run had already ended.
    pub second: Option<TraceLine>,
    /// The fingerprints of the two runs.
    pub fingerprints: [Fingerprint; 2],
    /// What differed.
    pub difference: Difference,
    /// The difference in words, as in "timer 3 of task `a` is set for 40ms in the
    /// first run, 41ms in the second".
    pub evidence: String,
    /// The command that replays the first run.
    pub replay: String,
}

impl Nondeterminism {
    /// One line: what happened, and where the runs first differ.
    pub(crate) fn summary(&self) -> String {
        let which = match self.seed {
            Some(seed) => format!("seed {seed}"),
            None => "the run".to_string(),
        };
        let what = match self.outcomes {
            [Some(class), None] => format!("{which} failed ({class}), then passed on replay"),
            [None, Some(class)] => format!("{which} passed, then failed ({class}) on replay"),
            [Some(a), Some(b)] if a != b => format!("{which} failed ({a}), then failed differently ({b}) on replay"),
            _ => format!("{which} ran twice and differed"),
        };
        match self.difference {
            Difference::NotLocated | Difference::Outcome => format!("{what}; what differed: {}", self.difference),
            _ => format!("{what}; first difference at step {} (t={}): {}", self.step, self.time, self.difference),
        }
    }
}

impl fmt::Display for Nondeterminism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.name.as_deref().unwrap_or("simulation");
        writeln!(f, "lockstep: nondeterminism in `{name}`: {}", self.summary())?;
        self.write_details(f)?;
        write!(f, "\n  replay: {}", self.replay)
    }
}

impl Nondeterminism {
    /// The lines under the headline (no trailing newline).
    fn write_details(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show =
            |line: &Option<TraceLine>| line.as_ref().map_or("(the run had ended)".to_string(), |l| l.to_string());
        if !matches!(self.difference, Difference::NotLocated | Difference::Outcome) {
            writeln!(f, "  first run:  {}", show(&self.first))?;
            writeln!(f, "  second run: {}", show(&self.second))?;
        }
        writeln!(f, "  what differed: {}: {}", self.difference, self.evidence)?;
        writeln!(f, "  it can come from: {}", self.difference.sources())?;
        write!(f, "  fingerprints: {} vs {}", self.fingerprints[0], self.fingerprints[1])
    }

    /// The report's lines as a [`FailureKind`] prints them.
    pub(crate) fn kind_text(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "nondeterministic: {}", self.summary())?;
        self.write_details(f)
    }
}

impl std::error::Error for Nondeterminism {}
