//! The bounded channel: [`Sender`], [`Receiver`] and their futures.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::stream::{FusedStream, Stream};

use super::chan::{Chan, Refused, SendSlot};
use super::error::{SendError, SendTimeoutError, TryRecvError, TrySendError};
use super::{ClosedFuture, Recv, RecvMany};
use crate::select::Selectable;

/// Sends values to a bounded channel's [`Receiver`]. Cloning makes another sender;
/// the channel closes for the receiver when the last one is dropped.
pub struct Sender<T> {
    pub(super) chan: Arc<Chan<T>>,
}

/// Receives values from a bounded channel, oldest first.
///
/// Dropping it closes the channel: senders get errors and buffered or in-flight
/// messages are dropped.
pub struct Receiver<T> {
    pub(super) chan: Arc<Chan<T>>,
}

impl<T> Sender<T> {
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

    /// tokio's thread-blocking send, for a thread that runs no simulation (a
    /// `std::thread` talking to simulated code): it parks the thread until the value
    /// is sent (or the receiver is gone). Waking a simulated receiver from that thread
    /// is a wake-up from another OS thread, which ends that simulation's run as an
    /// escape, unless the message arrives before the receiver waits for it.
    ///
    /// # Errors
    /// [`SendError`] with the value when the receiver is dropped or closed.
    ///
    /// # Panics
    /// Inside a simulation, with tokio's "Cannot block the current thread from
    /// within a runtime" (in a simulated task the run fails with that panic).
    #[track_caller]
    pub fn blocking_send(&self, value: T) -> Result<(), SendError<T>> {
        crate::sync::block_on("mpsc::Sender::blocking_send", || self.chan.bind.name(), self.send(value))
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

    /// Sends `value`, waiting at most `timeout` for room.
    ///
    /// # Errors
    /// [`SendTimeoutError::Timeout`] with the value when no slot came in time;
    /// [`SendTimeoutError::Closed`] with the value when the receiver is dropped or closed.
    ///
    /// # Panics
    /// Outside any simulation, with tokio's "there is no reactor running, must be
    /// called from the context of a Tokio 1.x runtime" (tokio makes its timer first,
    /// which needs a runtime, even when the send would not wait).
    pub async fn send_timeout(&self, value: T, timeout: Duration) -> Result<(), SendTimeoutError<T>> {
        if crate::context::try_current().is_none() {
            panic!("{}", crate::sync::NO_REACTOR);
        }
        let mut send = self.send(value);
        let mut timer: Option<crate::time::Sleep> = None;
        std::future::poll_fn(|cx| {
            if let Poll::Ready(sent) = Pin::new(&mut send).poll(cx) {
                return Poll::Ready(sent.map_err(|SendError(v)| SendTimeoutError::Closed(v)));
            }
            let timer = timer.get_or_insert_with(|| crate::time::sleep(timeout));
            match Pin::new(timer).poll(cx) {
                Poll::Pending => Poll::Pending,
                Poll::Ready(()) => {
                    let value = send.value.take().expect("the send is still waiting");
                    send.chan.cancel_send(&mut send.slot);
                    Poll::Ready(Err(SendTimeoutError::Timeout(value)))
                }
            }
        })
        .await
    }

    /// Waits for a slot and holds it: the [`Permit`] sends without waiting. Reservations
    /// wait in the same first-come first-served queue as sends.
    ///
    /// # Errors
    /// [`SendError`] when the receiver is dropped or closed, before or while waiting.
    pub async fn reserve(&self) -> Result<Permit<'_, T>, SendError<()>> {
        SlotWait { chan: &self.chan, slot: SendSlot::Idle }.await.map_err(|()| SendError(()))?;
        Ok(Permit { chan: Some(&self.chan) })
    }

    /// Like [`reserve`](Sender::reserve), with the permit owning the sender.
    ///
    /// # Errors
    /// [`SendError`] when the receiver is dropped or closed, before or while waiting.
    pub async fn reserve_owned(self) -> Result<OwnedPermit<T>, SendError<()>> {
        SlotWait { chan: &self.chan, slot: SendSlot::Idle }.await.map_err(|()| SendError(()))?;
        Ok(OwnedPermit { sender: Some(self) })
    }

    /// Reserves a slot if one is free now.
    ///
    /// # Errors
    /// [`TrySendError::Full`] when there is no room (or senders are waiting);
    /// [`TrySendError::Closed`] when the receiver is dropped or closed.
    pub fn try_reserve(&self) -> Result<Permit<'_, T>, TrySendError<()>> {
        match self.chan.try_reserve() {
            Ok(()) => Ok(Permit { chan: Some(&self.chan) }),
            Err(Refused::Full) => Err(TrySendError::Full(())),
            Err(Refused::Closed) => Err(TrySendError::Closed(())),
        }
    }

    /// Waits for `n` slots and holds them: each item of the [`PermitIterator`] sends
    /// without waiting. The slots are reserved one after the other in the senders'
    /// queue, holding those already reserved (as tokio sets permits aside for a
    /// waiter); `n` = 0 gives an empty iterator at once.
    ///
    /// # Errors
    /// [`SendError`] when the receiver is dropped or closed, or when `n` exceeds the
    /// channel's capacity (it could never be granted), as tokio's.
    pub async fn reserve_many(&self, n: usize) -> Result<PermitIterator<'_, T>, SendError<()>> {
        if n > self.max_capacity() || (n == 0 && self.chan.is_rx_closed()) {
            return Err(SendError(()));
        }
        let mut held = PermitIterator { chan: &self.chan, n: 0 };
        for _ in 0..n {
            SlotWait { chan: &self.chan, slot: SendSlot::Idle }.await.map_err(|()| SendError(()))?;
            held.n += 1;
        }
        Ok(held)
    }

    /// Reserves `n` slots if they are all free now.
    ///
    /// # Errors
    /// [`TrySendError::Full`] when fewer than `n` are free (or senders are waiting,
    /// or `n` exceeds the capacity); [`TrySendError::Closed`] when the receiver is
    /// dropped or closed.
    pub fn try_reserve_many(&self, n: usize) -> Result<PermitIterator<'_, T>, TrySendError<()>> {
        match self.chan.try_reserve_n(n) {
            Ok(()) => Ok(PermitIterator { chan: &self.chan, n }),
            Err(Refused::Full) => Err(TrySendError::Full(())),
            Err(Refused::Closed) => Err(TrySendError::Closed(())),
        }
    }

    /// Like [`try_reserve`](Sender::try_reserve), with the permit owning the sender.
    ///
    /// # Errors
    /// As [`try_reserve`](Sender::try_reserve), handing the sender back.
    pub fn try_reserve_owned(self) -> Result<OwnedPermit<T>, TrySendError<Sender<T>>> {
        match self.chan.try_reserve() {
            Ok(()) => Ok(OwnedPermit { sender: Some(self) }),
            Err(Refused::Full) => Err(TrySendError::Full(self)),
            Err(Refused::Closed) => Err(TrySendError::Closed(self)),
        }
    }

    /// Waits until the receiver is dropped or closed.
    pub async fn closed(&self) {
        ClosedFuture { chan: &self.chan, key: None }.await;
    }

    /// A sender that does not keep the channel open; [`WeakSender::upgrade`] makes a
    /// sender of it while some sender is alive.
    pub fn downgrade(&self) -> WeakSender<T> {
        self.chan.add_weak();
        WeakSender { chan: self.chan.clone() }
    }

    /// Senders of this channel alive now.
    pub fn strong_count(&self) -> usize {
        self.chan.counts().0
    }

    /// Weak senders of this channel alive now.
    pub fn weak_count(&self) -> usize {
        self.chan.counts().1
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
        Arc::ptr_eq(&self.chan, &other.chan)
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
        f.debug_struct("Sender").field("channel", &self.chan.bind).finish_non_exhaustive()
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

    /// tokio's thread-blocking receive, for a thread that runs no simulation: it
    /// parks the thread until a message comes or the channel is closed and drained
    /// (see [`Sender::blocking_send`]).
    ///
    /// # Panics
    /// Inside a simulation, with tokio's "Cannot block the current thread from
    /// within a runtime".
    #[track_caller]
    pub fn blocking_recv(&mut self) -> Option<T> {
        let chan = &self.chan;
        crate::sync::block_on("mpsc::Receiver::blocking_recv", || chan.bind.name(), Recv { chan })
    }

    /// tokio's thread-blocking [`recv_many`](Receiver::recv_many) (see
    /// [`blocking_recv`](Receiver::blocking_recv)).
    ///
    /// # Panics
    /// Inside a simulation, with tokio's "Cannot block the current thread from
    /// within a runtime".
    #[track_caller]
    pub fn blocking_recv_many(&mut self, buffer: &mut Vec<T>, limit: usize) -> usize {
        let chan = &self.chan;
        crate::sync::block_on(
            "mpsc::Receiver::blocking_recv_many",
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

    /// Polls for messages, as [`recv_many`](Receiver::recv_many) does.
    pub fn poll_recv_many(&mut self, cx: &mut Context<'_>, buffer: &mut Vec<T>, limit: usize) -> Poll<usize> {
        self.chan.poll_recv_many(cx, buffer, limit)
    }

    /// Slots free now (the capacity minus messages buffered, in flight, or
    /// promised to senders and permits).
    pub fn capacity(&self) -> usize {
        self.chan.capacity().unwrap_or(usize::MAX)
    }

    /// Senders of this channel alive now.
    pub fn sender_strong_count(&self) -> usize {
        self.chan.counts().0
    }

    /// Weak senders of this channel alive now.
    pub fn sender_weak_count(&self) -> usize {
        self.chan.counts().1
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
        f.debug_struct("Receiver").field("channel", &self.chan.bind).finish_non_exhaustive()
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
        f.debug_struct("SendFuture").field("channel", &self.chan.bind).finish_non_exhaustive()
    }
}

/// Waits for a slot (a reservation's half of a send), leaving the queue when dropped.
struct SlotWait<'a, T> {
    chan: &'a Chan<T>,
    slot: SendSlot,
}

impl<T> Future for SlotWait<'_, T> {
    type Output = Result<(), ()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), ()>> {
        let this = &mut *self;
        this.chan.poll_reserve(&mut this.slot, cx)
    }
}

impl<T> Drop for SlotWait<'_, T> {
    fn drop(&mut self) {
        if self.slot != SendSlot::Idle {
            self.chan.cancel_send(&mut self.slot);
        }
    }
}

/// A slot held in a bounded channel: [`send`](Permit::send) uses it without
/// waiting; dropping the permit unused frees it for the next waiting sender.
pub struct Permit<'a, T> {
    chan: Option<&'a Chan<T>>,
}

impl<T> Permit<'_, T> {
    /// Sends `value` in the held slot. If the receiver is gone meanwhile, the value
    /// is dropped.
    pub fn send(mut self, value: T) {
        if let Some(chan) = self.chan.take() {
            chan.send_reserved(value);
        }
    }
}

impl<T> Drop for Permit<'_, T> {
    fn drop(&mut self) {
        if let Some(chan) = self.chan.take() {
            chan.release_reserved();
        }
    }
}

impl<T> fmt::Debug for Permit<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit").field("channel", &self.chan.map(|c| &c.bind)).finish()
    }
}

/// Slots held in a bounded channel ([`Sender::reserve_many`]): each item is a
/// [`Permit`] for one of them; the slots not taken are freed when it is dropped.
pub struct PermitIterator<'a, T> {
    chan: &'a Chan<T>,
    n: usize,
}

impl<'a, T> Iterator for PermitIterator<'a, T> {
    type Item = Permit<'a, T>;

    fn next(&mut self) -> Option<Permit<'a, T>> {
        if self.n == 0 {
            return None;
        }
        self.n -= 1;
        Some(Permit { chan: Some(self.chan) })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.n, Some(self.n))
    }
}

impl<T> ExactSizeIterator for PermitIterator<'_, T> {}

impl<T> Drop for PermitIterator<'_, T> {
    fn drop(&mut self) {
        for _ in 0..std::mem::take(&mut self.n) {
            self.chan.release_reserved();
        }
    }
}

impl<T> fmt::Debug for PermitIterator<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PermitIterator").field("channel", &self.chan.bind).field("n", &self.n).finish()
    }
}

/// A slot held in a bounded channel by a permit that owns its [`Sender`].
pub struct OwnedPermit<T> {
    sender: Option<Sender<T>>,
}

impl<T> OwnedPermit<T> {
    /// Sends `value` in the held slot and hands the sender back. If the receiver is
    /// gone meanwhile, the value is dropped.
    pub fn send(mut self, value: T) -> Sender<T> {
        let sender = self.sender.take().expect("a permit sends once");
        sender.chan.send_reserved(value);
        sender
    }

    /// Frees the slot unused and hands the sender back.
    pub fn release(mut self) -> Sender<T> {
        let sender = self.sender.take().expect("a permit is released once");
        sender.chan.release_reserved();
        sender
    }

    /// Whether both permits hold slots of the same channel.
    pub fn same_channel(&self, other: &Self) -> bool {
        match (&self.sender, &other.sender) {
            (Some(a), Some(b)) => a.same_channel(b),
            _ => false,
        }
    }

    /// Whether this permit holds a slot of the channel `sender` sends to.
    pub fn same_channel_as_sender(&self, sender: &Sender<T>) -> bool {
        self.sender.as_ref().is_some_and(|own| own.same_channel(sender))
    }
}

impl<T> Drop for OwnedPermit<T> {
    fn drop(&mut self) {
        if let Some(sender) = self.sender.take() {
            sender.chan.release_reserved();
        }
    }
}

impl<T> fmt::Debug for OwnedPermit<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedPermit").field("channel", &self.sender.as_ref().map(|s| &s.chan.bind)).finish()
    }
}

/// A sender that does not keep the channel open (made by [`Sender::downgrade`]).
pub struct WeakSender<T> {
    chan: Arc<Chan<T>>,
}

impl<T> WeakSender<T> {
    /// A sender, unless every sender was dropped (the channel is then closed for good).
    pub fn upgrade(&self) -> Option<Sender<T>> {
        self.chan.upgrade().then(|| Sender { chan: self.chan.clone() })
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

impl<T> Clone for WeakSender<T> {
    fn clone(&self) -> WeakSender<T> {
        self.chan.add_weak();
        WeakSender { chan: self.chan.clone() }
    }
}

impl<T> Drop for WeakSender<T> {
    fn drop(&mut self) {
        self.chan.drop_weak();
    }
}

impl<T> fmt::Debug for WeakSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakSender").field("channel", &self.chan.bind).finish_non_exhaustive()
    }
}
