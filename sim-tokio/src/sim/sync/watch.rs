//! `tokio::sync::watch` under simulation.

use std::panic::Location;

pub use sim_core::sync::watch::{Receiver, Ref, Sender};

pub mod error {
    //! tokio's `watch` errors, with tokio's `Display` texts.
    pub use sim_core::sync::watch::error::{RecvError, SendError};
}

/// A watch channel holding `init`, named after the caller's line.
#[track_caller]
pub fn channel<T>(init: T) -> (Sender<T>, Receiver<T>) {
    sim_core::named(crate::lockstep::naming::name_for(Location::caller()), || sim_core::sync::watch::channel(init))
}
