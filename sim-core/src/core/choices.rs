//! The tape: every choice a run makes, with the identity of what it picked and where
//! the run stood just before it (the prefix search resumes from those marks), told to
//! the poll watchdog as it is made.

use std::sync::Arc;

use super::identities::RawIdentity;
use super::Core;
use crate::identity::EventIdentity;
use crate::instant::Instant;
use crate::trace::Fingerprint;
use crate::watchdog::Stamp;
use crate::Choice;

/// Where a run stood just before one of its choices (or at its end).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Mark {
    /// The step being taken (the run's last step, at its end).
    pub(crate) step: u64,
    /// The virtual time.
    pub(crate) time: Instant,
    /// The fingerprint of the trace so far.
    pub(crate) fingerprint: Fingerprint,
}

/// The tape of choices with their identities and marks.
pub(super) struct Tape {
    tape: Vec<Choice>,
    tape_ids: Vec<RawIdentity>,
    /// Where the run stood at each choice on `tape`, just before it was made.
    marks: Vec<Mark>,
    /// The poll watchdog's stamp, told every choice, for a run that no seed replays.
    watch: Option<Arc<Stamp>>,
}

impl Tape {
    pub(super) fn new() -> Tape {
        Tape { tape: Vec::new(), tape_ids: Vec::new(), marks: Vec::new(), watch: None }
    }

    /// Puts `choice` on the tape with the identity of what it picked, noting where
    /// the run stood just before it, `mark` (and telling the watchdog, when it records
    /// choices).
    pub(super) fn push(&mut self, mark: Mark, choice: Choice, picked: RawIdentity) {
        self.marks.push(mark);
        if let Some(stamp) = &self.watch {
            stamp.choice(choice);
        }
        self.tape.push(choice);
        self.tape_ids.push(picked);
    }

    /// Every choice so far, canonical ones included.
    pub(super) fn choices(&self) -> &[Choice] {
        &self.tape
    }

    /// The identities of what each choice on the tape picked.
    pub(super) fn identities(&self) -> &[RawIdentity] {
        &self.tape_ids
    }

    pub(super) fn marks(&self) -> &[Mark] {
        &self.marks
    }

    pub(super) fn set_watch(&mut self, stamp: Option<Arc<Stamp>>) {
        self.watch = stamp;
    }
}

impl Core {
    /// Where the run stands now, for the mark of a choice about to be made.
    pub(super) fn mark(&self) -> Mark {
        Mark { step: self.step.number, time: self.now(), fingerprint: self.trace.trace().fingerprint() }
    }

    /// Every choice made so far, canonical ones included.
    pub(crate) fn tape(&self) -> &[Choice] {
        self.tape.choices()
    }

    /// The identities of every recorded choice, resolved.
    pub(crate) fn tape_identities(&self) -> Vec<EventIdentity> {
        self.tape.identities().iter().map(|&raw| self.ids.resolve(raw)).collect()
    }

    /// Where the run stood at each recorded choice, just before it was made.
    pub(crate) fn marks(&self) -> &[Mark] {
        self.tape.marks()
    }

    /// Sets the poll watchdog's stamp, told every choice.
    pub(crate) fn set_watch(&mut self, stamp: Option<Arc<Stamp>>) {
        self.tape.set_watch(stamp);
    }
}
