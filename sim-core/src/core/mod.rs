//! The engine's state, one concern per file, and the one place that ties them
//! together: [`Core`]. Everything here is reached through [`crate::context`]; the
//! step loop that drives it lives in [`crate::sim`].
//!
//! - [`queue`]: the virtual clock and the one event queue;
//! - [`wakes`]: task wakers and the wake-ups they push;
//! - [`timers`]: the timer model (deadlines, who waits, names);
//! - [`identities`]: tasks and channels by id, their names and identity counters;
//! - [`record`]: the trace, the tape of choices and the step's footprint.
//!
//! Each keeps its state private behind methods; [`Core`] holds one of each, plus
//! the strategy, the tokio model and the running task, and does what needs several
//! of them (a step, a choice, a timer firing). A step's own trace record (its poll,
//! timer firing or delivery) is written in one place, [`Core::begin_step`].

mod identities;
mod queue;
mod record;
mod timers;
mod wakes;

use std::fmt;
use std::sync::{Arc, Weak};
use std::task::Waker;

use crate::access::Access;
use crate::identity::{EventIdentity, EventKey, IdentityKind};
use crate::instant::Instant;
use crate::model::{Cand, Model, Rule, TokioReach, TokioState};
use crate::strategy::{Candidate, ChoiceKind, ChoicePoint, Strategy};
use crate::trace::{MessageValue, NameOf, RecordKind, TraceBuf, TraceRecord};
use crate::watchdog::Stamp;
use crate::{ChannelId, Choice, TaskId, TimerId, Wait};

pub use identities::named;
pub(crate) use identities::{location_name, scoped_name, Deliver, RawIdentity, TaskState};
pub(crate) use queue::{ClockState, Event};
pub(crate) use record::Mark;
pub(crate) use timers::{TimerKey, Woken};
pub(crate) use wakes::{FastWakeGuard, WakeQueue};

use identities::Identities;
use queue::EventQueue;
use record::Recorder;
use timers::{Timers, Wakee};
use wakes::Wakes;

/// Why the engine stopped a run early.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Stop {
    Panic { task: TaskId, message: String },
    Violation { task: Option<TaskId>, message: String },
    Escape { task: Option<TaskId>, cause: String },
}

/// The cause given for a wake-up from another OS thread.
pub(crate) const FOREIGN_WAKE: &str = "woken from another OS thread (a timer thread such as futures-timer's, \
     a thread pool, blocking I/O): the simulation cannot order this wake-up";

/// One simulation's engine state.
pub(crate) struct Core {
    /// Steps taken so far.
    step: u64,
    queue: EventQueue,
    wakes: Wakes,
    timers: Timers,
    ids: Identities,
    rec: Recorder,
    strategy: Box<dyn Strategy>,
    /// Scratch space for a scheduling choice's candidates and their identities.
    candidates: Vec<Candidate>,
    choice_ids: Vec<EventIdentity>,
    /// The task being polled.
    current: Option<TaskId>,
    /// The data and vtable pointers of the polled task's waker (compared, never followed).
    current_waker: (*const (), *const std::task::RawWakerVTable),
    stop: Option<Stop>,
    /// The tokio model's run queue, and whether the run still follows it.
    tokio: TokioState,
    /// Scratch space for the tokio model's view of the events due now.
    cands: Vec<Cand>,
    /// tokio's test-util clock mode (paused, pausable).
    pub(crate) clock: ClockState,
}

impl Core {
    pub(crate) fn new(strategy: Box<dyn Strategy>, trace: TraceBuf, model: Model) -> Core {
        let footprints = strategy.wants_footprints();
        Core {
            step: 0,
            queue: EventQueue::new(),
            wakes: Wakes::new(),
            timers: Timers::new(),
            ids: Identities::new(),
            rec: Recorder::new(trace, footprints),
            strategy,
            candidates: Vec::new(),
            choice_ids: Vec::new(),
            current: None,
            current_waker: (std::ptr::null(), std::ptr::null()),
            stop: None,
            tokio: TokioState::new(model),
            cands: Vec::new(),
            clock: ClockState::default(),
        }
    }

    /// The current virtual time.
    #[inline]
    pub(crate) fn now(&self) -> Instant {
        self.queue.now()
    }

    /// Steps taken so far.
    pub(crate) fn step(&self) -> u64 {
        self.step
    }

    pub(crate) fn strategy(&self) -> &dyn Strategy {
        &*self.strategy
    }

    /// The task being polled, if any.
    pub(crate) fn current(&self) -> Option<TaskId> {
        self.current
    }

    /// Whether the run so far is an order tokio's current-thread runtime could take.
    pub(crate) fn tokio_reach(&self) -> TokioReach {
        self.tokio.reach()
    }

    /// Sets the poll watchdog's stamp, told every choice.
    pub(crate) fn set_watch(&mut self, stamp: Option<Arc<Stamp>>) {
        self.rec.set_watch(stamp);
    }

    // ---- footprints ----

    /// Notes that the current step touched `access` (when footprints are collected).
    #[inline(always)]
    pub(crate) fn touch(&mut self, access: Access) {
        self.rec.touch(access);
    }

    /// Ends the current step's footprint and hands it to the strategy. The step's
    /// wake-ups are queued first (as the next step would), so they are part of it.
    /// `stops`: the driver stops after this step (its footprint then orders it
    /// against every event still pending, which the stop leaves unapplied).
    pub(crate) fn end_footprint(&mut self, stops: bool) {
        if !self.rec.collecting() {
            return;
        }
        if stops {
            self.touch(Access::Stop);
        }
        self.drain_wakes();
        if let Some(footprint) = self.rec.take_footprint() {
            self.strategy.after_step(&footprint);
            self.rec.recycle_footprint(footprint);
        }
    }

    /// Notes that the current step touched the timer in slot `key`.
    #[inline(always)]
    fn touch_timer(&mut self, key: usize) {
        if self.rec.collecting() {
            self.push_timer_access(key);
        }
    }

    #[cold]
    #[inline(never)]
    fn push_timer_access(&mut self, key: usize) {
        if let Some(access) = self.timers.access(key) {
            self.rec.push_access(access);
        }
    }

    // ---- the queue ----

    fn schedule(&mut self, time: Instant, event: Event) {
        self.drain_wakes();
        self.push_event(time, event);
    }

    fn push_event(&mut self, time: Instant, event: Event) {
        if let Event::Wake(task) = event {
            self.tokio.queued(task);
        }
        self.queue.push(time, event);
    }

    /// Moves wake-ups pushed by wakers into the queue, one event per task not
    /// already scheduled.
    pub(crate) fn drain_wakes(&mut self) {
        let drained = self.wakes.drain();
        if let Some(task) = drained.foreign {
            let mut r = TraceRecord::new(self.step, self.now(), RecordKind::ForeignWake);
            r.task = task;
            self.rec.record(r);
            self.escape(task, FOREIGN_WAKE.to_string());
        }
        for &id in &drained.woken {
            self.touch(Access::Wake(id));
            match self.ids.schedule(id) {
                Some(true) => self.push_event(self.now(), Event::Wake(id)),
                Some(false) => self.tokio.rewoken(id),
                None => {}
            }
        }
        self.wakes.recycle(drained.woken);
    }

    pub(crate) fn wake_queue(&self) -> &Arc<WakeQueue> {
        self.wakes.queue()
    }

    /// The time of the earliest pending event.
    pub(crate) fn next_time(&mut self) -> Option<Instant> {
        self.drain_wakes();
        let timers = &self.timers;
        self.queue.next_time(|e| is_live(timers, e))
    }

    /// Takes the next event due no later than `until`, advancing time to it and
    /// resolving a choice point when several are due at once.
    pub(crate) fn next_event(&mut self, until: Instant) -> Option<(Event, Option<Choice>)> {
        self.drain_wakes();
        if self.queue.nothing_due() {
            let t = self.next_time()?;
            if t > until {
                return None;
            }
            if t > self.now() {
                self.tokio.advanced();
            }
            let timers = &self.timers;
            self.queue.advance_to(t, |e| is_live(timers, e));
        }
        let n = self.queue.due().len();
        if n == 0 {
            return None;
        }
        self.step += 1;
        let tokio = self.tokio.tracking().then(|| self.tokio_pick());
        if let (Some((index, _)), true) = (tokio, self.tokio.forced() && n > 1) {
            // The tokio model leaves no choice: take its event, as the only one due.
            return Some((self.take_unchosen(index), None));
        }
        if n == 1 {
            return Some((self.take_unchosen(0), None));
        }
        let mut candidates = std::mem::take(&mut self.candidates);
        candidates.clear();
        if self.strategy.wants_candidates() {
            for (seq, event) in self.queue.due() {
                let key = self.event_key(event);
                candidates.push(Candidate { seq, task: key.task, event: key });
            }
        }
        let mut identities = std::mem::take(&mut self.choice_ids);
        identities.clear();
        if self.strategy.wants_identities() {
            for (_, event) in self.queue.due() {
                identities.push(self.ids.resolve(self.event_identity(event)));
            }
        }
        let point = ChoicePoint {
            options: n,
            kind: ChoiceKind::Schedule,
            step: self.step,
            candidates: &candidates,
            identities: &identities,
            identity: None,
        };
        let index = self.strategy.choose(&point).min(n - 1);
        self.candidates = candidates;
        self.choice_ids = identities;
        if let Some((expected, rule)) = tokio.filter(|&(expected, _)| expected != index) {
            let reason = self.departure(index, expected, rule);
            self.tokio.departure = Some(reason);
        }
        let choice = Choice { options: n as u32, index: index as u32 };
        let picked = self.event_identity(self.queue.due_at(index));
        self.rec.choice(self.step, self.now(), choice, picked);
        let (_, event) = self.queue.take(index);
        Some((event, Some(choice)))
    }

    /// Takes the `index`th event due now where no choice is made, showing it to a
    /// strategy that watches candidates.
    fn take_unchosen(&mut self, index: usize) -> Event {
        let (seq, event) = self.queue.take(index);
        if self.strategy.wants_candidates() {
            let key = self.event_key(event);
            self.strategy.observe(&Candidate { seq, task: key.task, event: key });
        }
        event
    }

    /// The event the tokio model takes next among those due now (see [`crate::model`]).
    fn tokio_pick(&mut self) -> (usize, Rule) {
        let mut cands = std::mem::take(&mut self.cands);
        cands.clear();
        cands.extend(self.queue.due().map(|(seq, event)| match event {
            Event::Wake(task) => Cand::Wake(task),
            Event::Timer(..) | Event::Deliver(_) => Cand::Timer { seq },
        }));
        let pick = self.tokio.pick(&cands);
        self.cands = cands;
        pick
    }

    /// `expected` one by `rule`, leaves tokio's order.
    fn departure(&self, chosen: usize, expected: usize, rule: Rule) -> String {
        let now = self.now();
        let what = |event: Event| match event {
            Event::Wake(t) => format!("task `{}`", self.task_name(t)),
            Event::Timer(_, id) => format!("timer {}", id.0),
            Event::Deliver(c) => format!("the delivery on `{}`", self.channel_name(c)),
        };
        let (c, e) = (self.queue.due_at(chosen), self.queue.due_at(expected));
        let (chosen, expected) = (what(c), what(e));
        match (rule, c) {
            (Rule::Timer, Event::Wake(_)) if self.tokio.fired_now => {
                format!("{chosen} ran between two timers due at {now}")
            }
            (Rule::Timer, Event::Wake(_)) => {
                format!("{chosen} ran at {now} before {expected}, due then, had fired; tokio fires due timers before running tasks")
            }
            (Rule::Timer, _) => format!(
                "{chosen} fired before {expected}, set earlier, both due at {now}; tokio fires them in registration order"
            ),
            (Rule::Elapsed, _) => format!(
                "{chosen} ran at {now} before {expected}, whose timer had already passed when set; tokio completes such a sleep within the poll"
            ),
            (Rule::BlockOn, _) => format!(
                "{chosen} ran at {now} before {expected}, the block_on future; tokio polls it first after each driver turn"
            ),
            (Rule::Queue, Event::Wake(t)) if self.tokio.is_block_on(t) => format!(
                "{chosen}, the block_on future, ran at {now} before {expected}; tokio polls it once its run queue is empty"
            ),
            (Rule::Queue, Event::Wake(t)) if self.tokio.is_deferred(t) => format!(
                "{chosen} ran again at {now} after yield_now before {expected}; tokio defers a yield until its run queue drains"
            ),
            (Rule::Queue, _) => {
                format!("{chosen} ran at {now} before {expected}, woken earlier; tokio runs woken tasks in wake-up order")
            }
        }
    }

    /// Marks `task` as the `block_on` future, which tokio polls first after each driver turn.
    pub(crate) fn set_block_on(&mut self, task: TaskId) {
        self.tokio.block_on = Some(task);
    }

    /// The running task called `yield_now`: tokio defers its wake-up to the next driver turn.
    pub(crate) fn defer_current(&mut self) {
        if let Some(task) = self.current {
            self.tokio.defer(task);
        }
    }

    /// Moves time forward to `t` (never back) with nothing applied.
    pub(crate) fn advance_clock(&mut self, t: Instant) {
        self.queue.advance_clock(t);
    }

    // ---- a step ----

    /// Starts the step that applies `event`, taken with `choice`: begins the step's
    /// footprint and writes the step's own trace record (the poll, the timer firing
    /// or the delivery, with the choice that picked it). This is the one place a
    /// step's record is written. Returns `false` when the event no longer applies
    /// (its task ended, or has no future to poll: `runnable` is false; its timer was
    /// cancelled): the step then applies nothing and records nothing.
    pub(crate) fn begin_step(&mut self, event: Event, choice: Option<Choice>, runnable: bool) -> bool {
        self.rec.begin_footprint();
        let mut r = match event {
            Event::Wake(id) => {
                if !runnable || self.ids.task_state(id) != TaskState::Running {
                    return false;
                }
                let mut r = TraceRecord::new(self.step, self.now(), RecordKind::Poll);
                r.task = Some(id);
                r
            }
            Event::Timer(key, id) => {
                let Some(timer) = self.timers.info(key, id) else { return false };
                let mut r = TraceRecord::new(self.step, self.now(), RecordKind::TimerFire);
                r.task = timer.owner;
                r.timer = Some((id, timer.deadline));
                r.timer_name = Some(timer.name);
                r
            }
            Event::Deliver(channel) => {
                let mut r = TraceRecord::new(self.step, self.now(), RecordKind::Deliver);
                r.channel = Some(channel);
                r
            }
        };
        r.choice = choice;
        self.rec.record(r);
        true
    }

    // ---- choices made by code ----

    /// Resolves a choice among `n` options made by code (a select, a user draw).
    pub(crate) fn choose(&mut self, kind: ChoiceKind, n: usize) -> usize {
        if n <= 1 {
            return 0;
        }
        let seq = match self.current {
            Some(t) => self.ids.next_choice(t),
            None => 0,
        };
        let id_kind = if kind == ChoiceKind::Select { IdentityKind::Select } else { IdentityKind::User };
        let raw = RawIdentity { kind: id_kind, task: self.current, channel: None, seq };
        let resolved = self.strategy.wants_identities().then(|| self.ids.resolve(raw));
        let point = ChoicePoint {
            options: n,
            kind,
            step: self.step,
            candidates: &[],
            identities: &[],
            identity: resolved.as_ref(),
        };
        let index = self.strategy.choose(&point).min(n - 1);
        let choice = Choice { options: n as u32, index: index as u32 };
        self.rec.choice(self.step, self.now(), choice, raw);
        let mut r = self.record_here(RecordKind::Choose);
        r.choice = Some(choice);
        self.rec.record(r);
        index
    }

    // ---- identities ----

    /// The identity of a queued event (what it would be if applied next).
    fn event_identity(&self, event: Event) -> RawIdentity {
        match event {
            Event::Wake(t) => self.ids.poll_identity(t),
            Event::Timer(key, _) => {
                let (owner, ordinal) = self.timers.owner_ordinal(key).unwrap_or((None, 0));
                RawIdentity { kind: IdentityKind::Timer, task: owner, channel: None, seq: ordinal }
            }
            Event::Deliver(c) => self.ids.delivery_identity(c),
        }
    }

    /// A queued event's key: its identity by ids, plus the waiter of a timer.
    fn event_key(&self, event: Event) -> EventKey {
        let raw = self.event_identity(event);
        let waiter = match event {
            Event::Timer(key, _) => self.timers.waiter(key),
            Event::Wake(t) => Some(t),
            Event::Deliver(_) => None,
        };
        EventKey { kind: raw.kind, task: raw.task, channel: raw.channel, seq: raw.seq, waiter }
    }

    /// Every choice made so far, canonical ones included.
    pub(crate) fn tape(&self) -> &[Choice] {
        self.rec.tape()
    }

    /// The identities of every recorded choice, resolved.
    pub(crate) fn tape_identities(&self) -> Vec<EventIdentity> {
        self.rec.tape_ids().iter().map(|&raw| self.ids.resolve(raw)).collect()
    }

    /// Where the run stood at each recorded choice, just before it was made.
    pub(crate) fn marks(&self) -> &[Mark] {
        self.rec.marks()
    }

    /// Counts a delivery on `channel` (its identity's sequence number).
    pub(crate) fn count_delivery(&mut self, channel: ChannelId) {
        self.ids.count_delivery(channel);
    }

    // ---- trace ----

    /// The trace so far.
    pub(crate) fn trace(&self) -> &TraceBuf {
        self.rec.trace()
    }

    /// A record at the current step and time, attributed to the running task.
    pub(crate) fn record_here(&self, kind: RecordKind) -> TraceRecord {
        let mut r = TraceRecord::new(self.step, self.now(), kind);
        r.task = self.current;
        r
    }

    /// Records an operation on a channel by the running task.
    pub(crate) fn record_channel(&mut self, kind: RecordKind, channel: ChannelId) {
        self.record_message(kind, channel, MessageValue::default());
    }

    /// Records a send or receive by the running task, with the message's
    /// [`value_hash`](crate::trace::value_hash) when the channel fingerprints values
    /// and its `Debug` text (not fingerprinted) when it shows them.
    pub(crate) fn record_message(&mut self, kind: RecordKind, channel: ChannelId, value: MessageValue) {
        let mut r = self.record_here(kind);
        r.channel = Some(channel);
        r.value = value.hash;
        self.rec.record_with_text(r, value.text);
    }

    // ---- stops ----

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
        let r = self.record_here(RecordKind::Violation);
        self.rec.record(r);
        if self.stop.is_none() {
            self.stop = Some(Stop::Violation { task: self.current, message });
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

    /// Whether a wake-up from another OS thread is waiting to be drained.
    pub(crate) fn foreign_wake_pending(&self) -> bool {
        self.wakes.foreign_pending()
    }

    /// Whether a wake-up from another OS thread was seen (a determinism leak).
    pub(crate) fn saw_foreign_wake(&self) -> bool {
        self.wakes.saw_foreign()
    }

    // ---- tasks ----

    pub(crate) fn register_task(&mut self, name: Option<String>) -> TaskId {
        let id = self.ids.next_task();
        let name = name.or_else(scoped_name).unwrap_or_else(|| format!("task-{}", id.0));
        self.rec.fold_name(NameOf::Task, id.0, &name);
        let id = self.ids.add_task(name, self.wakes.waker(id));
        self.touch(Access::Create);
        let mut r = self.record_here(RecordKind::Spawn);
        r.task = Some(id);
        self.rec.record(r);
        self.schedule(self.now(), Event::Wake(id));
        id
    }

    /// Marks the start of a poll of `id`: it is no longer scheduled and waits on nothing
    /// yet. Lends out the task's waker (no reference count touched); give it back with
    /// [`Core::end_poll`].
    pub(crate) fn begin_poll(&mut self, id: TaskId) -> Waker {
        self.current = Some(id);
        self.touch(Access::Task(id));
        self.tokio.polled(id);
        let waker = self.ids.begin_poll(id);
        self.current_waker = (waker.data(), waker.vtable());
        waker
    }

    /// Ends a poll of `id`, taking back the waker lent by [`Core::begin_poll`].
    pub(crate) fn end_poll(&mut self, id: TaskId, waker: Waker) {
        self.current = None;
        self.current_waker = (std::ptr::null(), std::ptr::null());
        self.ids.end_poll(id, waker);
    }

    /// Marks a task ended (done or aborted) and hands back its joiner's waker.
    pub(crate) fn end_task(&mut self, id: TaskId, state: TaskState) -> Option<Waker> {
        self.touch(Access::Task(id));
        self.touch(Access::End);
        if !self.ids.end_task(id, state) {
            return None;
        }
        let kind = if state == TaskState::Aborted { RecordKind::TaskAbort } else { RecordKind::TaskEnd };
        let mut r = TraceRecord::new(self.step, self.now(), kind);
        r.task = Some(id);
        self.rec.record(r);
        self.ids.take_join_waker(id)
    }

    pub(crate) fn task_name(&self, id: TaskId) -> &str {
        self.ids.task_name(id)
    }

    pub(crate) fn task_state(&self, id: TaskId) -> TaskState {
        self.ids.task_state(id)
    }

    /// How many tasks were spawned (ids `0..n`).
    pub(crate) fn task_count(&self) -> usize {
        self.ids.task_count()
    }

    /// How many tasks are still running.
    pub(crate) fn live_tasks(&self) -> usize {
        self.ids.live_tasks()
    }

    /// What task `id` waits on.
    pub(crate) fn waits(&self, id: TaskId) -> &[Wait] {
        self.ids.waits(id)
    }

    /// Sets the waker of the task awaiting `id`'s end; returns the one it replaces,
    /// for the caller to drop once it has let go of the core.
    #[must_use = "drop the replaced waker outside the core's borrow"]
    pub(crate) fn set_join_waker(&mut self, id: TaskId, waker: Waker) -> Option<Waker> {
        self.ids.set_join_waker(id, waker)
    }

    /// Records that the running task waits on `wait` (for deadlock reports).
    pub(crate) fn wait_on(&mut self, wait: Wait) {
        if let Some(t) = self.current {
            self.ids.wait_on(t, wait);
        }
    }

    /// How many wakers of task `id` exist beyond the one the engine keeps (clones
    /// held by primitives, or by something outside the simulation).
    pub(crate) fn waker_clones(&self, id: TaskId) -> usize {
        self.ids.waker_clones(id)
    }

    // ---- timers ----

    /// The name of a timer created at `at`: the enclosing [`crate::named`] scope's, else
    /// the creation site (`debounce.rs:42`). Names are kept once each.
    pub(crate) fn timer_name(&mut self, at: &'static std::panic::Location<'static>) -> u32 {
        self.timers.name(scoped_name(), at)
    }

    /// A timer name by index (see [`Core::timer_name`]).
    pub(crate) fn timer_name_text(&self, name: u32) -> &str {
        self.timers.name_text(name)
    }

    pub(crate) fn timer_register(&mut self, deadline: Instant, name: u32) -> TimerKey {
        let owner = self.current;
        let ordinal = match owner {
            Some(t) => self.ids.next_timer_ordinal(t),
            None => self.timers.next_ownerless(),
        };
        let timer = self.timers.insert(deadline, owner, ordinal, name, deadline <= self.now());
        let mut r = self.record_here(RecordKind::TimerSet);
        r.timer = Some((timer.id, deadline));
        r.timer_name = Some(name);
        self.rec.record(r);
        if deadline <= self.now() {
            self.tokio.set_immediate(timer.id);
        }
        self.schedule(deadline.max(self.now()), Event::Timer(timer.key, timer.id));
        timer
    }

    /// Whether the timer has fired; if not, remembers `waker` and records the wait.
    /// Also hands back the waker the timer no longer keeps: drop it after letting go
    /// of the core (its drop may run code that uses the simulation).
    pub(crate) fn timer_poll(&mut self, timer: TimerKey, waker: &Waker) -> (bool, Option<Waker>) {
        self.touch_timer(timer.key);
        if self.clock.paused {
            if let Some(replaced) = self.timers.take_overdue(timer.key) {
                // tokio's paused driver fires a timer already due as it registers it;
                // the poller, which gets `Ready`, is not woken too.
                self.fire_in_place(timer);
                return (true, replaced);
            }
        }
        let own = self
            .current
            .filter(|_| waker.data() == self.current_waker.0 && std::ptr::eq(waker.vtable(), self.current_waker.1));
        match self.timers.poll(timer.key, self.current, own, waker) {
            Err(()) => (true, None),
            Ok((at, replaced)) => {
                self.wait_on(Wait::Timer { id: timer.id, at });
                (false, replaced)
            }
        }
    }

    /// Whether the timer has fired, without registering interest.
    pub(crate) fn timer_fired(&mut self, timer: TimerKey) -> bool {
        let Some(fired) = self.timers.fired(timer.key, timer.id) else { return false };
        self.touch_timer(timer.key);
        fired
    }

    /// Cancels a timer. Hands back the waker it kept: drop it after letting go of
    /// the core (its drop may run code that uses the simulation).
    #[must_use = "drop the waker outside the core's borrow"]
    pub(crate) fn timer_cancel(&mut self, timer: TimerKey) -> Option<Waker> {
        let removed = self.timers.remove(timer.key)?;
        let (info, waker) = (removed.info, removed.waker);
        self.tokio.timer_done(info.id);
        self.touch(removed.access);
        if removed.fired {
            return waker;
        }
        let mut r = self.record_here(RecordKind::TimerCancel);
        r.timer = Some((info.id, info.deadline));
        r.timer_name = Some(info.name);
        self.rec.record(r);
        if info.deadline <= self.now() {
            self.queue.remove_due(Event::Timer(timer.key, timer.id));
        }
        waker
    }

    /// Fires a timer due now from inside the running step (its queued event is
    /// dropped, and its `timer-fire` record written here), waking whoever waits on it.
    fn fire_in_place(&mut self, timer: TimerKey) -> Woken {
        let Some(info) = self.timers.info(timer.key, timer.id) else { return Woken::Done };
        self.queue.remove_due(Event::Timer(timer.key, timer.id));
        let mut r = TraceRecord::new(self.step, self.now(), RecordKind::TimerFire);
        r.task = info.owner;
        r.timer = Some((timer.id, info.deadline));
        r.timer_name = Some(info.name);
        self.rec.record(r);
        self.timer_fire(timer.key, timer.id)
    }

    /// Moves the clock to `to` in one jump (tokio's test-util `advance`; never back)
    /// and fires every timer due by then, in deadline order, then queue order. Other
    /// events due by then join the events due now. Returns the wakers to call.
    pub(crate) fn jump_clock(&mut self, to: Instant) -> Vec<Waker> {
        self.drain_wakes();
        let timers = &self.timers;
        self.queue.jump_to(to, |e| is_live(timers, e));
        let mut due: Vec<(Instant, u64, TimerKey)> = self
            .queue
            .due()
            .filter_map(|(seq, event)| match event {
                Event::Timer(key, id) => {
                    let deadline = self.timers.info(key, id)?.deadline;
                    Some((deadline, seq, TimerKey { key, id }))
                }
                Event::Wake(_) | Event::Deliver(_) => None,
            })
            .collect();
        due.sort_by_key(|&(deadline, seq, _)| (deadline, seq));
        let mut wakers = Vec::new();
        for (_, _, timer) in due {
            if let Woken::Waker(w) = self.fire_in_place(timer) {
                wakers.push(w);
            }
        }
        wakers
    }

    /// Applies a timer firing (its step begun with [`Core::begin_step`]); returns the
    /// waiter to wake.
    pub(crate) fn timer_fire(&mut self, key: usize, id: TimerId) -> Woken {
        let Some(wakee) = self.timers.fire(key, id) else { return Woken::Done };
        let elapsed = self.tokio.timer_done(id);
        self.tokio.fired_now = true;
        self.touch_timer(key);
        match wakee {
            Wakee::Nobody => Woken::Done,
            Wakee::Waker(w) => Woken::Waker(w),
            Wakee::Task(task) => {
                // What the task's waker would do, without the waker: queue its wake-up.
                self.drain_wakes();
                self.touch(Access::Wake(task));
                if self.ids.schedule(task) == Some(true) {
                    self.push_event(self.now(), Event::Wake(task));
                    if elapsed {
                        self.tokio.elapsed_wake(task);
                    }
                }
                Woken::Done
            }
        }
    }

    // ---- channels ----

    /// Registers a channel (or another primitive: a `Notify`, a watch) under `name`,
    /// else the name of the enclosing [`crate::named`] scope, else its creation site
    /// (`debounce.rs:42`).
    pub(crate) fn register_channel(
        &mut self,
        name: Option<String>,
        at: &'static std::panic::Location<'static>,
    ) -> ChannelId {
        let name = name.or_else(scoped_name).unwrap_or_else(|| location_name(at));
        let id = ChannelId(u32::try_from(self.ids.channel_count()).expect("too many channels"));
        self.rec.fold_name(NameOf::Channel, id.0, &name);
        self.touch(Access::Create);
        self.ids.add_channel(name)
    }

    pub(crate) fn set_deliver_target(&mut self, id: ChannelId, target: Weak<dyn Deliver>) {
        self.ids.set_deliver_target(id, target);
    }

    /// Schedules the delivery of a channel's oldest in-flight message at `at`.
    pub(crate) fn schedule_delivery(&mut self, id: ChannelId, at: Instant) {
        self.schedule(at, Event::Deliver(id));
    }

    pub(crate) fn deliver_target(&self, id: ChannelId) -> Option<Arc<dyn Deliver>> {
        self.ids.deliver_target(id)
    }

    pub(crate) fn channel_name(&self, id: ChannelId) -> &str {
        self.ids.channel_name(id)
    }

    /// How many channels (and other primitives) were registered (ids `0..n`).
    pub(crate) fn channel_count(&self) -> usize {
        self.ids.channel_count()
    }

    /// Describes a wait for reports: "recv on `out`".
    pub(crate) fn describe_wait(&self, wait: &Wait) -> String {
        match *wait {
            Wait::Recv(c) => format!("recv on `{}`", self.channel_name(c)),
            Wait::Send(c) => format!("send on full `{}`", self.channel_name(c)),
            Wait::Timer { id, at } => match self.timers.name_of(id) {
                Some(name) => format!("timer {} `{name}` at {at}", id.0),
                None => format!("timer {} at {at}", id.0),
            },
            Wait::Join(t) => format!("join on `{}`", self.task_name(t)),
            Wait::Notified(c) => format!("notified on `{}`", self.channel_name(c)),
            Wait::Changed(c) => format!("changed on `{}`", self.channel_name(c)),
            Wait::Reserve(c) => format!("reserve on full `{}`", self.channel_name(c)),
            Wait::Closed(c) => format!("closed on `{}`", self.channel_name(c)),
            Wait::JoinNext(c) => format!("join_next on `{}`", self.channel_name(c)),
            Wait::Barrier(c) => format!("wait on barrier `{}`", self.channel_name(c)),
            Wait::Init(c) => format!("init on `{}`", self.channel_name(c)),
            Wait::Acquire(c, n) => format!("acquire {n} on `{}`", self.channel_name(c)),
            Wait::Lock(c) => format!("lock on `{}`", self.channel_name(c)),
            Wait::Read(c) => format!("read on `{}`", self.channel_name(c)),
            Wait::Write(c) => format!("write on `{}`", self.channel_name(c)),
        }
    }
}

/// Whether a queued event still applies: a timer's, unless it was cancelled since.
fn is_live(timers: &Timers, event: &Event) -> bool {
    match *event {
        Event::Timer(key, id) => timers.is_live(key, id),
        Event::Wake(_) | Event::Deliver(_) => true,
    }
}

impl fmt::Debug for Core {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Core").field("now", &self.now()).field("step", &self.step).finish_non_exhaustive()
    }
}
