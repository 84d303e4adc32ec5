//! The trace, written in one place: every record a run leaves is built here, one
//! method per kind of record, and nowhere else (`sim-core/tests/trace_writer.rs`
//! reads the sources to keep it so). A step's own record (its poll, timer firing or
//! delivery) is [`Recorder::step`]'s alone; the records of operations on channels and
//! other primitives come through [`Recorder::operation`], which takes no kind the
//! engine writes.

use super::Core;
use crate::instant::Instant;
use crate::trace::{MessageValue, NameOf, RecordKind, TraceBuf, TraceRecord};
use crate::{ChannelId, Choice, TaskId, TimerId};

/// Where a record is written: the step, the virtual time, and the running task.
#[derive(Clone, Copy, Debug)]
pub(super) struct Here {
    pub(super) step: u64,
    pub(super) time: Instant,
    pub(super) task: Option<TaskId>,
}

/// A timer as its records show it.
#[derive(Clone, Copy, Debug)]
pub(super) struct TimerRecord {
    pub(super) id: TimerId,
    pub(super) deadline: Instant,
    pub(super) name: u32,
}

/// What a step applies, as its record shows it.
#[derive(Clone, Copy, Debug)]
pub(super) enum StepRecord {
    /// A poll of the task.
    Poll(TaskId),
    /// A timer firing, with the task that owns the timer.
    TimerFire(Option<TaskId>, TimerRecord),
    /// A delivery on the channel.
    Deliver(ChannelId),
}

/// The trace of a run (and its fingerprint), with one writer per kind of record.
pub(super) struct Recorder {
    trace: TraceBuf,
}

impl Recorder {
    pub(super) fn new(trace: TraceBuf) -> Recorder {
        Recorder { trace }
    }

    pub(super) fn trace(&self) -> &TraceBuf {
        &self.trace
    }

    /// Folds a task's or channel's name into the fingerprint.
    pub(super) fn fold_name(&mut self, of: NameOf, id: u32, name: &str) {
        self.trace.fold_name(of, id, name);
    }

    /// A record at `here`, attributed to the running task.
    fn at(here: Here, kind: RecordKind) -> TraceRecord {
        let mut r = TraceRecord::new(here.step, here.time, kind);
        r.task = here.task;
        r
    }

    /// A step's own record: the poll, the timer firing or the delivery it applies,
    /// with the choice that picked it. Also a timer fired from inside a running step
    /// (a paused clock, `advance`), with no choice: it is the record its firing step
    /// would have written.
    pub(super) fn step(&mut self, here: Here, what: StepRecord, choice: Option<Choice>) {
        let mut r = TraceRecord::new(here.step, here.time, RecordKind::Poll);
        match what {
            StepRecord::Poll(task) => r.task = Some(task),
            StepRecord::TimerFire(owner, timer) => {
                r.kind = RecordKind::TimerFire;
                r.task = owner;
                r.timer = Some((timer.id, timer.deadline));
                r.timer_name = Some(timer.name);
            }
            StepRecord::Deliver(channel) => {
                r.kind = RecordKind::Deliver;
                r.channel = Some(channel);
            }
        }
        r.choice = choice;
        self.trace.push_record(r);
    }

    /// Task `id` was spawned by the running task (or by the driver).
    pub(super) fn spawn(&mut self, here: Here, id: TaskId) {
        let mut r = Recorder::at(here, RecordKind::Spawn);
        r.task = Some(id);
        self.trace.push_record(r);
    }

    /// Task `id` ended: aborted, or done (returned or panicked).
    pub(super) fn task_end(&mut self, here: Here, id: TaskId, aborted: bool) {
        let kind = if aborted { RecordKind::TaskAbort } else { RecordKind::TaskEnd };
        let mut r = TraceRecord::new(here.step, here.time, kind);
        r.task = Some(id);
        self.trace.push_record(r);
    }

    /// The running task set a timer.
    pub(super) fn timer_set(&mut self, here: Here, timer: TimerRecord) {
        self.timer(here, RecordKind::TimerSet, timer);
    }

    /// The running task dropped a timer before it fired.
    pub(super) fn timer_cancel(&mut self, here: Here, timer: TimerRecord) {
        self.timer(here, RecordKind::TimerCancel, timer);
    }

    fn timer(&mut self, here: Here, kind: RecordKind, timer: TimerRecord) {
        let mut r = Recorder::at(here, kind);
        r.timer = Some((timer.id, timer.deadline));
        r.timer_name = Some(timer.name);
        self.trace.push_record(r);
    }

    /// The running task's code made `choice` (a select, a user draw).
    pub(super) fn choose(&mut self, here: Here, choice: Choice) {
        let mut r = Recorder::at(here, RecordKind::Choose);
        r.choice = Some(choice);
        self.trace.push_record(r);
    }

    /// The running task reported a property violation.
    pub(super) fn violation(&mut self, here: Here) {
        self.trace.push_record(Recorder::at(here, RecordKind::Violation));
    }

    /// A wake-up of `task` came from another OS thread.
    pub(super) fn foreign_wake(&mut self, here: Here, task: Option<TaskId>) {
        let mut r = TraceRecord::new(here.step, here.time, RecordKind::ForeignWake);
        r.task = task;
        self.trace.push_record(r);
    }

    /// The running task did `kind` on `channel` (or another primitive), with the
    /// message's [`value_hash`](crate::trace::value_hash) when the channel
    /// fingerprints values and its `Debug` text (not fingerprinted) when it shows them.
    ///
    /// # Panics
    /// When `kind` is one the engine writes itself (a step's, a task's, a timer's, a
    /// choice's, a violation, a foreign wake-up): those have their own writers above.
    pub(super) fn operation(&mut self, here: Here, kind: RecordKind, channel: ChannelId, value: MessageValue) {
        assert!(is_operation(kind), "a `{}` record is the engine's to write, not a primitive's", kind.label());
        let mut r = Recorder::at(here, kind);
        r.channel = Some(channel);
        r.value = value.hash;
        self.trace.push_with_text(r, value.text);
    }
}

impl Core {
    /// The trace so far.
    pub(crate) fn trace(&self) -> &TraceBuf {
        self.trace.trace()
    }

    /// Records an operation on a channel (or another primitive) by the running task.
    pub(crate) fn record_channel(&mut self, kind: RecordKind, channel: ChannelId) {
        self.record_message(kind, channel, MessageValue::default());
    }

    /// Records a send or receive by the running task, with the message's
    /// [`value_hash`](crate::trace::value_hash) when the channel fingerprints values
    /// and its `Debug` text (not fingerprinted) when it shows them.
    pub(crate) fn record_message(&mut self, kind: RecordKind, channel: ChannelId, value: MessageValue) {
        self.trace.operation(self.here(), kind, channel, value);
    }
}

/// Whether records of `kind` are operations on a primitive, written through
/// [`Recorder::operation`].
fn is_operation(kind: RecordKind) -> bool {
    match kind {
        RecordKind::Poll
        | RecordKind::TimerFire
        | RecordKind::Deliver
        | RecordKind::Spawn
        | RecordKind::TaskEnd
        | RecordKind::TaskAbort
        | RecordKind::TimerSet
        | RecordKind::TimerCancel
        | RecordKind::Choose
        | RecordKind::Violation
        | RecordKind::ForeignWake => false,
        RecordKind::Send
        | RecordKind::Recv
        | RecordKind::Close
        | RecordKind::Notify
        | RecordKind::Notified
        | RecordKind::Read
        | RecordKind::Reserve
        | RecordKind::Join
        | RecordKind::Arrive
        | RecordKind::Init
        | RecordKind::Acquire
        | RecordKind::Release => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recorder() -> Recorder {
        Recorder::new(TraceBuf::new(crate::trace::TraceMode::Full))
    }

    const HERE: Here = Here { step: 1, time: Instant::ZERO, task: Some(TaskId(0)) };

    #[test]
    fn a_primitive_cannot_write_an_engine_record() {
        for kind in [RecordKind::Poll, RecordKind::Spawn, RecordKind::TimerFire, RecordKind::Choose] {
            let caught = std::panic::catch_unwind(|| {
                recorder().operation(HERE, kind, ChannelId(0), MessageValue::default());
            });
            assert!(caught.is_err(), "{kind:?} was accepted as an operation");
        }
        let mut rec = recorder();
        rec.operation(HERE, RecordKind::Send, ChannelId(0), MessageValue::default());
        assert_eq!(rec.trace().records().count(), 1);
    }
}
