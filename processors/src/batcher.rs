//! Batcher: by size or latency.

use std::collections::VecDeque;
use std::fmt;
use std::num::NonZeroUsize;
use std::time::Duration;

use crate::error::ConfigError;
use crate::processor::Logic;

/// Groups successes into batches of at most `max_size`, each emitted no later than
/// `max_latency` after its first item arrived.
///
/// - The latency deadline starts when an item enters an **empty** batch and is not
///   restarted by later items.
/// - A batch is emitted when it reaches `max_size` (the deadline is cleared) or when
///   its deadline is due. An item at exactly the deadline starts the next batch.
/// - No latency: size-only batching. Close: the partial batch is emitted. Cancel
///   (drop): it is dropped. Errors pass through at once.
/// - Invariants: no batch is empty or larger than `max_size`; every batch is emitted
///   no later than its first item's arrival + `max_latency`; concatenating the
///   batches gives the input successes in order.
///
/// ```
/// use std::time::Duration;
/// use futures::StreamExt;
/// use processors::{timeline, Batcher, Logic};
///
/// let ms = Duration::from_millis;
/// // Paused time on tokio; one simulation in virtual time under `--cfg lockstep`.
/// let runtime = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
/// let out = runtime.block_on(async move {
///     let input = timeline::timed([(ms(0), 1), (ms(0), 2), (ms(0), 3), (ms(0), 4), (ms(20), 5)])
///         .close_at(ms(500));
///     let batcher = Batcher::builder(3).max_latency(ms(100)).build()?;
///     let batches = batcher.process_ok(input);
///     Ok::<_, processors::ConfigError>(timeline::stamped(batches).collect::<Vec<_>>().await)
/// });
/// // A full batch leaves at once; the next one when its first item (4, at 0) is 100 ms old.
/// assert_eq!(out?, [(ms(0), vec![1, 2, 3]), (ms(100), vec![4, 5])]);
/// # Ok::<(), processors::ConfigError>(())
/// ```
pub struct Batcher<T> {
    max_size: NonZeroUsize,
    max_latency: Option<Duration>,
    batch: Vec<T>,
    deadline: Option<Duration>,
}

impl<T> Batcher<T> {
    /// A batcher of at most `max_size` items per batch, each batch emitted at the
    /// latest `max_latency` after its first item (`None`: only when full or closed).
    ///
    /// # Errors
    /// [`ConfigError::ZeroBatchSize`] when `max_size` is 0.
    pub fn new(max_size: usize, max_latency: Option<Duration>) -> Result<Batcher<T>, ConfigError> {
        let max_size = NonZeroUsize::new(max_size).ok_or(ConfigError::ZeroBatchSize)?;
        Ok(Batcher { max_size, max_latency, batch: Vec::new(), deadline: None })
    }

    /// The largest batch.
    pub fn max_size(&self) -> usize {
        self.max_size.get()
    }

    /// The latency bound.
    pub fn max_latency(&self) -> Option<Duration> {
        self.max_latency
    }

    /// The items of the batch being filled.
    pub fn pending(&self) -> &[T] {
        &self.batch
    }

    fn emit(&mut self, out: &mut VecDeque<Vec<T>>) {
        self.deadline = None;
        if !self.batch.is_empty() {
            out.push_back(std::mem::take(&mut self.batch));
        }
    }
}

impl Batcher<()> {
    /// A builder, starting from `max_size` and no latency bound. (Defined on
    /// `Batcher<()>` so that `Batcher::builder` needs no type annotation; the item
    /// type is chosen by [`BatcherBuilder::build`].)
    pub fn builder(max_size: usize) -> BatcherBuilder {
        BatcherBuilder { max_size, max_latency: None }
    }
}

/// Builds a [`Batcher`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use = "call `build` to get the batcher"]
pub struct BatcherBuilder {
    max_size: usize,
    max_latency: Option<Duration>,
}

impl BatcherBuilder {
    /// The largest batch.
    pub fn max_size(mut self, max_size: usize) -> BatcherBuilder {
        self.max_size = max_size;
        self
    }

    /// Each batch is emitted at the latest `latency` after its first item.
    pub fn max_latency(mut self, latency: Duration) -> BatcherBuilder {
        self.max_latency = Some(latency);
        self
    }

    /// The batcher.
    ///
    /// # Errors
    /// [`ConfigError::ZeroBatchSize`] when `max_size` is 0.
    pub fn build<T>(self) -> Result<Batcher<T>, ConfigError> {
        Batcher::new(self.max_size, self.max_latency)
    }
}

impl<T> Logic for Batcher<T> {
    type In = T;
    type Out = Vec<T>;

    fn deadline(&self) -> Option<Duration> {
        self.deadline
    }

    fn on_deadline(&mut self, _now: Duration, out: &mut VecDeque<Vec<T>>) {
        self.emit(out);
    }

    fn on_item(&mut self, now: Duration, item: T, out: &mut VecDeque<Vec<T>>) {
        if self.batch.is_empty() {
            self.deadline = self.max_latency.map(|l| now.saturating_add(l));
        }
        self.batch.push(item);
        if self.batch.len() >= self.max_size.get() {
            self.emit(out);
        }
    }

    fn on_close(&mut self, _now: Duration, out: &mut VecDeque<Vec<T>>) {
        self.emit(out);
    }
}

impl<T: fmt::Debug> fmt::Debug for Batcher<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Batcher")
            .field("max_size", &self.max_size)
            .field("max_latency", &self.max_latency)
            .field("batch", &self.batch)
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
    fn max_size_zero_is_a_configuration_error() {
        assert_eq!(Batcher::<u32>::new(0, Some(ms(1))).unwrap_err(), ConfigError::ZeroBatchSize);
        assert_eq!(Batcher::builder(0).build::<u32>().unwrap_err(), ConfigError::ZeroBatchSize);
    }

    #[test]
    fn later_items_do_not_restart_the_latency_deadline() {
        let mut b = Batcher::new(10, Some(ms(100))).unwrap();
        let mut out = VecDeque::new();
        b.on_item(ms(0), 1, &mut out);
        b.on_item(ms(60), 2, &mut out);
        assert_eq!(b.deadline(), Some(ms(100)));
    }

    #[test]
    fn a_full_batch_is_emitted_at_once_and_clears_the_deadline() {
        let mut b = Batcher::new(2, Some(ms(100))).unwrap();
        let mut out = VecDeque::new();
        b.on_item(ms(0), 1, &mut out);
        b.on_item(ms(10), 2, &mut out);
        assert_eq!(Vec::from(out), [vec![1, 2]]);
        assert_eq!(b.deadline(), None);
    }

    #[test]
    fn without_latency_only_size_and_close_emit() {
        let mut b = Batcher::builder(3).build().unwrap();
        let mut out = VecDeque::new();
        b.on_item(ms(0), 1, &mut out);
        assert_eq!(b.deadline(), None);
        b.on_close(ms(5000), &mut out);
        assert_eq!(Vec::from(out), [vec![1]]);
    }

    #[test]
    fn close_with_an_empty_batch_emits_nothing() {
        let mut b: Batcher<u32> = Batcher::new(3, None).unwrap();
        let mut out = VecDeque::new();
        b.on_close(ms(1), &mut out);
        assert!(out.is_empty());
    }
}
