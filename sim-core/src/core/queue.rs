//! The one event queue and the virtual clock: events due now, in the order they were
//! queued, and events due later, by time and then queue order. The queue knows
//! nothing about what an event does; whether a queued event still applies (a timer
//! may have been cancelled since) is asked of the caller.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use super::timers::Timers;
use super::Core;
use crate::instant::Instant;
use crate::{ChannelId, TaskId, TimerId};

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

/// The clock and the queue.
pub(super) struct EventQueue {
    now: Instant,
    /// The next event's queue number.
    seq: u64,
    ready: VecDeque<(u64, Event)>,
    later: BinaryHeap<Reverse<Queued>>,
}

impl EventQueue {
    pub(super) fn new() -> EventQueue {
        EventQueue { now: Instant::ZERO, seq: 0, ready: VecDeque::new(), later: BinaryHeap::new() }
    }

    /// The current virtual time.
    #[inline]
    pub(super) fn now(&self) -> Instant {
        self.now
    }

    /// Queues `event` at `time` (due now when `time` is not later than now).
    pub(super) fn push(&mut self, time: Instant, event: Event) {
        let seq = self.seq;
        self.seq += 1;
        if time <= self.now {
            self.ready.push_back((seq, event));
        } else {
            self.later.push(Reverse(Queued { time, seq, event }));
        }
    }

    /// Whether any event still applies (`live` says which do), dropping stale ones
    /// due later.
    pub(super) fn has_pending(&mut self, live: impl Fn(&Event) -> bool) -> bool {
        if !self.ready.is_empty() {
            return true;
        }
        while let Some(Reverse(q)) = self.later.peek() {
            if live(&q.event) {
                return true;
            }
            self.later.pop();
        }
        false
    }

    /// The time of the earliest pending event that still applies.
    pub(super) fn next_time(&mut self, live: impl Fn(&Event) -> bool) -> Option<Instant> {
        if !self.has_pending(live) {
            return None;
        }
        if self.ready.is_empty() {
            self.later.peek().map(|Reverse(q)| q.time)
        } else {
            Some(self.now)
        }
    }

    /// Whether no event is due now.
    pub(super) fn nothing_due(&self) -> bool {
        self.ready.is_empty()
    }

    /// Moves the clock to `t` and the events due then that still apply into the
    /// events due now, in queue order.
    pub(super) fn advance_to(&mut self, t: Instant, live: impl Fn(&Event) -> bool) {
        self.now = t;
        while let Some(Reverse(q)) = self.later.peek() {
            if q.time != t {
                break;
            }
            let Reverse(q) = self.later.pop().expect("peeked");
            if live(&q.event) {
                self.ready.push_back((q.seq, q.event));
            }
        }
    }

    /// Moves the clock to `t` in one jump (never back), even with events due now:
    /// every event due by `t` that still applies joins the events due now, by time
    /// and then queue order.
    pub(super) fn jump_to(&mut self, t: Instant, live: impl Fn(&Event) -> bool) {
        self.now = self.now.max(t);
        while let Some(Reverse(q)) = self.later.peek() {
            if q.time > self.now {
                break;
            }
            let Reverse(q) = self.later.pop().expect("peeked");
            if live(&q.event) {
                self.ready.push_back((q.seq, q.event));
            }
        }
    }

    /// Moves the clock forward to `t` (never back) with nothing applied, when nothing
    /// is due now.
    pub(super) fn advance_clock(&mut self, t: Instant) {
        if t > self.now && self.ready.is_empty() {
            self.now = t;
        }
    }

    /// The events due now, with their queue numbers, in queue order.
    pub(super) fn due(&self) -> impl ExactSizeIterator<Item = (u64, Event)> + '_ {
        self.ready.iter().copied()
    }

    /// The `index`th event due now.
    pub(super) fn due_at(&self, index: usize) -> Event {
        self.ready[index].1
    }

    /// Takes the `index`th event due now out of the queue.
    pub(super) fn take(&mut self, index: usize) -> (u64, Event) {
        self.ready.remove(index).expect("index below the number of events due")
    }

    /// Drops `event` from the events due now, if it is there.
    pub(super) fn remove_due(&mut self, event: Event) {
        if let Some(pos) = self.ready.iter().position(|(_, e)| *e == event) {
            self.ready.remove(pos);
        }
    }
}

impl Core {
    /// Queues `event` at `time`, after the wake-ups pushed so far.
    pub(super) fn schedule(&mut self, time: Instant, event: Event) {
        self.drain_wakes();
        self.push_event(time, event);
    }

    pub(super) fn push_event(&mut self, time: Instant, event: Event) {
        if let Event::Wake(task) = event {
            self.sched.tokio.queued(task);
        }
        self.queue.push(time, event);
    }

    /// The time of the earliest pending event.
    pub(crate) fn next_time(&mut self) -> Option<Instant> {
        self.drain_wakes();
        let timers = &self.timers;
        self.queue.next_time(|e| is_live(timers, e))
    }
}

/// Whether a queued event still applies: a timer's, unless it was cancelled since.
pub(super) fn is_live(timers: &Timers, event: &Event) -> bool {
    match *event {
        Event::Timer(key, id) => timers.is_live(key, id),
        Event::Wake(_) | Event::Deliver(_) => true,
    }
}
