//! What a run leaves behind as it goes: its trace (and fingerprint), its tape of
//! choices with their identities, where the run stood at each choice, and, when the
//! strategy asks for them, the footprint of the running step.

use std::sync::Arc;

use super::identities::RawIdentity;
use crate::access::{Access, Footprint};
use crate::instant::Instant;
use crate::trace::{Fingerprint, NameOf, TraceBuf, TraceRecord};
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

/// The trace, the tape and the step's footprint.
pub(super) struct Recorder {
    trace: TraceBuf,
    tape: Vec<Choice>,
    tape_ids: Vec<RawIdentity>,
    /// Where the run stood at each choice on `tape`, just before it was made.
    marks: Vec<Mark>,
    /// The poll watchdog's stamp, told every choice, for a run that no seed replays.
    watch: Option<Arc<Stamp>>,
    /// What the current step touched, when the strategy asks for footprints.
    footprint: Option<Vec<Access>>,
}

impl Recorder {
    pub(super) fn new(trace: TraceBuf, footprints: bool) -> Recorder {
        Recorder {
            trace,
            tape: Vec::new(),
            tape_ids: Vec::new(),
            marks: Vec::new(),
            watch: None,
            footprint: footprints.then(Vec::new),
        }
    }

    // ---- trace ----

    /// Appends a record to the trace.
    #[inline]
    pub(super) fn record(&mut self, record: TraceRecord) {
        self.trace.push(record);
    }

    /// Appends a record of a message to the trace, with the message's `Debug` text
    /// (kept beside the record, never fingerprinted).
    pub(super) fn record_with_text(&mut self, record: TraceRecord, text: Option<String>) {
        self.trace.push_with_text(record, text);
    }

    /// Folds a task's or channel's name into the fingerprint.
    pub(super) fn fold_name(&mut self, of: NameOf, id: u32, name: &str) {
        self.trace.fold_name(of, id, name);
    }

    pub(super) fn trace(&self) -> &TraceBuf {
        &self.trace
    }

    // ---- tape ----

    /// Puts `choice` on the tape with the identity of what it picked, noting where
    /// the run stood just before it (and telling the watchdog, when it records
    /// choices).
    pub(super) fn choice(&mut self, step: u64, time: Instant, choice: Choice, picked: RawIdentity) {
        self.marks.push(Mark { step, time, fingerprint: self.trace.fingerprint() });
        if let Some(stamp) = &self.watch {
            stamp.choice(choice);
        }
        self.tape.push(choice);
        self.tape_ids.push(picked);
    }

    /// Every choice so far, canonical ones included.
    pub(super) fn tape(&self) -> &[Choice] {
        &self.tape
    }

    /// The identities of what each choice on the tape picked.
    pub(super) fn tape_ids(&self) -> &[RawIdentity] {
        &self.tape_ids
    }

    pub(super) fn marks(&self) -> &[Mark] {
        &self.marks
    }

    pub(super) fn set_watch(&mut self, stamp: Option<Arc<Stamp>>) {
        self.watch = stamp;
    }

    // ---- footprints ----

    /// Whether footprints are collected.
    #[inline(always)]
    pub(super) fn collecting(&self) -> bool {
        self.footprint.is_some()
    }

    /// Notes that the current step touched `access` (when footprints are collected).
    #[inline(always)]
    pub(super) fn touch(&mut self, access: Access) {
        if self.footprint.is_some() {
            self.push_access(access);
        }
    }

    /// The out-of-line half of [`Recorder::touch`]: the common path (nothing
    /// collected) stays a single test in the primitives.
    #[cold]
    #[inline(never)]
    pub(super) fn push_access(&mut self, access: Access) {
        if let Some(f) = &mut self.footprint {
            f.push(access);
        }
    }

    /// Starts collecting the footprint of a new step.
    #[inline]
    pub(super) fn begin_footprint(&mut self) {
        if let Some(f) = &mut self.footprint {
            f.clear();
        }
    }

    /// The current step's footprint, when footprints are collected (hand it back
    /// with [`Recorder::recycle_footprint`]).
    pub(super) fn take_footprint(&mut self) -> Option<Footprint> {
        self.footprint.take().map(Footprint::new)
    }

    /// Hands back a footprint taken with [`Recorder::take_footprint`], to reuse it.
    pub(super) fn recycle_footprint(&mut self, footprint: Footprint) {
        let mut reuse = footprint.into_accesses();
        reuse.clear();
        self.footprint = Some(reuse);
    }
}
