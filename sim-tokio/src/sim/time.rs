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
///
/// tokio's clock starts where the machine's monotonic clock stands, so
/// `Instant::now() - Duration::from_secs(1)` works at once; virtual time starts at
/// zero. So that it works here too, these instants count from a year (365 days)
/// before virtual time zero: a year of instants before the simulation started (an
/// instant before zero is treated as zero by timers, which fire at once). Printed, an
/// instant is its virtual time (`t=50ms`, `t=-1s`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant {
    /// Nanoseconds since [`EPOCH_NANOS`] before virtual time zero.
    nanos: u64,
}

/// How far before virtual time zero [`Instant`]s start, in nanoseconds: one year
/// (365 days).
const EPOCH_NANOS: u64 = 365 * 24 * 3600 * 1_000_000_000;

/// tokio's limit on a sleep: about 30 years (`tokio::time`'s `safe_delay`).
const MAX_DELAY: Duration = Duration::from_secs(86400 * 365 * 30);

/// A delay clamped to tokio's limit (a longer sleep is a sleep of about 30 years).
fn safe_delay(duration: Duration) -> Duration {
    duration.min(MAX_DELAY)
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
        Instant::from(sim_core::time::Instant::now())
    }

    /// Maps a real instant onto virtual time (by its distance from a fixed real
    /// origin). Only for code that converts back and forth: virtual time does not
    /// follow the real clock.
    pub fn from_std(std: std::time::Instant) -> Instant {
        let origin = std_origin();
        let zero = Instant { nanos: EPOCH_NANOS };
        match std.checked_duration_since(origin) {
            Some(after) => zero.checked_add(after).unwrap_or(Instant { nanos: u64::MAX }),
            None => zero.checked_sub(origin.duration_since(std)).unwrap_or(Instant { nanos: 0 }),
        }
    }

    /// The real instant this virtual one maps to (see [`Instant::from_std`]).
    pub fn into_std(self) -> std::time::Instant {
        let origin = std_origin();
        match self.nanos.checked_sub(EPOCH_NANOS) {
            Some(after) => origin + Duration::from_nanos(after),
            None => {
                let before = Duration::from_nanos(EPOCH_NANOS - self.nanos);
                origin.checked_sub(before).unwrap_or(origin)
            }
        }
    }

    /// The time from `earlier` to `self`, zero when `earlier` is later.
    pub fn duration_since(&self, earlier: Instant) -> Duration {
        self.saturating_duration_since(earlier)
    }

    /// The time from `earlier` to `self`, `None` when `earlier` is later.
    pub fn checked_duration_since(&self, earlier: Instant) -> Option<Duration> {
        self.nanos.checked_sub(earlier.nanos).map(Duration::from_nanos)
    }

    /// The time from `earlier` to `self`, zero when `earlier` is later.
    pub fn saturating_duration_since(&self, earlier: Instant) -> Duration {
        Duration::from_nanos(self.nanos.saturating_sub(earlier.nanos))
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
        let nanos = u64::try_from(duration.as_nanos()).ok()?;
        self.nanos.checked_add(nanos).map(|nanos| Instant { nanos })
    }

    /// `self - duration`, `None` before the earliest instant (a year before virtual
    /// time zero).
    pub fn checked_sub(&self, duration: Duration) -> Option<Instant> {
        let nanos = u64::try_from(duration.as_nanos()).ok()?;
        self.nanos.checked_sub(nanos).map(|nanos| Instant { nanos })
    }

    /// The simulation's instant: virtual time, an instant before zero as zero.
    fn virtual_time(self) -> sim_core::time::Instant {
        sim_core::time::Instant::from_nanos(self.nanos.saturating_sub(EPOCH_NANOS))
    }
}

impl From<sim_core::time::Instant> for Instant {
    fn from(inner: sim_core::time::Instant) -> Instant {
        Instant { nanos: inner.as_nanos().saturating_add(EPOCH_NANOS) }
    }
}

/// Virtual time; an instant before virtual time zero becomes zero.
impl From<Instant> for sim_core::time::Instant {
    fn from(instant: Instant) -> sim_core::time::Instant {
        instant.virtual_time()
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
        match self.nanos.checked_sub(EPOCH_NANOS) {
            Some(after) => fmt::Debug::fmt(&sim_core::time::Instant::from_nanos(after), f),
            None => write!(f, "t=-{}", sim_core::time::Instant::from_nanos(EPOCH_NANOS - self.nanos)),
        }
    }
}

/// Waits until `duration` has elapsed (in virtual time). As tokio's, a duration
/// beyond about 30 years is 30 years.
///
/// # Panics
/// Outside a simulation.
#[track_caller]
pub fn sleep(duration: Duration) -> Sleep {
    Sleep::at(Instant::now() + safe_delay(duration))
}

/// Waits until `deadline`.
///
/// # Panics
/// Outside a simulation.
#[track_caller]
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep::at(deadline)
}

/// The future of [`sleep`] and [`sleep_until`]: a timer in the event queue.
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Sleep {
    inner: sim_core::time::Sleep,
    /// The deadline as given (it may lie before virtual time zero).
    deadline: Instant,
}

impl Sleep {
    /// A timer named after the caller's caller (`#[track_caller]` all the way).
    #[track_caller]
    fn at(deadline: Instant) -> Sleep {
        let inner = sim_core::time::sleep_until(deadline.virtual_time());
        Sleep { inner, deadline }
    }

    /// When the timer fires.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Whether the timer has fired.
    pub fn is_elapsed(&self) -> bool {
        self.inner.is_elapsed()
    }

    /// Moves the deadline (earlier or later); the timer is re-armed even if it had
    /// fired.
    pub fn reset(self: Pin<&mut Self>, deadline: Instant) {
        let this = self.get_mut();
        this.inner.reset(deadline.virtual_time());
        this.deadline = deadline;
    }
}

impl Future for Sleep {
    type Output = ();

    /// As tokio's, a timer that fires spends a unit of the task's cooperative
    /// budget; with none left it returns `Pending` (and wakes the task at once), so a
    /// loop over an elapsed timer, an [`Interval`] behind schedule or a [`Timeout`]
    /// lets the other tasks run.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let coop = std::task::ready!(sim_core::tooling::coop::poll_proceed(cx));
        let fired = Pin::new(&mut self.get_mut().inner).poll(cx);
        if fired.is_ready() {
            coop.made_progress();
        }
        fired
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
/// future is polled first, so one ready at the deadline wins. As tokio's, a duration
/// too long to add to the current instant never times out.
///
/// # Panics
/// Outside a simulation.
#[track_caller]
pub fn timeout<F: IntoFuture>(duration: Duration, future: F) -> Timeout<F::IntoFuture> {
    // Not `map(Sleep::at)`: the timer is named after the caller (`#[track_caller]`),
    // which a function called through `map` does not see.
    #[allow(clippy::manual_map)]
    let delay = match Instant::now().checked_add(duration) {
        Some(deadline) => Some(Sleep::at(deadline)),
        None => None,
    };
    Timeout { value: future.into_future(), delay }
}

/// Requires `future` to complete by `deadline`.
///
/// # Panics
/// Outside a simulation.
#[track_caller]
pub fn timeout_at<F: IntoFuture>(deadline: Instant, future: F) -> Timeout<F::IntoFuture> {
    Timeout { value: future.into_future(), delay: Some(Sleep::at(deadline)) }
}

pin_project_lite::pin_project! {
    /// The future of [`timeout`] and [`timeout_at`].
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    #[derive(Debug)]
    pub struct Timeout<T> {
        #[pin]
        value: T,
        delay: Option<Sleep>,
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

    /// As tokio's: when the inner future is what spent the task's cooperative budget,
    /// the deadline is still checked (unconstrained), so a future that always spends
    /// the budget cannot keep its timeout from firing.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let had_budget_before = sim_core::tooling::coop::has_budget_remaining();
        if let Poll::Ready(v) = this.value.poll(cx) {
            return Poll::Ready(Ok(v));
        }
        let Some(delay) = this.delay.as_mut() else {
            return Poll::Pending;
        };
        let fired = if had_budget_before && !sim_core::tooling::coop::has_budget_remaining() {
            Pin::new(&mut sim_core::tooling::coop::unconstrained(delay)).poll(cx)
        } else {
            Pin::new(delay).poll(cx)
        };
        fired.map(|()| Err(error::Elapsed(())))
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

/// Ticks every `period` (at most about 30 years, as tokio's), the first tick at
/// `start`.
///
/// # Panics
/// When `period` is zero, or outside a simulation.
#[track_caller]
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(period > Duration::ZERO, "`period` must be non-zero.");
    Interval {
        delay: Box::pin(Sleep::at(start)),
        period: safe_delay(period),
        missed_tick_behavior: MissedTickBehavior::Burst,
    }
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
            timeout.checked_add(self.period).unwrap_or(Instant { nanos: u64::MAX })
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

    /// The next tick `after` from now (at most about 30 years, as tokio's).
    pub fn reset_after(&mut self, after: Duration) {
        self.delay.as_mut().reset(Instant::now() + safe_delay(after));
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

/// Pauses the clock, as tokio's test-util `pause`: from now on, a timer whose
/// deadline has already passed completes in the poll that first sees it (tokio's
/// paused timer), and [`advance`] may move the clock. Virtual time moves only when
/// nothing is runnable in either case (tokio's auto-advance); see
/// [`sim_core::time`].
///
/// # Panics
/// With tokio's messages: in a multi-thread runtime (`flavor = "multi_thread"`,
/// `Builder::new_multi_thread`, `#[tokio::main]`'s default), or when the clock is
/// already paused. Outside a simulation.
#[track_caller]
pub fn pause() {
    if let Err(e) = sim_core::time::pause() {
        panic!("{e}");
    }
}

/// Unpauses the clock, as tokio's test-util `resume` (under simulation virtual time
/// still moves only when nothing is runnable; a timer already due when first polled
/// then fires as an event at the current instant).
///
/// # Panics
/// When the clock is not paused (tokio's message), or outside a simulation.
#[track_caller]
pub fn resume() {
    if let Err(e) = sim_core::time::resume() {
        panic!("{e}");
    }
}

/// Moves the paused clock `duration` forward in one jump, as tokio's `advance`: every
/// timer due by then fires at the new time, then the calling task yields, so the tasks
/// those timers woke run before it continues (in an order the model allows). See
/// [`sim_core::time::advance`].
///
/// # Panics
/// When the clock is not paused ("time is not frozen", tokio's message), when the new
/// time overflows, or outside a simulation.
pub async fn advance(duration: Duration) {
    if !sim_core::time::is_paused() {
        panic!("{}", sim_core::time::ClockError::NotPaused);
    }
    sim_core::time::advance(duration).await;
}
