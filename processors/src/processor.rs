//! The one driver shared by every processor: a [`Stream`] adapter that feeds a
//! [`Logic`] state machine from an input stream and a single timer.
//!
//! A processor's behaviour lives in its [`Logic`]: what to do with an input, what to
//! do when its deadline is due, what to flush on close. [`Processor`] does the rest,
//! the same way for every processor and every [`Clock`]:
//!
//! 1. Hand out outputs already produced, in order. The logic changed its state (and
//!    its deadline) when it produced them; the timer is only (re)armed at step 4,
//!    after they are handed on, which cannot change the output: step 2 compares the
//!    deadline with `now` whether or not the timer has fired.
//! 2. Read `now` (time since the origin). If the logic's deadline is due
//!    (`deadline <= now`), run the deadline action first, and go back to 1.
//! 3. Poll the input. A success is handed to the logic with that same `now`; so an
//!    input at exactly a pending deadline always comes after the deadline's action,
//!    whichever of the two wake-ups the runtime delivered first. An error is passed
//!    through at once. The end of the input flushes the logic and ends the output.
//! 4. Otherwise arm one timer for the logic's deadline (if any) and wait for either.
//!
//! No decision depends on which wake-up came first, only on timestamps; that is
//! what makes a processor's output independent of the order of same-instant events.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::stream::{FusedStream, Stream};

use crate::clock::Clock;

/// A processor's state machine, driven by [`Processor`].
///
/// Times are [`Duration`]s since the processor's origin. The driver guarantees:
/// - `on_deadline` is called only when `deadline()` is `Some(d)` with `d <= now`;
/// - before `on_item(now, …)`, a deadline due at `now` has already been handled;
/// - `now` never goes back;
/// - after `on_close`, nothing more is called.
///
/// Outputs are pushed to the back of `out` and handed downstream in that order.
pub trait Logic {
    /// The success type consumed.
    type In;
    /// The success type produced.
    type Out;

    /// The pending deadline, if any.
    fn deadline(&self) -> Option<Duration>;

    /// The deadline is due at `now`. Afterwards [`Logic::deadline`] must be `None` or
    /// later than `now` (the driver panics otherwise, as it would spin forever).
    fn on_deadline(&mut self, now: Duration, out: &mut VecDeque<Self::Out>);

    /// A success consumed at `now`.
    fn on_item(&mut self, now: Duration, item: Self::In, out: &mut VecDeque<Self::Out>);

    /// The input ended at `now`: flush whatever is held.
    fn on_close(&mut self, now: Duration, out: &mut VecDeque<Self::Out>);

    /// Runs this logic over `input` (a stream of `Result`s) with `clock`; the origin is
    /// `clock`'s time now.
    ///
    /// # Panics
    /// Panics when `clock` cannot read the time here (for [`crate::SimClock`], when no
    /// simulation is current).
    fn process<C, S, E>(self, clock: C, input: S) -> Processor<S, C, Self>
    where
        Self: Sized,
        C: Clock,
        S: Stream<Item = Result<Self::In, E>>,
    {
        Processor::new(clock, input, self)
    }

    /// Runs this logic over an infallible `input`; the output yields plain values.
    ///
    /// # Panics
    /// As [`Logic::process`].
    fn process_ok<C, S>(self, clock: C, input: S) -> Unwrapped<Processor<AsResults<S>, C, Self>>
    where
        Self: Sized,
        C: Clock,
        S: Stream<Item = Self::In>,
    {
        Unwrapped { inner: Processor::new(clock, AsResults { inner: input }, self) }
    }
}

pin_project_lite::pin_project! {
    /// A processor: a [`Stream`] of `Result<L::Out, E>` over an input stream of
    /// `Result<L::In, E>`, driven by one clock. See the [module docs](self).
    ///
    /// Dropping it cancels the processor: held items are dropped and its timer is
    /// cancelled. After the input ends (and held items are flushed), it yields `None`
    /// forever.
    #[must_use = "streams do nothing unless polled"]
    pub struct Processor<S, C: Clock, L: Logic> {
        #[pin]
        input: S,
        clock: C,
        origin: C::Instant,
        logic: L,
        out: VecDeque<L::Out>,
        timer: Option<C::Sleep>,
        armed: Option<C::Instant>,
        done: bool,
    }
}

impl<S, C: Clock, L: Logic> Processor<S, C, L> {
    /// A processor running `logic` over `input`, timed by `clock`; its origin is
    /// `clock`'s time now.
    ///
    /// # Panics
    /// Panics when `clock` cannot read the time here.
    pub fn new(clock: C, input: S, logic: L) -> Processor<S, C, L> {
        let origin = clock.now();
        Processor { input, clock, origin, logic, out: VecDeque::new(), timer: None, armed: None, done: false }
    }

    /// The instant all of this processor's times are measured from.
    pub fn origin(&self) -> C::Instant {
        self.origin
    }

    /// The pending deadline, as time since the origin.
    pub fn deadline(&self) -> Option<Duration> {
        if self.done {
            None
        } else {
            self.logic.deadline()
        }
    }

    /// The state machine.
    pub fn logic(&self) -> &L {
        &self.logic
    }

    /// The input stream.
    pub fn get_ref(&self) -> &S {
        &self.input
    }
}

impl<S, C, L, E> Stream for Processor<S, C, L>
where
    S: Stream<Item = Result<L::In, E>>,
    C: Clock,
    L: Logic,
{
    type Item = Result<L::Out, E>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut this = self.project();
        loop {
            if let Some(o) = this.out.pop_front() {
                return Poll::Ready(Some(Ok(o)));
            }
            if *this.done {
                return Poll::Ready(None);
            }
            let now = this.clock.since(*this.origin, this.clock.now());
            // The deadline first: an input at exactly the deadline comes after its action.
            if this.logic.deadline().is_some_and(|d| d <= now) {
                this.logic.on_deadline(now, this.out);
                if let Some(d) = this.logic.deadline() {
                    assert!(d > now, "Logic::on_deadline at {now:?} left the deadline {d:?} due");
                }
                continue;
            }
            match this.input.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(item))) => {
                    this.logic.on_item(now, item, this.out);
                    continue;
                }
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(None) => {
                    this.logic.on_close(now, this.out);
                    *this.done = true;
                    *this.timer = None;
                    *this.armed = None;
                    continue;
                }
                Poll::Pending => {}
            }
            let at = this.logic.deadline().and_then(|d| this.clock.after(*this.origin, d));
            let Some(at) = at else {
                // No deadline (or one beyond the clock's range): wait for input only.
                *this.timer = None;
                *this.armed = None;
                return Poll::Pending;
            };
            let timer = match this.timer {
                Some(timer) => {
                    if *this.armed != Some(at) {
                        this.clock.reset(timer, at);
                    }
                    timer
                }
                None => this.timer.insert(this.clock.sleep_until(at)),
            };
            *this.armed = Some(at);
            if Pin::new(timer).poll(cx).is_pending() {
                return Poll::Pending;
            }
            // Fired: the next turn sees the deadline due. Forget the arming so that a
            // timer that fired early (a clock breaking its contract) is re-armed.
            *this.armed = None;
        }
    }
}

impl<S, C, L, E> FusedStream for Processor<S, C, L>
where
    S: Stream<Item = Result<L::In, E>>,
    C: Clock,
    L: Logic,
{
    fn is_terminated(&self) -> bool {
        self.done && self.out.is_empty()
    }
}

impl<S: fmt::Debug, C: Clock + fmt::Debug, L: Logic + fmt::Debug> fmt::Debug for Processor<S, C, L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Processor")
            .field("clock", &self.clock)
            .field("origin", &self.origin)
            .field("logic", &self.logic)
            .field("queued", &self.out.len())
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

pin_project_lite::pin_project! {
    /// An infallible stream seen as a stream of `Ok`s (the input side of
    /// [`Logic::process_ok`]).
    #[derive(Debug)]
    #[must_use = "streams do nothing unless polled"]
    pub struct AsResults<S> {
        #[pin]
        inner: S,
    }
}

impl<S> AsResults<S> {
    /// Wraps `inner`.
    pub fn new(inner: S) -> AsResults<S> {
        AsResults { inner }
    }
}

impl<S: Stream> Stream for AsResults<S> {
    type Item = Result<S::Item, Infallible>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.project().inner.poll_next(cx).map(|o| o.map(Ok))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

pin_project_lite::pin_project! {
    /// A stream of `Result<T, Infallible>` seen as a stream of `T` (the output side of
    /// [`Logic::process_ok`]).
    #[derive(Debug)]
    #[must_use = "streams do nothing unless polled"]
    pub struct Unwrapped<P> {
        #[pin]
        inner: P,
    }
}

impl<P> Unwrapped<P> {
    /// Wraps `inner`.
    pub fn new(inner: P) -> Unwrapped<P> {
        Unwrapped { inner }
    }

    /// The wrapped stream (for [`Processor::deadline`] and friends).
    pub fn get_ref(&self) -> &P {
        &self.inner
    }

    /// Unwraps.
    pub fn into_inner(self) -> P {
        self.inner
    }
}

impl<P, T> Stream for Unwrapped<P>
where
    P: Stream<Item = Result<T, Infallible>>,
{
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.project().inner.poll_next(cx).map(|o| {
            o.map(|r| match r {
                Ok(v) => v,
                Err(never) => match never {},
            })
        })
    }
}

impl<P, T> FusedStream for Unwrapped<P>
where
    P: FusedStream<Item = Result<T, Infallible>>,
{
    fn is_terminated(&self) -> bool {
        self.inner.is_terminated()
    }
}
