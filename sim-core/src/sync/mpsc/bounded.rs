//! The bounded channel: [`Sender`], [`Receiver`] and their futures.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use futures::stream::{FusedStream, Stream};

use super::chan::{Chan, Refused, SendSlot};
use super::error::{SendError, TryRecvError, TrySendError};
use super::Recv;
use crate::select::Selectable;

/// Sends values to a bounded channel's [`Receiver`]. Cloning makes another sender;
/// the channel closes for the receiver when the last one is dropped.
pub struct Sender<T> {
    pub(super) chan: Rc<Chan<T>>,
}

/// Receives values from a bounded channel, oldest first.
///
/// Dropping it closes the channel: senders get errors and buffered or in-flight
/// messages are dropped.
pub struct Receiver<T> {
    pub(super) chan: Rc<Chan<T>>,
}

impl<T> Sender<T> {
    /// Sends `value`, waiting while the channel is full. Senders that wait are let
    /// through in the order they started waiting, one per freed slot.
    ///
    /// Dropping the future before it completes gives up the send (and passes a slot
    /// it was granted to the next waiting sender).
    ///
    /// # Errors
    /// [`SendError`] with the value when the receiver is dropped or closed, before or
    /// while waiting.
    pub fn send(&self, value: T) -> SendFuture<'_, T> {
        SendFuture { chan: &self.chan, value: Some(value), slot: SendSlot::Idle }
    }

    /// Sends `value` if there is room now.
    ///
    /// # Errors
    /// [`TrySendError::Full`] when messages buffered plus in flight (plus slots
    /// granted to waiting senders) fill the capacity, or senders are already
    /// waiting; [`TrySendError::Closed`] when the receiver is dropped or closed.
    /// Both hand the value back.
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        self.chan.try_send(value).map_err(|(why, v)| match why {
            Refused::Closed => TrySendError::Closed(v),
            Refused::Full => TrySendError::Full(v),
        })
    }

    /// Whether the receiver was dropped or closed.
    pub fn is_closed(&self) -> bool {
        self.chan.is_rx_closed()
    }

    /// Slots free now (the capacity minus messages buffered, in flight, or
    /// promised to waiting senders).
    pub fn capacity(&self) -> usize {
        self.chan.capacity().unwrap_or(usize::MAX)
    }

    /// The capacity the channel was created with.
    pub fn max_capacity(&self) -> usize {
        self.chan.max_capacity().unwrap_or(usize::MAX)
    }

    /// Whether both senders send to the same channel.
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        Rc::ptr_eq(&self.chan, &other.chan)
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Sender<T> {
        self.chan.add_sender();
        Sender { chan: self.chan.clone() }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.chan.drop_sender();
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender").field("channel", &self.chan.id).finish_non_exhaustive()
    }
}

impl<T> Receiver<T> {
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

    /// Polls for the next message, as [`recv`](Receiver::recv) does.
    pub fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.chan.poll_recv(cx)
    }

    /// Closes the channel for senders (their sends fail from now on, and waiting
    /// senders are woken with their values handed back) while messages already
    /// sent can still be received.
    pub fn close(&mut self) {
        self.chan.close_rx();
    }

    /// Whether the channel is closed: every sender dropped, or [`close`](Receiver::close) called.
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

    /// The capacity the channel was created with.
    pub fn max_capacity(&self) -> usize {
        self.chan.max_capacity().unwrap_or(usize::MAX)
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.chan.drop_rx();
    }
}

impl<T> Stream for Receiver<T> {
    type Item = T;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.poll_recv(cx)
    }
}

impl<T> FusedStream for Receiver<T> {
    fn is_terminated(&self) -> bool {
        self.chan.is_finished()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver").field("channel", &self.chan.id).finish_non_exhaustive()
    }
}

/// The future of [`Sender::send`]. It is [`Selectable`]: ready when the send
/// would complete now (room, a slot granted, or the receiver gone), so a
/// selection can model Go's `select` with send cases.
#[must_use = "futures do nothing unless awaited"]
pub struct SendFuture<'a, T> {
    chan: &'a Chan<T>,
    value: Option<T>,
    slot: SendSlot,
}

// The value is never pinned in place (it is moved out by value), so the future
// can move freely whatever `T` is.
impl<T> Unpin for SendFuture<'_, T> {}

impl<T> Future for SendFuture<'_, T> {
    type Output = Result<(), SendError<T>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        this.chan.poll_send(&mut this.slot, &mut this.value, cx).map(|r| r.map_err(SendError))
    }
}

impl<T> Selectable for SendFuture<'_, T> {
    fn is_ready(&self) -> bool {
        self.chan.send_ready(self.slot)
    }
}

impl<T> Drop for SendFuture<'_, T> {
    fn drop(&mut self) {
        if self.slot != SendSlot::Idle {
            self.chan.cancel_send(&mut self.slot);
        }
    }
}

impl<T> fmt::Debug for SendFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendFuture").field("channel", &self.chan.id).finish_non_exhaustive()
    }
}
