//! The critical pair: the two events whose order decides the outcome.

use std::fmt;

use super::run_once;
use crate::time::Instant;
use crate::trace::{RecordKind, TraceLine, TraceMode};
use crate::{Choice, Config, Failure, Sim, StrategyKind, Tape};

/// The choice point where a failing run and the nearest passing run part, and the
/// event each took there.
///
/// Its `Display` form reads `timer 1 of task `driver` at 50ms vs timer 0 of task
/// `throttle` at 50ms`, the failing run's event first, followed by where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CriticalPair {
    /// Which choice of the failing tape was flipped (from 0).
    pub position: usize,
    /// The choice the failing run made there (a departure from the canonical order).
    pub choice: Choice,
    /// The step of the choice point.
    pub step: u64,
    /// The virtual time of the choice point.
    pub time: Instant,
    /// The event the failing run took there, in words.
    pub failing: String,
    /// The event the passing run took there instead, in words.
    pub passing: String,
    /// The failing run's tape (trailing canonical choices left out).
    pub failing_tape: Tape,
    /// The tape of the nearest passing run: the failing one with this choice canonical.
    pub passing_tape: Tape,
}

impl fmt::Display for CriticalPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} vs {} (step #{}, choice {} of {}: the failing run takes the first, the nearest passing run the second)",
            self.failing, self.passing, self.step, self.choice.index, self.choice.options
        )
    }
}

/// Finds the nearest passing schedule to the failing `tape` and the pair of events
/// whose order decides the outcome.
///
/// Runs `tape` with its full trace, then, for each departure from the canonical
/// order, earliest first, the same tape with that one choice set back to 0; the
/// first such run that passes is the nearest passing schedule. The two runs are the
/// same up to the flipped choice, so the first record where their traces differ is
/// that choice point in both: the event each took there is the pair. `template`
/// gives the name and limits; its strategy and trace mode are replaced.
///
/// Returns `None` when `tape` does not fail, or when no single flip passes (then
/// shrink it first: [`shrink_tape`](super::shrink_tape)).
pub fn critical_pair(
    template: &Config,
    tape: &Tape,
    property: impl Fn(&mut Sim) -> Result<(), Box<Failure>>,
) -> Option<CriticalPair> {
    let config = |tape: Tape| template.clone().strategy(StrategyKind::Replay(tape)).trace(TraceMode::Full);
    let failing = run_once(config(tape.clone()), &property);
    failing.result.as_ref().err()?;
    let failing_trace = failing.trace?;
    let choices = failing.recorded.choices();
    choices.iter().enumerate().filter(|(_, c)| c.is_departure()).find_map(|(position, &choice)| {
        let mut flipped = choices.to_vec();
        flipped[position].index = 0;
        let passing = run_once(config(Tape::from_choices(flipped)), &property);
        passing.result.as_ref().ok()?;
        let passing_trace = passing.trace?;
        let at = failing_trace.lines.iter().zip(&passing_trace.lines).position(|(a, b)| a != b)?;
        let (fail_line, pass_line) = (&failing_trace.lines[at], &passing_trace.lines[at]);
        Some(CriticalPair {
            position,
            choice,
            step: fail_line.step,
            time: Instant::from_nanos(fail_line.t_ns),
            failing: describe_event(fail_line),
            passing: describe_event(pass_line),
            failing_tape: failing.recorded.trimmed(),
            passing_tape: passing.recorded.trimmed(),
        })
    })
}

/// Names the event of a trace record in words: `poll of task `driver` at 50ms`,
/// `timer 0 of task `throttle` at 50ms`, `delivery on `in` at 3ms`, `pick 1 of 2 by
/// task `main` at 0s` (a select or a `choose`).
pub fn describe_event(line: &TraceLine) -> String {
    let task = line.task.as_deref().map(|t| format!(" of task `{t}`")).unwrap_or_default();
    let what = match line.kind {
        RecordKind::Poll => format!("poll{task}"),
        RecordKind::TimerFire => format!("timer {}{task}", line.timer_id.unwrap_or_default()),
        RecordKind::Deliver => format!("delivery on `{}`", line.channel.as_deref().unwrap_or("?")),
        RecordKind::Choose => {
            let [options, index] = line.choice.unwrap_or_default();
            let by = line.task.as_deref().map(|t| format!(" by task `{t}`")).unwrap_or_default();
            format!("pick {index} of {options}{by}")
        }
        _ => return line.to_string(),
    };
    format!("{what} at {}", Instant::from_nanos(line.t_ns))
}
