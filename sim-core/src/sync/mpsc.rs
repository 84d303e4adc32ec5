//! Multi-producer, single-consumer channels shaped like `tokio::sync::mpsc`.
//!
//! [`channel`] makes a bounded channel, [`unbounded_channel`] an unbounded one;
//! [`Builder`] (or an enclosing [`named`](crate::named) scope) gives the
//! channel a name, used in traces and deadlock reports ("recv on `out`"), and an
//! optional delivery latency. The names of types, methods and errors are tokio's,
//! so code moves between the two by changing imports.
//!
//! # Semantics
//! - **Default (no latency):** a send puts the message in the receiver's buffer at
//!   once; waking the receiver is an event in the simulation's queue. A task that
//!   saw its send complete can rely on the message being there.
//! - **With a latency:** a message sent at `t` travels as a delivery event due at
//!   `t + latency` and is invisible to [`Receiver::try_recv`] and
//!   [`Receiver::recv`] until that event is applied.
//! - Per-channel FIFO always holds. A bounded channel's capacity counts messages
//!   buffered plus in flight. Senders waiting on a full channel get through in the
//!   order they started waiting.
//! - The channel closes for the receiver when every sender is dropped (it still
//!   drains what was sent), and for senders when the receiver is dropped or
//!   [closed](Receiver::close) (their sends fail and hand the value back).
//!
//! ```
//! use std::time::Duration;
//! use sim_core::sync::mpsc;
//! use sim_core::time::Instant;
//! use sim_core::{spawn, Config, Sim};
//!
//! let mut sim = Sim::new(Config::default());
//! let (tx, mut rx) = mpsc::Builder::new().name("link").latency(Duration::from_millis(5)).channel(4);
//! let got = sim
//!     .block_on(async move {
//!         spawn(async move { tx.send("hello").await.unwrap() });
//!         let msg = rx.recv().await;
//!         (msg, Instant::now())
//!     })
//!     .unwrap();
//! assert_eq!(got, (Some("hello"), Instant::from_millis(5)));
//! ```

mod bounded;
mod chan;
pub mod error;
mod unbounded;

use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

pub use bounded::{OwnedPermit, Permit, PermitIterator, Receiver, SendFuture, Sender, WeakSender};
pub use unbounded::{UnboundedReceiver, UnboundedSender, WeakUnboundedSender};

use crate::select::Selectable;
use chan::Chan;

/// A bounded channel with room for `capacity` messages (buffered plus in flight),
/// named after its creation site (`debounce.rs:42`) in traces and reports.
///
/// # Panics
/// Panics when `capacity` is 0.
#[track_caller]
pub fn channel<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    bounded(None, capacity)
}

/// An unbounded channel, named after its creation site (`debounce.rs:42`) in
/// traces and reports.
///
#[track_caller]
pub fn unbounded_channel<T>() -> (UnboundedSender<T>, UnboundedReceiver<T>) {
    unbounded(None)
}

#[track_caller]
fn bounded<T>(name: Option<String>, capacity: usize) -> (Sender<T>, Receiver<T>) {
    assert!(capacity > 0, "mpsc bounded channel requires capacity > 0");
    let chan = Chan::new(name, Location::caller(), Some(capacity));
    (Sender { chan: chan.clone() }, Receiver { chan })
}

#[track_caller]
fn unbounded<T>(name: Option<String>) -> (UnboundedSender<T>, UnboundedReceiver<T>) {
    let chan = Chan::new(name, Location::caller(), None);
    (UnboundedSender { chan: chan.clone() }, UnboundedReceiver { chan })
}

/// Sets up a channel: its name and its delivery latency.
///
/// Channels built here need `T: 'static` (a channel with latency is reached by
/// the simulation's delivery events); [`channel`] and
/// [`unbounded_channel`] in a [`named`](crate::named) scope name a channel without that bound.
///
/// ```
/// # use std::time::Duration;
/// # let sim = sim_core::Sim::new(sim_core::Config::default());
/// let (tx, rx) = sim_core::sync::mpsc::Builder::new()
///     .name("in")
///     .latency(Duration::from_millis(2))
///     .unbounded_channel::<u32>();
/// # drop((tx, rx));
/// ```
#[derive(Clone, Debug, Default)]
#[must_use = "a builder does nothing until a channel is built"]
pub struct Builder {
    name: Option<String>,
    latency: Option<Duration>,
}

impl Builder {
    /// A builder for an unnamed channel without latency.
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Names the channel in traces and reports.
    pub fn name(mut self, name: impl Into<String>) -> Builder {
        self.name = Some(name.into());
        self
    }

    /// Gives the channel a delivery latency: a message sent at `t` becomes visible
    /// to the receiver when its delivery event, due at `t + latency`, is applied.
    /// A zero latency still sends every message through the event queue.
    pub fn latency(mut self, latency: Duration) -> Builder {
        self.latency = Some(latency);
        self
    }

    /// Builds a bounded channel with room for `capacity` messages (buffered plus in flight).
    ///
    /// # Panics
    /// Panics when `capacity` is 0, or when a latency is set and no simulation is
    /// current on this thread.
    #[track_caller]
    pub fn channel<T: 'static>(self, capacity: usize) -> (Sender<T>, Receiver<T>) {
        assert!(capacity > 0, "mpsc bounded channel requires capacity > 0");
        let chan = Chan::with_latency(self.name, Location::caller(), Some(capacity), self.latency);
        (Sender { chan: chan.clone() }, Receiver { chan })
    }

    /// Builds an unbounded channel.
    ///
    /// # Panics
    /// Panics when a latency is set and no simulation is current on this thread.
    #[track_caller]
    pub fn unbounded_channel<T: 'static>(self) -> (UnboundedSender<T>, UnboundedReceiver<T>) {
        let chan = Chan::with_latency(self.name, Location::caller(), None, self.latency);
        (UnboundedSender { chan: chan.clone() }, UnboundedReceiver { chan })
    }
}

/// The future of [`Receiver::recv`] and [`UnboundedReceiver::recv`]: the next
/// message, or `None` once the channel is closed and drained.
///
/// It is [`Selectable`]: ready when a message is buffered, or when the channel is
/// closed with nothing buffered or in flight.
#[must_use = "futures do nothing unless awaited"]
pub struct Recv<'a, T> {
    chan: &'a Chan<T>,
}

impl<T> Future for Recv<'_, T> {
    type Output = Option<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.chan.poll_recv(cx)
    }
}

impl<T> Selectable for Recv<'_, T> {
    fn is_ready(&self) -> bool {
        self.chan.recv_ready()
    }
}

impl<T> fmt::Debug for Recv<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recv").field("channel", &self.chan.bind).finish()
    }
}

/// The future of [`Receiver::recv_many`] and [`UnboundedReceiver::recv_many`]: how
/// many messages were moved into the buffer (0 once the channel is closed and
/// drained, or when the limit is 0).
#[must_use = "futures do nothing unless awaited"]
pub struct RecvMany<'a, T> {
    chan: &'a Chan<T>,
    buffer: &'a mut Vec<T>,
    limit: usize,
}

impl<T> Future for RecvMany<'_, T> {
    type Output = usize;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        let this = &mut *self;
        this.chan.poll_recv_many(cx, this.buffer, this.limit)
    }
}

impl<T> Selectable for RecvMany<'_, T> {
    fn is_ready(&self) -> bool {
        self.limit == 0 || self.chan.recv_ready()
    }
}

impl<T> fmt::Debug for RecvMany<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecvMany").field("channel", &self.chan.bind).field("limit", &self.limit).finish()
    }
}

/// A sender's wait for the receiver to go away (`closed()`).
struct ClosedFuture<'a, T> {
    chan: &'a Chan<T>,
    key: Option<u64>,
}

impl<T> Future for ClosedFuture<'_, T> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        this.chan.poll_closed(&mut this.key, cx)
    }
}

impl<T> Drop for ClosedFuture<'_, T> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.chan.cancel_closed(key);
        }
    }
}
