//! `tokio::sync` under simulation: [`mpsc`], [`oneshot`], [`watch`], [`broadcast`],
//! [`Notify`], [`Semaphore`], [`Mutex`], [`RwLock`], [`Barrier`], [`OnceCell`] and [`SetOnce`]:
//! Lockstep's own primitives under tokio's names and signatures.
//!
//! Every channel and `Notify` is named in traces and deadlock reports after the line
//! that created it (`debounce.rs:42`), or by an enclosing
//! [`lockstep::named`](crate::lockstep::named). Its operations are recorded in the
//! trace and in footprints, so exhaustive exploration stays sound, and a task blocked
//! on one is reported with what it waits on ("recv on `in`", "notified on `ready`",
//! "changed on `config`", "reserve on full `in`").
//!
//! Differences from tokio, all reported rather than silently wrong:
//! - `blocking_send` / `blocking_recv` stop the run with an escape naming the task: a
//!   simulated task cannot block its thread.
//! - The types are `Send`/`Sync` exactly where tokio's are, and work outside any
//!   simulation as plain async code (wakers only, nothing recorded), as tokio's work
//!   without a runtime. One created outside a simulation is recorded from its first
//!   use inside one; one used in a second simulation stops that run with an escape
//!   (see `sim_core::sync`).
//! - A `watch::Ref` held while a sender writes fails the run with a panic naming the
//!   channel, where tokio would block the writer.

pub mod broadcast;
pub mod mpsc;
pub mod oneshot;
mod set_once;
pub mod watch;

pub use set_once::{SetOnce, SetOnceError};

pub use sim_core::sync::{
    AcquireError, Barrier, BarrierWaitResult, MappedMutexGuard, Mutex, MutexGuard, Notified, Notify, OnceCell,
    OwnedMutexGuard, OwnedRwLockReadGuard, OwnedRwLockWriteGuard, OwnedSemaphorePermit, RwLock, RwLockMappedWriteGuard,
    RwLockReadGuard, RwLockWriteGuard, Semaphore, SemaphorePermit, SetError, TryAcquireError, TryLockError,
};

/// tokio's named futures of `sync`: `Notified` (which tokio-util's
/// `CancellationToken` names) and `OwnedNotified` (of `Notify::notified_owned`).
pub mod futures {
    pub use sim_core::sync::{Notified, OwnedNotified};
}
