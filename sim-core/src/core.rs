//! The engine's state: virtual time, the one event queue, timers, task and channel
//! records, the trace and the strategy. Everything here is reached through
//! [`crate::context`]; the step loop that drives it lives in [`crate::sim`].

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::sync::Weak;
use std::task::{Wake, Waker};

use parking_lot::Mutex;
use slab::Slab;

use crate::footprint::{Access, Footprint};
use crate::identity::{EventIdentity, EventKey, IdentityKind};
use crate::model::{Cand, Model, Rule, TokioState};
use crate::prefix::Mark;
use crate::strategy::{Candidate, ChoiceKind, ChoicePoint, Strategy};
use crate::time::Instant;
use crate::trace::{MessageValue, NameOf, RecordKind, TraceBuf, TraceRecord};
use crate::Choice;

/// Identifies a task within one simulation (assigned in spawn order from 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskId(pub(crate) u32);

/// Identifies a channel within one simulation (assigned in creation order from 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChannelId(pub(crate) u32);

/// Identifies a timer within one simulation (assigned in creation order from 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimerId(pub(crate) u64);

impl TaskId {
    /// The id as a number.
    pub fn as_u32(self) -> u32 {
        self.0
    }
}

impl ChannelId {
    /// The id as a number.
    pub fn as_u32(self) -> u32 {
        self.0
    }
}

impl TimerId {
    /// The id as a number.
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

/// What a blocked task waits on, as recorded by the primitive it awaited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Wait {
    /// A receive on a channel.
    Recv(ChannelId),
    /// A send on a full channel.
    Send(ChannelId),
    /// A timer.
    Timer {
        /// The timer.
        id: TimerId,
        /// When it fires.
        at: Instant,
    },
    /// Another task's end.
    Join(TaskId),
    /// A notification from a `Notify`.
    Notified(ChannelId),
    /// A new value in a watch channel.
    Changed(ChannelId),
    /// A free slot to reserve in a full channel.
    Reserve(ChannelId),
    /// The other side of a channel going away (a sender's `closed()`).
    Closed(ChannelId),
    /// The next task of a `JoinSet` to end (`join_next`).
    JoinNext(ChannelId),
    /// The other tasks to reach a `Barrier`.
    Barrier(ChannelId),
    /// Another task's initialization of a `OnceCell` (`get_or_init`).
    Init(ChannelId),
    /// Permits of a semaphore (how many).
    Acquire(ChannelId, u32),
    /// A `Mutex`'s lock.
    Lock(ChannelId),
    /// A read lock of an `RwLock`.
    Read(ChannelId),
    /// The write lock of an `RwLock`.
    Write(ChannelId),
}

/// An event in the queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Event {
    /// Poll a task.
    Wake(TaskId),
    /// Fire a timer (slab key, id; a stale key is skipped).
    Timer(usize, TimerId),
    /// Deliver the oldest in-flight message of a channel with latency.
    Deliver(ChannelId),
}

#[derive(Debug)]
struct Queued {
    time: Instant,
    seq: u64,
    event: Event,
}

impl PartialEq for Queued {
    fn eq(&self, other: &Self) -> bool {
        (self.time, self.seq) == (other.time, other.seq)
    }
}
impl Eq for Queued {}
impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Queued {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.time, self.seq).cmp(&(other.time, other.seq))
    }
}

/// The one event queue: events due now (in the order they were queued) and events
/// due later (by time, then queue order).
#[derive(Default)]
struct EventQueue {
    ready: VecDeque<(u64, Event)>,
    later: BinaryHeap<Reverse<Queued>>,
}

pub(crate) struct TimerEntry {
    id: TimerId,
    deadline: Instant,
    fired: bool,
    owner: Option<TaskId>,
    /// The timer's number among those its owner created.
    ordinal: u32,
    waker: TimerWaker,
    /// The task that last polled the timer (whose wake-up its firing queues).
    waiter: Option<TaskId>,
    /// The timer's name, as an index into [`Core::timer_names`].
    name: u32,
}

/// What names a timer: the enclosing [`crate::named`] scope, else its creation site.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum TimerName {
    Named(String),
    Site(&'static str, u32, u32),
}

/// Who a timer wakes when it fires. A task polling its own timer is remembered by
/// id (no waker clone, no reference count touched); any other waker is kept.
enum TimerWaker {
    None,
    Task(TaskId),
    Other(Waker),
}

/// What a timer firing hands back to the step loop.
pub(crate) enum Woken {
    /// A waker to call (outside the core's borrow).
    Waker(Waker),
    /// Nothing to call: the task was scheduled directly, or nobody waits.
    Done,
}

/// The identity of an event or choice, by ids (names are resolved on demand).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RawIdentity {
    kind: IdentityKind,
    task: Option<TaskId>,
    channel: Option<ChannelId>,
    seq: u32,
}

/// A registered timer: where it lives and who it is.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TimerKey {
    pub(crate) key: usize,
    pub(crate) id: TimerId,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TaskState {
    Running,
    Done,
    Aborted,
}

pub(crate) struct TaskMeta {
    pub(crate) name: String,
    pub(crate) state: TaskState,
    scheduled: bool,
    pub(crate) waits: Vec<Wait>,
    pub(crate) waker: Waker,
    /// The waker's shared part, to count its clones (see [`Core::waker_clones`]).
    waker_arc: Arc<TaskWaker>,
    pub(crate) join_waker: Option<Waker>,
    /// Which of the tasks with this name it is.
    instance: u32,
    /// Polls so far, timers created so far, code-level choices so far: the per-name
    /// sequence numbers of event identities.
    polls: u32,
    timers_created: u32,
    choices: u32,
}

pub(crate) struct ChannelMeta {
    pub(crate) name: String,
    deliver: Option<Weak<dyn Deliver>>,
    instance: u32,
    delivered: u32,
}

/// A channel with latency: applying a delivery event moves its oldest in-flight
/// message into the buffer and says when the next one is due.
pub(crate) trait Deliver {
    /// Delivers the oldest in-flight message; returns the next in-flight message's due time.
    fn deliver(&self) -> Option<Instant>;
}

thread_local! {
    /// Wake-ups of the simulation being driven on this thread: pushed without atomics
    /// or locks. Wakes from other threads, or while no simulation is driven, take the
    /// locked path through [`WakeQueue`].
    static LOCAL_WAKES: RefCell<LocalWakes> = const { RefCell::new(LocalWakes { owner: None, woken: Vec::new() }) };
}

struct LocalWakes {
    /// The wake queue of the simulation being driven on this thread.
    owner: Option<Arc<WakeQueue>>,
    woken: Vec<TaskId>,
}

impl LocalWakes {
    fn owned_by(&self, queue: &Arc<WakeQueue>) -> bool {
        self.owner.as_ref().is_some_and(|o| Arc::ptr_eq(o, queue))
    }

    /// Moves the fast-path wakes to their simulation's locked path, in order.
    fn flush(&mut self) {
        if let Some(owner) = &self.owner {
            if !self.woken.is_empty() {
                owner.woken.lock().append(&mut self.woken);
                owner.pending.store(true, Ordering::Release);
            }
        }
    }
}

/// Routes this thread's wake-ups for one simulation through the fast path until
/// dropped (restoring the previously driven simulation, if any).
pub(crate) struct FastWakeGuard {
    previous: Option<Arc<WakeQueue>>,
}

impl FastWakeGuard {
    pub(crate) fn new(queue: &Arc<WakeQueue>) -> FastWakeGuard {
        LOCAL_WAKES.with(|l| {
            let mut l = l.borrow_mut();
            l.flush();
            FastWakeGuard { previous: l.owner.replace(queue.clone()) }
        })
    }
}

impl Drop for FastWakeGuard {
    fn drop(&mut self) {
        LOCAL_WAKES.with(|l| {
            let mut l = l.borrow_mut();
            l.flush();
            l.owner = self.previous.take();
        });
    }
}

/// Task wake-ups, pushed by wakers (which must be `Send + Sync`) and moved into the
/// event queue by the engine, in the order they happened.
pub(crate) struct WakeQueue {
    woken: Mutex<Vec<TaskId>>,
    pending: AtomicBool,
    foreign: AtomicBool,
    /// The first task woken from another OS thread.
    foreign_task: Mutex<Option<TaskId>>,
    /// The thread that drives the simulation: a wake from any other is foreign.
    thread: std::thread::ThreadId,
}

struct TaskWaker {
    id: TaskId,
    queue: Arc<WakeQueue>,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let fast = LOCAL_WAKES.with(|l| match l.try_borrow_mut() {
            Ok(mut l) if l.owned_by(&self.queue) => {
                l.woken.push(self.id);
                true
            }
            _ => false,
        });
        if fast {
            return;
        }
        if std::thread::current().id() != self.queue.thread {
            self.queue.foreign_task.lock().get_or_insert(self.id);
            self.queue.foreign.store(true, Ordering::Release);
        }
        self.queue.woken.lock().push(self.id);
        self.queue.pending.store(true, Ordering::Release);
    }
}

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

pub(crate) struct Core {
    now: Instant,
    seq: u64,
    pub(crate) step: u64,
    queue: EventQueue,
    timers: Slab<TimerEntry>,
    next_timer: u64,
    pub(crate) tasks: Vec<TaskMeta>,
    pub(crate) live_tasks: usize,
    pub(crate) channels: Vec<ChannelMeta>,
    pub(crate) current: Option<TaskId>,
    /// The data and vtable pointers of the polled task's waker (compared, never followed).
    current_waker: (*const (), *const std::task::RawWakerVTable),
    wakes: Arc<WakeQueue>,
    strategy: Box<dyn Strategy>,
    candidates: Vec<Candidate>,
    woken_buf: Vec<TaskId>,
    pub(crate) tape: Vec<Choice>,
    pub(crate) tape_ids: Vec<RawIdentity>,
    /// Where the run stood at each choice on `tape`, just before it was made.
    pub(crate) marks: Vec<Mark>,
    /// The poll watchdog's stamp, told every choice, for a run that no seed replays.
    pub(crate) watch: Option<std::sync::Arc<crate::watchdog::Stamp>>,
    identities: Vec<EventIdentity>,
    task_names: std::collections::BTreeMap<String, u32>,
    channel_names: std::collections::BTreeMap<String, u32>,
    ownerless_timers: u32,
    /// Every timer name used so far (`debounce.rs:42`, or a [`crate::named`] scope's),
    /// each once; a timer and its trace records hold an index.
    timer_names: Vec<String>,
    timer_name_ids: std::collections::BTreeMap<TimerName, u32>,
    pub(crate) trace: TraceBuf,
    pub(crate) stop: Option<Stop>,
    pub(crate) foreign_wake: bool,
    /// What the current step touched, when the strategy asks for footprints.
    footprint: Option<Vec<Access>>,
    /// The tokio model's run queue, and whether the run still follows it.
    pub(crate) tokio: TokioState,
    /// Scratch space for the tokio model's view of the events due now.
    cands: Vec<Cand>,
}

impl Core {
    pub(crate) fn new(strategy: Box<dyn Strategy>, trace: TraceBuf, model: Model) -> Core {
        let footprint = strategy.wants_footprints().then(Vec::new);
        Core {
            now: Instant::ZERO,
            seq: 0,
            step: 0,
            queue: EventQueue::default(),
            timers: Slab::new(),
            next_timer: 0,
            tasks: Vec::new(),
            live_tasks: 0,
            channels: Vec::new(),
            current: None,
            current_waker: (std::ptr::null(), std::ptr::null()),
            wakes: Arc::new(WakeQueue {
                woken: Mutex::new(Vec::new()),
                pending: AtomicBool::new(false),
                foreign: AtomicBool::new(false),
                foreign_task: Mutex::new(None),
                thread: std::thread::current().id(),
            }),
            strategy,
            candidates: Vec::new(),
            woken_buf: Vec::new(),
            tape: Vec::new(),
            tape_ids: Vec::new(),
            marks: Vec::new(),
            watch: None,
            identities: Vec::new(),
            task_names: std::collections::BTreeMap::new(),
            channel_names: std::collections::BTreeMap::new(),
            ownerless_timers: 0,
            timer_names: Vec::new(),
            timer_name_ids: std::collections::BTreeMap::new(),
            trace,
            stop: None,
            foreign_wake: false,
            footprint,
            tokio: TokioState::new(model),
            cands: Vec::new(),
        }
    }

    pub(crate) fn now(&self) -> Instant {
        self.now
    }

    pub(crate) fn strategy(&self) -> &dyn Strategy {
        &*self.strategy
    }

    // ---- footprints ----

    /// Notes that the current step touched `access` (when footprints are collected).
    #[inline(always)]
    pub(crate) fn touch(&mut self, access: Access) {
        if self.footprint.is_some() {
            self.push_access(access);
        }
    }

    /// The out-of-line half of [`Core::touch`]: the common path (nothing collected)
    /// stays a single test in the primitives.
    #[cold]
    #[inline(never)]
    fn push_access(&mut self, access: Access) {
        if let Some(f) = &mut self.footprint {
            f.push(access);
        }
    }

    /// Starts collecting the footprint of a new step.
    #[inline]
    pub(crate) fn begin_footprint(&mut self) {
        if let Some(f) = &mut self.footprint {
            f.clear();
        }
    }

    /// Ends the current step's footprint and hands it to the strategy. The step's
    /// wake-ups are queued first (as the next step would), so they are part of it.
    pub(crate) fn end_footprint(&mut self) {
        if self.footprint.is_none() {
            return;
        }
        self.drain_wakes();
        let accesses = self.footprint.take().unwrap_or_default();
        let footprint = Footprint::new(accesses);
        self.strategy.after_step(&footprint);
        let mut reuse = footprint.into_accesses();
        reuse.clear();
        self.footprint = Some(reuse);
    }

    /// Notes that the current step touched the timer in slot `key`.
    #[inline(always)]
    fn touch_timer(&mut self, key: usize) {
        if self.footprint.is_some() {
            self.push_timer_access(key);
        }
    }

    #[cold]
    #[inline(never)]
    fn push_timer_access(&mut self, key: usize) {
        if let Some(entry) = self.timers.get(key) {
            let access = Access::Timer(entry.owner, entry.ordinal);
            self.push_access(access);
        }
    }

    // ---- the queue ----

    fn schedule(&mut self, time: Instant, event: Event) {
        self.drain_wakes();
        self.push_event(time, event);
    }

    fn push_event(&mut self, time: Instant, event: Event) {
        let seq = self.seq;
        self.seq += 1;
        if let Event::Wake(task) = event {
            self.tokio.queued(task);
        }
        if time <= self.now {
            self.queue.ready.push_back((seq, event));
        } else {
            self.queue.later.push(Reverse(Queued { time, seq, event }));
        }
    }

    /// Moves wake-ups pushed by wakers into the queue, one event per task not
    /// already scheduled.
    pub(crate) fn drain_wakes(&mut self) {
        if self.wakes.pending.load(Ordering::Relaxed) && self.wakes.pending.swap(false, Ordering::Acquire) {
            if self.wakes.foreign.swap(false, Ordering::Acquire) && !self.foreign_wake {
                self.foreign_wake = true;
                let task = self.wakes.foreign_task.lock().take();
                let mut r = TraceRecord::new(self.step, self.now, RecordKind::ForeignWake);
                r.task = task;
                self.record(r);
                self.escape(task, FOREIGN_WAKE.to_string());
            }
            let mut woken = std::mem::take(&mut self.woken_buf);
            std::mem::swap(&mut woken, &mut *self.wakes.woken.lock());
            self.schedule_woken(&mut woken);
            self.woken_buf = woken;
        }
        let mut woken = std::mem::take(&mut self.woken_buf);
        LOCAL_WAKES.with(|l| {
            let mut l = l.borrow_mut();
            if l.owned_by(&self.wakes) {
                std::mem::swap(&mut woken, &mut l.woken);
            }
        });
        self.schedule_woken(&mut woken);
        self.woken_buf = woken;
    }

    /// Queues one wake-up event per woken task not already scheduled, in wake order.
    fn schedule_woken(&mut self, woken: &mut Vec<TaskId>) {
        for &id in woken.iter() {
            self.touch(Access::Wake(id));
            let meta = &mut self.tasks[id.0 as usize];
            if meta.state == TaskState::Running && !meta.scheduled {
                meta.scheduled = true;
                self.push_event(self.now, Event::Wake(id));
            } else if meta.state == TaskState::Running {
                self.tokio.rewoken(id);
            }
        }
        woken.clear();
    }

    pub(crate) fn wake_queue(&self) -> &Arc<WakeQueue> {
        &self.wakes
    }

    fn is_live(&self, event: &Event) -> bool {
        match *event {
            Event::Timer(key, id) => self.timers.get(key).is_some_and(|t| t.id == id),
            Event::Wake(_) | Event::Deliver(_) => true,
        }
    }

    /// Whether any event is pending.
    pub(crate) fn has_pending(&mut self) -> bool {
        self.drain_wakes();
        if !self.queue.ready.is_empty() {
            return true;
        }
        while let Some(Reverse(q)) = self.queue.later.peek() {
            if self.is_live(&q.event) {
                return true;
            }
            self.queue.later.pop();
        }
        false
    }

    /// The time of the earliest pending event.
    pub(crate) fn next_time(&mut self) -> Option<Instant> {
        if !self.has_pending() {
            return None;
        }
        if self.queue.ready.is_empty() {
            self.queue.later.peek().map(|Reverse(q)| q.time)
        } else {
            Some(self.now)
        }
    }

    /// Takes the next event due no later than `until`, advancing time to it and
    /// resolving a choice point when several are due at once.
    pub(crate) fn next_event(&mut self, until: Instant) -> Option<(Event, Option<Choice>)> {
        self.drain_wakes();
        if self.queue.ready.is_empty() {
            let t = self.next_time()?;
            if t > until {
                return None;
            }
            if t > self.now {
                self.tokio.advanced();
            }
            self.now = t;
            while let Some(Reverse(q)) = self.queue.later.peek() {
                if q.time != t {
                    break;
                }
                let Reverse(q) = self.queue.later.pop().expect("peeked");
                if self.is_live(&q.event) {
                    self.queue.ready.push_back((q.seq, q.event));
                }
            }
        }
        let n = self.queue.ready.len();
        if n == 0 {
            return None;
        }
        self.step += 1;
        let tokio = self.tokio.tracking().then(|| self.tokio_pick());
        if let (Some((index, _)), true) = (tokio, self.tokio.forced() && n > 1) {
            // The tokio model leaves no choice: take its event, as the only one due.
            let (seq, event) = self.queue.ready.remove(index).expect("index below len");
            if self.strategy.wants_candidates() {
                let key = self.event_key(event);
                self.strategy.observe(&Candidate { seq, task: key.task, event: key });
            }
            return Some((event, None));
        }
        if n == 1 {
            let (seq, event) = self.queue.ready.pop_front().expect("non-empty");
            if self.strategy.wants_candidates() {
                let key = self.event_key(event);
                self.strategy.observe(&Candidate { seq, task: key.task, event: key });
            }
            return Some((event, None));
        }
        let mut candidates = std::mem::take(&mut self.candidates);
        candidates.clear();
        if self.strategy.wants_candidates() {
            for &(seq, event) in &self.queue.ready {
                let key = self.event_key(event);
                candidates.push(Candidate { seq, task: key.task, event: key });
            }
        }
        let mut identities = std::mem::take(&mut self.identities);
        identities.clear();
        if self.strategy.wants_identities() {
            for i in 0..n {
                let raw = self.event_identity(self.queue.ready[i].1);
                identities.push(self.resolve_identity(raw));
            }
        }
        let point = ChoicePoint {
            options: n,
            kind: ChoiceKind::Schedule,
            step: self.step,
            time: self.now,
            candidates: &candidates,
            identities: &identities,
            identity: None,
        };
        let index = self.strategy.choose(&point).min(n - 1);
        self.candidates = candidates;
        self.identities = identities;
        if let Some((expected, rule)) = tokio.filter(|&(expected, _)| expected != index) {
            let reason = self.departure(index, expected, rule);
            self.tokio.departure = Some(reason);
        }
        let choice = Choice { options: n as u32, index: index as u32 };
        self.mark(choice);
        self.tape.push(choice);
        let raw = self.event_identity(self.queue.ready[index].1);
        self.tape_ids.push(raw);
        let (_, event) = self.queue.ready.remove(index).expect("index below len");
        Some((event, Some(choice)))
    }

    /// The event the tokio model takes next among those due now (see [`crate::model`]).
    fn tokio_pick(&mut self) -> (usize, Rule) {
        let mut cands = std::mem::take(&mut self.cands);
        cands.clear();
        cands.extend(self.queue.ready.iter().map(|&(seq, event)| match event {
            Event::Wake(task) => Cand::Wake(task),
            Event::Timer(..) | Event::Deliver(_) => Cand::Timer { seq },
        }));
        let pick = self.tokio.pick(&cands);
        self.cands = cands;
        pick
    }

    /// Says why taking the `chosen` event due now, where the tokio model takes the
    /// `expected` one by `rule`, leaves tokio's order.
    fn departure(&self, chosen: usize, expected: usize, rule: Rule) -> String {
        let now = self.now;
        let what = |event: Event| match event {
            Event::Wake(t) => format!("task `{}`", self.task_name(t)),
            Event::Timer(_, id) => format!("timer {}", id.0),
            Event::Deliver(c) => format!("the delivery on `{}`", self.channel_name(c)),
        };
        let (c, e) = (self.queue.ready[chosen].1, self.queue.ready[expected].1);
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
        if t > self.now && self.queue.ready.is_empty() {
            self.now = t;
        }
    }

    // ---- choices made by code ----

    /// Resolves a choice among `n` options made by code (a select, a user draw).
    pub(crate) fn choose(&mut self, kind: ChoiceKind, n: usize) -> usize {
        if n <= 1 {
            return 0;
        }
        let seq = match self.current {
            Some(t) => {
                let meta = &mut self.tasks[t.0 as usize];
                meta.choices += 1;
                meta.choices - 1
            }
            None => 0,
        };
        let id_kind = if kind == ChoiceKind::Select { IdentityKind::Select } else { IdentityKind::User };
        let raw = RawIdentity { kind: id_kind, task: self.current, channel: None, seq };
        let resolved = self.strategy.wants_identities().then(|| self.resolve_identity(raw));
        let point = ChoicePoint {
            options: n,
            kind,
            step: self.step,
            time: self.now,
            candidates: &[],
            identities: &[],
            identity: resolved.as_ref(),
        };
        let index = self.strategy.choose(&point).min(n - 1);
        let choice = Choice { options: n as u32, index: index as u32 };
        self.mark(choice);
        self.tape.push(choice);
        self.tape_ids.push(raw);
        let mut r = self.record_here(RecordKind::Choose);
        r.choice = Some(choice);
        self.record(r);
        index
    }

    /// Notes where the run stands before `choice` goes on the tape (and tells the
    /// watchdog, when it records choices).
    fn mark(&mut self, choice: Choice) {
        self.marks.push(Mark { step: self.step, time: self.now, fingerprint: self.trace.fingerprint() });
        if let Some(stamp) = &self.watch {
            stamp.choice(choice);
        }
    }

    // ---- identities ----

    /// The identity of a queued event (what it would be if applied next).
    fn event_identity(&self, event: Event) -> RawIdentity {
        match event {
            Event::Wake(t) => RawIdentity {
                kind: IdentityKind::Poll,
                task: Some(t),
                channel: None,
                seq: self.tasks[t.0 as usize].polls,
            },
            Event::Timer(key, _) => {
                let (owner, ordinal) = self.timers.get(key).map_or((None, 0), |e| (e.owner, e.ordinal));
                RawIdentity { kind: IdentityKind::Timer, task: owner, channel: None, seq: ordinal }
            }
            Event::Deliver(c) => RawIdentity {
                kind: IdentityKind::Deliver,
                task: None,
                channel: Some(c),
                seq: self.channels[c.0 as usize].delivered,
            },
        }
    }

    /// A queued event's key: its identity by ids, plus the waiter of a timer.
    fn event_key(&self, event: Event) -> EventKey {
        let raw = self.event_identity(event);
        let waiter = match event {
            Event::Timer(key, _) => self.timers.get(key).and_then(|e| e.waiter),
            Event::Wake(t) => Some(t),
            Event::Deliver(_) => None,
        };
        EventKey { kind: raw.kind, task: raw.task, channel: raw.channel, seq: raw.seq, waiter }
    }

    pub(crate) fn resolve_identity(&self, raw: RawIdentity) -> EventIdentity {
        let (name, instance) = match (raw.task, raw.channel) {
            (Some(t), _) => (self.task_name(t).to_string(), self.tasks[t.0 as usize].instance),
            (None, Some(c)) => (self.channel_name(c).to_string(), self.channels[c.0 as usize].instance),
            (None, None) => ("-".to_string(), 0),
        };
        EventIdentity { kind: raw.kind, name, instance, seq: raw.seq }
    }

    /// The identities of every recorded choice, resolved.
    pub(crate) fn tape_identities(&self) -> Vec<EventIdentity> {
        self.tape_ids.iter().map(|&raw| self.resolve_identity(raw)).collect()
    }

    /// Counts a delivery on `channel` (its identity's sequence number).
    pub(crate) fn count_delivery(&mut self, channel: ChannelId) {
        self.channels[channel.0 as usize].delivered += 1;
    }

    // ---- trace ----

    #[inline]
    pub(crate) fn record(&mut self, record: TraceRecord) {
        self.trace.push(record);
    }

    /// A record at the current step and time, attributed to the running task.
    pub(crate) fn record_here(&self, kind: RecordKind) -> TraceRecord {
        let mut r = TraceRecord::new(self.step, self.now, kind);
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
        self.trace.push_with_text(r, value.text);
    }

    /// Records that the running task waits on `wait` (for deadlock reports).
    pub(crate) fn wait_on(&mut self, wait: Wait) {
        if let Some(t) = self.current {
            let waits = &mut self.tasks[t.0 as usize].waits;
            if !waits.contains(&wait) {
                waits.push(wait);
            }
        }
    }

    /// Reports an escape from the simulation; the run stops after the current step.
    pub(crate) fn escape(&mut self, task: Option<TaskId>, cause: String) {
        self.touch(Access::Stop);
        if self.stop.is_none() {
            self.stop = Some(Stop::Escape { task, cause });
        }
    }

    /// Whether a wake-up from another OS thread is waiting to be drained.
    pub(crate) fn foreign_wake_pending(&self) -> bool {
        self.wakes.foreign.load(Ordering::Acquire)
    }

    /// How many wakers of task `id` exist beyond the one the engine keeps (clones
    /// held by primitives, or by something outside the simulation).
    pub(crate) fn waker_clones(&self, id: TaskId) -> usize {
        Arc::strong_count(&self.tasks[id.0 as usize].waker_arc).saturating_sub(2)
    }

    /// Reports a property violation; the run stops after the current step.
    pub(crate) fn violation(&mut self, message: String) {
        self.touch(Access::Stop);
        let r = self.record_here(RecordKind::Violation);
        self.record(r);
        if self.stop.is_none() {
            self.stop = Some(Stop::Violation { task: self.current, message });
        }
    }

    // ---- tasks ----

    pub(crate) fn register_task(&mut self, name: Option<String>) -> TaskId {
        let id = TaskId(u32::try_from(self.tasks.len()).expect("too many tasks"));
        let waker_arc = Arc::new(TaskWaker { id, queue: self.wakes.clone() });
        let waker = Waker::from(waker_arc.clone());
        let name = name.or_else(crate::context::scoped_name).unwrap_or_else(|| format!("task-{}", id.0));
        let instance = next_instance(&mut self.task_names, &name);
        self.trace.fold_name(NameOf::Task, id.0, &name);
        self.tasks.push(TaskMeta {
            name,
            instance,
            polls: 0,
            timers_created: 0,
            choices: 0,
            state: TaskState::Running,
            scheduled: true,
            waits: Vec::new(),
            waker,
            waker_arc,
            join_waker: None,
        });
        self.live_tasks += 1;
        self.touch(Access::Create);
        let mut r = self.record_here(RecordKind::Spawn);
        r.task = Some(id);
        self.record(r);
        self.schedule(self.now, Event::Wake(id));
        id
    }

    /// Marks the start of a poll of `id`: it is no longer scheduled and waits on nothing
    /// yet. Lends out the task's waker (no reference count touched); give it back with
    /// [`Core::end_poll`].
    pub(crate) fn begin_poll(&mut self, id: TaskId) -> Waker {
        self.current = Some(id);
        self.touch(Access::Task(id));
        self.tokio.polled(id);
        let meta = &mut self.tasks[id.0 as usize];
        meta.scheduled = false;
        meta.polls += 1;
        meta.waits.clear();
        self.current_waker = (meta.waker.data(), meta.waker.vtable());
        std::mem::replace(&mut meta.waker, Waker::noop().clone())
    }

    /// Ends a poll of `id`, taking back the waker lent by [`Core::begin_poll`].
    pub(crate) fn end_poll(&mut self, id: TaskId, waker: Waker) {
        self.current = None;
        self.current_waker = (std::ptr::null(), std::ptr::null());
        self.tasks[id.0 as usize].waker = waker;
    }

    /// Marks a task ended (done or aborted) and hands back its joiner's waker.
    pub(crate) fn end_task(&mut self, id: TaskId, state: TaskState) -> Option<Waker> {
        self.touch(Access::Task(id));
        self.touch(Access::End);
        let meta = &mut self.tasks[id.0 as usize];
        if meta.state != TaskState::Running {
            return None;
        }
        meta.state = state;
        meta.waits.clear();
        self.live_tasks -= 1;
        let kind = if state == TaskState::Aborted { RecordKind::TaskAbort } else { RecordKind::TaskEnd };
        let mut r = TraceRecord::new(self.step, self.now, kind);
        r.task = Some(id);
        self.record(r);
        self.tasks[id.0 as usize].join_waker.take()
    }

    pub(crate) fn task_name(&self, id: TaskId) -> &str {
        &self.tasks[id.0 as usize].name
    }

    // ---- timers ----

    /// The name of a timer created at `at`: the enclosing [`crate::named`] scope's, else
    /// the creation site (`debounce.rs:42`). Names are kept once each.
    pub(crate) fn timer_name(&mut self, at: &'static std::panic::Location<'static>) -> u32 {
        let key = match crate::context::scoped_name() {
            Some(name) => TimerName::Named(name),
            None => TimerName::Site(at.file(), at.line(), at.column()),
        };
        if let Some(&id) = self.timer_name_ids.get(&key) {
            return id;
        }
        let name = match &key {
            TimerName::Named(name) => name.clone(),
            TimerName::Site(..) => location_name(at),
        };
        let id = u32::try_from(self.timer_names.len()).expect("too many timer names");
        self.timer_names.push(name);
        self.timer_name_ids.insert(key, id);
        id
    }

    /// A timer name by index (see [`Core::timer_name`]).
    pub(crate) fn timer_name_text(&self, name: u32) -> &str {
        &self.timer_names[name as usize]
    }

    pub(crate) fn timer_register(&mut self, deadline: Instant, name: u32) -> TimerKey {
        let id = TimerId(self.next_timer);
        self.next_timer += 1;
        let owner = self.current;
        let counter = match owner {
            Some(t) => &mut self.tasks[t.0 as usize].timers_created,
            None => &mut self.ownerless_timers,
        };
        let ordinal = *counter;
        *counter += 1;
        let key = self.timers.insert(TimerEntry {
            id,
            deadline,
            fired: false,
            owner,
            ordinal,
            waker: TimerWaker::None,
            waiter: None,
            name,
        });
        let mut r = self.record_here(RecordKind::TimerSet);
        r.timer = Some((id, deadline));
        r.timer_name = Some(name);
        self.record(r);
        if deadline <= self.now {
            self.tokio.set_immediate(id);
        }
        self.schedule(deadline.max(self.now), Event::Timer(key, id));
        TimerKey { key, id }
    }

    /// Whether the timer has fired; if not, remembers `waker` and records the wait.
    pub(crate) fn timer_poll(&mut self, timer: TimerKey, waker: &Waker) -> bool {
        self.touch_timer(timer.key);
        let entry = &mut self.timers[timer.key];
        if entry.fired {
            return true;
        }
        entry.waiter = self.current;
        let own = self
            .current
            .filter(|_| waker.data() == self.current_waker.0 && std::ptr::eq(waker.vtable(), self.current_waker.1));
        match (&mut entry.waker, own) {
            (slot, Some(task)) => *slot = TimerWaker::Task(task),
            (TimerWaker::Other(w), None) if w.will_wake(waker) => {}
            (slot, None) => *slot = TimerWaker::Other(waker.clone()),
        }
        let at = entry.deadline;
        self.wait_on(Wait::Timer { id: timer.id, at });
        false
    }

    /// Whether the timer has fired, without registering interest.
    pub(crate) fn timer_fired(&mut self, timer: TimerKey) -> bool {
        let Some(entry) = self.timers.get(timer.key).filter(|e| e.id == timer.id) else { return false };
        let fired = entry.fired;
        self.touch_timer(timer.key);
        fired
    }

    pub(crate) fn timer_cancel(&mut self, timer: TimerKey) {
        let Some(entry) = self.timers.try_remove(timer.key) else { return };
        self.tokio.timer_done(entry.id);
        self.touch(Access::Timer(entry.owner, entry.ordinal));
        if entry.fired {
            return;
        }
        let mut r = self.record_here(RecordKind::TimerCancel);
        r.timer = Some((entry.id, entry.deadline));
        r.timer_name = Some(entry.name);
        self.record(r);
        if entry.deadline <= self.now {
            let target = Event::Timer(timer.key, timer.id);
            if let Some(pos) = self.queue.ready.iter().position(|(_, e)| *e == target) {
                self.queue.ready.remove(pos);
            }
        }
    }

    /// Applies a timer firing; returns the waiter to wake.
    pub(crate) fn timer_fire(&mut self, key: usize, id: TimerId, choice: Option<Choice>) -> Woken {
        let Some(entry) = self.timers.get_mut(key).filter(|e| e.id == id) else { return Woken::Done };
        entry.fired = true;
        let elapsed = self.tokio.timer_done(id);
        self.tokio.fired_now = true;
        let mut r = TraceRecord::new(self.step, self.now, RecordKind::TimerFire);
        r.task = entry.owner;
        r.timer = Some((id, entry.deadline));
        r.timer_name = Some(entry.name);
        r.choice = choice;
        let waker = std::mem::replace(&mut entry.waker, TimerWaker::None);
        self.record(r);
        self.touch_timer(key);
        match waker {
            TimerWaker::None => Woken::Done,
            TimerWaker::Other(w) => Woken::Waker(w),
            TimerWaker::Task(task) => {
                // What the task's waker would do, without the waker: queue its wake-up.
                self.drain_wakes();
                self.touch(Access::Wake(task));
                let meta = &mut self.tasks[task.0 as usize];
                if meta.state == TaskState::Running && !meta.scheduled {
                    meta.scheduled = true;
                    self.push_event(self.now, Event::Wake(task));
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
        let id = ChannelId(u32::try_from(self.channels.len()).expect("too many channels"));
        let name = name.or_else(crate::context::scoped_name).unwrap_or_else(|| location_name(at));
        let instance = next_instance(&mut self.channel_names, &name);
        self.trace.fold_name(NameOf::Channel, id.0, &name);
        self.touch(Access::Create);
        self.channels.push(ChannelMeta { name, deliver: None, instance, delivered: 0 });
        id
    }

    pub(crate) fn set_deliver_target(&mut self, id: ChannelId, target: Weak<dyn Deliver>) {
        self.channels[id.0 as usize].deliver = Some(target);
    }

    /// Schedules the delivery of a channel's oldest in-flight message at `at`.
    pub(crate) fn schedule_delivery(&mut self, id: ChannelId, at: Instant) {
        self.schedule(at, Event::Deliver(id));
    }

    pub(crate) fn deliver_target(&self, id: ChannelId) -> Option<Arc<dyn Deliver>> {
        self.channels[id.0 as usize].deliver.as_ref()?.upgrade()
    }

    pub(crate) fn channel_name(&self, id: ChannelId) -> &str {
        &self.channels[id.0 as usize].name
    }

    /// Describes a wait for reports: "recv on `out`".
    pub(crate) fn describe_wait(&self, wait: &Wait) -> String {
        match *wait {
            Wait::Recv(c) => format!("recv on `{}`", self.channel_name(c)),
            Wait::Send(c) => format!("send on full `{}`", self.channel_name(c)),
            Wait::Timer { id, at } => match self.timers.iter().find(|(_, e)| e.id == id) {
                Some((_, e)) => format!("timer {} `{}` at {at}", id.0, self.timer_name_text(e.name)),
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

/// A creation site as a name: the file's last component and the line (`debounce.rs:42`).
pub(crate) fn location_name(at: &std::panic::Location<'_>) -> String {
    let file = at.file();
    let base = file.rsplit(['/', '\\']).next().unwrap_or(file);
    format!("{base}:{}", at.line())
}

/// Counts one more holder of `name`; returns how many came before.
fn next_instance(names: &mut std::collections::BTreeMap<String, u32>, name: &str) -> u32 {
    match names.get_mut(name) {
        Some(n) => {
            *n += 1;
            *n - 1
        }
        None => {
            names.insert(name.to_string(), 1);
            0
        }
    }
}

impl fmt::Debug for Core {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Core").field("now", &self.now).field("step", &self.step).finish_non_exhaustive()
    }
}
