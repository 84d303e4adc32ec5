//! Virtual instants: plain values, below every other module (reading the clock,
//! [`Instant::now`], is in [`crate::time`]).

use std::fmt;
use std::ops::{Add, AddAssign, Sub};
use std::time::Duration;

/// A point in virtual time: nanoseconds since the simulation's origin (0).
///
/// Virtual time never goes back. It moves only when the scheduler takes an event
/// whose time is later than now; see [`crate::Sim`].
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "json", derive(serde::Serialize, serde::Deserialize), serde(transparent))]
pub struct Instant(u64);

impl Instant {
    /// The simulation's origin.
    pub const ZERO: Instant = Instant(0);
    /// The latest representable instant.
    pub const MAX: Instant = Instant(u64::MAX);

    /// An instant `nanos` nanoseconds after the origin.
    pub const fn from_nanos(nanos: u64) -> Instant {
        Instant(nanos)
    }

    /// An instant `millis` milliseconds after the origin.
    pub const fn from_millis(millis: u64) -> Instant {
        Instant(millis * 1_000_000)
    }

    /// Nanoseconds since the origin.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// The time elapsed since the origin.
    pub const fn since_origin(self) -> Duration {
        Duration::from_nanos(self.0)
    }

    /// `self + d`, or `None` on overflow.
    pub fn checked_add(self, d: Duration) -> Option<Instant> {
        let nanos = u64::try_from(d.as_nanos()).ok()?;
        self.0.checked_add(nanos).map(Instant)
    }

    /// `self + d`, clamped to [`Instant::MAX`].
    pub fn saturating_add(self, d: Duration) -> Instant {
        self.checked_add(d).unwrap_or(Instant::MAX)
    }

    /// The time from `earlier` to `self`, or zero when `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }

    /// The time from `earlier` to `self`, or `None` when `earlier` is later.
    pub fn checked_duration_since(self, earlier: Instant) -> Option<Duration> {
        self.0.checked_sub(earlier.0).map(Duration::from_nanos)
    }

    /// The time from `earlier` to `self`, or zero when `earlier` is later: it
    /// saturates like tokio's and std's, so code moved from tokio cannot panic here
    /// only under simulation.
    pub fn duration_since(self, earlier: Instant) -> Duration {
        self.saturating_duration_since(earlier)
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    #[track_caller]
    fn add(self, d: Duration) -> Instant {
        self.checked_add(d).expect("virtual instant overflow")
    }
}

impl AddAssign<Duration> for Instant {
    #[track_caller]
    fn add_assign(&mut self, d: Duration) {
        *self = *self + d;
    }
}

/// `later - earlier` saturates at zero, like tokio's and std's.
impl Sub<Instant> for Instant {
    type Output = Duration;
    fn sub(self, earlier: Instant) -> Duration {
        self.duration_since(earlier)
    }
}

impl fmt::Display for Instant {
    /// Shown in the largest whole unit: `50ms`, `12µs`, `7ns`, `0s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_nanos(f, self.0)
    }
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "t=")?;
        write_nanos(f, self.0)
    }
}

pub(crate) fn write_nanos(f: &mut impl fmt::Write, n: u64) -> fmt::Result {
    match n {
        0 => write!(f, "0s"),
        n if n % 1_000_000_000 == 0 => write!(f, "{}s", n / 1_000_000_000),
        n if n % 1_000_000 == 0 => write!(f, "{}ms", n / 1_000_000),
        n if n % 1_000 == 0 => write!(f, "{}µs", n / 1_000),
        n => write!(f, "{n}ns"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_display_in_their_largest_whole_unit() {
        assert_eq!(Instant::ZERO.to_string(), "0s");
        assert_eq!(Instant::from_millis(50).to_string(), "50ms");
        assert_eq!(Instant::from_millis(1500).to_string(), "1500ms");
        assert_eq!(Instant::from_millis(3000).to_string(), "3s");
        assert_eq!(Instant::from_nanos(12_000).to_string(), "12µs");
        assert_eq!(Instant::from_nanos(7).to_string(), "7ns");
    }

    #[test]
    fn arithmetic_round_trips() {
        let t = Instant::from_millis(10) + Duration::from_millis(5);
        assert_eq!(t, Instant::from_millis(15));
        assert_eq!(t - Instant::from_millis(10), Duration::from_millis(5));
        assert_eq!(Instant::MAX.checked_add(Duration::from_nanos(1)), None);
        assert_eq!(Instant::ZERO.saturating_duration_since(t), Duration::ZERO);
    }

    #[test]
    fn an_earlier_minus_a_later_instant_is_zero_not_a_panic() {
        let (early, late) = (Instant::from_millis(10), Instant::from_millis(15));
        assert_eq!(early.duration_since(late), Duration::ZERO);
        assert_eq!(early - late, Duration::ZERO);
        assert_eq!(early.checked_duration_since(late), None);
        assert_eq!(late.checked_duration_since(early), Some(Duration::from_millis(5)));
    }
}
