//! Replaying a tape.

use super::{ChoicePoint, Strategy};
use crate::Tape;

/// Takes each choice from a tape; past its end, continues canonically.
///
/// When the run's choice point has a different number of options than the tape
/// recorded, the tape no longer matches the code: the strategy takes the recorded
/// index if it is still in range (0 otherwise) and reports [`Strategy::diverged`].
#[derive(Clone, Debug)]
pub struct Replay {
    tape: Tape,
    pos: usize,
    diverged: bool,
}

impl Replay {
    /// A strategy that replays `tape`.
    pub fn new(tape: Tape) -> Replay {
        Replay { tape, pos: 0, diverged: false }
    }
}

impl Strategy for Replay {
    fn choose(&mut self, point: &ChoicePoint<'_>) -> usize {
        let Some(choice) = self.tape.choices().get(self.pos) else {
            return 0;
        };
        self.pos += 1;
        if choice.options as usize != point.options {
            self.diverged = true;
        }
        let index = choice.index as usize;
        if index < point.options {
            index
        } else {
            0
        }
    }

    fn describe(&self) -> String {
        format!("replay({})", self.tape)
    }

    fn diverged(&self) -> bool {
        self.diverged
    }
}
