//! Selection over several futures.
//!
//! [`select`] models Go's `select`: when several branches are ready at once, which
//! one is taken is a recorded choice point (the strategy picks, the tape records,
//! replay repeats). To know which branches are ready without consuming anything,
//! branches implement [`Selectable`], a side-effect-free readiness probe that every
//! Lockstep primitive provides. When a single branch is ready, no choice is
//! recorded; when none is, every branch is polled in order so each registers its
//! wake-up.
//!
//! [`select_biased`] takes the first ready branch in argument order and accepts any
//! future, like `tokio::select!` with `biased;`.
//!
//! More than two branches: [`select_all`] over a list of the same type, or nest
//! selections (a [`Select`] is itself [`Selectable`]).
//!
//! ```
//! use std::time::Duration;
//! use sim_core::select::{select, Either};
//! use sim_core::time::sleep;
//! use sim_core::{spawn, Config, Sim};
//!
//! // A timer and a task both finish at 10 ms: which branch wins is the seed's choice.
//! let winner = |seed| {
//!     let mut sim = Sim::new(Config::random(seed));
//!     sim.block_on(async {
//!         let worker = spawn(async { sleep(Duration::from_millis(10)).await });
//!         let timer = sleep(Duration::from_millis(10));
//!         sleep(Duration::from_millis(20)).await; // both are ready by now
//!         match select(worker, timer).await {
//!             Either::Left(_) => "worker",
//!             Either::Right(()) => "timer",
//!         }
//!     })
//!     .unwrap()
//! };
//! let winners: std::collections::BTreeSet<_> = (0..20).map(winner).collect();
//! assert_eq!(winners.len(), 2, "each branch wins under some seed");
//! assert_eq!(winner(5), winner(5), "and a seed always picks the same one");
//! ```

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

pub use futures::future::Either;

use crate::context;
use crate::strategy::ChoiceKind;
use crate::task::JoinHandle;
use crate::time::Sleep;

/// A future whose readiness can be probed without side effects.
///
/// `is_ready` must return `true` only when the next poll is certain to complete,
/// and must not change any state. Lockstep's primitives implement it: [`Sleep`],
/// [`JoinHandle`], the channel receive futures.
pub trait Selectable: Future + Unpin {
    /// Whether polling now would complete.
    fn is_ready(&self) -> bool;
}

impl Selectable for Sleep {
    fn is_ready(&self) -> bool {
        self.is_elapsed()
    }
}

impl<T> Selectable for JoinHandle<T> {
    fn is_ready(&self) -> bool {
        self.is_finished()
    }
}

impl<S: Selectable + ?Sized> Selectable for &mut S {
    fn is_ready(&self) -> bool {
        (**self).is_ready()
    }
}

impl<S: Selectable + ?Sized> Selectable for Box<S> {
    fn is_ready(&self) -> bool {
        (**self).is_ready()
    }
}

/// Picks which branch to poll first: among the ready ones, a recorded choice
/// when there are several. Returns `None` when no branch is ready.
fn pick(ready: &[bool]) -> Option<usize> {
    let count = ready.iter().filter(|r| **r).count();
    let nth = match count {
        0 => return None,
        1 => 0,
        n => context::with_core(|core| core.choose(ChoiceKind::Select, n)),
    };
    ready.iter().enumerate().filter(|(_, r)| **r).nth(nth).map(|(i, _)| i)
}

/// Waits for either future; when both are ready, which one is taken is a recorded
/// choice point. The other future is handed back untouched in [`Select::into_inner`]
/// only before completion; after it, it is dropped with the `Select`.
///
/// # Panics
/// Polling panics when no simulation is current on this thread.
pub fn select<A: Selectable, B: Selectable>(a: A, b: B) -> Select<A, B> {
    Select { a, b }
}

/// The future of [`select`].
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct Select<A, B> {
    a: A,
    b: B,
}

impl<A, B> Select<A, B> {
    /// Gives back both futures.
    pub fn into_inner(self) -> (A, B) {
        (self.a, self.b)
    }
}

impl<A: Selectable, B: Selectable> Future for Select<A, B> {
    type Output = Either<A::Output, B::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let first = pick(&[this.a.is_ready(), this.b.is_ready()]).unwrap_or(0);
        let poll_a = |s: &mut Self, cx: &mut Context<'_>| Pin::new(&mut s.a).poll(cx).map(Either::Left);
        let poll_b = |s: &mut Self, cx: &mut Context<'_>| Pin::new(&mut s.b).poll(cx).map(Either::Right);
        if first == 0 {
            poll_a(this, cx).or_else(|| poll_b(this, cx))
        } else {
            poll_b(this, cx).or_else(|| poll_a(this, cx))
        }
    }
}

impl<A: Selectable, B: Selectable> Selectable for Select<A, B> {
    fn is_ready(&self) -> bool {
        self.a.is_ready() || self.b.is_ready()
    }
}

/// Waits for the first of several futures of one type; when several are ready,
/// which one is taken is a recorded choice point. Returns its index and output.
///
/// # Panics
/// Panics when `futures` is empty; polling panics when no simulation is current.
#[track_caller]
pub fn select_all<F: Selectable>(futures: Vec<F>) -> SelectAll<F> {
    assert!(!futures.is_empty(), "select_all of no futures would wait forever");
    SelectAll { futures }
}

/// The future of [`select_all`].
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct SelectAll<F> {
    futures: Vec<F>,
}

impl<F> SelectAll<F> {
    /// Gives back the futures.
    pub fn into_inner(self) -> Vec<F> {
        self.futures
    }
}

impl<F: Selectable> Future for SelectAll<F> {
    type Output = (usize, F::Output);

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let ready: Vec<bool> = self.futures.iter().map(|f| f.is_ready()).collect();
        let first = pick(&ready).unwrap_or(0);
        let n = self.futures.len();
        for i in (first..n).chain(0..first) {
            if let Poll::Ready(v) = Pin::new(&mut self.futures[i]).poll(cx) {
                return Poll::Ready((i, v));
            }
        }
        Poll::Pending
    }
}

impl<F: Selectable> Selectable for SelectAll<F> {
    fn is_ready(&self) -> bool {
        self.futures.iter().any(|f| f.is_ready())
    }
}

/// Waits for either future, preferring `a` when both are ready (no choice point).
/// Accepts any `Unpin` futures; pin others with [`std::pin::pin!`].
pub fn select_biased<A: Future + Unpin, B: Future + Unpin>(a: A, b: B) -> SelectBiased<A, B> {
    SelectBiased { a, b }
}

/// The future of [`select_biased`].
#[derive(Debug)]
#[must_use = "futures do nothing unless awaited"]
pub struct SelectBiased<A, B> {
    a: A,
    b: B,
}

impl<A: Future + Unpin, B: Future + Unpin> Future for SelectBiased<A, B> {
    type Output = Either<A::Output, B::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Poll::Ready(v) = Pin::new(&mut self.a).poll(cx) {
            return Poll::Ready(Either::Left(v));
        }
        Pin::new(&mut self.b).poll(cx).map(Either::Right)
    }
}

trait OrElse<T> {
    fn or_else(self, f: impl FnOnce() -> Poll<T>) -> Poll<T>;
}

impl<T> OrElse<T> for Poll<T> {
    fn or_else(self, f: impl FnOnce() -> Poll<T>) -> Poll<T> {
        match self {
            Poll::Ready(v) => Poll::Ready(v),
            Poll::Pending => f(),
        }
    }
}
