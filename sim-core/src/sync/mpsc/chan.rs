//! The state one mpsc channel's senders and receiver share.
//!
//! A message is either *buffered* (visible to `recv`) or *in flight* (sent on a
//! channel with a latency, waiting for its `Deliver` event). A bounded channel's
//! capacity counts both, plus the slots granted to woken senders that have not
//! used them yet. Senders blocked on a full channel wait in FIFO order: a freed
//! slot is granted to the first waiter before anyone else can take it, so the
//! order in which blocked senders get through never depends on who polls first.

use std::cell::{Ref, RefCell, RefMut};
use std::collections::VecDeque;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use crate::context::Handle;
use crate::core::Deliver;
use crate::footprint::Access;
use crate::time::Instant;
use crate::trace::RecordKind;
use crate::{ChannelId, Wait};

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
    pub(super) id: ChannelId,
    handle: Handle,
    bound: Option<usize>,
    latency: Option<Duration>,
    state: RefCell<State<T>>,
}

struct State<T> {
    buffer: VecDeque<T>,
    in_flight: VecDeque<(Instant, T)>,
    senders: usize,
    rx_closed: bool,
    close_recorded: bool,
    rx_waker: Option<Waker>,
    waiters: VecDeque<(u64, Waker)>,
    granted: Vec<u64>,
    next_key: u64,
}

impl<T> State<T> {
    /// Messages and granted slots counted against a bound.
    fn used(&self) -> usize {
        self.buffer.len() + self.in_flight.len() + self.granted.len()
    }

    fn is_closed(&self) -> bool {
        self.rx_closed || self.senders == 0
    }

    /// Closed, and no message will ever arrive again.
    fn is_finished(&self) -> bool {
        self.is_closed() && self.buffer.is_empty() && self.in_flight.is_empty()
    }
}

impl<T> Chan<T> {
    /// A channel with one sender, registered on the simulation under `name` (or a
    /// default `mpsc-N` name).
    pub(super) fn new(handle: Handle, name: Option<String>, bound: Option<usize>) -> Rc<Chan<T>> {
        let id = handle.core.borrow_mut().register_channel(name, "mpsc");
        Rc::new(Chan {
            id,
            handle,
            bound,
            latency: None,
            state: RefCell::new(State {
                buffer: VecDeque::new(),
                in_flight: VecDeque::new(),
                senders: 1,
                rx_closed: false,
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
    pub(super) fn with_latency(
        handle: Handle,
        name: Option<String>,
        bound: Option<usize>,
        latency: Option<Duration>,
    ) -> Rc<Chan<T>>
    where
        T: 'static,
    {
        let mut chan = Chan::new(handle, name, bound);
        if latency.is_some() {
            Rc::get_mut(&mut chan).expect("just created").latency = latency;
            let target: Weak<dyn Deliver> = Rc::downgrade(&chan) as Weak<dyn Deliver>;
            chan.handle.core.borrow_mut().set_deliver_target(chan.id, target);
        }
        chan
    }

    /// The shared state, to change; the running step's footprint notes the channel.
    fn state(&self) -> RefMut<'_, State<T>> {
        self.touch();
        self.state.borrow_mut()
    }

    /// The shared state, to read; the running step's footprint notes the channel.
    fn read(&self) -> Ref<'_, State<T>> {
        self.touch();
        self.state.borrow()
    }

    #[inline]
    fn touch(&self) {
        self.handle.touch(Access::Channel(self.id));
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
                    w.wake();
                }
            }
            self.record_close(&mut st);
        }
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
        let mut st = self.state();
        if st.rx_closed {
            self.forget(&mut st, slot);
            return Poll::Ready(Err(value.take().expect("send polled after completion")));
        }
        let go = match *slot {
            SendSlot::Waiting(key) => take_grant(&mut st, key),
            SendSlot::Idle => self.has_room(&st),
        };
        if go {
            *slot = SendSlot::Idle;
            self.deposit(&mut st, value.take().expect("send polled after completion"));
            return Poll::Ready(Ok(()));
        }
        match *slot {
            SendSlot::Idle => {
                let key = st.next_key;
                st.next_key += 1;
                st.waiters.push_back((key, cx.waker().clone()));
                *slot = SendSlot::Waiting(key);
            }
            SendSlot::Waiting(key) => {
                if let Some((_, w)) = st.waiters.iter_mut().find(|(k, _)| *k == key) {
                    w.clone_from(cx.waker());
                }
            }
        }
        drop(st);
        self.handle.core.borrow_mut().wait_on(Wait::Send(self.id));
        Poll::Pending
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
        } else if let Some(pos) = st.waiters.iter().position(|(k, _)| *k == key) {
            st.waiters.remove(pos);
        }
    }

    /// Grants free slots to waiting senders, first come first served.
    fn grant_waiters(&self, st: &mut State<T>) {
        let Some(bound) = self.bound else { return };
        while !st.rx_closed && st.used() < bound {
            let Some((key, waker)) = st.waiters.pop_front() else { return };
            st.granted.push(key);
            waker.wake();
        }
    }

    /// Puts a message in the buffer (waking the receiver), or in flight when the
    /// channel has a latency; records the send.
    fn deposit(&self, st: &mut State<T>, value: T) {
        let mut core = self.handle.core.borrow_mut();
        match self.latency {
            None => {
                st.buffer.push_back(value);
                if let Some(w) = st.rx_waker.take() {
                    w.wake();
                }
            }
            Some(latency) => {
                let due = core.now().saturating_add(latency);
                let head = st.in_flight.is_empty();
                st.in_flight.push_back((due, value));
                if head {
                    core.schedule_delivery(self.id, due);
                }
            }
        }
        core.record_channel(RecordKind::Send, self.id);
    }

    fn record_close(&self, st: &mut State<T>) {
        if !st.close_recorded {
            st.close_recorded = true;
            self.handle.core.borrow_mut().record_channel(RecordKind::Close, self.id);
        }
    }

    // ---- the receiver ----

    /// Takes the oldest buffered message, freeing its slot for the first waiting sender.
    fn take(&self, st: &mut State<T>) -> Option<T> {
        let value = st.buffer.pop_front()?;
        self.grant_waiters(st);
        self.handle.core.borrow_mut().record_channel(RecordKind::Recv, self.id);
        Some(value)
    }

    pub(super) fn poll_recv(&self, cx: &Context<'_>) -> Poll<Option<T>> {
        let mut st = self.state();
        if let Some(value) = self.take(&mut st) {
            return Poll::Ready(Some(value));
        }
        if st.is_finished() {
            return Poll::Ready(None);
        }
        match &mut st.rx_waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            slot => *slot = Some(cx.waker().clone()),
        }
        drop(st);
        self.handle.core.borrow_mut().wait_on(Wait::Recv(self.id));
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
        st.granted.clear();
        for (_, waker) in std::mem::take(&mut st.waiters) {
            waker.wake();
        }
        self.record_close(&mut st);
    }

    /// The receiver went away: close, and drop every message (outside the borrow,
    /// since a message's destructor may touch this channel).
    pub(super) fn drop_rx(&self) {
        self.close_rx();
        let (buffer, in_flight) = {
            let mut st = self.state();
            st.rx_waker = None;
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
                w.wake();
            }
        }
        st.in_flight.front().map(|(due, _)| *due)
    }
}
