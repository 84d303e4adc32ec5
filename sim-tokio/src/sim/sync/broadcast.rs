//! `tokio::sync::broadcast` under simulation: every receiver sees every value sent
//! after it subscribed; a receiver more than the capacity (rounded up to a power of
//! two) behind gets `RecvError::Lagged` with the number of values it missed.

use std::panic::Location;

pub use sim_core::sync::broadcast::{Receiver, Sender, WeakSender};

pub mod error {
    //! tokio's `broadcast` errors, with tokio's `Display` texts.
    pub use sim_core::sync::broadcast::error::{RecvError, SendError, TryRecvError};
}

/// A broadcast channel holding the last `capacity` values (rounded up to a power of
/// two), named after the caller's line.
///
/// # Panics
/// When `capacity` is 0 or larger than `usize::MAX / 2`, as tokio.
#[track_caller]
pub fn channel<T: Clone>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    sim_core::named(crate::lockstep::naming::name_for(Location::caller()), || {
        sim_core::sync::broadcast::channel(capacity)
    })
}
