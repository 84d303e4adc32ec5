//! `tokio::sync::oneshot` under simulation.

use std::panic::Location;

pub use sim_core::sync::oneshot::{Receiver, Sender};

pub mod error {
    //! tokio's `oneshot` errors, with tokio's `Display` texts.
    pub use sim_core::sync::oneshot::error::{RecvError, TryRecvError};
}

/// A one-shot channel, named after the caller's line.
#[track_caller]
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    sim_core::named(crate::lockstep::naming::name_for(Location::caller()), || sim_core::sync::oneshot::channel())
}
