//! Time windows: tumbling, sliding and session windows, and what they emit.

mod session;
mod sliding;
mod tumbling;

use std::time::Duration;

pub use session::{Session, SessionWindow};
pub use sliding::{SlidingWindow, SlidingWindowBuilder};
pub use tumbling::TumblingWindow;

/// A window of items: `[start, end)` as times since the processor's origin.
///
/// A window closed early by the end of the input keeps its nominal `end`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Window<T> {
    /// The first instant of the window (inclusive).
    pub start: Duration,
    /// The instant just after the window (exclusive).
    pub end: Duration,
    /// The items, in arrival order.
    pub items: Vec<T>,
}

/// Which step of length `step` holds `t`: `floor(t / step)`. `step` is non-zero.
fn index_of(t: Duration, step: Duration) -> u128 {
    t.as_nanos() / step.as_nanos()
}

/// The start of step `index`: `index * step`, saturating at [`Duration::MAX`].
fn start_of(index: u128, step: Duration) -> Duration {
    nanos(index.saturating_mul(step.as_nanos()))
}

fn nanos(n: u128) -> Duration {
    const NANOS_PER_SEC: u128 = 1_000_000_000;
    match u64::try_from(n / NANOS_PER_SEC) {
        Ok(secs) => Duration::new(secs, (n % NANOS_PER_SEC) as u32),
        Err(_) => Duration::MAX,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_put_a_boundary_in_the_next_step() {
        let ms = Duration::from_millis;
        assert_eq!(index_of(ms(99), ms(100)), 0);
        assert_eq!(index_of(ms(100), ms(100)), 1);
        assert_eq!(start_of(3, ms(100)), ms(300));
        assert_eq!(nanos(1_500_000_001), Duration::new(1, 500_000_001));
        assert_eq!(start_of(u128::MAX, ms(1)), Duration::MAX);
    }
}
