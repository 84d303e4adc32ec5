//! Sliding windows.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::time::Duration;

use super::{index_of, start_of, Window};
use crate::error::ConfigError;
use crate::processor::Logic;

/// Overlapping windows of length `size` starting every `slide` (`0 < slide <= size`),
/// aligned to the processor's origin: window `k` is `[k·slide, k·slide + size)`.
///
/// - An item at `t` belongs to every window with `start <= t < start + size`.
/// - Windows are emitted at their end, in order of start; windows with no items emit
///   nothing. Close emits every open window that holds items, in order (with their
///   nominal ends). Cancel drops them.
/// - Items are cloned into each window they belong to.
///
/// ```
/// use std::time::Duration;
/// use futures::StreamExt;
/// use processors::{timeline, Logic, SlidingWindow, Window};
///
/// let ms = Duration::from_millis;
/// // Paused time on tokio; one simulation in virtual time under `--cfg lockstep`.
/// let runtime = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
/// let out = runtime.block_on(async move {
///     let input = timeline::timed([(ms(0), 0), (ms(30), 30), (ms(60), 60)]).close_at(ms(1000));
///     let windows = SlidingWindow::builder().size(ms(100)).slide(ms(50)).build().unwrap();
///     timeline::stamped(windows.process_ok(input)).collect::<Vec<_>>().await
/// });
/// assert_eq!(
///     out,
///     [
///         (ms(100), Window { start: ms(0), end: ms(100), items: vec![0, 30, 60] }),
///         (ms(150), Window { start: ms(50), end: ms(150), items: vec![60] }),
///     ]
/// );
/// ```
pub struct SlidingWindow<T> {
    size: Duration,
    slide: Duration,
    open: BTreeMap<u128, Vec<T>>,
}

impl<T> SlidingWindow<T> {
    /// Windows of length `size` starting every `slide`. Prefer
    /// [`SlidingWindow::builder`], which names the two durations.
    ///
    /// # Errors
    /// [`ConfigError::ZeroWindowSize`], [`ConfigError::ZeroSlide`] or
    /// [`ConfigError::SlideLargerThanSize`].
    pub fn new(size: Duration, slide: Duration) -> Result<SlidingWindow<T>, ConfigError> {
        if size.is_zero() {
            return Err(ConfigError::ZeroWindowSize);
        }
        if slide.is_zero() {
            return Err(ConfigError::ZeroSlide);
        }
        if slide > size {
            return Err(ConfigError::SlideLargerThanSize { slide, size });
        }
        Ok(SlidingWindow { size, slide, open: BTreeMap::new() })
    }

    /// The window length.
    pub fn size(&self) -> Duration {
        self.size
    }

    /// The distance between window starts.
    pub fn slide(&self) -> Duration {
        self.slide
    }

    fn window(&self, k: u128, items: Vec<T>) -> Window<T> {
        let start = start_of(k, self.slide);
        Window { start, end: start.saturating_add(self.size), items }
    }
}

impl SlidingWindow<()> {
    /// A builder naming the size and the slide. (Defined on `SlidingWindow<()>` so
    /// that `SlidingWindow::builder` needs no type annotation; the item type is
    /// chosen by [`SlidingWindowBuilder::build`].)
    pub fn builder() -> SlidingWindowBuilder {
        SlidingWindowBuilder::default()
    }
}

/// Builds a [`SlidingWindow`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[must_use = "call `build` to get the window"]
pub struct SlidingWindowBuilder {
    size: Option<Duration>,
    slide: Option<Duration>,
}

impl SlidingWindowBuilder {
    /// The window length (required).
    pub fn size(mut self, size: Duration) -> SlidingWindowBuilder {
        self.size = Some(size);
        self
    }

    /// The distance between window starts (required).
    pub fn slide(mut self, slide: Duration) -> SlidingWindowBuilder {
        self.slide = Some(slide);
        self
    }

    /// The window.
    ///
    /// # Errors
    /// [`ConfigError::Missing`] without a size or slide; otherwise as
    /// [`SlidingWindow::new`].
    pub fn build<T>(self) -> Result<SlidingWindow<T>, ConfigError> {
        let size = self.size.ok_or(ConfigError::Missing("size"))?;
        let slide = self.slide.ok_or(ConfigError::Missing("slide"))?;
        SlidingWindow::new(size, slide)
    }
}

impl<T: Clone> Logic for SlidingWindow<T> {
    type In = T;
    type Out = Window<T>;

    fn deadline(&self) -> Option<Duration> {
        self.open.keys().next().map(|&k| start_of(k, self.slide).saturating_add(self.size))
    }

    fn on_deadline(&mut self, now: Duration, out: &mut VecDeque<Window<T>>) {
        while let Some(entry) = self.open.first_entry() {
            if start_of(*entry.key(), self.slide).saturating_add(self.size) > now {
                break;
            }
            let (k, items) = entry.remove_entry();
            out.push_back(self.window(k, items));
        }
    }

    fn on_item(&mut self, now: Duration, item: T, _out: &mut VecDeque<Window<T>>) {
        // Windows k with k·slide <= now < k·slide + size.
        let last = index_of(now, self.slide);
        let first = match now.checked_sub(self.size) {
            Some(earliest) => index_of(earliest, self.slide) + 1,
            None => 0,
        };
        for k in first..last {
            self.open.entry(k).or_default().push(item.clone());
        }
        self.open.entry(last).or_default().push(item);
    }

    fn on_close(&mut self, _now: Duration, out: &mut VecDeque<Window<T>>) {
        while let Some((k, items)) = self.open.pop_first() {
            out.push_back(self.window(k, items));
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for SlidingWindow<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SlidingWindow")
            .field("size", &self.size)
            .field("slide", &self.slide)
            .field("open", &self.open)
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
    fn bad_sizes_and_slides_are_configuration_errors() {
        assert_eq!(SlidingWindow::<u8>::new(Duration::ZERO, ms(1)).unwrap_err(), ConfigError::ZeroWindowSize);
        assert_eq!(SlidingWindow::<u8>::new(ms(10), Duration::ZERO).unwrap_err(), ConfigError::ZeroSlide);
        assert_eq!(
            SlidingWindow::<u8>::new(ms(10), ms(11)).unwrap_err(),
            ConfigError::SlideLargerThanSize { slide: ms(11), size: ms(10) }
        );
        assert_eq!(SlidingWindow::builder().size(ms(1)).build::<u8>().unwrap_err(), ConfigError::Missing("slide"));
        assert!(SlidingWindow::<u8>::new(ms(10), ms(10)).is_ok(), "slide equal to size is a tumbling window");
    }

    #[test]
    fn an_item_at_a_window_end_is_not_in_that_window() {
        let mut w = SlidingWindow::new(ms(100), ms(50)).unwrap();
        let mut out = VecDeque::new();
        w.on_item(ms(100), 1, &mut out);
        // Windows starting at 50 and 100 hold it; the one starting at 0 ends at 100.
        assert_eq!(w.open.keys().copied().collect::<Vec<_>>(), [1, 2]);
        assert_eq!(w.deadline(), Some(ms(150)));
    }

    #[test]
    fn close_emits_every_open_window_in_order_of_start() {
        let mut w = SlidingWindow::new(ms(100), ms(50)).unwrap();
        let mut out = VecDeque::new();
        w.on_item(ms(60), 'x', &mut out);
        w.on_close(ms(70), &mut out);
        let starts: Vec<Duration> = out.iter().map(|w| w.start).collect();
        assert_eq!(starts, [ms(0), ms(50)]);
    }
}
