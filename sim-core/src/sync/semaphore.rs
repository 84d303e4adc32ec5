//! [`Semaphore`]: a fair (first come, first served) counting semaphore shaped like
//! `tokio::sync::Semaphore`; the base of [`Mutex`](super::Mutex) and
//! [`RwLock`](super::RwLock), as in tokio.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use parking_lot::Mutex;

use crate::sync::bind::Binding;
use crate::sync::block_on;
use crate::trace::RecordKind;
use crate::{ChannelId, Wait};

/// Why [`Semaphore::try_acquire`] (and the locks' `try_*`) got nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TryAcquireError {
    /// The semaphore was closed.
    Closed,
    /// Not enough permits now (or others wait first).
    NoPermits,
}

impl fmt::Display for TryAcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryAcquireError::Closed => f.write_str("semaphore closed"),
            TryAcquireError::NoPermits => f.write_str("no permits available"),
        }
    }
}

impl std::error::Error for TryAcquireError {}

/// The semaphore was closed before (or while) an acquire waited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AcquireError(());

impl fmt::Display for AcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("semaphore closed")
    }
}

impl std::error::Error for AcquireError {}

/// A counting semaphore, shaped like `tokio::sync::Semaphore`.
///
/// Semantics are tokio's: waiters are served strictly first come, first served
/// (a waiter that needs 3 permits holds up one behind it that needs 1, and freed
/// permits are set aside for the first waiter until it has all it needs);
/// [`close`](Semaphore::close) fails every waiting and later acquire; dropping a
/// permit returns its permits, [`SemaphorePermit::forget`] keeps them out.
///
/// Every semaphore is named (its creation site like `pool.rs:9`, or the name of an
/// enclosing [`named`](crate::named) scope) in traces
/// and deadlock reports ("acquire 2 on `pool`"). Acquisitions are traced as
/// `acquire`, returns as `release`, `close` as `close`; every operation is part of
/// the step's footprint. Wakers are called after the state's lock is released.
pub struct Semaphore {
    bind: Binding,
    state: Mutex<State>,
}

struct State {
    permits: usize,
    closed: bool,
    /// Waiting acquires, oldest first.
    waiters: VecDeque<Waiter>,
    /// Acquires that were given all their permits and have not been polled since.
    granted: Vec<u64>,
    next_key: u64,
}

struct Waiter {
    key: u64,
    needed: usize,
    /// Permits set aside for it so far.
    assigned: usize,
    waker: Option<Waker>,
}

impl State {
    const fn new(permits: usize) -> State {
        State { permits, closed: false, waiters: VecDeque::new(), granted: Vec::new(), next_key: 0 }
    }

    /// Hands `n` permits to the waiters in order, the rest to the pool; returns the
    /// wakers of the waiters now served.
    fn release(&mut self, mut n: usize, woken: &mut Vec<Waker>) {
        if !self.closed {
            while n > 0 {
                let Some(head) = self.waiters.front_mut() else { break };
                let give = n.min(head.needed - head.assigned);
                head.assigned += give;
                n -= give;
                if head.assigned < head.needed {
                    break;
                }
                let head = self.waiters.pop_front().expect("just seen");
                self.granted.push(head.key);
                woken.extend(head.waker);
            }
        }
        self.permits += n;
        assert!(self.permits <= Semaphore::MAX_PERMITS, "a semaphore cannot hold more than MAX_PERMITS permits");
    }
}

/// Where an acquire stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    Init,
    Waiting(u64),
    Done,
}

fn wake_all(woken: Vec<Waker>) {
    for w in woken {
        w.wake();
    }
}

impl Semaphore {
    /// The most permits a semaphore holds (tokio's value).
    pub const MAX_PERMITS: usize = usize::MAX >> 3;

    /// A semaphore with `permits` permits, named after its creation site.
    ///
    /// # Panics
    /// When `permits` exceeds [`MAX_PERMITS`](Semaphore::MAX_PERMITS).
    #[track_caller]
    pub fn new(permits: usize) -> Semaphore {
        Semaphore::make(None, permits, Location::caller())
    }

    /// A semaphore with `permits` permits that a `const` or `static` can hold (tokio's
    /// `const_new`): named after its creation site, and registered in the first
    /// simulation that uses it (a `static` used by two simulations, two seeds of a
    /// check say, stops the second's run with an escape: its state would leak from
    /// one run into the other).
    ///
    /// # Panics
    /// When `permits` exceeds [`MAX_PERMITS`](Semaphore::MAX_PERMITS).
    #[track_caller]
    pub const fn const_new(permits: usize) -> Semaphore {
        assert!(permits <= Semaphore::MAX_PERMITS, "a semaphore may not have more than MAX_PERMITS permits");
        Semaphore { bind: Binding::unregistered(Location::caller()), state: Mutex::new(State::new(permits)) }
    }

    pub(crate) fn make(name: Option<String>, permits: usize, at: &'static Location<'static>) -> Semaphore {
        assert!(
            permits <= Semaphore::MAX_PERMITS,
            "a semaphore may not have more than MAX_PERMITS permits ({permits})"
        );
        Semaphore { bind: Binding::at(name, at), state: Mutex::new(State::new(permits)) }
    }

    /// Permits available now.
    pub fn available_permits(&self) -> usize {
        self.bind.touch();
        self.state.lock().permits
    }

    /// Adds `n` permits, serving waiters first come, first served.
    ///
    /// # Panics
    /// When the total would exceed [`MAX_PERMITS`](Semaphore::MAX_PERMITS).
    pub fn add_permits(&self, n: usize) {
        self.release(n);
    }

    /// Removes up to `n` available permits; returns how many were removed.
    pub fn forget_permits(&self, n: usize) -> usize {
        self.bind.touch();
        let mut st = self.state.lock();
        let taken = st.permits.min(n);
        st.permits -= taken;
        taken
    }

    /// Closes the semaphore: waiting acquires fail, and so does every later one.
    /// Permits held stay valid and return on drop.
    pub fn close(&self) {
        self.bind.touch();
        let woken: Vec<Waker> = {
            let mut st = self.state.lock();
            if st.closed {
                return;
            }
            st.closed = true;
            let back: usize = st.waiters.iter().map(|w| w.assigned).sum();
            let woken = st.waiters.drain(..).filter_map(|w| w.waker).collect();
            st.permits += back;
            woken
        };
        self.bind.record(RecordKind::Close);
        wake_all(woken);
    }

    /// Whether [`close`](Semaphore::close) was called.
    pub fn is_closed(&self) -> bool {
        self.bind.touch();
        self.state.lock().closed
    }

    /// Waits for one permit.
    ///
    /// # Errors
    /// [`AcquireError`] when the semaphore is closed, before or while waiting.
    pub async fn acquire(&self) -> Result<SemaphorePermit<'_>, AcquireError> {
        self.acquire_many(1).await
    }

    /// Waits for `n` permits, all at once.
    ///
    /// # Errors
    /// [`AcquireError`] when the semaphore is closed, before or while waiting.
    pub async fn acquire_many(&self, n: u32) -> Result<SemaphorePermit<'_>, AcquireError> {
        self.acquire_raw(n, Wait::Acquire).await?;
        Ok(SemaphorePermit { sem: self, permits: n as usize })
    }

    /// Takes one permit if one is available now.
    ///
    /// # Errors
    /// [`TryAcquireError::NoPermits`] or [`TryAcquireError::Closed`].
    pub fn try_acquire(&self) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.try_acquire_many(1)
    }

    /// Takes `n` permits if they are available now.
    ///
    /// # Errors
    /// [`TryAcquireError::NoPermits`] or [`TryAcquireError::Closed`].
    pub fn try_acquire_many(&self, n: u32) -> Result<SemaphorePermit<'_>, TryAcquireError> {
        self.try_acquire_raw(n)?;
        Ok(SemaphorePermit { sem: self, permits: n as usize })
    }

    /// Waits for one permit, held by a permit that owns the semaphore.
    ///
    /// # Errors
    /// [`AcquireError`] when the semaphore is closed, before or while waiting.
    pub async fn acquire_owned(self: Arc<Self>) -> Result<OwnedSemaphorePermit, AcquireError> {
        self.acquire_many_owned(1).await
    }

    /// Waits for `n` permits, held by a permit that owns the semaphore.
    ///
    /// # Errors
    /// [`AcquireError`] when the semaphore is closed, before or while waiting.
    pub async fn acquire_many_owned(self: Arc<Self>, n: u32) -> Result<OwnedSemaphorePermit, AcquireError> {
        self.acquire_raw(n, Wait::Acquire).await?;
        Ok(OwnedSemaphorePermit { sem: self, permits: n as usize })
    }

    /// Takes one permit now, held by a permit that owns the semaphore.
    ///
    /// # Errors
    /// [`TryAcquireError::NoPermits`] or [`TryAcquireError::Closed`].
    pub fn try_acquire_owned(self: Arc<Self>) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        self.try_acquire_many_owned(1)
    }

    /// Takes `n` permits now, held by a permit that owns the semaphore.
    ///
    /// # Errors
    /// [`TryAcquireError::NoPermits`] or [`TryAcquireError::Closed`].
    pub fn try_acquire_many_owned(self: Arc<Self>, n: u32) -> Result<OwnedSemaphorePermit, TryAcquireError> {
        self.try_acquire_raw(n)?;
        Ok(OwnedSemaphorePermit { sem: self, permits: n as usize })
    }

    /// tokio's thread-blocking acquire of one permit: outside any simulation it
    /// parks the thread until a permit is free, as tokio's; inside one it panics with
    /// tokio's "Cannot block the current thread from within a runtime" (a simulated
    /// task's thread drives the simulation).
    ///
    /// # Errors
    /// [`AcquireError`] when the semaphore is closed.
    ///
    /// # Panics
    /// Inside a simulation.
    #[track_caller]
    pub fn blocking_acquire(&self) -> Result<SemaphorePermit<'_>, AcquireError> {
        block_on("Semaphore::blocking_acquire", || self.name(), self.acquire())
    }

    /// tokio's thread-blocking acquire of `n` permits (see [`blocking_acquire`](Semaphore::blocking_acquire)).
    ///
    /// # Errors
    /// [`AcquireError`] when the semaphore is closed.
    ///
    /// # Panics
    /// Inside a simulation.
    #[track_caller]
    pub fn blocking_acquire_many(&self, n: u32) -> Result<SemaphorePermit<'_>, AcquireError> {
        block_on("Semaphore::blocking_acquire_many", || self.name(), self.acquire_many(n))
    }

    /// tokio's thread-blocking owned acquire (see [`blocking_acquire`](Semaphore::blocking_acquire)).
    ///
    /// # Errors
    /// [`AcquireError`] when the semaphore is closed.
    ///
    /// # Panics
    /// Inside a simulation.
    #[track_caller]
    pub fn blocking_acquire_owned(self: Arc<Self>) -> Result<OwnedSemaphorePermit, AcquireError> {
        let name = self.name();
        block_on("Semaphore::blocking_acquire_owned", || name, self.acquire_owned())
    }

    /// tokio's thread-blocking owned acquire of `n` permits (see
    /// [`blocking_acquire`](Semaphore::blocking_acquire)).
    ///
    /// # Errors
    /// [`AcquireError`] when the semaphore is closed.
    ///
    /// # Panics
    /// Inside a simulation.
    #[track_caller]
    pub fn blocking_acquire_many_owned(self: Arc<Self>, n: u32) -> Result<OwnedSemaphorePermit, AcquireError> {
        let name = self.name();
        block_on("Semaphore::blocking_acquire_many_owned", || name, self.acquire_many_owned(n))
    }

    // ---- the raw operations the locks share ----

    /// Waits for `n` permits; `wait` says what a blocked task waits on.
    pub(crate) fn acquire_raw(&self, n: u32, wait: fn(ChannelId, u32) -> Wait) -> AcquireRaw<'_> {
        AcquireRaw { sem: self, n, wait, stage: Stage::Init }
    }

    pub(crate) fn try_acquire_raw(&self, n: u32) -> Result<(), TryAcquireError> {
        self.bind.touch();
        {
            let mut st = self.state.lock();
            if st.closed {
                return Err(TryAcquireError::Closed);
            }
            if st.permits < n as usize {
                return Err(TryAcquireError::NoPermits);
            }
            st.permits -= n as usize;
        }
        self.bind.record(RecordKind::Acquire);
        Ok(())
    }

    /// Returns `n` permits (a permit or guard dropped), serving waiters first.
    pub(crate) fn release(&self, n: usize) {
        if n == 0 {
            return;
        }
        self.bind.touch();
        let mut woken = Vec::new();
        self.state.lock().release(n, &mut woken);
        self.bind.record(RecordKind::Release);
        wake_all(woken);
    }

    /// The name this semaphore (or lock) has in traces.
    pub(crate) fn name(&self) -> String {
        self.bind.name()
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let permits = self.state.lock().permits;
        f.debug_struct("Semaphore").field("id", &self.bind).field("permits", &permits).finish()
    }
}

/// Waits for permits; leaves the queue (returning what was set aside) when dropped.
pub(crate) struct AcquireRaw<'a> {
    sem: &'a Semaphore,
    n: u32,
    wait: fn(ChannelId, u32) -> Wait,
    stage: Stage,
}

impl Future for AcquireRaw<'_> {
    type Output = Result<(), AcquireError>;

    /// As tokio's: the permits are taken first (or the acquire queues), then one
    /// unit of the task's cooperative budget is spent; with the budget spent, the
    /// permits stay set aside for this acquire (returned if it is dropped) and it
    /// yields, completing at its next poll.
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let sem = this.sem;
        let n = this.n as usize;
        sem.bind.touch();
        // A waker let go here is dropped after the lock (its drop may use the
        // semaphore): declared before the guard, it is dropped after it (it is only
        // held for that drop).
        let mut _replaced: Option<Waker> = None;
        let mut st = sem.state.lock();
        let key = match this.stage {
            Stage::Done => panic!("an acquire polled after it completed"),
            Stage::Init => {
                if st.closed {
                    this.stage = Stage::Done;
                    return Poll::Ready(Err(AcquireError(())));
                }
                if st.waiters.is_empty() && st.permits >= n {
                    st.permits -= n;
                    let key = st.next_key;
                    st.next_key += 1;
                    Some(key)
                } else {
                    let assigned = if st.waiters.is_empty() { st.permits.min(n) } else { 0 };
                    st.permits -= assigned;
                    let key = st.next_key;
                    st.next_key += 1;
                    st.waiters.push_back(Waiter { key, needed: n, assigned, waker: Some(cx.waker().clone()) });
                    this.stage = Stage::Waiting(key);
                    None
                }
            }
            Stage::Waiting(key) => {
                if let Some(pos) = st.granted.iter().position(|k| *k == key) {
                    st.granted.swap_remove(pos);
                    Some(key)
                } else if st.closed {
                    this.stage = Stage::Done;
                    return Poll::Ready(Err(AcquireError(())));
                } else {
                    if let Some(w) = st.waiters.iter_mut().find(|w| w.key == key) {
                        match &mut w.waker {
                            Some(old) if old.will_wake(cx.waker()) => {}
                            slot => _replaced = slot.replace(cx.waker().clone()),
                        }
                    }
                    None
                }
            }
        };
        if let Some(key) = key {
            if crate::coop::has_budget_remaining() {
                drop(st);
                if let Poll::Ready(restore) = crate::coop::poll_proceed(cx) {
                    restore.made_progress();
                }
                this.stage = Stage::Done;
                sem.bind.record(RecordKind::Acquire);
                return Poll::Ready(Ok(()));
            }
            // Budget spent: hold the permits, and run again after the others.
            st.granted.push(key);
            this.stage = Stage::Waiting(key);
            drop(st);
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        drop(st);
        let wait = this.wait;
        let permits = this.n;
        sem.bind.wait_on(|id| wait(id, permits));
        Poll::Pending
    }
}

impl Drop for AcquireRaw<'_> {
    fn drop(&mut self) {
        let Stage::Waiting(key) = self.stage else { return };
        let sem = self.sem;
        sem.bind.touch();
        let mut woken = Vec::new();
        // Its own waker is dropped after the lock: a waker's drop may use the semaphore.
        let mut own = None;
        {
            let mut st = sem.state.lock();
            let back = if let Some(pos) = st.granted.iter().position(|k| *k == key) {
                st.granted.swap_remove(pos);
                self.n as usize
            } else if let Some(waiter) =
                st.waiters.iter().position(|w| w.key == key).and_then(|pos| st.waiters.remove(pos))
            {
                own = waiter.waker;
                waiter.assigned
            } else {
                0
            };
            if back > 0 {
                st.release(back, &mut woken);
            }
        }
        drop(own);
        wake_all(woken);
    }
}

/// Permits held from a [`Semaphore`]; dropping it returns them.
#[must_use = "dropping a permit returns its permits at once"]
pub struct SemaphorePermit<'a> {
    sem: &'a Semaphore,
    permits: usize,
}

impl<'a> SemaphorePermit<'a> {
    /// The semaphore the permits come from.
    pub fn semaphore(&self) -> &'a Semaphore {
        self.sem
    }

    /// Keeps the permits out of the semaphore for good.
    pub fn forget(mut self) {
        self.permits = 0;
    }

    /// How many permits it holds.
    pub fn num_permits(&self) -> usize {
        self.permits
    }

    /// Takes `other`'s permits into this one.
    ///
    /// # Panics
    /// When they come from different semaphores.
    pub fn merge(&mut self, mut other: SemaphorePermit<'a>) {
        assert!(std::ptr::eq(self.sem, other.sem), "merging permits from different semaphores");
        self.permits += std::mem::take(&mut other.permits);
    }

    /// Splits `n` permits off into a new permit; `None` when it holds fewer.
    pub fn split(&mut self, n: usize) -> Option<SemaphorePermit<'a>> {
        let n = Some(n).filter(|n| *n <= self.permits)?;
        self.permits -= n;
        Some(SemaphorePermit { sem: self.sem, permits: n })
    }
}

impl Drop for SemaphorePermit<'_> {
    fn drop(&mut self) {
        self.sem.release(self.permits);
    }
}

impl fmt::Debug for SemaphorePermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphorePermit").field("sem", &self.sem.bind).field("permits", &self.permits).finish()
    }
}

/// Permits held from a [`Semaphore`] the permit owns (an `Arc`); dropping it
/// returns them.
#[must_use = "dropping a permit returns its permits at once"]
pub struct OwnedSemaphorePermit {
    sem: Arc<Semaphore>,
    permits: usize,
}

impl OwnedSemaphorePermit {
    /// Keeps the permits out of the semaphore for good.
    pub fn forget(mut self) {
        self.permits = 0;
    }

    /// How many permits it holds.
    pub fn num_permits(&self) -> usize {
        self.permits
    }

    /// The semaphore the permits come from.
    pub fn semaphore(&self) -> &Arc<Semaphore> {
        &self.sem
    }

    /// Takes `other`'s permits into this one.
    ///
    /// # Panics
    /// When they come from different semaphores.
    pub fn merge(&mut self, mut other: OwnedSemaphorePermit) {
        assert!(Arc::ptr_eq(&self.sem, &other.sem), "merging permits from different semaphores");
        self.permits += std::mem::take(&mut other.permits);
    }

    /// Splits `n` permits off into a new permit; `None` when it holds fewer.
    pub fn split(&mut self, n: usize) -> Option<OwnedSemaphorePermit> {
        let n = Some(n).filter(|n| *n <= self.permits)?;
        self.permits -= n;
        Some(OwnedSemaphorePermit { sem: self.sem.clone(), permits: n })
    }
}

impl Drop for OwnedSemaphorePermit {
    fn drop(&mut self) {
        self.sem.release(self.permits);
    }
}

impl fmt::Debug for OwnedSemaphorePermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedSemaphorePermit").field("sem", &self.sem.bind).field("permits", &self.permits).finish()
    }
}
