//! The one driver shared by every processor: a [`Stream`] adapter that feeds a
//! [`Logic`] state machine from an input stream and a single `tokio::time` timer.
//!
//! A processor's behaviour lives in its [`Logic`]: what to do with an input, what to
//! do when its deadline is due, what to flush on close. [`Processor`] does the rest,
//! the same way for every processor, on real tokio and under the simulator:
//!
//! 1. Hand out outputs already produced, in order. The logic changed its state (and
//!    its deadline) when it produced them; before the first of them is handed on, the
//!    timer is re-armed for that deadline (when it is still ahead), so a consumer that
//!    moves time on right after receiving is woken at the deadline without polling
//!    again first.
//! 2. Read `now` (time since the origin). If the logic's deadline is due
//!    (`deadline <= now`), run the deadline action first, and go back to 1.
//! 3. Poll the input. A success is handed to the logic with that same `now`; so an
//!    input at exactly a pending deadline always comes after the deadline's action,
//!    whichever of the two wake-ups the runtime delivered first. An error is passed
//!    through at once. The end of the input flushes the logic and ends the output.
//! 4. Otherwise make sure the one timer is armed for the logic's deadline (if any) and
//!    wait for either.
//!
//! No decision depends on which wake-up came first, only on timestamps; that is
//! what makes a processor's output independent of the order of same-instant events.
//! When the timer is armed cannot change the output either: step 2 compares the
//! deadline with `now` whether or not the timer has fired.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::stream::{FusedStream, Stream};
use tokio::time::{Instant, Sleep};

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

    /// Runs this logic over `input` (a stream of `Result`s); the origin is the
    /// `tokio::time` time now.
    ///
    /// Build it inside the runtime (or the simulation): outside one, tokio's
    /// `Instant::now` reads the real clock, so under paused time the origin would be
    /// offset from the runtime's clock.
    ///
    /// # Panics
    /// Under the simulator (`--cfg lockstep`), when no simulation is current.
    #[track_caller]
    fn process<S, E>(self, input: S) -> Processor<S, Self>
    where
        Self: Sized,
        S: Stream<Item = Result<Self::In, E>>,
    {
        Processor::new(input, self)
    }

    /// Runs this logic over an infallible `input`; the output yields plain values.
    ///
    /// # Panics
    /// As [`Logic::process`].
    #[track_caller]
    fn process_ok<S>(self, input: S) -> Unwrapped<Processor<AsResults<S>, Self>>
    where
        Self: Sized,
        S: Stream<Item = Self::In>,
    {
        Unwrapped { inner: Processor::new(AsResults { inner: input }, self) }
    }
}

pin_project_lite::pin_project! {
    /// A processor: a [`Stream`] of `Result<L::Out, E>` over an input stream of
    /// `Result<L::In, E>`, timed by `tokio::time`. See the [module docs](self).
    ///
    /// It is [`Unpin`] when its input is (the timer is boxed, allocated once), and
    /// [`Send`] on tokio when its input, logic and items are.
    ///
    /// Dropping it cancels the processor: held items are dropped and its timer is
    /// cancelled. After the input ends (and held items are flushed), it yields `None`
    /// forever.
    #[must_use = "streams do nothing unless polled"]
    pub struct Processor<S, L: Logic> {
        #[pin]
        input: S,
        origin: Instant,
        logic: L,
        out: VecDeque<L::Out>,
        timer: Option<Pin<Box<Sleep>>>,
        armed: Option<Instant>,
        done: bool,
    }
}

impl<S, L: Logic> Processor<S, L> {
    /// A processor running `logic` over `input`; its origin is the `tokio::time` time
    /// now.
    ///
    /// # Panics
    /// Under the simulator (`--cfg lockstep`), when no simulation is current.
    #[track_caller]
    pub fn new(input: S, logic: L) -> Processor<S, L> {
        let origin = Instant::now();
        Processor { input, origin, logic, out: VecDeque::new(), timer: None, armed: None, done: false }
    }

    /// The instant all of this processor's times are measured from.
    pub fn origin(&self) -> Instant {
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

/// The processor's one timer and the instant it is armed for.
struct Timer<'a> {
    sleep: &'a mut Option<Pin<Box<Sleep>>>,
    armed: &'a mut Option<Instant>,
}

impl Timer<'_> {
    /// Cancels the timer (nothing to wait for).
    fn cancel(&mut self) {
        *self.sleep = None;
        *self.armed = None;
    }

    /// Arms the timer for `at` (creating or moving it only when it is not armed for
    /// `at` already) and registers the task's interest in it: `Ready` when it has
    /// fired.
    fn arm(&mut self, at: Instant, cx: &mut Context<'_>) -> Poll<()> {
        let sleep = match self.sleep {
            Some(sleep) => {
                if *self.armed != Some(at) {
                    sleep.as_mut().reset(at);
                }
                sleep
            }
            None => self.sleep.insert(Box::pin(tokio::time::sleep_until(at))),
        };
        *self.armed = Some(at);
        let fired = sleep.as_mut().poll(cx);
        if fired.is_ready() {
            // The next turn sees the deadline due. Forget the arming so that a timer
            // that fired early is armed again rather than trusted.
            *self.armed = None;
        }
        fired
    }
}

impl<S, L, E> Stream for Processor<S, L>
where
    S: Stream<Item = Result<L::In, E>>,
    L: Logic,
{
    type Item = Result<L::Out, E>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut this = self.project();
        let mut timer = Timer { sleep: this.timer, armed: this.armed };
        loop {
            if let Some(o) = this.out.pop_front() {
                // The state (and the deadline) changed with this output: re-arm first,
                // then hand it on. A deadline already due needs no timer: the next turn
                // handles it before anything else.
                if !*this.done {
                    let origin = *this.origin;
                    let now = Instant::now();
                    match this.logic.deadline().and_then(|d| origin.checked_add(d)) {
                        Some(at) if at > now => {
                            let _ = timer.arm(at, cx);
                        }
                        Some(_) => {}
                        None => timer.cancel(),
                    }
                }
                return Poll::Ready(Some(Ok(o)));
            }
            if *this.done {
                return Poll::Ready(None);
            }
            let now = Instant::now().saturating_duration_since(*this.origin);
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
                    timer.cancel();
                    continue;
                }
                Poll::Pending => {}
            }
            let Some(at) = this.logic.deadline().and_then(|d| this.origin.checked_add(d)) else {
                // No deadline (or one beyond the clock's range): wait for input only.
                timer.cancel();
                return Poll::Pending;
            };
            if timer.arm(at, cx).is_pending() {
                return Poll::Pending;
            }
        }
    }
}

impl<S, L, E> FusedStream for Processor<S, L>
where
    S: Stream<Item = Result<L::In, E>>,
    L: Logic,
{
    fn is_terminated(&self) -> bool {
        self.done && self.out.is_empty()
    }
}

impl<S: fmt::Debug, L: Logic + fmt::Debug> fmt::Debug for Processor<S, L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Processor")
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
