//! The unbounded channel: [`UnboundedSender`] and [`UnboundedReceiver`].

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::stream::{FusedStream, Stream};

use super::chan::Chan;
use super::error::{SendError, TryRecvError};
use super::{ClosedFuture, Recv, RecvMany};

/// Sends values to an unbounded channel's [`UnboundedReceiver`] without waiting.
/// Cloning makes another sender; the channel closes for the receiver when the last
/// one is dropped.
pub struct UnboundedSender<T> {
    pub(super) chan: Arc<Chan<T>>,
}

/// Receives values from an unbounded channel, oldest first.
///
/// Dropping it closes the channel: senders get errors and buffered or in-flight
/// messages are dropped.
pub struct UnboundedReceiver<T> {
    pub(super) chan: Arc<Chan<T>>,
}

impl<T> UnboundedSender<T> {
    pub(crate) fn fingerprint_values_now(&self)
    where
        T: std::hash::Hash,
    {
        self.chan.fingerprint_values();
    }

    pub(crate) fn show_values_now(&self)
    where
        T: std::fmt::Debug,
    {
        self.chan.show_values();
    }

    /// Sends `value` at once: into the receiver's buffer (waking the receiver through
    /// the event queue), or in flight when the channel has a latency.
    ///
    /// # Errors
    /// [`SendError`] with the value when the receiver is dropped or closed.
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        self.chan.try_send(value).map_err(|(_, v)| SendError(v))
    }

    /// Whether the receiver was dropped or closed.
    pub fn is_closed(&self) -> bool {
        self.chan.is_rx_closed()
    }

    /// Waits until the receiver is dropped or closed.
    pub async fn closed(&self) {
        ClosedFuture { chan: &self.chan, key: None }.await;
    }

    /// A sender that does not keep the channel open; [`WeakUnboundedSender::upgrade`]
    /// makes a sender of it while some sender is alive.
    pub fn downgrade(&self) -> WeakUnboundedSender<T> {
        self.chan.add_weak();
        WeakUnboundedSender { chan: self.chan.clone() }
    }

    /// Senders of this channel alive now.
    pub fn strong_count(&self) -> usize {
        self.chan.counts().0
    }

    /// Weak senders of this channel alive now.
    pub fn weak_count(&self) -> usize {
        self.chan.counts().1
    }

    /// Whether both senders send to the same channel.
    pub fn same_channel(&self, other: &UnboundedSender<T>) -> bool {
        Arc::ptr_eq(&self.chan, &other.chan)
    }
}

impl<T> Clone for UnboundedSender<T> {
    fn clone(&self) -> UnboundedSender<T> {
        self.chan.add_sender();
        UnboundedSender { chan: self.chan.clone() }
    }
}

impl<T> Drop for UnboundedSender<T> {
    fn drop(&mut self) {
        self.chan.drop_sender();
    }
}

impl<T> fmt::Debug for UnboundedSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnboundedSender").field("channel", &self.chan.bind).finish_non_exhaustive()
    }
}

impl<T> UnboundedReceiver<T> {
    /// Receives the next message, waiting for one; `None` once the channel is closed
    /// and nothing is buffered or in flight.
    pub fn recv(&mut self) -> Recv<'_, T> {
        Recv { chan: &self.chan }
    }

    /// Receives a buffered message without waiting.
    ///
    /// # Errors
    /// [`TryRecvError::Empty`] when nothing is buffered but more may come (a message
    /// in flight is not yet visible); [`TryRecvError::Disconnected`] when the channel
    /// is closed and drained.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        match self.chan.try_recv() {
            Ok(Some(v)) => Ok(v),
            Ok(None) => Err(TryRecvError::Empty),
            Err(()) => Err(TryRecvError::Disconnected),
        }
    }

    /// Polls for the next message, as [`recv`](UnboundedReceiver::recv) does.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.chan.poll_recv(cx)
    }

    /// tokio's thread-blocking receive, for a thread that runs no simulation: it
    /// parks the thread until a message comes or the channel is closed and drained
    /// (see [`Sender::blocking_send`](super::Sender::blocking_send)).
    ///
    /// # Panics
    /// Inside a simulation, with tokio's "Cannot block the current thread from
    /// within a runtime".
    #[track_caller]
    pub fn blocking_recv(&mut self) -> Option<T> {
        let chan = &self.chan;
        crate::sync::block_on("mpsc::UnboundedReceiver::blocking_recv", || chan.bind.name(), Recv { chan })
    }

    /// tokio's thread-blocking [`recv_many`](UnboundedReceiver::recv_many) (see
    /// [`blocking_recv`](UnboundedReceiver::blocking_recv)).
    ///
    /// # Panics
    /// Inside a simulation, with tokio's "Cannot block the current thread from
    /// within a runtime".
    #[track_caller]
    pub fn blocking_recv_many(&mut self, buffer: &mut Vec<T>, limit: usize) -> usize {
        let chan = &self.chan;
        crate::sync::block_on(
            "mpsc::UnboundedReceiver::blocking_recv_many",
            || chan.bind.name(),
            RecvMany { chan, buffer, limit },
        )
    }

    /// Waits for at least one message, then moves up to `limit` buffered messages
    /// into `buffer`; returns how many. 0 when `limit` is 0, or once the channel is
    /// closed and drained.
    pub fn recv_many<'a>(&'a mut self, buffer: &'a mut Vec<T>, limit: usize) -> RecvMany<'a, T> {
        RecvMany { chan: &self.chan, buffer, limit }
    }

    /// Polls for messages, as [`recv_many`](UnboundedReceiver::recv_many) does.
    pub fn poll_recv_many(&mut self, cx: &mut Context<'_>, buffer: &mut Vec<T>, limit: usize) -> Poll<usize> {
        self.chan.poll_recv_many(cx, buffer, limit)
    }

    /// Senders of this channel alive now.
    pub fn sender_strong_count(&self) -> usize {
        self.chan.counts().0
    }

    /// Weak senders of this channel alive now.
    pub fn sender_weak_count(&self) -> usize {
        self.chan.counts().1
    }

    /// Closes the channel for senders (their sends fail from now on) while messages
    /// already sent can still be received.
    pub fn close(&mut self) {
        self.chan.close_rx();
    }

    /// Whether the channel is closed: every sender dropped, or
    /// [`close`](UnboundedReceiver::close) called.
    pub fn is_closed(&self) -> bool {
        self.chan.is_closed()
    }

    /// Messages buffered now (messages in flight are not counted).
    pub fn len(&self) -> usize {
        self.chan.len()
    }

    /// Whether no message is buffered now.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T> Drop for UnboundedReceiver<T> {
    fn drop(&mut self) {
        self.chan.drop_rx();
    }
}

impl<T> Stream for UnboundedReceiver<T> {
    type Item = T;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.poll_recv(cx)
    }
}

impl<T> FusedStream for UnboundedReceiver<T> {
    fn is_terminated(&self) -> bool {
        self.chan.is_finished()
    }
}

impl<T> fmt::Debug for UnboundedReceiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnboundedReceiver").field("channel", &self.chan.bind).finish_non_exhaustive()
    }
}

/// An unbounded sender that does not keep the channel open (made by
/// [`UnboundedSender::downgrade`]).
pub struct WeakUnboundedSender<T> {
    chan: Arc<Chan<T>>,
}

impl<T> WeakUnboundedSender<T> {
    /// A sender, unless every sender was dropped (the channel is then closed for good).
    pub fn upgrade(&self) -> Option<UnboundedSender<T>> {
        self.chan.upgrade().then(|| UnboundedSender { chan: self.chan.clone() })
    }

    /// Senders of this channel alive now.
    pub fn strong_count(&self) -> usize {
        self.chan.counts().0
    }

    /// Weak senders of this channel alive now.
    pub fn weak_count(&self) -> usize {
        self.chan.counts().1
    }
}

impl<T> Clone for WeakUnboundedSender<T> {
    fn clone(&self) -> WeakUnboundedSender<T> {
        self.chan.add_weak();
        WeakUnboundedSender { chan: self.chan.clone() }
    }
}

impl<T> Drop for WeakUnboundedSender<T> {
    fn drop(&mut self) {
        self.chan.drop_weak();
    }
}

impl<T> fmt::Debug for WeakUnboundedSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakUnboundedSender").field("channel", &self.chan.bind).finish_non_exhaustive()
    }
}
