//! [`Notify`]: wakes tasks without a value.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use parking_lot::Mutex;

use crate::select::Selectable;
use crate::sync::bind::Binding;
use crate::trace::RecordKind;
use crate::Wait;

/// Wakes tasks without handing them a value, shaped like `tokio::sync::Notify`.
///
/// Semantics are tokio's:
/// - [`notify_one`](Notify::notify_one) wakes the task that has waited longest (a
///   [`Notified`] future that was polled or [enabled](Notified::enable)); with nobody
///   waiting it stores **one** permit, which the next `notified()` takes at once.
///   [`notify_last`](Notify::notify_last) wakes the newest waiter instead.
/// - [`notify_waiters`](Notify::notify_waiters) wakes every [`Notified`] future created
///   before the call, polled or not, and stores no permit.
/// - A [`Notified`] that was picked by `notify_one` but is dropped before it completes
///   hands its notification on (to the next waiter, else as the permit).
///
/// Every `Notify` is named (its creation site like `worker.rs:17`, or the name of an
/// enclosing [`named`](crate::named) scope) in traces and deadlock reports ("notified on `ready`").
/// Notifications are traced as `notify`, completions as `notified`, and every
/// operation is part of the step's footprint. Wakers are called after the borrow of
/// the `Notify`'s state ends.
///
/// ```
/// use std::sync::Arc;
/// use sim_core::sync::Notify;
/// use sim_core::{spawn, Config, Sim};
///
/// let mut sim = Sim::new(Config::default());
/// sim.block_on(async {
///     let ready = Arc::new(sim_core::named("ready", || Notify::new()));
///     let r = ready.clone();
///     spawn(async move { r.notify_one() });
///     ready.notified().await;
/// })
/// .unwrap();
/// ```
pub struct Notify {
    bind: Binding,
    state: Mutex<State>,
}

struct State {
    /// A `notify_one` with nobody waiting left a permit.
    permit: bool,
    /// Calls of `notify_waiters` so far: a `Notified` created at generation `g`
    /// completes once this passes `g`.
    generation: u64,
    /// Waiting `Notified` futures, oldest first, with their wakers (`None` while
    /// only enabled).
    waiters: Vec<(u64, Option<Waker>)>,
    /// Waiters picked by `notify_one` (`true`: oldest first) or `notify_last`
    /// (`false`) that have not completed yet.
    picked: Vec<(u64, bool)>,
    next_key: u64,
}

/// Where a [`Notified`] future stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// Created, not yet waiting.
    Init,
    /// In the waiters' list under this key.
    Waiting(u64),
    /// Completed.
    Done,
}

impl State {
    const fn new() -> State {
        State { permit: false, generation: 0, waiters: Vec::new(), picked: Vec::new(), next_key: 0 }
    }
}

impl Notify {
    /// A `Notify` without a permit, named after its creation site.
    #[track_caller]
    pub fn new() -> Notify {
        Notify::make(None)
    }

    /// A `Notify` that a `const` or `static` can hold (tokio's `const_new`), named
    /// after its creation site and registered in the first simulation that uses it.
    #[track_caller]
    pub const fn const_new() -> Notify {
        Notify { bind: Binding::unregistered(std::panic::Location::caller()), state: Mutex::new(State::new()) }
    }

    #[track_caller]
    fn make(name: Option<String>) -> Notify {
        Notify { bind: Binding::new(name), state: Mutex::new(State::new()) }
    }

    /// A future that completes when this `Notify` is notified: by a stored permit, a
    /// `notify_one`/`notify_last` that picks it, or a `notify_waiters` called after
    /// this call.
    pub fn notified(&self) -> Notified<'_> {
        Notified { waiter: Waiter::new(self), notify: self }
    }

    /// As [`notified`](Notify::notified), holding an `Arc` of this `Notify` (tokio's
    /// `notified_owned`): the future is `'static`, for a struct or another task.
    pub fn notified_owned(self: Arc<Self>) -> OwnedNotified {
        OwnedNotified { waiter: Waiter::new(&self), notify: self }
    }

    /// Wakes the longest-waiting task, or stores a permit when none waits (at most one).
    pub fn notify_one(&self) {
        self.notify_end(true);
    }

    /// Wakes the most recent waiter, or stores a permit when none waits (at most one).
    pub fn notify_last(&self) {
        self.notify_end(false);
    }

    fn notify_end(&self, oldest: bool) {
        self.touch();
        let waker = {
            let mut st = self.state.lock();
            let waiter = if oldest { (!st.waiters.is_empty()).then(|| st.waiters.remove(0)) } else { st.waiters.pop() };
            match waiter {
                Some((key, waker)) => {
                    st.picked.push((key, oldest));
                    waker
                }
                None => {
                    st.permit = true;
                    None
                }
            }
        };
        self.record(RecordKind::Notify);
        if let Some(w) = waker {
            w.wake();
        }
    }

    /// Wakes every [`Notified`] future created before this call (waiting or not yet
    /// polled). Stores no permit.
    pub fn notify_waiters(&self) {
        self.touch();
        let wakers: Vec<Waker> = {
            let mut st = self.state.lock();
            st.generation += 1;
            st.waiters.drain(..).filter_map(|(_, w)| w).collect()
        };
        self.record(RecordKind::Notify);
        for w in wakers {
            w.wake();
        }
    }

    #[inline]
    fn touch(&self) {
        self.bind.touch();
    }

    fn record(&self, kind: RecordKind) {
        self.bind.record(kind);
    }
}

impl Default for Notify {
    #[track_caller]
    fn default() -> Notify {
        Notify::new()
    }
}

impl fmt::Debug for Notify {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notify").field("id", &self.bind).finish_non_exhaustive()
    }
}

/// Where one waiter of a [`Notify`] stands: shared by [`Notified`] and [`OwnedNotified`].
struct Waiter {
    generation: u64,
    stage: Stage,
}

impl Waiter {
    fn new(notify: &Notify) -> Waiter {
        notify.touch();
        let generation = notify.state.lock().generation;
        Waiter { generation, stage: Stage::Init }
    }

    /// Moves the waiter along: `true` once it is notified (taking a permit or its
    /// pick), else it waits in the list (with `waker`, when given).
    fn advance(&mut self, notify: &Notify, waker: Option<&Waker>) -> bool {
        notify.touch();
        // A waker let go here is dropped after the lock (its drop may use the
        // `Notify`): declared before the guard, it is dropped after it (it is only
        // held for that drop).
        let mut _let_go: Option<Waker> = None;
        let mut st = notify.state.lock();
        match self.stage {
            Stage::Done => true,
            Stage::Init => {
                if st.generation != self.generation || std::mem::take(&mut st.permit) {
                    self.stage = Stage::Done;
                    return true;
                }
                let key = st.next_key;
                st.next_key += 1;
                st.waiters.push((key, waker.cloned()));
                self.stage = Stage::Waiting(key);
                false
            }
            Stage::Waiting(key) => {
                if let Some(pos) = st.picked.iter().position(|(k, _)| *k == key) {
                    st.picked.swap_remove(pos);
                    self.stage = Stage::Done;
                    return true;
                }
                if st.generation != self.generation {
                    _let_go = take_waiter(&mut st.waiters, key);
                    self.stage = Stage::Done;
                    return true;
                }
                if let Some(waker) = waker {
                    if let Some((_, slot)) = st.waiters.iter_mut().find(|(k, _)| *k == key) {
                        match slot {
                            Some(w) if w.will_wake(waker) => {}
                            slot => _let_go = slot.replace(waker.clone()),
                        }
                    }
                }
                false
            }
        }
    }

    fn poll(&mut self, notify: &Notify, cx: &mut Context<'_>) -> Poll<()> {
        let was_done = self.stage == Stage::Done;
        if self.advance(notify, Some(cx.waker())) {
            if !was_done {
                notify.record(RecordKind::Notified);
            }
            return Poll::Ready(());
        }
        notify.bind.wait_on(Wait::Notified);
        Poll::Pending
    }

    fn is_ready(&self, notify: &Notify) -> bool {
        notify.touch();
        let st = notify.state.lock();
        match self.stage {
            Stage::Done => true,
            Stage::Init => st.generation != self.generation || st.permit,
            Stage::Waiting(key) => st.generation != self.generation || st.picked.iter().any(|(k, _)| *k == key),
        }
    }

    /// The waiter's future is dropped: it leaves the list, and a notification it was
    /// picked for but never took goes on.
    fn leave(&mut self, notify: &Notify) {
        let Stage::Waiting(key) = self.stage else { return };
        notify.touch();
        let (own, handed_on) = {
            let mut st = notify.state.lock();
            let own = take_waiter(&mut st.waiters, key);
            (own, st.picked.iter().position(|(k, _)| *k == key).map(|pos| st.picked.swap_remove(pos).1))
        };
        // Dropped after the lock: a waker's drop may use the `Notify`.
        drop(own);
        // Picked but never completed: the notification goes to the next waiter, picked
        // the same way (as tokio's: the oldest after `notify_one`, the newest after
        // `notify_last`).
        if let Some(oldest) = handed_on {
            notify.notify_end(oldest);
        }
    }
}

/// Removes waiter `key`, keeping the others' order; its waker (if it had one yet) is
/// for the caller to drop after the lock.
fn take_waiter(waiters: &mut Vec<(u64, Option<Waker>)>, key: u64) -> Option<Waker> {
    let index = waiters.iter().position(|(k, _)| *k == key)?;
    waiters.remove(index).1
}

/// The future of [`Notify::notified`]. It is [`Selectable`]: ready when a poll
/// would complete it (it was picked, a permit is stored, or `notify_waiters` ran
/// since it was created).
#[must_use = "futures do nothing unless awaited"]
pub struct Notified<'a> {
    notify: &'a Notify,
    waiter: Waiter,
}

impl Notified<'_> {
    /// Joins the waiters' list without a waker, so that a `notify_one` from now on
    /// can pick this future even before it is polled. Returns whether it is already
    /// notified (a later poll then completes at once).
    pub fn enable(self: Pin<&mut Self>) -> bool {
        let this = self.get_mut();
        this.waiter.advance(this.notify, None)
    }
}

impl Future for Notified<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        this.waiter.poll(this.notify, cx)
    }
}

impl Selectable for Notified<'_> {
    fn is_ready(&self) -> bool {
        self.waiter.is_ready(self.notify)
    }
}

impl Drop for Notified<'_> {
    fn drop(&mut self) {
        self.waiter.leave(self.notify);
    }
}

impl fmt::Debug for Notified<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notified").field("notify", &self.notify.bind).finish_non_exhaustive()
    }
}

/// The future of [`Notify::notified_owned`] (tokio's `OwnedNotified`): a [`Notified`]
/// that holds an `Arc` of its `Notify` instead of borrowing it, so it can be stored
/// in a struct or moved into a task. Same rules, records and reports as [`Notified`].
#[must_use = "futures do nothing unless awaited"]
pub struct OwnedNotified {
    notify: Arc<Notify>,
    waiter: Waiter,
}

impl OwnedNotified {
    /// As [`Notified::enable`].
    pub fn enable(self: Pin<&mut Self>) -> bool {
        let this = self.get_mut();
        this.waiter.advance(&this.notify, None)
    }
}

impl Future for OwnedNotified {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        this.waiter.poll(&this.notify, cx)
    }
}

impl Selectable for OwnedNotified {
    fn is_ready(&self) -> bool {
        self.waiter.is_ready(&self.notify)
    }
}

impl Drop for OwnedNotified {
    fn drop(&mut self) {
        self.waiter.leave(&self.notify);
    }
}

impl fmt::Debug for OwnedNotified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedNotified").field("notify", &self.notify.bind).finish_non_exhaustive()
    }
}
