//! `tokio::sync::mpsc` under simulation: bounded and unbounded channels, permits,
//! weak senders, tokio's error types.

use std::panic::Location;

pub use sim_core::sync::mpsc::{
    OwnedPermit, Permit, PermitIterator, Receiver, Sender, UnboundedReceiver, UnboundedSender, WeakSender,
    WeakUnboundedSender,
};

pub mod error {
    //! tokio's `mpsc` errors, with tokio's `Display` texts.
    pub use sim_core::sync::mpsc::error::{SendError, SendTimeoutError, TryRecvError, TrySendError};
}

/// A bounded channel with room for `buffer` messages, named after the caller's line.
///
/// # Panics
/// When `buffer` is 0 (as tokio).
#[track_caller]
pub fn channel<T>(buffer: usize) -> (Sender<T>, Receiver<T>) {
    assert!(buffer > 0, "mpsc bounded channel requires buffer > 0");
    sim_core::named(crate::lockstep::naming::name_for(Location::caller()), || sim_core::sync::mpsc::channel(buffer))
}

/// An unbounded channel, named after the caller's line.
#[track_caller]
pub fn unbounded_channel<T>() -> (UnboundedSender<T>, UnboundedReceiver<T>) {
    sim_core::named(crate::lockstep::naming::name_for(Location::caller()), || sim_core::sync::mpsc::unbounded_channel())
}
