//! Channels and notifications shaped like `tokio::sync`: [`mpsc`] (bounded and
//! unbounded), [`oneshot`], [`watch`] and [`Notify`].
//!
//! Every primitive is named in traces and deadlock reports: after the place that
//! created it (`debounce.rs:42`), or by its `_named` constructor, or by an enclosing
//! [`named`](crate::named) scope. Every operation on it is part of the running
//! step's footprint, so the reduced enumeration orders the steps that use it.

pub mod mpsc;
mod notify;
pub mod oneshot;
pub mod watch;

pub use notify::{Notified, Notify};
