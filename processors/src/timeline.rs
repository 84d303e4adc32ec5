//! Small helpers for examples and tests: a source that yields items at given times,
//! and a wrapper that stamps each output with the time it was emitted.
//!
//! Both measure `tokio::time` time since their own creation, like processors do.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::stream::Stream;
use tokio::time::{Instant, Sleep};

/// A stream yielding each `(at, item)` once `at` has passed since its creation, then
/// ending (right after the last item, or at [`Timed::close_at`]).
///
/// Items are expected in order of time; an item whose time has already passed is
/// yielded at once.
///
/// # Panics
/// Under the simulator (`--cfg lockstep`), when no simulation is current.
#[track_caller]
pub fn timed<T, I>(items: I) -> Timed<T>
where
    I: IntoIterator<Item = (Duration, T)>,
{
    let origin = Instant::now();
    Timed { origin, items: items.into_iter().collect(), close_at: None, timer: None, armed: None }
}

/// The stream of [`timed`].
#[must_use = "streams do nothing unless polled"]
pub struct Timed<T> {
    origin: Instant,
    items: VecDeque<(Duration, T)>,
    close_at: Option<Duration>,
    timer: Option<Pin<Box<Sleep>>>,
    armed: Option<Instant>,
}

impl<T> Timed<T> {
    /// Ends the stream at `at` (time since creation) instead of right after the last
    /// item; items later than `at` are still yielded first.
    pub fn close_at(mut self, at: Duration) -> Timed<T> {
        self.close_at = Some(at);
        self
    }
}

impl<T> Unpin for Timed<T> {}

impl<T> Stream for Timed<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.get_mut();
        loop {
            let next = match this.items.front() {
                Some((at, _)) => *at,
                None => match this.close_at {
                    Some(at) => at,
                    None => return Poll::Ready(None),
                },
            };
            let now = Instant::now().saturating_duration_since(this.origin);
            if next <= now {
                match this.items.pop_front() {
                    Some((_, item)) => return Poll::Ready(Some(item)),
                    None => {
                        this.close_at = None;
                        this.timer = None;
                        return Poll::Ready(None);
                    }
                }
            }
            let Some(at) = this.origin.checked_add(next) else { return Poll::Pending };
            let timer = match &mut this.timer {
                Some(timer) => {
                    if this.armed != Some(at) {
                        timer.as_mut().reset(at);
                    }
                    timer
                }
                None => this.timer.insert(Box::pin(tokio::time::sleep_until(at))),
            };
            this.armed = Some(at);
            if timer.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            this.armed = None;
        }
    }
}

impl<T> fmt::Debug for Timed<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timed").field("left", &self.items.len()).field("close_at", &self.close_at).finish()
    }
}

/// Wraps `stream` so each item comes with the time it was emitted (time since the
/// wrapper's creation).
///
/// # Panics
/// Under the simulator (`--cfg lockstep`), when no simulation is current.
#[track_caller]
pub fn stamped<S>(stream: S) -> Stamped<S> {
    Stamped { origin: Instant::now(), stream }
}

pin_project_lite::pin_project! {
    /// The stream of [`stamped`].
    #[must_use = "streams do nothing unless polled"]
    pub struct Stamped<S> {
        origin: Instant,
        #[pin]
        stream: S,
    }
}

impl<S: Stream> Stream for Stamped<S> {
    type Item = (Duration, S::Item);

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.project();
        let item = std::task::ready!(this.stream.poll_next(cx));
        Poll::Ready(item.map(|item| (Instant::now().saturating_duration_since(*this.origin), item)))
    }
}

impl<S> fmt::Debug for Stamped<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stamped").field("origin", &self.origin).finish_non_exhaustive()
    }
}
