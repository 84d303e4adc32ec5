//! Channels shaped like `tokio::sync`: [`mpsc`] (bounded and unbounded) and
//! [`oneshot`].

pub mod mpsc;
pub mod oneshot;
