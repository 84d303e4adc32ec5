//! The clock's mode and moves: tokio's test-util `pause` (whether a timer already due
//! completes in the poll that first sees it) and whether pausing is allowed, and the
//! two ways virtual time moves besides taking the next event: forward with nothing
//! applied, and tokio's `advance` (a jump that fires every timer due by then). The
//! time itself is the event queue's ([`super::queue`]); the user-facing controls are
//! [`crate::time`].

use std::task::Waker;

use super::timers::{TimerKey, Woken};
use super::{is_live, Core, Event};
use crate::instant::Instant;

/// A simulation's clock mode (tokio's test-util `pause`; see [`crate::time`]).
#[derive(Clone, Copy, Debug)]
pub(super) struct ClockMode {
    paused: bool,
    pausable: bool,
}

impl ClockMode {
    pub(super) fn new() -> ClockMode {
        ClockMode { paused: false, pausable: true }
    }

    pub(super) fn paused(self) -> bool {
        self.paused
    }
}

impl Core {
    /// Whether the clock is paused (tokio's `time::pause`).
    pub(crate) fn clock_paused(&self) -> bool {
        self.clock.paused
    }

    /// Whether the clock may be paused (tokio's current-thread runtime).
    pub(crate) fn clock_pausable(&self) -> bool {
        self.clock.pausable
    }

    /// Pauses or unpauses the clock; the caller checks tokio's rules first.
    pub(crate) fn set_clock_paused(&mut self, paused: bool) {
        self.clock.paused = paused;
    }

    /// Sets whether the clock may be paused.
    pub(crate) fn set_clock_pausable(&mut self, pausable: bool) {
        self.clock.pausable = pausable;
    }

    /// Moves time forward to `t` (never back) with nothing applied.
    pub(crate) fn advance_clock(&mut self, t: Instant) {
        self.queue.advance_clock(t);
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
}
