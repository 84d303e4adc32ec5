//! One simulation's engine state: [`Core`], and one file per concern, each keeping
//! its state private behind methods and holding the core's operations on it. Everything
//! here is reached through [`crate::context`]; the step loop that drives it lives in
//! [`crate::sim`].
//!
//! - [`queue`]: the virtual time and the one event queue;
//! - [`clock`]: the clock's mode (tokio's `pause`) and its jumps (`advance`);
//! - [`wakes`]: task wakers and the wake-ups they push;
//! - [`timers`]: the timer model (deadlines, who waits, names) and timer operations;
//! - [`identities`]: tasks and channels by id, their names, states and identity counters;
//! - [`names`]: default names (the [`named`] scope, the creation site) and waits as text;
//! - [`schedule`]: choice points, the strategy that resolves them, and the tokio model;
//! - [`step`]: the step being taken, the task it polls, and the step's own record;
//! - [`record`]: the trace, every record of which is written there and only there;
//! - [`choices`]: the tape of choices, their identities and marks;
//! - [`footprint`]: what the running step touched, for the reduced enumeration;
//! - [`stop`]: why a run stops early (panic, violation, escape).

mod choices;
mod clock;
mod footprint;
mod identities;
mod names;
mod queue;
mod record;
mod schedule;
mod step;
mod stop;
mod timers;
mod wakes;

use std::fmt;

use crate::instant::Instant;
use crate::model::Model;
use crate::strategy::Strategy;
use crate::trace::TraceBuf;

pub(crate) use choices::Mark;
pub(crate) use identities::{Deliver, TaskState};
pub use names::named;
pub(crate) use names::{location_name, scoped_name};
pub(crate) use queue::Event;
pub(crate) use stop::Stop;
pub(crate) use timers::{TimerKey, Woken};
pub(crate) use wakes::FastWakeGuard;

use choices::Tape;
use clock::ClockMode;
use footprint::Footprints;
use identities::Identities;
use queue::{is_live, EventQueue};
use record::Recorder;
use schedule::Scheduler;
use step::Step;
use timers::Timers;
use wakes::Wakes;

/// One simulation's engine state: one part per concern, each in its own file.
pub(crate) struct Core {
    /// The step being taken: its number, the task it polls.
    step: Step,
    /// The virtual time and the pending events.
    queue: EventQueue,
    /// tokio's test-util clock mode (paused, pausable).
    clock: ClockMode,
    /// Wakers and the wake-ups they pushed.
    wakes: Wakes,
    /// Every timer of the run.
    timers: Timers,
    /// Tasks and channels by id.
    ids: Identities,
    /// The strategy and the tokio model, at choice points.
    sched: Scheduler,
    /// The trace (and fingerprint).
    trace: Recorder,
    /// The tape of choices.
    tape: Tape,
    /// The running step's footprint, when collected.
    footprint: Footprints,
    /// Why the run stops after the current step, if it does.
    stop: Option<Stop>,
}

impl Core {
    pub(crate) fn new(strategy: Box<dyn Strategy>, trace: TraceBuf, model: Model) -> Core {
        let footprints = strategy.wants_footprints();
        Core {
            step: Step::new(),
            queue: EventQueue::new(),
            clock: ClockMode::new(),
            wakes: Wakes::new(),
            timers: Timers::new(),
            ids: Identities::new(),
            sched: Scheduler::new(strategy, model),
            trace: Recorder::new(trace),
            tape: Tape::new(),
            footprint: Footprints::new(footprints),
            stop: None,
        }
    }

    /// The current virtual time.
    #[inline]
    pub(crate) fn now(&self) -> Instant {
        self.queue.now()
    }
}

impl fmt::Debug for Core {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Core").field("now", &self.now()).field("step", &self.step.number).finish_non_exhaustive()
    }
}
