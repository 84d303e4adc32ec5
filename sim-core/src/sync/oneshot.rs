//! One-shot channels shaped like `tokio::sync::oneshot`: one value, sent once.
//!
//! The [`Receiver`] is a future of the value. Sending puts the value in place at
//! once and wakes the receiver through the simulation's event queue. Each channel
//! is registered with a name (its creation site, like `rpc.rs:12`, or the one of an
//! enclosing [`named`](crate::named) scope) so that a deadlock report says which one a task waits on.
//! Wakers are called after the channel's borrow ends, never under it.
//!
//! ```
//! use sim_core::sync::oneshot;
//! use sim_core::{spawn, Config, Sim};
//!
//! let mut sim = Sim::new(Config::default());
//! let answer = sim
//!     .block_on(async {
//!         let (tx, rx) = oneshot::channel();
//!         spawn(async move { tx.send(42).unwrap() });
//!         rx.await
//!     })
//!     .unwrap();
//! assert_eq!(answer, Ok(42));
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use parking_lot::{Mutex, MutexGuard};

use crate::select::Selectable;
use crate::sync::bind::Binding;
use crate::trace::RecordKind;
use crate::Wait;

pub mod error {
    //! One-shot channel errors, named as in `tokio::sync::oneshot::error`.

    use std::fmt;

    /// The sender was dropped without sending.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct RecvError(pub(super) ());

    impl fmt::Display for RecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("channel closed")
        }
    }

    impl std::error::Error for RecvError {}

    /// Why [`try_recv`](super::Receiver::try_recv) returned no value.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum TryRecvError {
        /// No value yet; the sender may still send.
        Empty,
        /// No value, and none will come: the sender was dropped, the receiver was
        /// closed, or the value was already taken.
        Closed,
    }

    impl fmt::Display for TryRecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                TryRecvError::Empty => f.write_str("channel empty"),
                TryRecvError::Closed => f.write_str("channel closed"),
            }
        }
    }

    impl std::error::Error for TryRecvError {}
}

use error::{RecvError, TryRecvError};

struct Inner<T> {
    bind: Binding,
    state: Mutex<State<T>>,
}

struct State<T> {
    /// Hashes the value for the fingerprint, once the channel opted in.
    values: crate::trace::ValueRecorder<T>,
    value: Option<T>,
    /// The sender sent or was dropped.
    tx_done: bool,
    /// The receiver was closed or dropped.
    rx_closed: bool,
    rx_waker: Option<Waker>,
    tx_waker: Option<Waker>,
}

impl<T> Inner<T> {
    /// The shared state, to change; the running step's footprint notes the channel.
    fn state(&self) -> MutexGuard<'_, State<T>> {
        self.touch();
        self.state.lock()
    }

    /// The shared state, to read; the running step's footprint notes the channel.
    fn read(&self) -> MutexGuard<'_, State<T>> {
        self.state()
    }

    #[inline]
    fn touch(&self) {
        self.bind.touch();
    }

    fn record(&self, kind: RecordKind) {
        self.bind.record(kind);
    }
}

/// A one-shot channel, named after its creation site (`rpc.rs:12`) in traces and reports.
///
#[track_caller]
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    make(None)
}

#[track_caller]
fn make<T>(name: Option<String>) -> (Sender<T>, Receiver<T>) {
    let inner = Arc::new(Inner {
        bind: Binding::at(name, std::panic::Location::caller()),
        state: Mutex::new(State {
            values: crate::trace::ValueRecorder::default(),
            value: None,
            tx_done: false,
            rx_closed: false,
            rx_waker: None,
            tx_waker: None,
        }),
    });
    (Sender { inner: Some(inner.clone()) }, Receiver { inner, terminated: false })
}

/// Sends the channel's one value. Dropping it without sending makes the receiver
/// fail with [`RecvError`].
pub struct Sender<T> {
    inner: Option<Arc<Inner<T>>>,
}

impl<T> Sender<T> {
    /// Sends `value`, waking the receiver through the event queue.
    ///
    /// # Errors
    /// Hands `value` back when the receiver was dropped or closed.
    pub fn send(mut self, value: T) -> Result<(), T> {
        let inner = self.inner.take().expect("a sender sends at most once");
        let mut st = inner.state();
        st.tx_done = true;
        if st.rx_closed {
            return Err(value);
        }
        let hash = st.values.of(&value);
        st.value = Some(value);
        let waker = st.rx_waker.take();
        drop(st);
        inner.bind.record_message(RecordKind::Send, hash);
        if let Some(w) = waker {
            w.wake();
        }
        Ok(())
    }

    pub(crate) fn fingerprint_values_now(&self)
    where
        T: std::hash::Hash,
    {
        if let Some(inner) = &self.inner {
            inner.state.lock().values.fingerprint();
        }
    }

    pub(crate) fn show_values_now(&self)
    where
        T: std::fmt::Debug,
    {
        if let Some(inner) = &self.inner {
            inner.state.lock().values.show();
        }
    }

    /// Whether the receiver was dropped or closed (a send would fail).
    pub fn is_closed(&self) -> bool {
        self.inner.as_ref().is_none_or(|i| i.read().rx_closed)
    }

    /// Polls for the receiver being dropped or closed.
    pub fn poll_closed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let coop = std::task::ready!(crate::coop::poll_proceed(cx));
        let Some(inner) = &self.inner else {
            coop.made_progress();
            return Poll::Ready(());
        };
        let mut st = inner.state();
        if st.rx_closed {
            coop.made_progress();
            return Poll::Ready(());
        }
        // The waker replaced is dropped after the lock (its drop may use the channel).
        let replaced = match &mut st.tx_waker {
            Some(w) if w.will_wake(cx.waker()) => None,
            slot => slot.replace(cx.waker().clone()),
        };
        drop(st);
        drop(replaced);
        inner.bind.wait_on(Wait::Closed);
        Poll::Pending
    }

    /// Waits until the receiver is dropped or closed.
    pub async fn closed(&mut self) {
        std::future::poll_fn(|cx| self.poll_closed(cx)).await;
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let Some(inner) = self.inner.take() else { return };
        let mut st = inner.state();
        st.tx_done = true;
        let waker = st.rx_waker.take();
        let record = !st.rx_closed;
        drop(st);
        if record {
            inner.record(RecordKind::Close);
        }
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender").field("channel", &self.inner.as_ref().map(|i| &i.bind)).finish_non_exhaustive()
    }
}

/// Receives the channel's one value: a future of `Result<T, RecvError>`, and
/// [`Selectable`] (ready once the value is there or the sender is gone).
///
/// Dropping it closes the channel: a later send fails and hands the value back.
pub struct Receiver<T> {
    inner: Arc<Inner<T>>,
    /// It returned its value or its error (as a future).
    terminated: bool,
}

impl<T> Receiver<T> {
    /// Takes the value without waiting.
    ///
    /// # Errors
    /// [`TryRecvError::Empty`] when the sender may still send;
    /// [`TryRecvError::Closed`] when no value will come (the sender was dropped, the
    /// receiver closed before a send, or the value was already taken).
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let mut st = self.inner.state();
        if let Some(value) = st.value.take() {
            let hash = st.values.of(&value);
            drop(st);
            self.inner.bind.record_message(RecordKind::Recv, hash);
            // As tokio's: the receiver is done (a later poll panics).
            self.terminated = true;
            return Ok(value);
        }
        if st.tx_done || st.rx_closed {
            self.terminated = true;
            Err(TryRecvError::Closed)
        } else {
            Err(TryRecvError::Empty)
        }
    }

    /// tokio's thread-blocking receive, for a thread that runs no simulation: it
    /// parks the thread until the value comes or the sender is gone (a wake of a
    /// simulated task from that thread is a foreign wake there, an escape).
    ///
    /// # Errors
    /// [`RecvError`] when the sender was dropped without sending.
    ///
    /// # Panics
    /// Inside a simulation, with tokio's "Cannot block the current thread from
    /// within a runtime".
    #[track_caller]
    pub fn blocking_recv(self) -> Result<T, RecvError> {
        let name = self.inner.bind.name();
        crate::sync::block_on("oneshot::Receiver::blocking_recv", || name, self)
    }

    /// Closes the channel: a send from now on fails. A value sent before can still
    /// be taken with [`try_recv`](Receiver::try_recv).
    pub fn close(&mut self) {
        let mut st = self.inner.state();
        if st.rx_closed {
            return;
        }
        st.rx_closed = true;
        let waker = st.tx_waker.take();
        let record = !st.tx_done;
        drop(st);
        if record {
            self.inner.record(RecordKind::Close);
        }
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Whether the receiver already returned its value or its error, as a future
    /// (it must not be polled again).
    pub fn is_terminated(&self) -> bool {
        self.inner.touch();
        self.terminated
    }

    /// Whether no value is waiting to be received now (none sent yet, or it was
    /// already taken, or none will come).
    pub fn is_empty(&self) -> bool {
        self.inner.read().value.is_none()
    }
}

impl<T> Future for Receiver<T> {
    type Output = Result<T, RecvError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // tokio's receiver panics the same way once it returned its value or error.
        assert!(!self.terminated, "called after complete");
        // As tokio's: a unit of the task's cooperative budget when it completes.
        let coop = std::task::ready!(crate::coop::poll_proceed(cx));
        let mut st = self.inner.state();
        if let Some(value) = st.value.take() {
            let hash = st.values.of(&value);
            drop(st);
            coop.made_progress();
            self.inner.bind.record_message(RecordKind::Recv, hash);
            self.terminated = true;
            return Poll::Ready(Ok(value));
        }
        if st.tx_done || st.rx_closed {
            drop(st);
            coop.made_progress();
            self.terminated = true;
            return Poll::Ready(Err(RecvError(())));
        }
        // The waker replaced is dropped after the lock (its drop may use the channel).
        let replaced = match &mut st.rx_waker {
            Some(w) if w.will_wake(cx.waker()) => None,
            slot => slot.replace(cx.waker().clone()),
        };
        drop(st);
        drop(replaced);
        self.inner.bind.wait_on(Wait::Recv);
        Poll::Pending
    }
}

impl<T> Selectable for Receiver<T> {
    fn is_ready(&self) -> bool {
        let st = self.inner.read();
        st.value.is_some() || st.tx_done || st.rx_closed
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.close();
        let value = self.inner.state().value.take();
        drop(value);
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver").field("channel", &self.inner.bind).finish_non_exhaustive()
    }
}
