//! Watch channels shaped like `tokio::sync::watch`: one value, many readers, each
//! told when it changed.
//!
//! Semantics are tokio's: a receiver remembers the version it last *saw*;
//! [`Receiver::changed`] completes when the value has a version it has not seen
//! (marking it seen) and fails once every sender is gone with nothing unseen;
//! [`Receiver::borrow`] reads without marking, [`Receiver::borrow_and_update`]
//! reads and marks. [`Sender::send`] fails (handing the value back) when no
//! receiver is left; [`Sender::send_modify`], [`Sender::send_if_modified`] and
//! [`Sender::send_replace`] change the value regardless.
//!
//! Each channel is named (its creation site like `config.rs:8`, or the name of an
//! enclosing [`named`](crate::named) scope) in traces and deadlock reports ("changed on `config`"). Value
//! changes are traced as `send`, reads that mark the value seen as `recv`, other
//! reads as `read`, the end of the senders or receivers as `close`; every operation
//! is part of the step's footprint. Wakers are called after the borrow of the
//! channel's state ends.
//!
//! A [`Ref`] holds a borrow of the value: keep it short (tokio's holds a read lock).
//! A sender writing while a `Ref` is alive panics with a message saying so, where
//! tokio would block the thread.
//!
//! ```
//! use sim_core::sync::watch;
//! use sim_core::{spawn, Config, Sim};
//!
//! let mut sim = Sim::new(Config::default());
//! let seen = sim
//!     .block_on(async {
//!         let (tx, mut rx) = sim_core::named("config", || watch::channel(1));
//!         spawn(async move { tx.send(2).unwrap() });
//!         rx.changed().await.unwrap();
//!         let seen = *rx.borrow_and_update();
//!         seen
//!     })
//!     .unwrap();
//! assert_eq!(seen, 2);
//! ```

use std::fmt;
use std::future::Future;
use std::ops::Deref;
use std::panic::Location;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use parking_lot::{Mutex, RwLock, RwLockReadGuard};

use crate::select::Selectable;
use crate::sync::bind::Binding;
use crate::sync::{set_waiter, take_waiter};
use crate::trace::RecordKind;
use crate::Wait;

pub mod error {
    //! Watch channel errors, named as in `tokio::sync::watch::error`.

    use std::fmt;

    /// A send failed because every receiver is gone; the value is handed back.
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

    /// Every sender is gone (and the receiver saw the last value).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct RecvError(pub(super) ());

    impl fmt::Display for RecvError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("channel closed")
        }
    }

    impl std::error::Error for RecvError {}
}

use error::{RecvError, SendError};

/// A receiver's seen version that no real version equals (after `mark_changed`).
const UNSEEN: u64 = u64::MAX;

struct Shared<T> {
    bind: Binding,
    /// Hashes the value for the fingerprint, once the channel opted in.
    values: Mutex<crate::trace::ValueRecorder<T>>,
    value: RwLock<T>,
    state: Mutex<State>,
}

struct State {
    /// Bumped by every change of the value.
    version: u64,
    senders: usize,
    receivers: usize,
    /// Receivers waiting in `changed()`, by receiver key.
    rx_waiters: Vec<(u64, Waker)>,
    /// Senders waiting in `closed()`, by key.
    tx_waiters: Vec<(u64, Waker)>,
    next_key: u64,
    close_recorded: bool,
}

impl<T> Shared<T> {
    #[inline]
    fn touch(&self) {
        self.bind.touch();
    }

    fn record(&self, kind: RecordKind) {
        self.bind.record(kind);
    }

    fn key(&self) -> u64 {
        let mut st = self.state.lock();
        st.next_key += 1;
        st.next_key - 1
    }

    /// Records the channel's close once (the last sender or the last receiver went).
    fn record_close(&self) {
        let first = !std::mem::replace(&mut self.state.lock().close_recorded, true);
        if first {
            self.record(RecordKind::Close);
        }
    }

    /// Changes the value with `modify` when it says so; bumps the version, wakes the
    /// waiting receivers and records the send.
    fn modify(&self, modify: impl FnOnce(&mut T) -> bool) -> bool {
        self.touch();
        let changed = {
            let mut value = match self.value.try_write() {
                Some(value) => value,
                // Outside a simulation a reader may be another thread: wait for it.
                None if self.bind.reach().is_none() => self.value.write(),
                None => panic!(
                    "watch channel `{}`: a sender changed the value while a `watch::Ref` of it was held \
                     (tokio would block here); drop the `Ref` before awaiting or sending",
                    self.bind.name()
                ),
            };
            modify(&mut value).then(|| self.values.lock().of(&value))
        };
        let Some(hash) = changed else {
            return false;
        };
        let wakers: Vec<Waker> = {
            let mut st = self.state.lock();
            st.version += 1;
            st.rx_waiters.drain(..).map(|(_, w)| w).collect()
        };
        self.bind.record_message(RecordKind::Send, hash);
        for w in wakers {
            w.wake();
        }
        true
    }
}

/// A watch channel holding `init`, named after its creation site.
///
#[track_caller]
pub fn channel<T>(init: T) -> (Sender<T>, Receiver<T>) {
    make(None, init)
}

#[track_caller]
fn make<T>(name: Option<String>, init: T) -> (Sender<T>, Receiver<T>) {
    let tx = Sender::make(name, init);
    let rx = tx.subscribe();
    (tx, rx)
}

/// Changes the channel's value. Cloning makes another sender; receivers see the
/// channel closed when the last one is dropped.
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Sender<T> {
    /// A sender of a channel holding `init`, with no receiver yet (make them with
    /// [`subscribe`](Sender::subscribe)), named after its creation site.
    #[track_caller]
    pub fn new(init: T) -> Sender<T> {
        Sender::make(None, init)
    }

    #[track_caller]
    fn make(name: Option<String>, init: T) -> Sender<T> {
        let state = State {
            version: 0,
            senders: 1,
            receivers: 0,
            rx_waiters: Vec::new(),
            tx_waiters: Vec::new(),
            next_key: 0,
            close_recorded: false,
        };
        let shared = Shared {
            bind: Binding::at(name, Location::caller()),
            values: Mutex::new(crate::trace::ValueRecorder::default()),
            value: RwLock::new(init),
            state: Mutex::new(state),
        };
        Sender { shared: Arc::new(shared) }
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

    /// Replaces the value and notifies every receiver.
    ///
    /// # Errors
    /// [`SendError`] with the value, left unchanged, when no receiver is left.
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        self.shared.touch();
        if self.shared.state.lock().receivers == 0 {
            return Err(SendError(value));
        }
        self.send_replace(value);
        Ok(())
    }

    /// Changes the value in place with `modify` and notifies every receiver, whether
    /// or not any is left.
    pub fn send_modify(&self, modify: impl FnOnce(&mut T)) {
        self.shared.modify(|v| {
            modify(v);
            true
        });
    }

    /// Lets `modify` change the value in place; notifies the receivers only when it
    /// returns `true`. Returns what `modify` returned.
    pub fn send_if_modified(&self, modify: impl FnOnce(&mut T) -> bool) -> bool {
        self.shared.modify(modify)
    }

    /// Replaces the value, notifies every receiver (whether or not any is left), and
    /// returns the old value.
    pub fn send_replace(&self, value: T) -> T {
        let mut old = Some(value);
        self.shared.modify(|v| {
            let new = old.take().expect("modified once");
            old = Some(std::mem::replace(v, new));
            true
        });
        old.expect("replaced")
    }

    /// Reads the value (traced as a `read`). Hold the [`Ref`] briefly.
    pub fn borrow(&self) -> Ref<'_, T> {
        self.shared.touch();
        self.shared.record(RecordKind::Read);
        Ref { inner: self.shared.value.read(), has_changed: false, _not_send: std::marker::PhantomData }
    }

    /// Whether every receiver is gone.
    pub fn is_closed(&self) -> bool {
        self.shared.touch();
        self.shared.state.lock().receivers == 0
    }

    /// Waits until every receiver is gone.
    pub async fn closed(&self) {
        let key = Mutex::new(None);
        let shared = &self.shared;
        let wait = std::future::poll_fn(|cx| {
            let restore = std::task::ready!(crate::coop::poll_proceed(cx));
            shared.touch();
            let mut st = shared.state.lock();
            if st.receivers == 0 {
                restore.made_progress();
                return Poll::Ready(());
            }
            let mut key = key.lock();
            let k = key.unwrap_or_else(|| {
                st.next_key += 1;
                st.next_key - 1
            });
            *key = Some(k);
            // A replaced waker is dropped after the lock: its drop may use the channel.
            let replaced = set_waiter(&mut st.tx_waiters, k, cx.waker());
            drop(st);
            drop(replaced);
            shared.bind.wait_on(Wait::Closed);
            Poll::Pending
        });
        let guard = TxWaitGuard { shared, key: &key };
        wait.await;
        drop(guard);
    }

    /// A new receiver, which has seen the current value.
    pub fn subscribe(&self) -> Receiver<T> {
        self.shared.touch();
        let mut st = self.shared.state.lock();
        st.receivers += 1;
        let seen = st.version;
        drop(st);
        let key = self.shared.key();
        Receiver { shared: self.shared.clone(), seen, key }
    }

    /// Receivers alive now.
    pub fn receiver_count(&self) -> usize {
        self.shared.touch();
        self.shared.state.lock().receivers
    }

    /// Senders alive now.
    pub fn sender_count(&self) -> usize {
        self.shared.touch();
        self.shared.state.lock().senders
    }

    /// Whether both senders belong to the same channel.
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

/// Leaves the senders' `closed()` list when the wait is dropped.
struct TxWaitGuard<'a, T> {
    shared: &'a Shared<T>,
    key: &'a Mutex<Option<u64>>,
}

impl<T> Drop for TxWaitGuard<'_, T> {
    fn drop(&mut self) {
        if let Some(k) = *self.key.lock() {
            let own = take_waiter(&mut self.shared.state.lock().tx_waiters, k);
            drop(own);
        }
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Sender<T> {
        self.shared.touch();
        self.shared.state.lock().senders += 1;
        Sender { shared: self.shared.clone() }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let shared = &self.shared;
        shared.touch();
        let wakers: Vec<Waker> = {
            let mut st = shared.state.lock();
            st.senders -= 1;
            if st.senders > 0 {
                return;
            }
            st.rx_waiters.drain(..).map(|(_, w)| w).collect()
        };
        shared.record_close();
        for w in wakers {
            w.wake();
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender").field("channel", &self.shared.bind).finish_non_exhaustive()
    }
}

/// Reads the channel's value and waits for changes.
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
    /// The version this receiver saw last.
    seen: u64,
    /// This receiver's key in the waiters' list.
    key: u64,
}

impl<T> Receiver<T> {
    /// Reads the value without marking it seen (traced as a `read`). Hold the
    /// [`Ref`] briefly.
    pub fn borrow(&self) -> Ref<'_, T> {
        self.shared.touch();
        let version = self.shared.state.lock().version;
        self.shared.record(RecordKind::Read);
        Ref { inner: self.shared.value.read(), has_changed: version != self.seen, _not_send: std::marker::PhantomData }
    }

    /// Reads the value and marks it seen (traced as a `recv`).
    pub fn borrow_and_update(&mut self) -> Ref<'_, T> {
        self.shared.touch();
        let version = self.shared.state.lock().version;
        let has_changed = version != self.seen;
        self.seen = version;
        self.shared.record(RecordKind::Recv);
        Ref { inner: self.shared.value.read(), has_changed, _not_send: std::marker::PhantomData }
    }

    /// Whether the value has a version this receiver has not seen.
    ///
    /// # Errors
    /// [`RecvError`] when every sender is gone.
    pub fn has_changed(&self) -> Result<bool, RecvError> {
        self.shared.touch();
        let st = self.shared.state.lock();
        let (closed, version) = (st.senders == 0, st.version);
        drop(st);
        self.shared.record(RecordKind::Read);
        if closed {
            Err(RecvError(()))
        } else {
            Ok(version != self.seen)
        }
    }

    /// Marks the value unseen: the next [`changed`](Receiver::changed) completes at once.
    pub fn mark_changed(&mut self) {
        self.shared.touch();
        self.seen = UNSEEN;
    }

    /// Marks the current value seen.
    pub fn mark_unchanged(&mut self) {
        self.shared.touch();
        self.seen = self.shared.state.lock().version;
    }

    /// Waits for a value this receiver has not seen and marks it seen (traced as a
    /// `recv`). Completes at once when the current value is unseen.
    ///
    /// The future is [`Selectable`]: ready when a poll would complete it.
    ///
    /// # Errors
    /// [`RecvError`] when every sender is gone and the current value was seen.
    pub fn changed(&mut self) -> Changed<'_, T> {
        Changed { rx: self }
    }

    /// Waits until the value satisfies `f` (checking the current value first), marks
    /// it seen, and returns a [`Ref`] to it.
    ///
    /// # Errors
    /// [`RecvError`] when every sender is gone before the value satisfies `f`.
    pub async fn wait_for(&mut self, f: impl FnMut(&T) -> bool) -> Result<Ref<'_, T>, RecvError> {
        // As tokio's: the whole wait spends one unit of the task's budget (and yields
        // when it is spent), the `changed()` calls inside none.
        crate::coop::cooperative(self.wait_for_inner(f)).await
    }

    async fn wait_for_inner(&mut self, mut f: impl FnMut(&T) -> bool) -> Result<Ref<'_, T>, RecvError> {
        let mut closed = false;
        loop {
            {
                let current = self.borrow_and_update();
                if f(&current) {
                    break;
                }
            }
            if closed {
                return Err(RecvError(()));
            }
            if crate::coop::unconstrained(self.changed()).await.is_err() {
                closed = true;
            }
        }
        self.shared.touch();
        Ok(Ref { inner: self.shared.value.read(), has_changed: true, _not_send: std::marker::PhantomData })
    }

    /// Whether every sender is gone (values already sent can still be read).
    pub fn is_closed(&self) -> bool {
        self.shared.touch();
        self.shared.state.lock().senders == 0
    }

    /// Whether both receivers belong to the same channel.
    pub fn same_channel(&self, other: &Receiver<T>) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    fn poll_changed(&mut self, cx: &Context<'_>) -> Poll<Result<(), RecvError>> {
        let shared = &self.shared;
        shared.touch();
        let mut st = shared.state.lock();
        // Wakers let go are dropped after the lock: their drops may use the channel.
        if st.version != self.seen {
            self.seen = st.version;
            let own = take_waiter(&mut st.rx_waiters, self.key);
            drop(st);
            drop(own);
            shared.record(RecordKind::Recv);
            return Poll::Ready(Ok(()));
        }
        if st.senders == 0 {
            let own = take_waiter(&mut st.rx_waiters, self.key);
            drop(st);
            drop(own);
            return Poll::Ready(Err(RecvError(())));
        }
        let replaced = set_waiter(&mut st.rx_waiters, self.key, cx.waker());
        drop(st);
        drop(replaced);
        shared.bind.wait_on(Wait::Changed);
        Poll::Pending
    }

    fn changed_ready(&self) -> bool {
        self.shared.touch();
        let st = self.shared.state.lock();
        st.version != self.seen || st.senders == 0
    }
}

/// The future of [`Receiver::changed`]: `Ok` once the value has a version the
/// receiver has not seen (marking it seen), `Err` once every sender is gone with
/// nothing unseen. It leaves the waiters' list when dropped, and it is
/// [`Selectable`].
#[must_use = "futures do nothing unless awaited"]
pub struct Changed<'a, T> {
    rx: &'a mut Receiver<T>,
}

impl<T> Future for Changed<'_, T> {
    type Output = Result<(), RecvError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let restore = std::task::ready!(crate::coop::poll_proceed(cx));
        let out = self.rx.poll_changed(cx);
        if out.is_ready() {
            restore.made_progress();
        }
        out
    }
}

impl<T> Selectable for Changed<'_, T> {
    fn is_ready(&self) -> bool {
        self.rx.changed_ready()
    }
}

impl<T> Drop for Changed<'_, T> {
    fn drop(&mut self) {
        let key = self.rx.key;
        let own = take_waiter(&mut self.rx.shared.state.lock().rx_waiters, key);
        drop(own);
    }
}

impl<T> fmt::Debug for Changed<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Changed").field("channel", &self.rx.shared.bind).finish()
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Receiver<T> {
        self.shared.touch();
        self.shared.state.lock().receivers += 1;
        let key = self.shared.key();
        Receiver { shared: self.shared.clone(), seen: self.seen, key }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let shared = &self.shared;
        shared.touch();
        let (own, wakers): (_, Vec<Waker>) = {
            let mut st = shared.state.lock();
            st.receivers -= 1;
            // Dropped after the lock, as every waker let go.
            let own = take_waiter(&mut st.rx_waiters, self.key);
            if st.receivers > 0 {
                drop(st);
                drop(own);
                return;
            }
            (own, st.tx_waiters.drain(..).map(|(_, w)| w).collect())
        };
        drop(own);
        shared.record_close();
        for w in wakers {
            w.wake();
        }
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver").field("channel", &self.shared.bind).finish_non_exhaustive()
    }
}

/// A borrow of a watch channel's value (tokio's `watch::Ref`).
pub struct Ref<'a, T> {
    inner: RwLockReadGuard<'a, T>,
    has_changed: bool,
    /// Not `Send`, as tokio's (a read lock's guard stays on its thread).
    _not_send: std::marker::PhantomData<std::sync::MutexGuard<'static, ()>>,
}

impl<T> Ref<'_, T> {
    /// Whether the value had a version the receiver had not seen when it was borrowed.
    pub fn has_changed(&self) -> bool {
        self.has_changed
    }
}

impl<T> Deref for Ref<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.inner
    }
}

impl<T: fmt::Debug> fmt::Debug for Ref<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.inner, f)
    }
}
