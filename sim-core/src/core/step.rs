//! The step being taken: its number, the task it polls and that task's waker. A step
//! begins with [`Core::begin_step`], which writes its own trace record (through
//! [`super::record`]); a poll of a task is bracketed by [`Core::begin_poll`] and
//! [`Core::end_poll`]. The loop that takes steps is [`crate::sim`]'s.

use std::task::{RawWakerVTable, Waker};

use super::identities::TaskState;
use super::record::{Here, StepRecord};
use super::{Core, Event};
use crate::access::Access;
use crate::{Choice, TaskId};

/// The step being taken.
pub(super) struct Step {
    /// Steps taken so far, this one included (steps count from 1).
    pub(super) number: u64,
    /// The task being polled, if any.
    pub(super) task: Option<TaskId>,
    /// The data and vtable pointers of the polled task's waker (compared, never followed).
    waker: (*const (), *const RawWakerVTable),
}

impl Step {
    pub(super) fn new() -> Step {
        Step { number: 0, task: None, waker: (std::ptr::null(), std::ptr::null()) }
    }

    /// The polled task, when `waker` is its own waker (the one lent for the poll).
    pub(super) fn polls_with(&self, waker: &Waker) -> Option<TaskId> {
        self.task.filter(|_| waker.data() == self.waker.0 && std::ptr::eq(waker.vtable(), self.waker.1))
    }
}

impl Core {
    /// Steps taken so far.
    pub(crate) fn step(&self) -> u64 {
        self.step.number
    }

    /// The task being polled, if any.
    pub(crate) fn current(&self) -> Option<TaskId> {
        self.step.task
    }

    /// Where a trace record written now goes: this step, this time, the running task.
    pub(super) fn here(&self) -> Here {
        Here { step: self.step.number, time: self.now(), task: self.step.task }
    }

    /// Starts the step that applies `event`, taken with `choice`: begins the step's
    /// footprint and writes the step's own trace record (the poll, the timer firing
    /// or the delivery, with the choice that picked it). Returns `false` when the
    /// event no longer applies (its task ended, or has no future to poll: `runnable`
    /// is false; its timer was cancelled): the step then applies nothing and records
    /// nothing.
    pub(crate) fn begin_step(&mut self, event: Event, choice: Option<Choice>, runnable: bool) -> bool {
        self.footprint.begin();
        let what = match event {
            Event::Wake(id) => {
                if !runnable || self.ids.task_state(id) != TaskState::Running {
                    return false;
                }
                StepRecord::Poll(id)
            }
            Event::Timer(key, id) => {
                let Some(timer) = self.timers.info(key, id) else { return false };
                StepRecord::TimerFire(timer.owner, timer.record())
            }
            Event::Deliver(channel) => StepRecord::Deliver(channel),
        };
        self.trace.step(self.here(), what, choice);
        true
    }

    /// Marks the start of a poll of `id`: it is no longer scheduled and waits on nothing
    /// yet. Lends out the task's waker (no reference count touched); give it back with
    /// [`Core::end_poll`].
    pub(crate) fn begin_poll(&mut self, id: TaskId) -> Waker {
        self.step.task = Some(id);
        self.touch(Access::Task(id));
        self.sched.tokio.polled(id);
        let waker = self.ids.begin_poll(id);
        self.step.waker = (waker.data(), waker.vtable());
        waker
    }

    /// Ends a poll of `id`, taking back the waker lent by [`Core::begin_poll`].
    pub(crate) fn end_poll(&mut self, id: TaskId, waker: Waker) {
        self.step.task = None;
        self.step.waker = (std::ptr::null(), std::ptr::null());
        self.ids.end_poll(id, waker);
    }
}
