//! Who goes next: at each step, the events due now, and when several are, a choice
//! point the strategy resolves (with the tokio model's view of which orders tokio
//! could take, and why a run leaves it); and the choices code makes (a select, a
//! user draw), resolved the same way. Every choice goes on the tape
//! ([`super::choices`]).

use super::identities::RawIdentity;
use super::{is_live, Core, Event};
use crate::identity::{EventIdentity, EventKey, IdentityKind};
use crate::instant::Instant;
use crate::model::{Cand, Model, Rule, TokioReach, TokioState};
use crate::strategy::{Candidate, ChoiceKind, ChoicePoint, Strategy};
use crate::{Choice, TaskId};

/// The strategy that resolves choice points, the tokio model it is checked against,
/// and scratch space for a choice point's candidates and identities.
pub(super) struct Scheduler {
    pub(super) strategy: Box<dyn Strategy>,
    /// The tokio model's run queue, and whether the run still follows it.
    pub(super) tokio: TokioState,
    candidates: Vec<Candidate>,
    choice_ids: Vec<EventIdentity>,
    /// The tokio model's view of the events due now.
    cands: Vec<Cand>,
}

impl Scheduler {
    pub(super) fn new(strategy: Box<dyn Strategy>, model: Model) -> Scheduler {
        Scheduler {
            strategy,
            tokio: TokioState::new(model),
            candidates: Vec::new(),
            choice_ids: Vec::new(),
            cands: Vec::new(),
        }
    }
}

impl Core {
    pub(crate) fn strategy(&self) -> &dyn Strategy {
        &*self.sched.strategy
    }

    /// Whether the run so far is an order tokio's current-thread runtime could take.
    pub(crate) fn tokio_reach(&self) -> TokioReach {
        self.sched.tokio.reach()
    }

    /// Marks `task` as the `block_on` future, which tokio polls first after each driver turn.
    pub(crate) fn set_block_on(&mut self, task: TaskId) {
        self.sched.tokio.set_block_on(task);
    }

    /// The running task called `yield_now`: tokio defers its wake-up to the next driver turn.
    pub(crate) fn defer_current(&mut self) {
        if let Some(task) = self.step.task {
            self.sched.tokio.defer(task);
        }
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
                self.sched.tokio.advanced();
            }
            let timers = &self.timers;
            self.queue.advance_to(t, |e| is_live(timers, e));
        }
        let n = self.queue.due().len();
        if n == 0 {
            return None;
        }
        self.step.number += 1;
        let tokio = self.sched.tokio.tracking().then(|| self.tokio_pick());
        if let (Some((index, _)), true) = (tokio, self.sched.tokio.forced() && n > 1) {
            // The tokio model leaves no choice: take its event, as the only one due.
            return Some((self.take_unchosen(index), None));
        }
        if n == 1 {
            return Some((self.take_unchosen(0), None));
        }
        let mut candidates = std::mem::take(&mut self.sched.candidates);
        candidates.clear();
        if self.sched.strategy.wants_candidates() {
            for (seq, event) in self.queue.due() {
                let key = self.event_key(event);
                candidates.push(Candidate { seq, task: key.task, event: key });
            }
        }
        let mut identities = std::mem::take(&mut self.sched.choice_ids);
        identities.clear();
        if self.sched.strategy.wants_identities() {
            for (_, event) in self.queue.due() {
                identities.push(self.ids.resolve(self.event_identity(event)));
            }
        }
        let point = ChoicePoint {
            options: n,
            kind: ChoiceKind::Schedule,
            step: self.step.number,
            candidates: &candidates,
            identities: &identities,
            identity: None,
        };
        let index = self.sched.strategy.choose(&point).min(n - 1);
        self.sched.candidates = candidates;
        self.sched.choice_ids = identities;
        if let Some((expected, rule)) = tokio.filter(|&(expected, _)| expected != index) {
            let reason = self.departure(index, expected, rule);
            self.sched.tokio.depart(reason);
        }
        let choice = Choice { options: n as u32, index: index as u32 };
        let picked = self.event_identity(self.queue.due_at(index));
        self.tape.push(self.mark(), choice, picked);
        let (_, event) = self.queue.take(index);
        Some((event, Some(choice)))
    }

    /// Takes the `index`th event due now where no choice is made, showing it to a
    /// strategy that watches candidates.
    fn take_unchosen(&mut self, index: usize) -> Event {
        let (seq, event) = self.queue.take(index);
        if self.sched.strategy.wants_candidates() {
            let key = self.event_key(event);
            self.sched.strategy.observe(&Candidate { seq, task: key.task, event: key });
        }
        event
    }

    /// The event the tokio model takes next among those due now (see [`crate::model`]).
    fn tokio_pick(&mut self) -> (usize, Rule) {
        let mut cands = std::mem::take(&mut self.sched.cands);
        cands.clear();
        cands.extend(self.queue.due().map(|(seq, event)| match event {
            Event::Wake(task) => Cand::Wake(task),
            Event::Timer(..) | Event::Deliver(_) => Cand::Timer { seq },
        }));
        let pick = self.sched.tokio.pick(&cands);
        self.sched.cands = cands;
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
            (Rule::Timer, Event::Wake(_)) if self.sched.tokio.fired_now() => {
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
            (Rule::Queue, Event::Wake(t)) if self.sched.tokio.is_block_on(t) => format!(
                "{chosen}, the block_on future, ran at {now} before {expected}; tokio polls it once its run queue is empty"
            ),
            (Rule::Queue, Event::Wake(t)) if self.sched.tokio.is_deferred(t) => format!(
                "{chosen} ran again at {now} after yield_now before {expected}; tokio defers a yield until its run queue drains"
            ),
            (Rule::Queue, _) => {
                format!("{chosen} ran at {now} before {expected}, woken earlier; tokio runs woken tasks in wake-up order")
            }
        }
    }

    /// Resolves a choice among `n` options made by code (a select, a user draw).
    pub(crate) fn choose(&mut self, kind: ChoiceKind, n: usize) -> usize {
        if n <= 1 {
            return 0;
        }
        let seq = match self.step.task {
            Some(t) => self.ids.next_choice(t),
            None => 0,
        };
        let id_kind = if kind == ChoiceKind::Select { IdentityKind::Select } else { IdentityKind::User };
        let raw = RawIdentity { kind: id_kind, task: self.step.task, channel: None, seq };
        let resolved = self.sched.strategy.wants_identities().then(|| self.ids.resolve(raw));
        let point = ChoicePoint {
            options: n,
            kind,
            step: self.step.number,
            candidates: &[],
            identities: &[],
            identity: resolved.as_ref(),
        };
        let index = self.sched.strategy.choose(&point).min(n - 1);
        let choice = Choice { options: n as u32, index: index as u32 };
        self.tape.push(self.mark(), choice, raw);
        self.trace.choose(self.here(), choice);
        index
    }

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
}
