//! How a run ends, and the failure report that says how to replay it.

use std::fmt;
use std::time::Duration;

use crate::determinism::Nondeterminism;
use crate::model::{Model, TokioReach};
use crate::time::{write_nanos, Instant};
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
