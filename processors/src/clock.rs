//! The clock abstraction: the one thing a processor needs from a runtime.
//!
//! A processor reads the time when it consumes an input and arms one timer for its
//! next deadline; that is all. [`TokioClock`] does it with `tokio::time` (real time
//! in production, paused time in tests) and [`SimClock`] with the Lockstep
//! simulator's virtual time. Processors are written once against [`Clock`].
//!
//! Processors express every time as a [`Duration`] since their *origin* (the clock's
//! time when the processor was built), so window boundaries and deadlines are exact
//! integers of nanoseconds on both clocks.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// A source of time and timers.
///
/// Implementations must be monotonic (`now` never goes back) and a timer armed for
/// `deadline` must complete only once `now() >= deadline`.
pub trait Clock: Clone {
    /// A point in this clock's time.
    type Instant: Copy + Ord + fmt::Debug;
    /// A timer: completes at its deadline. Dropping it cancels it.
    type Sleep: Future<Output = ()> + Unpin;

    /// The current time.
    fn now(&self) -> Self::Instant;

    /// The time from `origin` to `now`, or zero when `now` is earlier.
    fn since(&self, origin: Self::Instant, now: Self::Instant) -> Duration;

    /// `origin + d`, or `None` when that is beyond what the clock can represent.
    fn after(&self, origin: Self::Instant, d: Duration) -> Option<Self::Instant>;

    /// A timer that completes at `deadline` (at once when it is in the past).
    fn sleep_until(&self, deadline: Self::Instant) -> Self::Sleep;

    /// Re-arms `sleep` for `deadline`, cancelling its previous firing.
    fn reset(&self, sleep: &mut Self::Sleep, deadline: Self::Instant);
}

/// Time from `tokio::time`: real time in production, paused and auto-advanced time
/// under `#[tokio::test(start_paused = true)]` or `tokio::time::pause`.
///
/// Build processors inside the runtime: outside one, `tokio::time::Instant::now`
/// reads the real clock, so a processor built there under paused time would take a
/// real instant as its origin and be offset from the runtime's clock.
///
/// # Panics
/// Arming a timer panics outside a tokio runtime with time enabled (as
/// `tokio::time::sleep` does).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TokioClock;

impl Clock for TokioClock {
    type Instant = tokio::time::Instant;
    type Sleep = Pin<Box<tokio::time::Sleep>>;

    fn now(&self) -> tokio::time::Instant {
        tokio::time::Instant::now()
    }

    fn since(&self, origin: tokio::time::Instant, now: tokio::time::Instant) -> Duration {
        now.saturating_duration_since(origin)
    }

    fn after(&self, origin: tokio::time::Instant, d: Duration) -> Option<tokio::time::Instant> {
        origin.checked_add(d)
    }

    fn sleep_until(&self, deadline: tokio::time::Instant) -> Self::Sleep {
        Box::pin(tokio::time::sleep_until(deadline))
    }

    fn reset(&self, sleep: &mut Self::Sleep, deadline: tokio::time::Instant) {
        sleep.as_mut().reset(deadline);
    }
}

/// Virtual time from the Lockstep simulator ([`sim_core::time`]). Every timer
/// firing is an event in the simulation's one queue. Needs the crate feature `sim`.
///
/// # Panics
/// Every method panics when no simulation is current on this thread (use it
/// inside simulated tasks, or while a [`sim_core::Sim`] is alive).
#[cfg(feature = "sim")]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SimClock;

#[cfg(feature = "sim")]
impl Clock for SimClock {
    type Instant = sim_core::Instant;
    type Sleep = sim_core::time::Sleep;

    fn now(&self) -> sim_core::Instant {
        sim_core::Instant::now()
    }

    fn since(&self, origin: sim_core::Instant, now: sim_core::Instant) -> Duration {
        now.saturating_duration_since(origin)
    }

    fn after(&self, origin: sim_core::Instant, d: Duration) -> Option<sim_core::Instant> {
        origin.checked_add(d)
    }

    fn sleep_until(&self, deadline: sim_core::Instant) -> sim_core::time::Sleep {
        sim_core::time::sleep_until(deadline)
    }

    fn reset(&self, sleep: &mut sim_core::time::Sleep, deadline: sim_core::Instant) {
        sleep.reset(deadline);
    }
}
