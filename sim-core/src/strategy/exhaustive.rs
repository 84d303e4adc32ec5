//! Depth-first enumeration of every order.
//!
//! Each run is driven by a tape prefix (replayed, then canonical) and reports the full
//! tape it recorded. The next prefix flips the deepest choice that still has an
//! untried option. Runs are distinct by construction, and when the enumeration ends
//! every reachable sequence of choices has been run exactly once.

use crate::{Choice, Tape};

/// The result of an exhaustive enumeration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exploration {
    /// Number of runs (distinct choice sequences) explored.
    pub runs: usize,
    /// Whether every order was explored (false when the bound cut it short).
    pub exhausted: bool,
}

/// Runs `run` once for every distinct sequence of choices, up to `max_runs` runs.
///
/// `run` receives the tape prefix to replay and must return the **full** tape its
/// run recorded (see [`Sim::recorded_tape`](crate::Sim::recorded_tape)).
pub fn explore_all(max_runs: usize, mut run: impl FnMut(&Tape) -> Tape) -> Exploration {
    let mut prefix = Tape::new();
    let mut runs = 0;
    loop {
        if runs == max_runs {
            return Exploration { runs, exhausted: false };
        }
        let recorded = run(&prefix);
        runs += 1;
        match next_prefix(&recorded) {
            Some(next) => prefix = next,
            None => return Exploration { runs, exhausted: true },
        }
    }
}

/// The prefix of the next run after one that recorded `tape`, or `None` when done.
pub fn next_prefix(tape: &Tape) -> Option<Tape> {
    let choices = tape.choices();
    let pos = choices.iter().rposition(|c| c.index + 1 < c.options)?;
    let mut next = choices[..pos].to_vec();
    next.push(Choice { options: choices[pos].options, index: choices[pos].index + 1 });
    Some(Tape::from_choices(next))
}
