//! Tumbling windows.

use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

use super::{index_of, start_of, Window};
use crate::error::ConfigError;
use crate::processor::Logic;

/// Fixed, non-overlapping windows `[k·size, (k+1)·size)` aligned to the processor's
/// origin.
///
/// - An item at exactly a boundary belongs to the next window.
/// - A window is emitted at its end; empty windows emit nothing.
/// - Close emits the current window (with its nominal end). Cancel drops it.
///
/// ```
/// use std::time::Duration;
/// use futures::StreamExt;
/// use processors::{timeline, Logic, TumblingWindow, Window};
///
/// let ms = Duration::from_millis;
/// // Paused time on tokio; one simulation in virtual time under `--cfg lockstep`.
/// let runtime = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
/// let out = runtime.block_on(async move {
///     let input = timeline::timed([(ms(0), 'a'), (ms(30), 'b'), (ms(100), 'c')]).close_at(ms(1000));
///     let windows = TumblingWindow::new(ms(100)).unwrap().process_ok(input);
///     timeline::stamped(windows).collect::<Vec<_>>().await
/// });
/// assert_eq!(
///     out,
///     [
///         (ms(100), Window { start: ms(0), end: ms(100), items: vec!['a', 'b'] }),
///         // 'c' arrived exactly at the boundary: it opens the next window.
///         (ms(200), Window { start: ms(100), end: ms(200), items: vec!['c'] }),
///     ]
/// );
/// ```
pub struct TumblingWindow<T> {
    size: Duration,
    current: Option<(u128, Vec<T>)>,
}

impl<T> TumblingWindow<T> {
    /// Windows of length `size`.
    ///
    /// # Errors
    /// [`ConfigError::ZeroWindowSize`] when `size` is zero.
    pub fn new(size: Duration) -> Result<TumblingWindow<T>, ConfigError> {
        if size.is_zero() {
            return Err(ConfigError::ZeroWindowSize);
        }
        Ok(TumblingWindow { size, current: None })
    }

    /// The window length.
    pub fn size(&self) -> Duration {
        self.size
    }

    fn emit(&mut self, out: &mut VecDeque<Window<T>>) {
        if let Some((k, items)) = self.current.take() {
            out.push_back(Window { start: start_of(k, self.size), end: start_of(k + 1, self.size), items });
        }
    }
}

impl<T> Logic for TumblingWindow<T> {
    type In = T;
    type Out = Window<T>;

    fn deadline(&self) -> Option<Duration> {
        self.current.as_ref().map(|(k, _)| start_of(k + 1, self.size))
    }

    fn on_deadline(&mut self, _now: Duration, out: &mut VecDeque<Window<T>>) {
        self.emit(out);
    }

    fn on_item(&mut self, now: Duration, item: T, out: &mut VecDeque<Window<T>>) {
        let k = index_of(now, self.size);
        if self.current.as_ref().is_some_and(|(current, _)| *current != k) {
            // Unreachable through `Processor` (the deadline fired first); kept so the
            // logic stays correct when driven by hand.
            self.emit(out);
        }
        self.current.get_or_insert_with(|| (k, Vec::new())).1.push(item);
    }

    fn on_close(&mut self, _now: Duration, out: &mut VecDeque<Window<T>>) {
        self.emit(out);
    }
}

impl<T: fmt::Debug> fmt::Debug for TumblingWindow<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TumblingWindow").field("size", &self.size).field("current", &self.current).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn size_zero_is_a_configuration_error() {
        assert_eq!(TumblingWindow::<u8>::new(Duration::ZERO).unwrap_err(), ConfigError::ZeroWindowSize);
    }

    #[test]
    fn the_deadline_is_the_end_of_the_window_holding_items() {
        let mut w = TumblingWindow::new(ms(100)).unwrap();
        let mut out = VecDeque::new();
        assert_eq!(w.deadline(), None, "an empty window sets no timer");
        w.on_item(ms(130), 1, &mut out);
        assert_eq!(w.deadline(), Some(ms(200)));
        w.on_deadline(ms(200), &mut out);
        assert_eq!(Vec::from(out), [Window { start: ms(100), end: ms(200), items: vec![1] }]);
        assert_eq!(w.deadline(), None);
    }

    #[test]
    fn close_emits_the_current_window_with_its_nominal_end() {
        let mut w = TumblingWindow::new(ms(100)).unwrap();
        let mut out = VecDeque::new();
        w.on_item(ms(10), 1, &mut out);
        w.on_close(ms(20), &mut out);
        assert_eq!(Vec::from(out), [Window { start: ms(0), end: ms(100), items: vec![1] }]);
    }
}
