//! Replaying a tape.

use super::{ChoiceKind, ChoicePoint, Policy};
use crate::identity::{EventIdentity, IdentityKind};
use crate::Tape;

/// Takes each choice from a tape; past its end, continues canonically.
///
/// A tape **without identities** (`t1:`) replays by position: the j-th choice point
/// takes the j-th recorded index. When the number of options differs from the
/// recording, the tape no longer matches the code: the recorded index is taken if
/// still in range (0 otherwise) and [`Policy::diverged`](super::Policy::diverged) reports it.
///
/// A tape **with identities** (`t2:`) replays by identity: at each choice point the
/// next recorded entry's event (or, for a selection, its selecting task and
/// sequence number) is looked for among the options. When it is there, it is taken
/// and the tape moves on; when it is not (an event the recording never had, say
/// from code added elsewhere), the canonical option is taken and the tape waits.
/// Harmless refactors (renamed locals, an extra event elsewhere) therefore replay to
/// the same failure. Entries left unmatched at the end mark the tape **stale**
/// ([`Policy::diverged`](super::Policy::diverged)): the code changed in a way that matters, and the run
/// continued canonically instead of failing to parse.
#[derive(Clone, Debug)]
pub struct Replay {
    tape: Tape,
    ids: Option<Vec<EventIdentity>>,
    pos: usize,
    diverged: bool,
}

impl Replay {
    /// A strategy that replays `tape`.
    pub fn new(tape: Tape) -> Replay {
        let ids = tape.identities().map(<[EventIdentity]>::to_vec);
        Replay { tape, ids, pos: 0, diverged: false }
    }

    fn by_position(&mut self, point: &ChoicePoint<'_>) -> usize {
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

    fn by_identity(&mut self, point: &ChoicePoint<'_>) -> usize {
        let Some(wanted) = self.ids.as_ref().and_then(|ids| ids.get(self.pos)) else {
            return 0;
        };
        let recorded = self.tape.choices()[self.pos];
        let found = match point.kind {
            ChoiceKind::Schedule => point.identities.iter().position(|id| id == wanted),
            _ => {
                let same_choice =
                    point.identity == Some(wanted) && matches!(wanted.kind, IdentityKind::Select | IdentityKind::User);
                same_choice.then(|| (recorded.index as usize).min(point.options - 1))
            }
        };
        match found {
            Some(index) => {
                // A different number of options is fine here: events added elsewhere.
                self.pos += 1;
                index
            }
            None => 0,
        }
    }
}

impl Policy for Replay {
    fn choose(&mut self, point: &ChoicePoint<'_>) -> usize {
        if self.ids.is_some() {
            self.by_identity(point)
        } else {
            self.by_position(point)
        }
    }

    fn describe(&self) -> String {
        format!("replay({})", self.tape)
    }

    fn wants_identities(&self) -> bool {
        self.ids.is_some()
    }

    fn diverged(&self) -> bool {
        self.diverged || (self.ids.is_some() && self.pos < self.tape.len())
    }
}
