//! Selection over several futures.
//!
//! [`select`] models Go's `select`: when several branches are ready at once, which
//! one is taken is a recorded choice point (the strategy picks, the tape records,
//! replay repeats). To know which branches are ready without consuming anything,
//! branches implement [`Selectable`], a side-effect-free readiness probe that every
//! Lockstep primitive provides. [`select_biased`] takes the first ready branch in
//! argument order and accepts any future.

use std::future::Future;

/// A future whose readiness can be probed without side effects.
///
/// `is_ready` must return `true` only when the next poll is certain to complete,
/// and must not change any state. Lockstep's primitives implement it: [`Sleep`],
/// [`JoinHandle`], the channel receive futures.
///
/// [`Sleep`]: crate::time::Sleep
/// [`JoinHandle`]: crate::JoinHandle
pub trait Selectable: Future + Unpin {
    /// Whether polling now would complete.
    fn is_ready(&self) -> bool;
}
