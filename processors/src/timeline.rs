//! Small helpers for examples and tests: a source that yields items at given times,
//! and a wrapper that stamps each output with the time it was emitted.
//!
//! Both measure time since their own creation on a [`Clock`], like processors do.

use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::stream::Stream;
use std::future::Future;

use crate::clock::Clock;

/// A stream yielding each `(at, item)` once `at` has passed since its creation, then
/// ending (right after the last item, or at [`Timed::close_at`]).
///
/// Items are expected in order of time; an item whose time has already passed is
/// yielded at once.
///
/// # Panics
/// Panics when `clock` cannot read the time here.
pub fn timed<C, T, I>(clock: C, items: I) -> Timed<C, T>
where
    C: Clock,
    I: IntoIterator<Item = (Duration, T)>,
{
    let origin = clock.now();
    Timed { clock, origin, items: items.into_iter().collect(), close_at: None, timer: None, armed: None }
}

/// The stream of [`timed`].
#[must_use = "streams do nothing unless polled"]
pub struct Timed<C: Clock, T> {
    clock: C,
    origin: C::Instant,
    items: VecDeque<(Duration, T)>,
    close_at: Option<Duration>,
    timer: Option<C::Sleep>,
    armed: Option<C::Instant>,
}

impl<C: Clock, T> Timed<C, T> {
    /// Ends the stream at `at` (time since creation) instead of right after the last
    /// item; items later than `at` are still yielded first.
    pub fn close_at(mut self, at: Duration) -> Timed<C, T> {
        self.close_at = Some(at);
        self
    }
}

impl<C: Clock, T> Unpin for Timed<C, T> {}

impl<C: Clock, T> Stream for Timed<C, T> {
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
            let now = this.clock.since(this.origin, this.clock.now());
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
            let Some(at) = this.clock.after(this.origin, next) else { return Poll::Pending };
            let timer = match &mut this.timer {
                Some(timer) => {
                    if this.armed != Some(at) {
                        this.clock.reset(timer, at);
                    }
                    timer
                }
                None => this.timer.insert(this.clock.sleep_until(at)),
            };
            this.armed = Some(at);
            if Pin::new(timer).poll(cx).is_pending() {
                return Poll::Pending;
            }
            this.armed = None;
        }
    }
}

impl<C: Clock, T> fmt::Debug for Timed<C, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timed").field("left", &self.items.len()).field("close_at", &self.close_at).finish()
    }
}

/// Wraps `stream` so each item comes with the time it was emitted (time since the
/// wrapper's creation).
///
/// # Panics
/// Panics when `clock` cannot read the time here.
pub fn stamped<C: Clock, S>(clock: C, stream: S) -> Stamped<C, S> {
    let origin = clock.now();
    Stamped { clock, origin, stream }
}

pin_project_lite::pin_project! {
    /// The stream of [`stamped`].
    #[must_use = "streams do nothing unless polled"]
    pub struct Stamped<C: Clock, S> {
        clock: C,
        origin: C::Instant,
        #[pin]
        stream: S,
    }
}

impl<C: Clock, S: Stream> Stream for Stamped<C, S> {
    type Item = (Duration, S::Item);

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.project();
        let item = std::task::ready!(this.stream.poll_next(cx));
        Poll::Ready(item.map(|item| (this.clock.since(*this.origin, this.clock.now()), item)))
    }
}

impl<C: Clock, S> fmt::Debug for Stamped<C, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stamped").field("origin", &self.origin).finish_non_exhaustive()
    }
}
