//! A multi-producer, multi-consumer channel where every receiver sees every value,
//! shaped like `tokio::sync::broadcast`.
//!
//! Semantics are tokio's:
//! - [`channel`]`(capacity)` holds the last `capacity.next_power_of_two()` values; a
//!   send never waits. A receiver more than that many values behind has *lagged*: its
//!   next receive returns [`error::RecvError::Lagged`]`(n)` with the number of values
//!   it missed, and the one after returns the oldest value still held.
//! - [`Sender::send`] fails only when there is no receiver; it returns how many
//!   receivers will see the value. A receiver sees the values sent after it was
//!   created ([`Sender::subscribe`], [`Receiver::resubscribe`]).
//! - When every sender is gone, receivers get what is left, then
//!   [`error::RecvError::Closed`].
//!
//! The channel is named after its creation site (`events.rs:9`), or by
//! an enclosing [`named`](crate::named) scope: a receiver
//! waiting is reported as "recv on `name`", a sender's `closed()` as "closed on
//! `name`". Sends, receives (a lag included) and the close are traced as `send`,
//! `recv` and `close`, and every operation is part of the step's footprint.

use std::collections::VecDeque;
use std::fmt;
use std::panic::Location;
use std::sync::Arc;
use std::task::{Poll, Waker};

use parking_lot::Mutex;

use crate::sync::bind::Binding;
use crate::sync::{set_waiter, take_waiter};
use crate::trace::{RecordKind, ValueRecorder};
use crate::Wait;

pub mod error {
    //! tokio's `broadcast` errors, with tokio's `Display` texts.
    use std::fmt;

    /// The value could not be sent: there is no receiver. It is handed back.
    #[derive(PartialEq, Eq, Clone, Copy)]
    pub struct SendError<T>(pub T);

    impl<T> fmt::Debug for SendError<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("SendError").finish_non_exhaustive()
        }
    }

    impl<T> fmt::Display for SendError<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("channel closed")
        }
    }

    impl<T> std::error::Error for SendError<T> {}

    /// Why [`Receiver::recv`](super::Receiver::recv) returned no value.
    #[derive(Debug, PartialEq, Eq, Clone)]
    pub enum RecvError {
        /// Every sender is gone and every value was received.
        Closed,
        /// The receiver fell behind: this many values were overwritten unseen.
        Lagged(u64),
    }

    impl fmt::Display for RecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                RecvError::Closed => f.write_str("channel closed"),
                RecvError::Lagged(n) => write!(f, "channel lagged by {n}"),
            }
        }
    }

    impl std::error::Error for RecvError {}

    /// Why [`Receiver::try_recv`](super::Receiver::try_recv) returned no value.
    #[derive(Debug, PartialEq, Eq, Clone)]
    pub enum TryRecvError {
        /// No value is waiting.
        Empty,
        /// Every sender is gone and every value was received.
        Closed,
        /// The receiver fell behind: this many values were overwritten unseen.
        Lagged(u64),
    }

    impl fmt::Display for TryRecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                TryRecvError::Empty => f.write_str("channel empty"),
                TryRecvError::Closed => f.write_str("channel closed"),
                TryRecvError::Lagged(n) => write!(f, "channel lagged by {n}"),
            }
        }
    }

    impl std::error::Error for TryRecvError {}
}

use error::{RecvError, SendError, TryRecvError};

struct Shared<T> {
    bind: Binding,
    /// The buffer's length: the capacity asked for, rounded up to a power of two.
    cap: usize,
    state: Mutex<State<T>>,
    /// What send and receive records hold of a value, once a sender opted in.
    values: Mutex<ValueRecorder<T>>,
}

struct State<T> {
    /// The values held, oldest first, each with the receivers yet to see it.
    buffer: VecDeque<(T, usize)>,
    /// The position of `buffer[0]`; positions count every value ever sent.
    head: u64,
    /// The position of the next value to be sent.
    tail: u64,
    senders: usize,
    weak_senders: usize,
    receivers: usize,
    /// Waiting receivers, by receiver key.
    recv_waiters: Vec<(u64, Waker)>,
    /// Senders waiting in `closed()`.
    closed_waiters: Vec<(u64, Waker)>,
    next_key: u64,
}

impl<T> State<T> {
    /// Drops the values every receiver has seen from the front (they are no longer
    /// needed: a receiver created later starts at the tail).
    fn trim(&mut self) {
        while self.buffer.front().is_some_and(|(_, rem)| *rem == 0) {
            self.buffer.pop_front();
            self.head += 1;
        }
    }

    fn key(&mut self) -> u64 {
        self.next_key += 1;
        self.next_key - 1
    }
}

/// Sends values to every receiver of a [`channel`].
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

/// A sender that does not keep the channel open ([`Sender::downgrade`]).
pub struct WeakSender<T> {
    shared: Arc<Shared<T>>,
}

/// Receives every value sent after it was created.
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
    /// The position of the next value to receive.
    next: u64,
    key: u64,
}

/// A broadcast channel holding the last `capacity` values (rounded up to a power of
/// two), named after the caller's line.
///
/// # Panics
/// When `capacity` is 0 or larger than `usize::MAX / 2`, as tokio.
#[track_caller]
pub fn channel<T: Clone>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    make(Binding::new(None), capacity)
}

#[track_caller]
fn make<T>(bind: Binding, capacity: usize) -> (Sender<T>, Receiver<T>) {
    let sender = new_sender(bind, capacity);
    let receiver = sender.subscribe();
    (sender, receiver)
}

#[track_caller]
fn new_sender<T>(bind: Binding, capacity: usize) -> Sender<T> {
    assert!(capacity > 0, "broadcast channel capacity cannot be zero");
    assert!(capacity <= usize::MAX >> 1, "broadcast channel capacity exceeded `usize::MAX / 2`");
    let state = State {
        buffer: VecDeque::new(),
        head: 0,
        tail: 0,
        senders: 1,
        weak_senders: 0,
        receivers: 0,
        recv_waiters: Vec::new(),
        closed_waiters: Vec::new(),
        next_key: 0,
    };
    let values = Mutex::new(ValueRecorder::default());
    Sender { shared: Arc::new(Shared { bind, cap: capacity.next_power_of_two(), state: Mutex::new(state), values }) }
}

impl<T> Sender<T> {
    /// A sender of a new channel with no receiver yet ([`subscribe`](Sender::subscribe)
    /// makes them), named after the caller's line.
    ///
    /// # Panics
    /// As [`channel`].
    #[track_caller]
    pub fn new(capacity: usize) -> Sender<T> {
        new_sender(Binding::at(None, Location::caller()), capacity)
    }

    pub(crate) fn fingerprint_values_now(&self)
    where
        T: std::hash::Hash,
    {
        self.shared.values.lock().fingerprint();
    }

    pub(crate) fn show_values_now(&self)
    where
        T: std::fmt::Debug,
    {
        self.shared.values.lock().show();
    }

    /// Sends `value` to every receiver; returns how many will see it. Never waits:
    /// when the buffer is full the oldest value is overwritten (receivers that had not
    /// seen it lag).
    ///
    /// # Errors
    /// [`SendError`] with the value when there is no receiver.
    pub fn send(&self, value: T) -> Result<usize, SendError<T>> {
        let shared = &self.shared;
        shared.bind.touch();
        // The recorder is copied out: a value's `Hash` or `Debug` runs under no lock.
        let recorder = *shared.values.lock();
        let recorded = recorder.of(&value);
        let (receivers, evicted, waiters) = {
            let mut st = shared.state.lock();
            if st.receivers == 0 {
                return Err(SendError(value));
            }
            let receivers = st.receivers;
            st.buffer.push_back((value, receivers));
            st.tail += 1;
            let mut evicted = Vec::new();
            while st.buffer.len() > shared.cap {
                evicted.push(st.buffer.pop_front());
                st.head += 1;
            }
            (receivers, evicted, std::mem::take(&mut st.recv_waiters))
        };
        drop(evicted);
        shared.bind.record_message(RecordKind::Send, recorded);
        for (_, w) in waiters {
            w.wake();
        }
        Ok(receivers)
    }

    /// A receiver of the values sent from now on.
    pub fn subscribe(&self) -> Receiver<T> {
        new_receiver(&self.shared)
    }

    /// How many receivers there are.
    pub fn receiver_count(&self) -> usize {
        self.shared.bind.touch();
        self.shared.state.lock().receivers
    }

    /// How many values are held that some receiver has not seen yet.
    pub fn len(&self) -> usize {
        self.shared.bind.touch();
        self.shared.state.lock().buffer.iter().filter(|(_, rem)| *rem > 0).count()
    }

    /// Whether no value is waiting for a receiver.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether both senders belong to one channel.
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// Completes once there is no receiver.
    pub async fn closed(&self) {
        let shared = &self.shared;
        // A wait dropped before it completes leaves the list (`LeaveClosed`).
        let key = Mutex::new(None);
        let _leave = LeaveClosed { shared, key: &key };
        std::future::poll_fn(|cx| {
            shared.bind.touch();
            let mut st = shared.state.lock();
            let mut key = key.lock();
            if st.receivers == 0 {
                // A waker is dropped after the lock: its drop may use the channel.
                let own = key.take().and_then(|k| take_waiter(&mut st.closed_waiters, k));
                drop(st);
                drop(own);
                return Poll::Ready(());
            }
            let k = *key.get_or_insert_with(|| st.key());
            let replaced = set_waiter(&mut st.closed_waiters, k, cx.waker());
            drop(st);
            drop(replaced);
            shared.bind.wait_on(Wait::Closed);
            Poll::Pending
        })
        .await;
    }

    /// A sender that does not keep the channel open.
    pub fn downgrade(&self) -> WeakSender<T> {
        self.shared.bind.touch();
        self.shared.state.lock().weak_senders += 1;
        WeakSender { shared: self.shared.clone() }
    }

    /// How many senders there are.
    pub fn strong_count(&self) -> usize {
        self.shared.state.lock().senders
    }

    /// How many weak senders there are.
    pub fn weak_count(&self) -> usize {
        self.shared.state.lock().weak_senders
    }
}

fn new_receiver<T>(shared: &Arc<Shared<T>>) -> Receiver<T> {
    shared.bind.touch();
    let mut st = shared.state.lock();
    st.receivers += 1;
    let key = st.key();
    let next = st.tail;
    drop(st);
    Receiver { shared: shared.clone(), next, key }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Sender<T> {
        self.shared.bind.touch();
        self.shared.state.lock().senders += 1;
        Sender { shared: self.shared.clone() }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let shared = &self.shared;
        shared.bind.touch();
        let waiters = {
            let mut st = shared.state.lock();
            st.senders -= 1;
            if st.senders > 0 {
                return;
            }
            std::mem::take(&mut st.recv_waiters)
        };
        shared.bind.record(RecordKind::Close);
        for (_, w) in waiters {
            w.wake();
        }
    }
}

impl<T> WeakSender<T> {
    /// A sender, if some sender still exists.
    pub fn upgrade(&self) -> Option<Sender<T>> {
        self.shared.bind.touch();
        let mut st = self.shared.state.lock();
        if st.senders == 0 {
            return None;
        }
        st.senders += 1;
        Some(Sender { shared: self.shared.clone() })
    }

    /// How many senders there are.
    pub fn strong_count(&self) -> usize {
        self.shared.state.lock().senders
    }

    /// How many weak senders there are.
    pub fn weak_count(&self) -> usize {
        self.shared.state.lock().weak_senders
    }
}

impl<T> Clone for WeakSender<T> {
    fn clone(&self) -> WeakSender<T> {
        self.shared.state.lock().weak_senders += 1;
        WeakSender { shared: self.shared.clone() }
    }
}

impl<T> Drop for WeakSender<T> {
    fn drop(&mut self) {
        self.shared.state.lock().weak_senders -= 1;
    }
}

/// What a receive found.
enum Got<T> {
    Value(T),
    Lagged(u64),
    Empty,
    Closed,
}

impl<T: Clone> Receiver<T> {
    /// Takes the next value without waiting.
    fn take(&mut self) -> Got<T> {
        let shared = &self.shared;
        let mut st = shared.state.lock();
        let oldest = st.tail.saturating_sub(shared.cap as u64);
        if self.next < oldest {
            let missed = oldest - self.next;
            self.next = oldest;
            return Got::Lagged(missed);
        }
        if self.next == st.tail {
            return if st.senders == 0 { Got::Closed } else { Got::Empty };
        }
        let index = (self.next - st.head) as usize;
        // As tokio's, the receiver moves past the value before cloning it: a `clone`
        // that panics loses that value for this receiver (the next receive gets the
        // one after it), and leaves the count consistent with where it stands.
        self.next += 1;
        st.buffer[index].1 -= 1;
        let value = st.buffer[index].0.clone();
        st.trim();
        Got::Value(value)
    }

    /// Waits for the next value.
    ///
    /// # Errors
    /// [`RecvError::Lagged`] when values were overwritten unseen (the next call returns
    /// the oldest value held); [`RecvError::Closed`] when every sender is gone and
    /// every value was received.
    pub async fn recv(&mut self) -> Result<T, RecvError> {
        std::future::poll_fn(|cx| {
            let restore = std::task::ready!(crate::coop::poll_proceed(cx));
            self.shared.bind.touch();
            let got = match self.take() {
                Got::Value(v) => Ok(v),
                Got::Lagged(n) => Err(RecvError::Lagged(n)),
                Got::Closed => Err(RecvError::Closed),
                Got::Empty => {
                    let key = self.key;
                    let mut st = self.shared.state.lock();
                    let replaced = set_waiter(&mut st.recv_waiters, key, cx.waker());
                    drop(st);
                    drop(replaced);
                    self.shared.bind.wait_on(Wait::Recv);
                    return Poll::Pending;
                }
            };
            restore.made_progress();
            self.record_recv(&got);
            Poll::Ready(got)
        })
        .await
    }

    /// Takes the next value if there is one.
    ///
    /// # Errors
    /// [`TryRecvError::Empty`] when no value waits; `Lagged` and `Closed` as for
    /// [`recv`](Receiver::recv).
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        self.shared.bind.touch();
        let got = match self.take() {
            Got::Value(v) => Ok(v),
            Got::Lagged(n) => Err(TryRecvError::Lagged(n)),
            Got::Closed => Err(TryRecvError::Closed),
            Got::Empty => return Err(TryRecvError::Empty),
        };
        self.record_recv(&got);
        got
    }

    /// Records a receive, with what the channel records of a value received.
    fn record_recv<E>(&self, got: &Result<T, E>) {
        match got {
            Ok(value) => {
                let recorder = *self.shared.values.lock();
                self.shared.bind.record_message(RecordKind::Recv, recorder.of(value));
            }
            Err(_) => self.shared.bind.record(RecordKind::Recv),
        }
    }

    /// A new receiver of the same channel, starting at the values sent from now on.
    pub fn resubscribe(&self) -> Receiver<T> {
        new_receiver(&self.shared)
    }
}

impl<T> Receiver<T> {
    /// How many values were sent that this receiver has not received yet (more than
    /// the buffer holds means its next receive reports a lag).
    pub fn len(&self) -> usize {
        self.shared.bind.touch();
        (self.shared.state.lock().tail - self.next) as usize
    }

    /// Whether no value waits for this receiver.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether every sender is gone.
    pub fn is_closed(&self) -> bool {
        self.shared.bind.touch();
        self.shared.state.lock().senders == 0
    }

    /// Whether both receivers belong to one channel.
    pub fn same_channel(&self, other: &Receiver<T>) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// How many senders there are.
    pub fn sender_strong_count(&self) -> usize {
        self.shared.state.lock().senders
    }

    /// How many weak senders there are.
    pub fn sender_weak_count(&self) -> usize {
        self.shared.state.lock().weak_senders
    }
}

/// Takes a dropped `closed()` wait off the channel's list (its waker dropped after
/// the lock).
struct LeaveClosed<'a, T> {
    shared: &'a Shared<T>,
    key: &'a Mutex<Option<u64>>,
}

impl<T> Drop for LeaveClosed<'_, T> {
    fn drop(&mut self) {
        let Some(k) = self.key.lock().take() else { return };
        let own = take_waiter(&mut self.shared.state.lock().closed_waiters, k);
        drop(own);
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let shared = &self.shared;
        shared.bind.touch();
        let (dropped, waiters, own) = {
            let mut st = shared.state.lock();
            st.receivers -= 1;
            let own = take_waiter(&mut st.recv_waiters, self.key);
            // The values this receiver had yet to see no longer wait for it.
            let from = self.next.max(st.head);
            for pos in from..st.tail {
                let index = (pos - st.head) as usize;
                st.buffer[index].1 -= 1;
            }
            let before = st.buffer.len();
            let mut dropped = Vec::new();
            while st.buffer.front().is_some_and(|(_, rem)| *rem == 0) {
                dropped.push(st.buffer.pop_front());
                st.head += 1;
            }
            debug_assert!(st.buffer.len() <= before);
            let waiters = if st.receivers == 0 { std::mem::take(&mut st.closed_waiters) } else { Vec::new() };
            (dropped, waiters, own)
        };
        // Values and wakers are dropped after the lock: their drops may use the channel.
        drop(own);
        drop(dropped);
        for (_, w) in waiters {
            w.wake();
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender").field("channel", &self.shared.bind).finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for WeakSender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakSender").field("channel", &self.shared.bind).finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver").field("channel", &self.shared.bind).field("next", &self.next).finish()
    }
}
