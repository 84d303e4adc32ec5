//! The timer model: every timer of a run, its deadline, whether it fired, who
//! created it and who waits on it, and timer names; and the core's timer operations
//! (set, poll, cancel, fire), each with its trace record. A timer's firing is an
//! event in the queue ([`super::queue`]); this file keeps the timers themselves.

use std::collections::BTreeMap;
use std::task::Waker;

use slab::Slab;

use super::names::scoped_name;
use super::record::{StepRecord, TimerRecord};
use super::{Core, Event};
use crate::access::Access;
use crate::instant::Instant;
use crate::{TaskId, TimerId, Wait};

/// A registered timer: where it lives and who it is.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TimerKey {
    pub(super) key: usize,
    pub(super) id: TimerId,
}

/// What a timer firing hands back to the step loop.
pub(crate) enum Woken {
    /// A waker to call (outside the core's borrow).
    Waker(Waker),
    /// Nothing to call: the task was scheduled directly, or nobody waits.
    Done,
}

/// Who a timer wakes when it fires. A task polling its own timer is remembered by
/// id (no waker clone, no reference count touched); any other waker is kept.
enum TimerWaker {
    None,
    Task(TaskId),
    Other(Waker),
}

/// Who a fired timer wakes.
pub(super) enum Wakee {
    Nobody,
    /// The task that polled it with its own waker: queue its wake-up directly.
    Task(TaskId),
    /// Any other waker: call it.
    Waker(Waker),
}

struct TimerEntry {
    id: TimerId,
    deadline: Instant,
    fired: bool,
    owner: Option<TaskId>,
    /// The timer's number among those its owner created.
    ordinal: u32,
    waker: TimerWaker,
    /// The task that last polled the timer (whose wake-up its firing queues).
    waiter: Option<TaskId>,
    /// The timer's name, as an index into [`Timers::names`].
    name: u32,
    /// Its deadline had passed when it was set: with the clock paused, the poll that
    /// first sees it completes it (see [`crate::time`]).
    overdue: bool,
}

/// A timer as its trace records show it.
#[derive(Clone, Copy, Debug)]
pub(super) struct TimerInfo {
    pub(super) id: TimerId,
    pub(super) deadline: Instant,
    pub(super) owner: Option<TaskId>,
    pub(super) name: u32,
}

/// A timer taken out by [`Timers::remove`].
pub(super) struct Removed {
    pub(super) info: TimerInfo,
    pub(super) fired: bool,
    pub(super) access: Access,
    pub(super) waker: Option<Waker>,
}

/// What names a timer: the enclosing [`crate::named`] scope, else its creation site.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum TimerName {
    Named(String),
    Site(&'static str, u32, u32),
}

/// The timers of a run.
pub(super) struct Timers {
    slab: Slab<TimerEntry>,
    next_id: u64,
    /// Timers created outside any task so far (their ordinals).
    ownerless: u32,
    /// Every timer name used so far (`debounce.rs:42`, or a [`crate::named`] scope's),
    /// each once; a timer and its trace records hold an index.
    names: Vec<String>,
    name_ids: BTreeMap<TimerName, u32>,
}

impl Timers {
    pub(super) fn new() -> Timers {
        Timers { slab: Slab::new(), next_id: 0, ownerless: 0, names: Vec::new(), name_ids: BTreeMap::new() }
    }

    /// The name of a timer created at `at` inside the scope named `scoped`, if any:
    /// the scope's name, else the creation site (`debounce.rs:42`), kept once each.
    pub(super) fn name(&mut self, scoped: Option<String>, at: &'static std::panic::Location<'static>) -> u32 {
        let key = match scoped {
            Some(name) => TimerName::Named(name),
            None => TimerName::Site(at.file(), at.line(), at.column()),
        };
        if let Some(&id) = self.name_ids.get(&key) {
            return id;
        }
        let name = match &key {
            TimerName::Named(name) => name.clone(),
            TimerName::Site(..) => super::names::location_name(at),
        };
        let id = u32::try_from(self.names.len()).expect("too many timer names");
        self.names.push(name);
        self.name_ids.insert(key, id);
        id
    }

    /// A timer name by index (see [`Timers::name`]).
    pub(super) fn name_text(&self, name: u32) -> &str {
        &self.names[name as usize]
    }

    /// The next ordinal of a timer created outside any task.
    pub(super) fn next_ownerless(&mut self) -> u32 {
        self.ownerless += 1;
        self.ownerless - 1
    }

    /// Adds a timer; `ordinal` is its number among those its owner created, `overdue`
    /// whether its deadline had passed when it was set.
    pub(super) fn insert(
        &mut self,
        deadline: Instant,
        owner: Option<TaskId>,
        ordinal: u32,
        name: u32,
        overdue: bool,
    ) -> TimerKey {
        let id = TimerId(self.next_id);
        self.next_id += 1;
        let key = self.slab.insert(TimerEntry {
            id,
            deadline,
            fired: false,
            owner,
            ordinal,
            waker: TimerWaker::None,
            waiter: None,
            name,
            overdue,
        });
        TimerKey { key, id }
    }

    /// Whether the timer in slot `key` is still timer `id` (not cancelled since).
    pub(super) fn is_live(&self, key: usize, id: TimerId) -> bool {
        self.slab.get(key).is_some_and(|t| t.id == id)
    }

    /// The timer in slot `key` as a footprint access: its owner and ordinal, which
    /// are stable across orders (unlike timer ids).
    pub(super) fn access(&self, key: usize) -> Option<Access> {
        self.slab.get(key).map(|e| Access::Timer(e.owner, e.ordinal))
    }

    /// The timer in slot `key`'s owner and ordinal (its identity), if it is there.
    pub(super) fn owner_ordinal(&self, key: usize) -> Option<(Option<TaskId>, u32)> {
        self.slab.get(key).map(|e| (e.owner, e.ordinal))
    }

    /// The task that last polled the timer in slot `key`.
    pub(super) fn waiter(&self, key: usize) -> Option<TaskId> {
        self.slab.get(key).and_then(|e| e.waiter)
    }

    /// Timer `id` in slot `key`, as trace records show it, if it is still there.
    pub(super) fn info(&self, key: usize, id: TimerId) -> Option<TimerInfo> {
        let e = self.slab.get(key).filter(|e| e.id == id)?;
        Some(TimerInfo { id, deadline: e.deadline, owner: e.owner, name: e.name })
    }

    /// The name of timer `id`, if it is still registered.
    pub(super) fn name_of(&self, id: TimerId) -> Option<&str> {
        self.slab.iter().find(|(_, e)| e.id == id).map(|(_, e)| self.name_text(e.name))
    }

    /// A poll of the timer by `waiter` with `waker` (`own`: the waker is `waiter`'s
    /// own task waker). `Err` when it has fired; else remembers who to wake and
    /// returns its deadline, and the waker it no longer keeps, for the caller to
    /// drop outside the core's borrow (a waker's drop may run code that uses the
    /// simulation).
    pub(super) fn poll(
        &mut self,
        key: usize,
        waiter: Option<TaskId>,
        own: Option<TaskId>,
        waker: &Waker,
    ) -> Result<(Instant, Option<Waker>), ()> {
        let entry = &mut self.slab[key];
        if entry.fired {
            return Err(());
        }
        entry.waiter = waiter;
        let keep = match (&entry.waker, own) {
            (_, Some(task)) => TimerWaker::Task(task),
            (TimerWaker::Other(w), None) if w.will_wake(waker) => return Ok((entry.deadline, None)),
            (_, None) => TimerWaker::Other(waker.clone()),
        };
        let replaced = match std::mem::replace(&mut entry.waker, keep) {
            TimerWaker::Other(w) => Some(w),
            TimerWaker::None | TimerWaker::Task(_) => None,
        };
        Ok((entry.deadline, replaced))
    }

    /// Whether the timer in slot `key` has not fired and was overdue when set; if so,
    /// forgets its waker (handed back, to drop outside the core's borrow), since
    /// whoever polls it now gets it fired.
    pub(super) fn take_overdue(&mut self, key: usize) -> Option<Option<Waker>> {
        let entry = &mut self.slab[key];
        if entry.fired || !entry.overdue {
            return None;
        }
        Some(match std::mem::replace(&mut entry.waker, TimerWaker::None) {
            TimerWaker::Other(w) => Some(w),
            TimerWaker::None | TimerWaker::Task(_) => None,
        })
    }

    /// Whether timer `id` in slot `key` has fired; `None` when it is gone.
    pub(super) fn fired(&self, key: usize, id: TimerId) -> Option<bool> {
        self.slab.get(key).filter(|e| e.id == id).map(|e| e.fired)
    }

    /// Removes the timer in slot `key`; returns it as trace records show it, whether
    /// it had fired, its footprint access, and the waker it kept (for the caller to
    /// drop outside the core's borrow).
    pub(super) fn remove(&mut self, key: usize) -> Option<Removed> {
        let e = self.slab.try_remove(key)?;
        let info = TimerInfo { id: e.id, deadline: e.deadline, owner: e.owner, name: e.name };
        let waker = match e.waker {
            TimerWaker::Other(w) => Some(w),
            TimerWaker::None | TimerWaker::Task(_) => None,
        };
        Some(Removed { info, fired: e.fired, access: Access::Timer(e.owner, e.ordinal), waker })
    }

    /// Marks timer `id` in slot `key` fired; returns who to wake, or `None` when the
    /// timer is gone.
    pub(super) fn fire(&mut self, key: usize, id: TimerId) -> Option<Wakee> {
        let entry = self.slab.get_mut(key).filter(|e| e.id == id)?;
        entry.fired = true;
        Some(match std::mem::replace(&mut entry.waker, TimerWaker::None) {
            TimerWaker::None => Wakee::Nobody,
            TimerWaker::Task(task) => Wakee::Task(task),
            TimerWaker::Other(w) => Wakee::Waker(w),
        })
    }
}

impl TimerInfo {
    /// The timer as its trace records show it.
    pub(super) fn record(&self) -> TimerRecord {
        TimerRecord { id: self.id, deadline: self.deadline, name: self.name }
    }
}

impl Core {
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
        let owner = self.step.task;
        let ordinal = match owner {
            Some(t) => self.ids.next_timer_ordinal(t),
            None => self.timers.next_ownerless(),
        };
        let timer = self.timers.insert(deadline, owner, ordinal, name, deadline <= self.now());
        self.trace.timer_set(self.here(), TimerRecord { id: timer.id, deadline, name });
        if deadline <= self.now() {
            self.sched.tokio.set_immediate(timer.id);
        }
        self.schedule(deadline.max(self.now()), Event::Timer(timer.key, timer.id));
        timer
    }

    /// Whether the timer has fired; if not, remembers `waker` and records the wait.
    /// Also hands back the waker the timer no longer keeps: drop it after letting go
    /// of the core (its drop may run code that uses the simulation).
    pub(crate) fn timer_poll(&mut self, timer: TimerKey, waker: &Waker) -> (bool, Option<Waker>) {
        self.touch_timer(timer.key);
        if self.clock.paused() {
            if let Some(replaced) = self.timers.take_overdue(timer.key) {
                // tokio's paused driver fires a timer already due as it registers it;
                // the poller, which gets `Ready`, is not woken too.
                self.fire_in_place(timer);
                return (true, replaced);
            }
        }
        let own = self.step.polls_with(waker);
        match self.timers.poll(timer.key, self.step.task, own, waker) {
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
        self.sched.tokio.timer_done(info.id);
        self.touch(removed.access);
        if removed.fired {
            return waker;
        }
        self.trace.timer_cancel(self.here(), info.record());
        if info.deadline <= self.now() {
            self.queue.remove_due(Event::Timer(timer.key, timer.id));
        }
        waker
    }

    /// Fires a timer due now from inside the running step (its queued event is
    /// dropped, and its `timer-fire` record written here, as its own step would),
    /// waking whoever waits on it.
    pub(super) fn fire_in_place(&mut self, timer: TimerKey) -> Woken {
        let Some(info) = self.timers.info(timer.key, timer.id) else { return Woken::Done };
        self.queue.remove_due(Event::Timer(timer.key, timer.id));
        self.trace.step(self.here(), StepRecord::TimerFire(info.owner, info.record()), None);
        self.timer_fire(timer.key, timer.id)
    }

    /// Applies a timer firing (its step begun with [`Core::begin_step`]); returns the
    /// waiter to wake.
    pub(crate) fn timer_fire(&mut self, key: usize, id: TimerId) -> Woken {
        let Some(wakee) = self.timers.fire(key, id) else { return Woken::Done };
        let elapsed = self.sched.tokio.timer_done(id);
        self.sched.tokio.timer_fired();
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
                        self.sched.tokio.elapsed_wake(task);
                    }
                }
                Woken::Done
            }
        }
    }
}
