//! `interval`, with tokio's missed-tick behaviours.

use std::future::poll_fn;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::time::{sleep_until, Instant, Sleep};

/// What an [`Interval`] does when ticks were missed because the task did not call
/// `tick` in time. A tick counts as missed when it is taken more than 5 ms after its
/// deadline, as in tokio.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MissedTickBehavior {
    /// Fire the missed ticks back to back, keeping the original schedule.
    #[default]
    Burst,
    /// Restart the schedule from the moment the late tick was taken.
    Delay,
    /// Skip the missed ticks, staying on the original grid.
    Skip,
}

impl MissedTickBehavior {
    fn next(self, deadline: Instant, now: Instant, period: Duration) -> Instant {
        match self {
            MissedTickBehavior::Burst => deadline + period,
            MissedTickBehavior::Delay => now + period,
            MissedTickBehavior::Skip => {
                let late = (now - deadline).as_nanos() % period.as_nanos();
                now + (period - Duration::from_nanos(late as u64))
            }
        }
    }
}

/// Ticks every `period`, the first tick at once.
///
/// # Panics
/// Panics when `period` is zero or no simulation is current on this thread.
#[track_caller]
pub fn interval(period: Duration) -> Interval {
    interval_at(Instant::now(), period)
}

/// Ticks every `period`, the first tick at `start`.
///
/// # Panics
/// Panics when `period` is zero or no simulation is current on this thread.
#[track_caller]
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(period > Duration::ZERO, "interval: `period` must be non-zero");
    Interval { delay: sleep_until(start), period, behavior: MissedTickBehavior::Burst }
}

/// A periodic timer (mirrors `tokio::time::Interval`).
#[derive(Debug)]
pub struct Interval {
    delay: Sleep,
    period: Duration,
    behavior: MissedTickBehavior,
}

impl Interval {
    /// Waits for the next tick and returns its scheduled instant.
    pub async fn tick(&mut self) -> Instant {
        poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Polls for the next tick.
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        if Pin::new(&mut self.delay).poll(cx).is_pending() {
            return Poll::Pending;
        }
        let deadline = self.delay.deadline();
        let now = Instant::now();
        let next = if now > deadline + Duration::from_millis(5) {
            self.behavior.next(deadline, now, self.period)
        } else {
            deadline + self.period
        };
        self.delay.reset(next);
        Poll::Ready(deadline)
    }

    /// Restarts the schedule: the next tick is one period from now.
    pub fn reset(&mut self) {
        self.delay.reset(Instant::now() + self.period);
    }

    /// The period.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// The missed-tick behaviour.
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.behavior
    }

    /// Sets the missed-tick behaviour.
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.behavior = behavior;
    }
}
