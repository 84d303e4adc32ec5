//! Debounce: trailing edge.

use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

use crate::processor::Logic;

/// Emits a success once `quiet` has passed with no newer success.
///
/// - Each success replaces the pending one and sets the deadline to `now + quiet`.
///   At the deadline the pending item is emitted.
/// - A success at exactly the deadline: the pending item is emitted first, then the
///   new one becomes pending with a new deadline.
/// - `quiet` zero emits every success at once.
/// - Close: the pending item is emitted at once. Cancel (drop): it is dropped.
/// - Invariants: an emitted item had no newer success within `quiet` after it; every
///   success followed by `quiet` of silence (or by close) is emitted exactly once;
///   output order is input order.
///
/// ```
/// use std::time::Duration;
/// use futures::StreamExt;
/// use processors::{timeline, Debounce, Logic};
///
/// let ms = Duration::from_millis;
/// // Paused time on tokio; one simulation in virtual time under `--cfg lockstep`.
/// let runtime = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
/// let out = runtime.block_on(async move {
///     let input = timeline::timed([(ms(0), 1), (ms(50), 2), (ms(300), 3)]).close_at(ms(1000));
///     let debounced = Debounce::new(ms(100)).process_ok(input);
///     timeline::stamped(debounced).collect::<Vec<_>>().await
/// });
/// // 2 replaced 1 and was quiet for 100 ms; 3 was quiet for 100 ms too.
/// assert_eq!(out, [(ms(150), 2), (ms(400), 3)]);
/// ```
pub struct Debounce<T> {
    quiet: Duration,
    pending: Option<T>,
    deadline: Option<Duration>,
}

impl<T> Debounce<T> {
    /// A debounce emitting a success after `quiet` with no newer one.
    pub fn new(quiet: Duration) -> Debounce<T> {
        Debounce { quiet, pending: None, deadline: None }
    }

    /// The quiet period.
    pub fn quiet(&self) -> Duration {
        self.quiet
    }

    /// The pending item, if any.
    pub fn pending(&self) -> Option<&T> {
        self.pending.as_ref()
    }
}

impl<T> Logic for Debounce<T> {
    type In = T;
    type Out = T;

    fn deadline(&self) -> Option<Duration> {
        self.deadline
    }

    fn on_deadline(&mut self, _now: Duration, out: &mut VecDeque<T>) {
        self.deadline = None;
        out.extend(self.pending.take());
    }

    fn on_item(&mut self, now: Duration, item: T, _out: &mut VecDeque<T>) {
        self.pending = Some(item);
        self.deadline = Some(now.saturating_add(self.quiet));
    }

    fn on_close(&mut self, _now: Duration, out: &mut VecDeque<T>) {
        self.deadline = None;
        out.extend(self.pending.take());
    }
}

impl<T: Clone> Clone for Debounce<T> {
    fn clone(&self) -> Debounce<T> {
        Debounce { quiet: self.quiet, pending: self.pending.clone(), deadline: self.deadline }
    }
}

impl<T: fmt::Debug> fmt::Debug for Debounce<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Debounce")
            .field("quiet", &self.quiet)
            .field("pending", &self.pending)
            .field("deadline", &self.deadline)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_newer_success_replaces_the_pending_one_and_moves_the_deadline() {
        let mut d = Debounce::new(ms(100));
        let mut out = VecDeque::new();
        d.on_item(ms(0), 1, &mut out);
        d.on_item(ms(50), 2, &mut out);
        assert_eq!(d.deadline(), Some(ms(150)));
        assert_eq!(d.pending(), Some(&2));
        d.on_deadline(ms(150), &mut out);
        assert_eq!(Vec::from(out), [2]);
        assert_eq!(d.deadline(), None);
    }

    #[test]
    fn close_flushes_the_pending_item_without_waiting() {
        let mut d = Debounce::new(ms(100));
        let mut out = VecDeque::new();
        d.on_item(ms(0), 1, &mut out);
        d.on_close(ms(10), &mut out);
        assert_eq!(Vec::from(out), [1]);
    }

    #[test]
    fn close_with_nothing_pending_emits_nothing() {
        let mut d: Debounce<u32> = Debounce::new(ms(100));
        let mut out = VecDeque::new();
        d.on_close(ms(10), &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn quiet_zero_makes_the_deadline_due_at_once() {
        let mut d = Debounce::new(Duration::ZERO);
        let mut out = VecDeque::new();
        d.on_item(ms(7), 1, &mut out);
        assert_eq!(d.deadline(), Some(ms(7)));
    }
}
