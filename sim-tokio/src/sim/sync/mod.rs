//! `tokio::sync` under simulation: [`mpsc`], [`oneshot`], [`watch`] and [`Notify`],
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
//! - The types are not `Send`/`Sync` (one simulation runs on one thread); code that
//!   needs them to be (`tokio::spawn` on a multi-thread runtime) still compiles, since
//!   the simulated `spawn` does not ask for `Send`.
//! - A `watch::Ref` held while a sender writes fails the run with a panic naming the
//!   channel, where tokio would block the writer.

pub mod mpsc;
pub mod oneshot;
pub mod watch;

pub use sim_core::sync::{Notified, Notify};
