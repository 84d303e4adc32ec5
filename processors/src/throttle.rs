//! Throttle: leading edge, dropping.

use std::collections::VecDeque;
use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;

use crate::processor::Logic;

/// Passes a success when at least `period` has passed since the last one it passed;
/// drops it otherwise. Holds nothing, sets no timer.
///
/// - The first success passes. A success at `now` passes when
///   `now >= last_emit + period`; then `last_emit = now`.
/// - `period` zero passes everything.
/// - Invariants: consecutive emitted successes are at least `period` apart; every
///   dropped success has an emitted success in `(now - period, now]`.
///
/// ```
/// use std::time::Duration;
/// use futures::StreamExt;
/// use processors::{timeline, Logic, Throttle};
///
/// let ms = Duration::from_millis;
/// // Paused time on tokio; one simulation in virtual time under `--cfg lockstep`.
/// let runtime = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
/// let out = runtime.block_on(async move {
///     let input = timeline::timed([(ms(0), 'a'), (ms(0), 'b'), (ms(60), 'c'), (ms(100), 'd')]);
///     let throttled = Throttle::new(ms(100)).process_ok(input);
///     timeline::stamped(throttled).collect::<Vec<_>>().await
/// });
/// // (emission time, value): 'b' and 'c' fall within 100 ms of 'a'; 'd' is exactly 100 ms later.
/// assert_eq!(out, [(ms(0), 'a'), (ms(100), 'd')]);
/// ```
pub struct Throttle<T> {
    period: Duration,
    last: Option<Duration>,
    _items: PhantomData<fn(T) -> T>,
}

impl<T> Throttle<T> {
    /// A throttle passing at most one success per `period` (every one when zero).
    pub fn new(period: Duration) -> Throttle<T> {
        Throttle { period, last: None, _items: PhantomData }
    }

    /// The period.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// When the last success passed (time since the origin).
    pub fn last_emit(&self) -> Option<Duration> {
        self.last
    }
}

impl<T> Logic for Throttle<T> {
    type In = T;
    type Out = T;

    fn deadline(&self) -> Option<Duration> {
        None
    }

    fn on_deadline(&mut self, _now: Duration, _out: &mut VecDeque<T>) {}

    fn on_item(&mut self, now: Duration, item: T, out: &mut VecDeque<T>) {
        match self.last {
            Some(last) if now < last.saturating_add(self.period) => {}
            _ => {
                self.last = Some(now);
                out.push_back(item);
            }
        }
    }

    fn on_close(&mut self, _now: Duration, _out: &mut VecDeque<T>) {}
}

impl<T> Clone for Throttle<T> {
    fn clone(&self) -> Throttle<T> {
        Throttle { period: self.period, last: self.last, _items: PhantomData }
    }
}

impl<T> fmt::Debug for Throttle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Throttle").field("period", &self.period).field("last_emit", &self.last).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn feed(t: &mut Throttle<u32>, items: &[(u64, u32)]) -> Vec<u32> {
        let mut out = VecDeque::new();
        for &(at, v) in items {
            t.on_item(ms(at), v, &mut out);
        }
        out.into()
    }

    #[test]
    fn a_success_exactly_one_period_after_the_last_emit_passes() {
        assert_eq!(feed(&mut Throttle::new(ms(50)), &[(0, 1), (50, 6)]), [1, 6]);
    }

    #[test]
    fn a_success_just_before_the_period_ends_is_dropped() {
        let mut t = Throttle::new(ms(50));
        let mut out = VecDeque::new();
        t.on_item(ms(0), 1, &mut out);
        t.on_item(ms(50) - Duration::from_nanos(1), 2, &mut out);
        assert_eq!(Vec::from(out), [1]);
    }

    #[test]
    fn dropped_successes_do_not_restart_the_period() {
        assert_eq!(feed(&mut Throttle::new(ms(100)), &[(0, 1), (60, 2), (100, 3), (150, 4), (200, 5)]), [1, 3, 5]);
    }

    #[test]
    fn period_zero_passes_everything_even_at_one_instant() {
        assert_eq!(feed(&mut Throttle::new(Duration::ZERO), &[(0, 1), (0, 2), (0, 3)]), [1, 2, 3]);
    }

    #[test]
    fn a_throttle_never_sets_a_deadline() {
        let mut t = Throttle::new(ms(10));
        feed(&mut t, &[(0, 1), (5, 2)]);
        assert_eq!(t.deadline(), None);
        assert_eq!(t.last_emit(), Some(ms(0)));
    }
}
