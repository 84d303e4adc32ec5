//! The state one mpsc channel's senders and receiver share.
//!
//! A message is either *buffered* (visible to `recv`) or *in flight* (sent on a
//! channel with a latency, waiting for its `Deliver` event). A bounded channel's
//! capacity counts both, plus the slots granted to woken senders that have not
//! used them yet. Senders blocked on a full channel wait in FIFO order: a freed
//! slot is granted to the first waiter before anyone else can take it, so the
//! order in which blocked senders get through never depends on who polls first.
//! A reservation ([`Permit`](super::Permit)) waits in the same queue and holds its
//! slot until it sends or is dropped.
//!
//! Wakers are never called, nor dropped, while the channel's state or the core is
//! borrowed: the state's guard ([`StateMut`]) collects the ones to wake and the ones
//! let go (replaced by a later poll, or of a waiter that went away) and calls or drops
//! them after the borrow ends, so a waker that reaches back into the channel (or the
//! simulation), when woken or when dropped, cannot find it borrowed.

use std::collections::VecDeque;
use std::ops::{Deref, DerefMut};
use std::panic::Location;
use std::sync::{Arc, Weak};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use parking_lot::{Mutex, MutexGuard};

use crate::core::Deliver;
use crate::sync::bind::Binding;
use crate::time::Instant;
use crate::trace::RecordKind;
use crate::Wait;

/// Where a blocked send stands in the queue of waiting senders.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum SendSlot {
    /// Not queued.
    Idle,
    /// Queued (or granted a slot) under this key.
    Waiting(u64),
}

/// Why a send without waiting failed.
pub(super) enum Refused {
    /// The receiver is gone or closed.
    Closed,
    /// No room (bounded channels only).
    Full,
}

pub(super) struct Chan<T> {
    /// Its simulation, reached at each operation.
    pub(super) bind: Binding,
    bound: Option<usize>,
    latency: Option<Duration>,
    state: Mutex<State<T>>,
}

// A panic while the state is borrowed (a value's `Hash`, say) leaves no change half
// made that a later operation could trip on: wakers run and values drop after the
// borrow ends, and the lock does not poison. So the channel's handles are
// `UnwindSafe` and `RefUnwindSafe` whatever `T` is, as tokio's.
impl<T> std::panic::RefUnwindSafe for Chan<T> {}
impl<T> std::panic::UnwindSafe for Chan<T> {}

pub(super) struct State<T> {
    /// Hashes a message for the fingerprint, once the channel opted in.
    values: crate::trace::ValueRecorder<T>,
    buffer: VecDeque<T>,
    in_flight: VecDeque<(Instant, T)>,
    senders: usize,
    /// Weak senders alive (they do not keep the channel open).
    weak: usize,
    /// Slots held by permits that have not sent yet.
    reserved: usize,
    /// Senders waiting in `closed()` for the receiver to go away.
    closed_waiters: Vec<(u64, Waker)>,
    /// The first waker to call once the borrow of this state ends (most changes wake
    /// one task: no allocation, no second borrow)...
    woken: Option<Waker>,
    /// ...and the others, in order.
    woken_more: Vec<Waker>,
    /// Wakers let go while the state was borrowed, dropped once the borrow ends (a
    /// waker's drop may use the channel).
    let_go: Vec<Waker>,
    rx_closed: bool,
    /// The receiver was dropped (not only closed): a permit's value is dropped.
    rx_gone: bool,
    close_recorded: bool,
    rx_waker: Option<Waker>,
    waiters: VecDeque<(u64, Waker)>,
    granted: Vec<u64>,
    next_key: u64,
}

impl<T> State<T> {
    /// Messages and granted slots counted against a bound.
    fn used(&self) -> usize {
        self.buffer.len() + self.in_flight.len() + self.granted.len() + self.reserved
    }

    /// Drops `waker` once the borrow of this state ends.
    fn let_go(&mut self, waker: Waker) {
        self.let_go.push(waker);
    }

    /// Stores `new` in `slot` (a waiter's waker), letting the one it replaces go once
    /// the borrow ends; keeps the stored one when it wakes the same task.
    fn replace(let_go: &mut Vec<Waker>, slot: &mut Waker, new: &Waker) {
        if !slot.will_wake(new) {
            let_go.push(std::mem::replace(slot, new.clone()));
        }
    }

    /// As [`State::replace`], for the receiver's waker.
    fn set_rx_waker(&mut self, new: &Waker) {
        match &mut self.rx_waker {
            Some(w) if w.will_wake(new) => {}
            slot => {
                if let Some(old) = slot.replace(new.clone()) {
                    self.let_go.push(old);
                }
            }
        }
    }

    /// Wakes `waker` once the borrow of this state ends.
    fn wake(&mut self, waker: Waker) {
        if self.woken.is_none() {
            self.woken = Some(waker);
        } else {
            self.woken_more.push(waker);
        }
    }

    fn is_closed(&self) -> bool {
        self.rx_closed || self.senders == 0
    }

    /// Closed, and no message will ever arrive again: none buffered or in flight,
    /// and no permit left that may still send one (as tokio's, a permit reserved
    /// before the receiver closed still delivers its value).
    fn is_finished(&self) -> bool {
        self.is_closed()
            && self.buffer.is_empty()
            && self.in_flight.is_empty()
            && self.reserved == 0
            && self.granted.is_empty()
    }

    /// The receiver waits and the channel just finished: wake it to see `None`.
    fn wake_rx_if_finished(&mut self) {
        if self.is_finished() {
            if let Some(w) = self.rx_waker.take() {
                self.wake(w);
            }
        }
    }
}

impl<T> Chan<T> {
    /// A channel with one sender, registered on the simulation under `name` (or a
    /// default `mpsc-N` name).
    pub(super) fn new(name: Option<String>, at: &'static Location<'static>, bound: Option<usize>) -> Arc<Chan<T>> {
        Arc::new(Chan {
            bind: Binding::at(name, at),
            bound,
            latency: None,
            state: Mutex::new(State {
                values: crate::trace::ValueRecorder::default(),
                buffer: VecDeque::new(),
                in_flight: VecDeque::new(),
                senders: 1,
                weak: 0,
                reserved: 0,
                closed_waiters: Vec::new(),
                woken: None,
                woken_more: Vec::new(),
                let_go: Vec::new(),
                rx_closed: false,
                rx_gone: false,
                close_recorded: false,
                rx_waker: None,
                waiters: VecDeque::new(),
                granted: Vec::new(),
                next_key: 0,
            }),
        })
    }

    /// Like [`Chan::new`], but messages travel as delivery events due `latency` after
    /// their send.
    ///
    /// # Panics
    /// With a latency, when no simulation is current (delivery events need one).
    pub(super) fn with_latency(
        name: Option<String>,
        at: &'static Location<'static>,
        bound: Option<usize>,
        latency: Option<Duration>,
    ) -> Arc<Chan<T>>
    where
        T: 'static,
    {
        let mut chan = Chan::new(name, at, bound);
        if latency.is_some() {
            Arc::get_mut(&mut chan).expect("just created").latency = latency;
            chan.bind.pin();
            let target: Weak<dyn Deliver> = Arc::downgrade(&chan) as Weak<dyn Deliver>;
            let bound = chan.bind.reach().expect(
                "an mpsc channel with a latency needs a current simulation (its messages travel as the simulation's delivery events)",
            );
            bound.handle.core.borrow_mut().set_deliver_target(bound.id, target);
        }
        chan
    }

    /// The shared state, to change; the running step's footprint notes the channel.
    /// Wakers queued on it are called when the guard is dropped.
    fn state(&self) -> StateMut<'_, T> {
        self.touch();
        StateMut(Some(self.state.lock()))
    }

    /// The shared state, to read; the running step's footprint notes the channel.
    fn read(&self) -> MutexGuard<'_, State<T>> {
        self.touch();
        self.state.lock()
    }

    #[inline]
    fn touch(&self) {
        self.bind.touch();
    }

    /// From now on, every message sent or received is fingerprinted by value.
    pub(super) fn fingerprint_values(&self)
    where
        T: std::hash::Hash,
    {
        self.state.lock().values.fingerprint();
    }

    /// From now on, every message sent or received is shown in the trace by its `Debug` text.
    pub(super) fn show_values(&self)
    where
        T: std::fmt::Debug,
    {
        self.state.lock().values.show();
    }

    fn value_of(st: &State<T>, value: &T) -> crate::trace::MessageValue {
        st.values.of(value)
    }

    // ---- senders ----

    pub(super) fn add_sender(&self) {
        self.state().senders += 1;
    }

    pub(super) fn drop_sender(&self) {
        let mut st = self.state();
        st.senders -= 1;
        if st.senders == 0 {
            // With messages still in flight, the last delivery wakes the receiver;
            // waking it now would only add a spurious poll (and a choice point).
            if st.in_flight.is_empty() {
                if let Some(w) = st.rx_waker.take() {
                    st.wake(w);
                }
            }
            self.record_close(&mut st);
        }
    }

    /// A weak sender was made.
    pub(super) fn add_weak(&self) {
        self.state().weak += 1;
    }

    /// A weak sender was dropped.
    pub(super) fn drop_weak(&self) {
        self.state().weak -= 1;
    }

    /// Makes a sender from a weak one, unless every sender is gone.
    pub(super) fn upgrade(&self) -> bool {
        let mut st = self.state();
        if st.senders == 0 {
            return false;
        }
        st.senders += 1;
        true
    }

    /// Senders alive, weak senders alive.
    pub(super) fn counts(&self) -> (usize, usize) {
        let st = self.read();
        (st.senders, st.weak)
    }

    pub(super) fn is_rx_closed(&self) -> bool {
        self.read().rx_closed
    }

    pub(super) fn max_capacity(&self) -> Option<usize> {
        self.bound
    }

    /// Free slots (bounded channels); `None` when unbounded.
    pub(super) fn capacity(&self) -> Option<usize> {
        let st = self.read();
        self.bound.map(|b| b.saturating_sub(st.used()))
    }

    fn has_room(&self, st: &State<T>) -> bool {
        self.bound.is_none_or(|b| st.waiters.is_empty() && st.used() < b)
    }

    /// Sends at once if there is room, else hands the value back.
    pub(super) fn try_send(&self, value: T) -> Result<(), (Refused, T)> {
        let mut st = self.state();
        if st.rx_closed {
            return Err((Refused::Closed, value));
        }
        if !self.has_room(&st) {
            return Err((Refused::Full, value));
        }
        self.deposit(&mut st, value);
        Ok(())
    }

    /// One poll of a waiting send. `value` is taken when the poll completes.
    pub(super) fn poll_send(
        &self,
        slot: &mut SendSlot,
        value: &mut Option<T>,
        cx: &Context<'_>,
    ) -> Poll<Result<(), T>> {
        match self.poll_slot(slot, cx, Wait::Send) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(None) => Poll::Ready(Err(value.take().expect("send polled after completion"))),
            Poll::Ready(Some(mut st)) => {
                self.deposit(&mut st, value.take().expect("send polled after completion"));
                Poll::Ready(Ok(()))
            }
        }
    }

    /// One poll of a waiting reservation: `Ok` once a slot is held for a permit.
    pub(super) fn poll_reserve(&self, slot: &mut SendSlot, cx: &Context<'_>) -> Poll<Result<(), ()>> {
        match self.poll_slot(slot, cx, Wait::Reserve) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(None) => Poll::Ready(Err(())),
            Poll::Ready(Some(mut st)) => {
                self.reserve_slot(&mut st);
                Poll::Ready(Ok(()))
            }
        }
    }

    /// Reserves a slot now if there is room.
    pub(super) fn try_reserve(&self) -> Result<(), Refused> {
        let mut st = self.state();
        if st.rx_closed {
            return Err(Refused::Closed);
        }
        if !self.has_room(&st) {
            return Err(Refused::Full);
        }
        self.reserve_slot(&mut st);
        Ok(())
    }

    /// Reserves `n` slots now if they are all free (none when `n` is 0).
    pub(super) fn try_reserve_n(&self, n: usize) -> Result<(), Refused> {
        let mut st = self.state();
        if st.rx_closed {
            return Err(Refused::Closed);
        }
        let room = self.bound.is_none_or(|b| st.waiters.is_empty() && st.used().checked_add(n).is_some_and(|u| u <= b));
        if !room {
            return Err(Refused::Full);
        }
        for _ in 0..n {
            self.reserve_slot(&mut st);
        }
        Ok(())
    }

    fn reserve_slot(&self, st: &mut State<T>) {
        st.reserved += 1;
        self.bind.record(RecordKind::Reserve);
    }

    /// A permit sends: its slot becomes the message's, delivered even when the
    /// receiver closed after the permit was reserved (as tokio's). Once the receiver
    /// is dropped the value is dropped (outside the borrow).
    pub(super) fn send_reserved(&self, value: T) {
        let mut st = self.state();
        st.reserved -= 1;
        if st.rx_gone {
            drop(st);
            drop(value);
            return;
        }
        self.deposit(&mut st, value);
    }

    /// A permit went away unused: its slot goes to the first waiting sender.
    pub(super) fn release_reserved(&self) {
        let mut st = self.state();
        st.reserved -= 1;
        self.grant_waiters(&mut st);
        st.wake_rx_if_finished();
    }

    /// One poll of a waiting send or reservation: the state (to use the slot) when
    /// it may go ahead, `None` when the receiver is gone, or pending (queued).
    fn poll_slot(
        &self,
        slot: &mut SendSlot,
        cx: &Context<'_>,
        wait: fn(crate::ChannelId) -> Wait,
    ) -> Poll<Option<StateMut<'_, T>>> {
        let mut st = self.state();
        if st.rx_closed {
            self.forget(&mut st, slot);
            return Poll::Ready(None);
        }
        let go = match *slot {
            SendSlot::Waiting(key) => take_grant(&mut st, key),
            SendSlot::Idle => self.has_room(&st),
        };
        if go {
            *slot = SendSlot::Idle;
            return Poll::Ready(Some(st));
        }
        match *slot {
            SendSlot::Idle => {
                let key = st.next_key;
                st.next_key += 1;
                st.waiters.push_back((key, cx.waker().clone()));
                *slot = SendSlot::Waiting(key);
            }
            SendSlot::Waiting(key) => {
                let st = &mut *st;
                if let Some((_, w)) = st.waiters.iter_mut().find(|(k, _)| *k == key) {
                    State::<T>::replace(&mut st.let_go, w, cx.waker());
                }
            }
        }
        drop(st);
        self.bind.wait_on(wait);
        Poll::Pending
    }

    /// One poll of a sender's `closed()`: ready once the receiver is dropped or closed.
    pub(super) fn poll_closed(&self, key: &mut Option<u64>, cx: &Context<'_>) -> Poll<()> {
        let mut st = self.state();
        if st.rx_closed {
            *key = None;
            return Poll::Ready(());
        }
        match *key {
            Some(k) => {
                let st = &mut *st;
                if let Some((_, w)) = st.closed_waiters.iter_mut().find(|(x, _)| *x == k) {
                    State::<T>::replace(&mut st.let_go, w, cx.waker());
                }
            }
            None => {
                let k = st.next_key;
                st.next_key += 1;
                st.closed_waiters.push((k, cx.waker().clone()));
                *key = Some(k);
            }
        }
        drop(st);
        self.bind.wait_on(Wait::Closed);
        Poll::Pending
    }

    /// A `closed()` future went away.
    pub(super) fn cancel_closed(&self, key: u64) {
        let mut st = self.state();
        if let Some(pos) = st.closed_waiters.iter().position(|(k, _)| *k == key) {
            let (_, waker) = st.closed_waiters.remove(pos);
            st.let_go(waker);
        }
    }

    /// Whether a send polled now with `slot` would complete (with or without error).
    pub(super) fn send_ready(&self, slot: SendSlot) -> bool {
        let st = self.read();
        st.rx_closed
            || match slot {
                SendSlot::Waiting(key) => st.granted.contains(&key),
                SendSlot::Idle => self.has_room(&st),
            }
    }

    /// A send future went away: leave the queue, passing a granted slot on.
    pub(super) fn cancel_send(&self, slot: &mut SendSlot) {
        let mut st = self.state();
        self.forget(&mut st, slot);
    }

    fn forget(&self, st: &mut State<T>, slot: &mut SendSlot) {
        let SendSlot::Waiting(key) = *slot else { return };
        *slot = SendSlot::Idle;
        if take_grant(st, key) {
            self.grant_waiters(st);
        } else if let Some((_, waker)) =
            st.waiters.iter().position(|(k, _)| *k == key).and_then(|pos| st.waiters.remove(pos))
        {
            st.let_go(waker);
        }
        // A slot granted before the receiver closed kept it waiting; now returned.
        st.wake_rx_if_finished();
    }

    /// Grants free slots to waiting senders, first come first served.
    fn grant_waiters(&self, st: &mut State<T>) {
        let Some(bound) = self.bound else { return };
        while !st.rx_closed && st.used() < bound {
            let Some((key, waker)) = st.waiters.pop_front() else { return };
            st.granted.push(key);
            st.wake(waker);
        }
    }

    /// Puts a message in the buffer (waking the receiver), or in flight when the
    /// channel has a latency; records the send.
    fn deposit(&self, st: &mut State<T>, value: T) {
        let hash = Chan::value_of(st, &value);
        let bound = self.bind.reach();
        let core = bound.as_ref().map(|b| b.handle.engine());
        let Some((mut core, bound)) = core.zip(bound.as_ref()) else {
            // Outside any simulation (or in another one): delivered at once.
            st.buffer.push_back(value);
            if let Some(w) = st.rx_waker.take() {
                st.wake(w);
            }
            return;
        };
        match self.latency {
            None => {
                st.buffer.push_back(value);
                if let Some(w) = st.rx_waker.take() {
                    st.wake(w);
                }
            }
            Some(latency) => {
                let due = core.now().saturating_add(latency);
                let head = st.in_flight.is_empty();
                st.in_flight.push_back((due, value));
                if head {
                    core.schedule_delivery(bound.id, due);
                }
            }
        }
        core.record_message(RecordKind::Send, bound.id, hash);
    }

    fn record_close(&self, st: &mut State<T>) {
        if !st.close_recorded {
            st.close_recorded = true;
            self.bind.record(RecordKind::Close);
        }
    }

    // ---- the receiver ----

    /// Takes the oldest buffered message, freeing its slot for the first waiting sender.
    fn take(&self, st: &mut State<T>) -> Option<T> {
        let value = st.buffer.pop_front()?;
        self.grant_waiters(st);
        let hash = Chan::value_of(st, &value);
        self.bind.record_message(RecordKind::Recv, hash);
        Some(value)
    }

    /// One poll of `recv`; it spends a unit of the task's cooperative budget when it
    /// completes (and yields when the budget is spent), as tokio's.
    pub(super) fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let coop = std::task::ready!(crate::coop::poll_proceed(cx));
        let mut st = self.state();
        if let Some(value) = self.take(&mut st) {
            coop.made_progress();
            return Poll::Ready(Some(value));
        }
        if st.is_finished() {
            coop.made_progress();
            return Poll::Ready(None);
        }
        st.set_rx_waker(cx.waker());
        drop(st);
        self.bind.wait_on(Wait::Recv);
        Poll::Pending
    }

    /// One poll of `recv_many`: moves up to `limit` buffered messages into `out` and
    /// says how many; 0 once the channel is closed and drained (or `limit` is 0).
    pub(super) fn poll_recv_many(&self, cx: &mut Context<'_>, out: &mut Vec<T>, limit: usize) -> Poll<usize> {
        let coop = std::task::ready!(crate::coop::poll_proceed(cx));
        if limit == 0 {
            coop.made_progress();
            self.touch();
            return Poll::Ready(0);
        }
        let mut st = self.state();
        let mut n = 0;
        while n < limit {
            let Some(value) = self.take(&mut st) else { break };
            out.push(value);
            n += 1;
        }
        if n > 0 {
            coop.made_progress();
            return Poll::Ready(n);
        }
        if st.is_finished() {
            coop.made_progress();
            return Poll::Ready(0);
        }
        st.set_rx_waker(cx.waker());
        drop(st);
        self.bind.wait_on(Wait::Recv);
        Poll::Pending
    }

    /// `Ok(Some(v))`: a message; `Ok(None)`: none yet; `Err(())`: none ever again.
    pub(super) fn try_recv(&self) -> Result<Option<T>, ()> {
        let mut st = self.state();
        if let Some(value) = self.take(&mut st) {
            return Ok(Some(value));
        }
        if st.is_finished() {
            Err(())
        } else {
            Ok(None)
        }
    }

    /// Whether a receive polled now would complete: a message is buffered, or the
    /// channel is closed with nothing left to arrive.
    pub(super) fn recv_ready(&self) -> bool {
        let st = self.read();
        !st.buffer.is_empty() || st.is_finished()
    }

    pub(super) fn is_closed(&self) -> bool {
        self.read().is_closed()
    }

    /// Closed, and nothing buffered or in flight.
    pub(super) fn is_finished(&self) -> bool {
        self.read().is_finished()
    }

    /// Buffered messages (in-flight ones are not counted).
    pub(super) fn len(&self) -> usize {
        self.read().buffer.len()
    }

    /// Closes the receiving side: sends fail from now on, waiting senders are woken
    /// with their values handed back, messages already sent can still be received.
    pub(super) fn close_rx(&self) {
        let mut st = self.state();
        if st.rx_closed {
            return;
        }
        st.rx_closed = true;
        for (_, waker) in std::mem::take(&mut st.waiters) {
            st.wake(waker);
        }
        for (_, waker) in std::mem::take(&mut st.closed_waiters) {
            st.wake(waker);
        }
        self.record_close(&mut st);
    }

    /// The receiver went away: close, and drop every message (outside the borrow,
    /// since a message's destructor may touch this channel).
    pub(super) fn drop_rx(&self) {
        self.close_rx();
        let (buffer, in_flight) = {
            let mut st = self.state();
            st.rx_gone = true;
            if let Some(waker) = st.rx_waker.take() {
                st.let_go(waker);
            }
            (std::mem::take(&mut st.buffer), std::mem::take(&mut st.in_flight))
        };
        drop(buffer);
        drop(in_flight);
    }
}

fn take_grant<T>(st: &mut State<T>, key: u64) -> bool {
    match st.granted.iter().position(|k| *k == key) {
        Some(pos) => {
            st.granted.swap_remove(pos);
            true
        }
        None => false,
    }
}

impl<T> Deliver for Chan<T> {
    fn deliver(&self) -> Option<Instant> {
        let mut st = self.state();
        if let Some((_, value)) = st.in_flight.pop_front() {
            st.buffer.push_back(value);
            if let Some(w) = st.rx_waker.take() {
                st.wake(w);
            }
        }
        st.in_flight.front().map(|(due, _)| *due)
    }
}

/// The state borrowed to change it. Wakers queued with `State::wake` while it is
/// held are called after the borrow ends, and wakers let go are dropped then.
pub(super) struct StateMut<'a, T>(Option<MutexGuard<'a, State<T>>>);

impl<T> Deref for StateMut<'_, T> {
    type Target = State<T>;

    fn deref(&self) -> &State<T> {
        self.0.as_ref().expect("held until dropped")
    }
}

impl<T> DerefMut for StateMut<'_, T> {
    fn deref_mut(&mut self) -> &mut State<T> {
        self.0.as_mut().expect("held until dropped")
    }
}

impl<T> Drop for StateMut<'_, T> {
    fn drop(&mut self) {
        let Some(mut st) = self.0.take() else { return };
        let let_go = if st.let_go.is_empty() { Vec::new() } else { std::mem::take(&mut st.let_go) };
        let Some(first) = st.woken.take() else {
            drop(st);
            drop(let_go);
            return;
        };
        let more = if st.woken_more.is_empty() { Vec::new() } else { std::mem::take(&mut st.woken_more) };
        drop(st);
        drop(let_go);
        first.wake();
        for w in more {
            w.wake();
        }
    }
}
