//! `tokio::time` in virtual time: every sleep, timeout and interval is a timer in
//! the simulation's one event queue.
//!
//! The clock never runs in real time: it moves only when nothing is runnable, to the
//! next timer (tokio's paused clock with auto-advance, always on). Timers due at the
//! same instant fire in an order the strategy picks (a recorded choice), where
//! tokio's paused runtime always fires them in registration order.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::ops::{Add, AddAssign, Sub, SubAssign};
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};

/// `std::time::Duration`, re-exported as tokio does, so `use tokio::time::Duration` compiles.
pub use std::time::Duration;

/// A point in virtual time (tokio's `Instant`, with tokio's methods; arithmetic
/// between instants saturates at zero like tokio's).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant {
    inner: sim_core::Instant,
}

/// The real instant that virtual time zero maps to in [`Instant::into_std`] and
/// [`Instant::from_std`] (read once; never reaches a trace).
fn std_origin() -> std::time::Instant {
    static ORIGIN: OnceLock<std::time::Instant> = OnceLock::new();
    *ORIGIN.get_or_init(std::time::Instant::now)
}

impl Instant {
    /// The current virtual time.
    ///
    /// # Panics
    /// Outside a simulation.
    #[track_caller]
    pub fn now() -> Instant {
        Instant { inner: sim_core::Instant::now() }
    }

    /// Maps a real instant onto virtual time (by its distance from a fixed real
    /// origin). Only for code that converts back and forth: virtual time does not
    /// follow the real clock.
    pub fn from_std(std: std::time::Instant) -> Instant {
        let nanos = std.saturating_duration_since(std_origin()).as_nanos();
        Instant { inner: sim_core::Instant::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX)) }
    }

    /// The real instant this virtual one maps to (see [`Instant::from_std`]).
    pub fn into_std(self) -> std::time::Instant {
        std_origin() + self.inner.since_origin()
    }

    /// The time from `earlier` to `self`, zero when `earlier` is later.
    pub fn duration_since(&self, earlier: Instant) -> Duration {
        self.inner.saturating_duration_since(earlier.inner)
    }

    /// The time from `earlier` to `self`, `None` when `earlier` is later.
    pub fn checked_duration_since(&self, earlier: Instant) -> Option<Duration> {
        self.inner.checked_duration_since(earlier.inner)
    }

    /// The time from `earlier` to `self`, zero when `earlier` is later.
    pub fn saturating_duration_since(&self, earlier: Instant) -> Duration {
        self.inner.saturating_duration_since(earlier.inner)
    }

    /// The virtual time elapsed since `self`.
    ///
    /// # Panics
    /// Outside a simulation.
    #[track_caller]
    pub fn elapsed(&self) -> Duration {
        Instant::now().saturating_duration_since(*self)
    }

    /// `self + duration`, `None` on overflow.
    pub fn checked_add(&self, duration: Duration) -> Option<Instant> {
        self.inner.checked_add(duration).map(|inner| Instant { inner })
    }

    /// `self - duration`, `None` before virtual time zero.
    pub fn checked_sub(&self, duration: Duration) -> Option<Instant> {
        let nanos = u64::try_from(duration.as_nanos()).ok()?;
        self.inner.as_nanos().checked_sub(nanos).map(|n| Instant { inner: sim_core::Instant::from_nanos(n) })
    }
}

impl From<sim_core::Instant> for Instant {
    fn from(inner: sim_core::Instant) -> Instant {
        Instant { inner }
    }
}

impl From<Instant> for sim_core::Instant {
    fn from(instant: Instant) -> sim_core::Instant {
        instant.inner
    }
}

impl From<std::time::Instant> for Instant {
    fn from(std: std::time::Instant) -> Instant {
        Instant::from_std(std)
    }
}

impl From<Instant> for std::time::Instant {
    fn from(instant: Instant) -> std::time::Instant {
        instant.into_std()
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    #[track_caller]
    fn add(self, rhs: Duration) -> Instant {
        self.checked_add(rhs).expect("overflow when adding duration to instant")
    }
}

impl AddAssign<Duration> for Instant {
    #[track_caller]
    fn add_assign(&mut self, rhs: Duration) {
        *self = *self + rhs;
    }
}

impl Sub<Duration> for Instant {
    type Output = Instant;
    #[track_caller]
    fn sub(self, rhs: Duration) -> Instant {
        self.checked_sub(rhs).expect("overflow when subtracting duration from instant")
    }
}

impl SubAssign<Duration> for Instant {
    #[track_caller]
    fn sub_assign(&mut self, rhs: Duration) {
        *self = *self - rhs;
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    fn sub(self, rhs: Instant) -> Duration {
        self.saturating_duration_since(rhs)
    }
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.inner, f)
    }
}

/// Waits until `duration` has elapsed (in virtual time).
///
/// # Panics
/// Outside a simulation.
#[track_caller]
pub fn sleep(duration: Duration) -> Sleep {
    Sleep { inner: sim_core::time::sleep(duration) }
}

/// Waits until `deadline`.
///
/// # Panics
/// Outside a simulation.
#[track_caller]
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep { inner: sim_core::time::sleep_until(deadline.inner) }
}

/// The future of [`sleep`] and [`sleep_until`]: a timer in the event queue.
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Sleep {
    inner: sim_core::time::Sleep,
}

impl Sleep {
    /// When the timer fires.
    pub fn deadline(&self) -> Instant {
        Instant { inner: self.inner.deadline() }
    }

    /// Whether the timer has fired.
    pub fn is_elapsed(&self) -> bool {
        self.inner.is_elapsed()
    }

    /// Moves the deadline (earlier or later); the timer is re-armed even if it had
    /// fired.
    pub fn reset(self: Pin<&mut Self>, deadline: Instant) {
        self.get_mut().inner.reset(deadline.inner);
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.get_mut().inner).poll(cx)
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep").field("deadline", &self.deadline()).finish_non_exhaustive()
    }
}

/// Errors of `tokio::time`.
pub mod error {
    use std::fmt;

    /// A [`timeout`](super::timeout) elapsed before its future completed.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Elapsed(pub(super) ());

    impl fmt::Display for Elapsed {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("deadline has elapsed")
        }
    }

    impl std::error::Error for Elapsed {}

    impl From<Elapsed> for std::io::Error {
        fn from(_: Elapsed) -> std::io::Error {
            std::io::ErrorKind::TimedOut.into()
        }
    }
}

/// Requires `future` to complete within `duration`: `Err(Elapsed)` otherwise. The
/// future is polled first, so one ready at the deadline wins.
///
/// # Panics
/// Outside a simulation.
#[track_caller]
pub fn timeout<F: IntoFuture>(duration: Duration, future: F) -> Timeout<F::IntoFuture> {
    Timeout { value: future.into_future(), delay: sleep(duration) }
}

/// Requires `future` to complete by `deadline`.
///
/// # Panics
/// Outside a simulation.
#[track_caller]
pub fn timeout_at<F: IntoFuture>(deadline: Instant, future: F) -> Timeout<F::IntoFuture> {
    Timeout { value: future.into_future(), delay: sleep_until(deadline) }
}

pin_project_lite::pin_project! {
    /// The future of [`timeout`] and [`timeout_at`].
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    #[derive(Debug)]
    pub struct Timeout<T> {
        #[pin]
        value: T,
        delay: Sleep,
    }
}

impl<T> Timeout<T> {
    /// The inner future.
    pub fn get_ref(&self) -> &T {
        &self.value
    }

    /// The inner future, mutably.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.value
    }

    /// The inner future, the timeout dropped.
    pub fn into_inner(self) -> T {
        self.value
    }
}

impl<T: Future> Future for Timeout<T> {
    type Output = Result<T::Output, error::Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(v) = this.value.poll(cx) {
            return Poll::Ready(Ok(v));
        }
        match Pin::new(this.delay).poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(error::Elapsed(()))),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// What an [`Interval`] does when a tick is late by more than 5 ms (tokio's rule).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MissedTickBehavior {
    /// Fire the missed ticks at once, then keep the original schedule.
    #[default]
    Burst,
    /// Schedule the next tick one period after the late one.
    Delay,
    /// Skip the missed ticks: the next is the next multiple of the period.
    Skip,
}

impl MissedTickBehavior {
    fn next_timeout(self, timeout: Instant, now: Instant, period: Duration) -> Instant {
        match self {
            MissedTickBehavior::Burst => timeout + period,
            MissedTickBehavior::Delay => now + period,
            MissedTickBehavior::Skip => {
                let late = (now - timeout).as_nanos() % period.as_nanos();
                now + period - Duration::from_nanos(u64::try_from(late).unwrap_or(u64::MAX))
            }
        }
    }
}

/// Ticks every `period`, the first tick at once.
///
/// # Panics
/// When `period` is zero, or outside a simulation.
#[track_caller]
pub fn interval(period: Duration) -> Interval {
    assert!(period > Duration::ZERO, "`period` must be non-zero.");
    interval_at(Instant::now(), period)
}

/// Ticks every `period`, the first tick at `start`.
///
/// # Panics
/// When `period` is zero, or outside a simulation.
#[track_caller]
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(period > Duration::ZERO, "`period` must be non-zero.");
    Interval { delay: Box::pin(sleep_until(start)), period, missed_tick_behavior: MissedTickBehavior::Burst }
}

/// The ticker of [`interval`] and [`interval_at`].
#[derive(Debug)]
pub struct Interval {
    delay: Pin<Box<Sleep>>,
    period: Duration,
    missed_tick_behavior: MissedTickBehavior,
}

impl Interval {
    /// Completes at the next tick, returning its scheduled instant.
    pub async fn tick(&mut self) -> Instant {
        std::future::poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Polls for the next tick.
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        if self.delay.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        let timeout = self.delay.deadline();
        let now = Instant::now();
        let next = if now > timeout + Duration::from_millis(5) {
            self.missed_tick_behavior.next_timeout(timeout, now, self.period)
        } else {
            timeout.checked_add(self.period).unwrap_or(Instant { inner: sim_core::Instant::MAX })
        };
        self.delay.as_mut().reset(next);
        Poll::Ready(timeout)
    }

    /// Restarts the schedule: the next tick one period from now.
    pub fn reset(&mut self) {
        self.delay.as_mut().reset(Instant::now() + self.period);
    }

    /// The next tick at once.
    pub fn reset_immediately(&mut self) {
        self.delay.as_mut().reset(Instant::now());
    }

    /// The next tick `after` from now.
    pub fn reset_after(&mut self, after: Duration) {
        self.delay.as_mut().reset(Instant::now() + after);
    }

    /// The next tick at `deadline`.
    pub fn reset_at(&mut self, deadline: Instant) {
        self.delay.as_mut().reset(deadline);
    }

    /// What happens to missed ticks.
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.missed_tick_behavior
    }

    /// Sets what happens to missed ticks.
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.missed_tick_behavior = behavior;
    }

    /// The period.
    pub fn period(&self) -> Duration {
        self.period
    }
}

/// Under simulation the clock is always paused (it moves only when nothing is
/// runnable, straight to the next timer), so this does nothing.
pub fn pause() {}

/// Under simulation the clock never runs in real time, so this does nothing.
pub fn resume() {}

/// Moves the calling task `duration` forward in virtual time. Unlike tokio's (which
/// jumps the clock and fires every timer due in one pass, in registration order),
/// this sleeps: timers due in between fire at their own instants, in an order the
/// strategy picks when they tie.
///
/// # Panics
/// Outside a simulation.
pub async fn advance(duration: Duration) {
    sleep(duration).await;
}
