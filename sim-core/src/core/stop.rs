//! Why a run stops early: a panic, a property violation or an escape from the
//! simulation, noted during a step and taken by the driver once the step is over.
//! The first reason noted wins.

use super::Core;
use crate::access::Access;
use crate::TaskId;

/// Why the engine stopped a run early.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Stop {
    Panic { task: TaskId, message: String },
    Violation { task: Option<TaskId>, message: String },
    Escape { task: Option<TaskId>, cause: String },
}

impl Core {
    /// Reports an escape from the simulation; the run stops after the current step.
    pub(crate) fn escape(&mut self, task: Option<TaskId>, cause: String) {
        self.touch(Access::Stop);
        if self.stop.is_none() {
            self.stop = Some(Stop::Escape { task, cause });
        }
    }

    /// Reports a property violation; the run stops after the current step.
    pub(crate) fn violation(&mut self, message: String) {
        self.touch(Access::Stop);
        self.trace.violation(self.here());
        if self.stop.is_none() {
            self.stop = Some(Stop::Violation { task: self.step.task, message });
        }
    }

    /// Stops the run with `stop` after the current step, unless it is stopping already.
    pub(crate) fn stop_with(&mut self, stop: Stop) {
        self.touch(Access::Stop);
        self.stop.get_or_insert(stop);
    }

    /// Takes the reason the run stops, if any.
    pub(crate) fn take_stop(&mut self) -> Option<Stop> {
        self.stop.take()
    }
}
