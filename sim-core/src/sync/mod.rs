//! Channels, notifications and locks shaped like `tokio::sync`: [`mpsc`] (bounded
//! and unbounded), [`oneshot`], [`watch`], [`broadcast`], [`Notify`], [`Semaphore`],
//! [`Mutex`], [`RwLock`], [`Barrier`] and [`OnceCell`].
//!
//! Every primitive is named in traces and deadlock reports: after the place that
//! created it (`debounce.rs:42`), or by its `_named` constructor, or by an enclosing
//! [`named`](crate::named) scope. Every operation on it is part of the running
//! step's footprint, so the reduced enumeration orders the steps that use it.
//!
//! # `Send`, `Sync`, and life outside a simulation
//! Every primitive is `Send` and `Sync` exactly where tokio's is (`mpsc::Sender<T>`
//! when `T: Send`, `watch::Sender<T>` when `T: Send + Sync`, `Notify` always), and
//! works with no simulation at all, as plain async code: wakers only, nothing
//! recorded (tokio's own tests poll them that way, with mock tasks).
//!
//! - **Created outside, used inside.** A primitive created with no simulation
//!   current is registered in the first simulation that uses it, at that use, under
//!   the name it was given (or its creation site); from then on it is recorded as if
//!   it had been created there.
//! - **Used by the next simulation.** Once the simulation it is registered in has
//!   ended, the next one that uses it takes it over, with its state (as a tokio
//!   primitive goes from one runtime to the next): a `static` serves every run.
//! - **Used by two simulations at once.** A primitive belongs to one running
//!   simulation at a time. Reached from another while its own still runs, the run of
//!   that other one stops with [`FailureKind::Escape`](crate::FailureKind::Escape)
//!   naming the task and the primitive; nothing is recorded in the wrong simulation.
//!   A [`Check`](crate::check::Check) whose runs share one runs them in order on one
//!   thread (see `docs/design.md`, "Primitives that outlive a simulation").
//!
//! # The pattern (for every primitive, and any new one)
//! - The handle holds an `Arc` of the shared part: its state behind a
//!   `parking_lot::Mutex` (or `RwLock`), and a `Binding` (the private `bind`
//!   module): the name, the creation site, and once registered, the simulation's
//!   number and the primitive's id there. Never an `Rc` or a `RefCell`, never a
//!   handle to the simulation.
//! - Every operation reaches the simulation through the thread's current one,
//!   `Binding::reach()`, which is `None` outside any (or in a foreign one, after
//!   reporting the escape); each of `touch` (footprint, before reading or changing
//!   the state), `record` / `record_message` (the trace) and `wait_on` (deadlock
//!   reports, after queueing the waker) does nothing then.
//! - Wakers are collected under the state's lock and called after it is released,
//!   never under it, nor under the core's borrow: a waker that reaches back into the
//!   primitive, or runs on another thread, never finds it locked. A waker let go (one
//!   replaced by a later poll, or a waiter's that went away) is dropped after the lock
//!   too (`take_waiter` and `set_waiter` hand it back), since its drop may use the
//!   primitive (`sim-core/tests/engine/wakers.rs` checks every primitive both ways).
//! - Values are dropped outside the lock (a value's destructor may use the
//!   primitive).
//! - A `Send`/`Sync` assertion for every public type, in `sim-core/tests/engine/sync_send.rs`,
//!   pins the auto traits to tokio's.

mod barrier;
pub(crate) mod bind;
pub mod broadcast;
mod locks;
pub mod mpsc;
mod notify;
mod once_cell;
pub mod oneshot;
mod semaphore;
pub mod watch;

pub use barrier::{Barrier, BarrierWait, BarrierWaitResult};
pub use locks::{
    MappedMutexGuard, Mutex, MutexGuard, OwnedMutexGuard, OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock,
    RwLockMappedWriteGuard, RwLockReadGuard, RwLockWriteGuard, TryLockError,
};
pub use notify::{Notified, Notify, OwnedNotified};
pub use once_cell::{OnceCell, SetError};
pub use semaphore::{AcquireError, OwnedSemaphorePermit, Semaphore, SemaphorePermit, TryAcquireError};

/// Removes waiter `key` from a `(key, waker)` list, keeping the others' order, and
/// returns its waker for the caller to drop after releasing its lock (a waker's drop
/// may use the primitive).
pub(crate) fn take_waiter(waiters: &mut Vec<(u64, std::task::Waker)>, key: u64) -> Option<std::task::Waker> {
    let index = waiters.iter().position(|(k, _)| *k == key)?;
    Some(waiters.remove(index).1)
}

/// Stores `waker` as waiter `key`'s (appending the waiter when absent, keeping the
/// stored one when it wakes the same task) and returns the waker it replaced, for the
/// caller to drop after releasing its lock.
pub(crate) fn set_waiter(
    waiters: &mut Vec<(u64, std::task::Waker)>,
    key: u64,
    waker: &std::task::Waker,
) -> Option<std::task::Waker> {
    match waiters.iter_mut().find(|(k, _)| *k == key) {
        Some((_, w)) if w.will_wake(waker) => None,
        Some((_, w)) => Some(std::mem::replace(w, waker.clone())),
        None => {
            waiters.push((key, waker.clone()));
            None
        }
    }
}

/// A sender whose channel's message values a trace can show: the senders of
/// [`mpsc`] (bounded and unbounded), [`oneshot`], [`watch`] and [`broadcast`].
pub trait ShowValues {
    /// Shows this channel's messages in the trace from now on: every send and receive
    /// record holds the message's `Debug` text, at most
    /// [`MAX_VALUE_TEXT`](crate::tooling::trace::MAX_VALUE_TEXT) characters, which trace
    /// lines, JSON Lines traces (`value_text`) and timelines show. The text is not
    /// fingerprinted (see [`FingerprintValues`] for that), so showing values never
    /// changes a run's fingerprint. Only this trait needs `T: Debug`: the channel's
    /// methods keep tokio's bounds. Call it once, before the first send; it applies to
    /// the whole channel (every sender and the receiver). From tokio code,
    /// `sim_tokio::lockstep::show_values(&tx)` does the same, and nothing outside
    /// simulation.
    ///
    /// ```
    /// use sim_core::sync::{mpsc, ShowValues};
    /// use sim_core::{Config, Sim, TraceMode};
    ///
    /// let mut sim = Sim::new(Config::default().trace(TraceMode::Full));
    /// sim.block_on(async {
    ///     let (tx, mut rx) = sim_core::named("orders", || mpsc::channel(4));
    ///     tx.show_values();
    ///     tx.send(("apples", 3)).await.unwrap();
    ///     rx.recv().await;
    /// })
    /// .unwrap();
    /// let trace = sim.trace();
    /// let sent = trace.lines.iter().find(|l| l.kind.label() == "send").unwrap();
    /// assert_eq!(sent.value_text.as_deref(), Some("(\"apples\", 3)"));
    /// assert!(sent.to_string().ends_with("channel `orders` value (\"apples\", 3)"));
    /// ```
    ///
    /// A broadcast channel's receive records hold the value too:
    ///
    /// ```
    /// use sim_core::sync::{broadcast, ShowValues};
    /// use sim_core::{Config, Sim, TraceMode};
    ///
    /// let mut sim = Sim::new(Config::default().trace(TraceMode::Full));
    /// sim.block_on(async {
    ///     let (tx, mut rx) = sim_core::named("prices", || broadcast::channel(4));
    ///     tx.show_values();
    ///     tx.send(("apples", 3)).unwrap();
    ///     rx.recv().await.unwrap();
    /// })
    /// .unwrap();
    /// let trace = sim.trace();
    /// let recv = trace.lines.iter().find(|l| l.kind.label() == "recv").unwrap();
    /// assert_eq!(recv.value_text.as_deref(), Some("(\"apples\", 3)"));
    /// ```
    fn show_values(&self);
}

/// A sender whose channel's message values a run's fingerprint can include: the
/// senders of [`mpsc`] (bounded and unbounded), [`oneshot`], [`watch`] and [`broadcast`].
pub trait FingerprintValues {
    /// Fingerprints this channel's messages by value from now on: every send and
    /// receive folds the message's [`value_hash`](crate::tooling::trace::value_hash)
    /// into the run's fingerprint and shows it in the trace, so two runs that send the
    /// same number of messages but different values (a leak that reorders values, say)
    /// get different fingerprints, and the determinism check names the value. Call it
    /// once, before the first send; it applies to the whole channel (every sender and
    /// the receiver).
    fn fingerprint_values(&self);
}

macro_rules! value_senders {
    ($($sender:ty),*) => {$(
        impl<T: std::fmt::Debug> ShowValues for $sender {
            fn show_values(&self) {
                self.show_values_now();
            }
        }

        impl<T: std::hash::Hash> FingerprintValues for $sender {
            fn fingerprint_values(&self) {
                self.fingerprint_values_now();
            }
        }
    )*};
}

value_senders!(mpsc::Sender<T>, mpsc::UnboundedSender<T>, oneshot::Sender<T>, watch::Sender<T>, broadcast::Sender<T>);

/// tokio's panic when a thread-blocking call (`blocking_send`, `blocking_lock`,
/// `Semaphore::blocking_acquire`, ...) runs on a thread that drives tasks.
pub(crate) const CANNOT_BLOCK: &str = "Cannot block the current thread from within a runtime. This happens because a \
     function attempted to block the current thread while the thread is being used to drive asynchronous tasks.";

/// tokio's panic when something that needs the runtime's timer runs outside any runtime.
pub(crate) const NO_REACTOR: &str =
    "there is no reactor running, must be called from the context of a Tokio 1.x runtime";

/// tokio's thread-blocking calls: inside a simulation (a simulated task, or a thread
/// where a `Sim` is alive) the thread drives the simulation, so it panics with
/// tokio's text (in a task, the run fails with that panic like any task's);
/// outside any simulation it parks the thread until `future` completes, as tokio's.
/// A wake-up that comes from a simulation's thread is an ordinary wake for this
/// thread; this thread's wake of a simulated task is a foreign wake there
/// (`FailureKind::Escape`), as any.
#[track_caller]
pub(crate) fn block_on<F: std::future::Future>(what: &str, name: impl FnOnce() -> String, future: F) -> F::Output {
    if crate::context::try_current().is_some() {
        panic!("{CANNOT_BLOCK} ({what} on `{}` in a simulation)", name());
    }
    futures::executor::block_on(future)
}
