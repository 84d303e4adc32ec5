//! Two models of the world: which orders of same-instant events a run may take.
//!
//! - [`Model::Any`] (the default): every order of the events due at one instant is
//!   possible. It models the multi-thread runtime and real timer jitter: in production a
//!   message and a timer due in the same millisecond arrive in either order.
//! - [`Model::Tokio`]: the order tokio's current-thread runtime with paused time takes,
//!   and only that one. Every timer due at an instant fires before any task runs at that
//!   instant, in registration order; woken tasks then run in the order they were woken
//!   (a FIFO run queue), the `block_on` future first. Under this model the scheduler
//!   has no choice left: a run's only choice points are code-level ones
//!   ([`select`](crate::select::select), [`choose`](crate::choose)), so seeds and
//!   exhaustive enumeration explore exactly the tokio-reachable orders.
//!
//! Whatever the model, every run tracks whether its order so far is one tokio could
//! take ([`Sim::tokio_model`](crate::Sim::tokio_model)), and every
//! [`Failure`](crate::Failure) says so ([`Failure::tokio_model`](crate::Failure::tokio_model),
//! the report's `tokio model:` line). "Not reachable" speaks of that order: another
//! order, equivalent up to commuting steps, may be; run the check under
//! [`Model::Tokio`] to know whether tokio's order fails at all.
//!
//! # What tokio 1.54 does (read in its source, `tokio-1.54.1/src/runtime/`)
//! - `scheduler/current_thread/mod.rs`, `CoreGuard::block_on`: an outer loop polls the
//!   `block_on` future if its waker was called since the last poll (`reset_woken`; it
//!   starts woken), then runs up to `event_interval` (61) tasks popped from the front of
//!   the local run queue (`next_task` / `next_local_task`; the injection queue only holds
//!   wake-ups from other threads). When the queue is empty it parks (`park`, or
//!   `park_yield` when work is pending) and goes back to the top, so the `block_on`
//!   future is polled first after every driver turn; after 61 tasks it calls
//!   `park_yield` and does the same. `Schedule::schedule` pushes a task woken on the
//!   runtime's thread to the back of that queue (`push_task`): FIFO of wake-ups.
//! - Same file, `park_internal`: every turn of the driver ends with `defer.wake()`:
//!   `task::yield_now` (`task/yield_now.rs`) does not wake its task at once but defers
//!   the waker (`context::defer`), so a yielding task runs again only after the run
//!   queue has drained and the driver has turned.
//! - `time/mod.rs`, `park_internal` and `park_thread_timeout`: with paused time the
//!   driver parks for zero time and, unless something woke it meanwhile (`did_wake`, set
//!   by any wake-up on the runtime's thread), advances the clock to the next timer's
//!   deadline; then `process_at_time` fires every timer due, collecting their wakers and
//!   waking them before any task runs. `time/wheel/mod.rs` (`poll`,
//!   `process_expiration`, `pending`) and `time/wheel/level.rs` (`add_entry`) keep the
//!   timers of one slot in insertion order, so timers due together fire in the order
//!   they were registered.
//! - `time/sleep.rs` (`poll_elapsed`) registers a sleep on its first poll, and
//!   `time/mod.rs` (`reregister`) fires a timer whose deadline has already passed during
//!   that registration, so the sleep completes within the same poll.
//!
//! # How Lockstep follows it
//! At each step, among the events due now:
//! 1. a timer (or a delivery of a channel with latency, which tokio code would drive
//!    with a timer) goes first, the earliest registered first;
//! 2. then a task woken by a timer that was already due when it was set (tokio's
//!    sleep would have completed in that task's poll), so it continues at once;
//! 3. then, right after a driver turn (time moved, the run queue drained, or 61 tasks
//!    ran), the `block_on` task ([`Sim::block_on`](crate::Sim::block_on)) if it is woken;
//! 4. then the woken task that was woken first; a task that called
//!    [`yield_now`](crate::yield_now) waits until no other woken task is left (a driver
//!    turn), as tokio's deferred wake-ups do.
//!
//! Known differences with tokio: Lockstep keeps nanosecond deadlines where tokio rounds
//! them up to the millisecond (two timers at 50.2 ms and 50.7 ms fire at different
//! instants here, together in tokio); a Lockstep timer is registered when created,
//! tokio's on its first poll; a task spawned from outside the runtime (before
//! `block_on`) takes its place in the one queue, where tokio keeps it in the injection
//! queue it checks after the local queue; tokio's cooperative budget (a task forced to
//! yield after 128 operations) is not modelled.

use std::collections::BTreeSet;
use std::fmt;

use crate::{TaskId, TimerId};

/// Which orders of same-instant events a run may take (see the [module docs](self)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Model {
    /// Every order of the events due at one instant (the multi-thread runtime, real
    /// timer jitter). The default.
    #[default]
    Any,
    /// Only the order tokio's current-thread runtime with paused time takes: due timers
    /// first in registration order, then woken tasks in wake-up order, the `block_on`
    /// future first after each driver turn.
    Tokio,
}

impl fmt::Display for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Model::Any => "any",
            Model::Tokio => "tokio",
        })
    }
}

/// Whether a run's order is one tokio's current-thread runtime could take.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokioReach {
    /// Every step so far is the one tokio would take.
    Reachable,
    /// The run left tokio's order; the reason names the first step that did.
    NotReachable {
        /// What happened that tokio would not do, as in
        /// "task `driver` ran between two timers due at 50ms".
        reason: String,
    },
}

impl TokioReach {
    /// Whether the order is reachable in the tokio model.
    pub fn is_reachable(&self) -> bool {
        matches!(self, TokioReach::Reachable)
    }
}

impl fmt::Display for TokioReach {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokioReach::Reachable => f.write_str("reachable"),
            TokioReach::NotReachable { reason } => write!(f, "not reachable ({reason})"),
        }
    }
}

/// How many tasks tokio's current-thread scheduler runs between two driver turns
/// (its default `event_interval`).
pub(crate) const EVENT_INTERVAL: u32 = 61;

/// An event due now, as the tokio model sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cand {
    /// A timer firing or a delivery, queued `seq`-th.
    Timer { seq: u64 },
    /// A task's wake-up.
    Wake(TaskId),
}

/// Which rule picked the tokio model's event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Rule {
    /// A due timer, the earliest registered.
    Timer,
    /// The task whose already-elapsed timer just fired.
    Elapsed,
    /// The `block_on` task, right after a driver turn.
    BlockOn,
    /// The run queue's front.
    Queue,
}

#[derive(Clone, Copy, Debug, Default)]
struct TaskFlags {
    /// Position in tokio's run queue (smaller: woken earlier).
    pos: u64,
    /// Its pending wake-up comes from `yield_now` and waits for a driver turn.
    deferred: bool,
    /// The task called `yield_now` in its current poll.
    defer_next: bool,
    /// Woken by a timer that was due when set: it continues first.
    elapsed: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// A driver turn just ended: the `block_on` future goes first if woken.
    AfterTurn,
    /// Tasks taken from the run queue since the last driver turn.
    Tasks(u32),
}

/// The tokio model's view of a run: its run queue, and the first step (if any) at which
/// the run left tokio's order.
#[derive(Debug)]
pub(crate) struct TokioState {
    model: Model,
    phase: Phase,
    block_on: Option<TaskId>,
    tasks: Vec<TaskFlags>,
    next_pos: u64,
    /// Timers whose deadline had passed when they were set.
    immediate: BTreeSet<TimerId>,
    /// Whether a timer fired at the current instant.
    fired_now: bool,
    /// Why the run left tokio's order, at the first step where it did.
    departure: Option<String>,
}

impl TokioState {
    pub(crate) fn new(model: Model) -> TokioState {
        TokioState {
            model,
            phase: Phase::AfterTurn,
            block_on: None,
            tasks: Vec::new(),
            next_pos: 0,
            immediate: BTreeSet::new(),
            fired_now: false,
            departure: None,
        }
    }

    /// Whether the engine must pick the tokio model's event (no choice point).
    pub(crate) fn forced(&self) -> bool {
        self.model == Model::Tokio
    }

    /// Whether the run's order is still followed (tokio model, or no departure yet).
    pub(crate) fn tracking(&self) -> bool {
        self.model == Model::Tokio || self.departure.is_none()
    }

    pub(crate) fn reach(&self) -> TokioReach {
        match &self.departure {
            None => TokioReach::Reachable,
            Some(reason) => TokioReach::NotReachable { reason: reason.clone() },
        }
    }

    fn flags(&mut self, task: TaskId) -> &mut TaskFlags {
        let i = task.as_u32() as usize;
        if self.tasks.len() <= i {
            self.tasks.resize(i + 1, TaskFlags::default());
        }
        &mut self.tasks[i]
    }

    fn flag(&self, task: TaskId) -> TaskFlags {
        self.tasks.get(task.as_u32() as usize).copied().unwrap_or_default()
    }

    fn new_pos(&mut self) -> u64 {
        self.next_pos += 1;
        self.next_pos
    }

    /// A wake-up of `task` entered the queue.
    pub(crate) fn queued(&mut self, task: TaskId) {
        let pos = self.new_pos();
        let f = self.flags(task);
        f.pos = pos;
        f.deferred = std::mem::take(&mut f.defer_next);
    }

    /// `task`, already queued, was woken again: a deferred wake-up becomes an
    /// ordinary one, at the back of the run queue (as tokio queues it on this wake).
    pub(crate) fn rewoken(&mut self, task: TaskId) {
        if self.flag(task).deferred {
            let pos = self.new_pos();
            let f = self.flags(task);
            f.deferred = false;
            f.pos = pos;
        }
    }

    /// `task` is being polled.
    pub(crate) fn polled(&mut self, task: TaskId) {
        let f = self.flags(task);
        f.deferred = false;
        f.defer_next = false;
        f.elapsed = false;
    }

    /// The running task called `yield_now`: its coming wake-up is deferred.
    pub(crate) fn defer(&mut self, task: TaskId) {
        self.flags(task).defer_next = true;
    }

    /// A timer was set whose deadline has already passed.
    pub(crate) fn set_immediate(&mut self, id: TimerId) {
        self.immediate.insert(id);
    }

    /// A timer fired (or was cancelled); returns whether it was due when set.
    pub(crate) fn timer_done(&mut self, id: TimerId) -> bool {
        self.immediate.remove(&id)
    }

    /// The task woken by an already-elapsed timer continues first.
    pub(crate) fn elapsed_wake(&mut self, task: TaskId) {
        self.flags(task).elapsed = true;
    }

    /// Time moved: the driver turned.
    pub(crate) fn advanced(&mut self) {
        self.phase = Phase::AfterTurn;
        self.fired_now = false;
    }

    /// Marks `task` as the `block_on` future, which tokio polls first after each driver turn.
    pub(crate) fn set_block_on(&mut self, task: TaskId) {
        self.block_on = Some(task);
    }

    /// A timer fired at the current instant.
    pub(crate) fn timer_fired(&mut self) {
        self.fired_now = true;
    }

    /// Whether a timer fired at the current instant.
    pub(crate) fn fired_now(&self) -> bool {
        self.fired_now
    }

    /// The run left tokio's order, for `reason`, at this step.
    pub(crate) fn depart(&mut self, reason: String) {
        self.departure = Some(reason);
    }

    /// Whether `task` is the `block_on` task.
    pub(crate) fn is_block_on(&self, task: TaskId) -> bool {
        self.block_on == Some(task)
    }

    /// Whether `task`'s wake-up waits for a driver turn (it yielded).
    pub(crate) fn is_deferred(&self, task: TaskId) -> bool {
        self.flag(task).deferred
    }

    /// The event tokio takes next among `ready` (not empty), and the rule that picked
    /// it. Applies the driver turns that happen on the way and counts the pick.
    pub(crate) fn pick(&mut self, ready: &[Cand]) -> (usize, Rule) {
        let timer = ready
            .iter()
            .enumerate()
            .filter_map(|(i, c)| match c {
                Cand::Timer { seq } => Some((*seq, i)),
                Cand::Wake(_) => None,
            })
            .min();
        if let Some((_, i)) = timer {
            return (i, Rule::Timer);
        }
        let wake = |c: &Cand| match c {
            Cand::Wake(t) => Some(*t),
            Cand::Timer { .. } => None,
        };
        if let Some(i) = ready.iter().position(|c| wake(c).is_some_and(|t| self.flag(t).elapsed)) {
            return (i, Rule::Elapsed);
        }
        // At most: no block_on task, an empty queue, a turn, no block_on task, the queue.
        for _ in 0..4 {
            match self.phase {
                Phase::AfterTurn => {
                    self.phase = Phase::Tasks(0);
                    let main = ready
                        .iter()
                        .position(|c| wake(c).is_some_and(|t| self.is_block_on(t) && !self.flag(t).deferred));
                    if let Some(i) = main {
                        return (i, Rule::BlockOn);
                    }
                }
                Phase::Tasks(k) => {
                    let front = ready
                        .iter()
                        .enumerate()
                        .filter_map(|(i, c)| wake(c).map(|t| (t, i)))
                        .filter(|&(t, _)| !self.is_block_on(t) && !self.flag(t).deferred)
                        .map(|(t, i)| (self.flag(t).pos, i))
                        .min();
                    if let (true, Some((_, i))) = (k < EVENT_INTERVAL, front) {
                        self.phase = Phase::Tasks(k + 1);
                        return (i, Rule::Queue);
                    }
                    // The run queue drained (or 61 tasks ran): the driver turns, and the
                    // deferred wake-ups join the queue in the order they were made.
                    let mut deferred: Vec<(u64, TaskId)> = ready
                        .iter()
                        .filter_map(wake)
                        .filter(|&t| self.flag(t).deferred)
                        .map(|t| (self.flag(t).pos, t))
                        .collect();
                    deferred.sort_unstable();
                    for (_, t) in deferred {
                        let pos = self.new_pos();
                        let f = self.flags(t);
                        f.deferred = false;
                        f.pos = pos;
                    }
                    self.phase = Phase::AfterTurn;
                }
            }
        }
        (0, Rule::Queue)
    }
}
