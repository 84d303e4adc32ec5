//! [`OnceCell`]: a value set once, possibly by an async initializer.

use std::error::Error;
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::sync::OnceLock;
use std::task::{Poll, Waker};

use parking_lot::Mutex;

use crate::sync::bind::Binding;
use crate::sync::{set_waiter, take_waiter};
use crate::trace::RecordKind;
use crate::Wait;

/// A cell set at most once, shaped like `tokio::sync::OnceCell`.
///
/// [`get_or_init`](OnceCell::get_or_init) runs one initializer at a time: while a task
/// runs its initializer, the others wait ("init on `name`" in a deadlock report); if
/// that initializer is dropped unfinished (its task was aborted, or a `select` dropped
/// it), the next waiter runs its own. [`set`](OnceCell::set) fails while an initializer
/// runs or once the cell is set.
///
/// Named after its creation site (`config.rs:8`), or by an enclosing
/// [`named`](crate::named) scope. Setting the value is traced as `init`;
/// every read and write is part of the step's footprint, so the reduced enumeration
/// orders a `get` against the `set` it may or may not see.
///
/// It works outside a simulation too (nothing recorded), and
/// [`const_new`](OnceCell::const_new) makes one for a `static`, registered in the
/// first simulation that uses it.
pub struct OnceCell<T> {
    bind: Binding,
    value: OnceLock<T>,
    /// The value given to [`OnceCell::const_new_with`] (a `OnceLock` cannot be set in
    /// a constant), moved into `value` at the first use.
    seed: Mutex<Option<T>>,
    state: Mutex<State>,
}

struct State {
    /// A `get_or_init` is running its initializer.
    initializing: bool,
    waiters: Vec<(u64, Waker)>,
    next_key: u64,
}

impl State {
    const fn new() -> State {
        State { initializing: false, waiters: Vec::new(), next_key: 0 }
    }
}

/// Why [`OnceCell::set`] refused a value (it hands the value back).
#[derive(PartialEq, Eq)]
pub enum SetError<T> {
    /// The cell was already set.
    AlreadyInitializedError(T),
    /// An initializer was running.
    InitializingError(T),
}

impl<T> SetError<T> {
    /// Whether the cell was already set.
    pub fn is_already_init_err(&self) -> bool {
        matches!(self, SetError::AlreadyInitializedError(_))
    }

    /// Whether an initializer was running.
    pub fn is_initializing_err(&self) -> bool {
        matches!(self, SetError::InitializingError(_))
    }
}

impl<T> fmt::Display for SetError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetError::AlreadyInitializedError(_) => f.write_str("AlreadyInitializedError"),
            SetError::InitializingError(_) => f.write_str("InitializingError"),
        }
    }
}

impl<T> fmt::Debug for SetError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetError::AlreadyInitializedError(_) => f.write_str("AlreadyInitializedError(..)"),
            SetError::InitializingError(_) => f.write_str("InitializingError(..)"),
        }
    }
}

impl<T> Error for SetError<T> {}

/// Lets the next waiter initialize when the running initializer is dropped unfinished.
struct InitGuard<'a, T> {
    cell: &'a OnceCell<T>,
    armed: bool,
}

impl<T> Drop for InitGuard<'_, T> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        self.cell.bind.touch();
        let waiters = {
            let mut st = self.cell.state.lock();
            st.initializing = false;
            std::mem::take(&mut st.waiters)
        };
        for (_, w) in waiters {
            w.wake();
        }
    }
}

/// Takes a dropped wait off the cell's waiters (its waker dropped after the lock).
struct LeaveWaiters<'a, T> {
    cell: &'a OnceCell<T>,
    key: &'a Mutex<Option<u64>>,
}

impl<T> Drop for LeaveWaiters<'_, T> {
    fn drop(&mut self) {
        let Some(k) = self.key.lock().take() else { return };
        let own = take_waiter(&mut self.cell.state.lock().waiters, k);
        drop(own);
    }
}

impl<T> OnceCell<T> {
    /// An empty cell, named after its creation site.
    #[track_caller]
    pub fn new() -> OnceCell<T> {
        OnceCell {
            bind: Binding::new(None),
            value: OnceLock::new(),
            seed: Mutex::new(None),
            state: Mutex::new(State::new()),
        }
    }

    /// A cell holding `value` if it is `Some`.
    #[track_caller]
    pub fn new_with(value: Option<T>) -> OnceCell<T> {
        let cell = OnceCell::new();
        if let Some(v) = value {
            let _ = cell.value.set(v);
        }
        cell
    }

    /// An empty cell usable in a `static`, named after its creation site and
    /// registered in the first simulation that uses it.
    #[track_caller]
    pub const fn const_new() -> OnceCell<T> {
        OnceCell {
            bind: Binding::unregistered(Location::caller()),
            value: OnceLock::new(),
            seed: Mutex::new(None),
            state: Mutex::new(State::new()),
        }
    }

    /// A cell holding `value` that a `const` or `static` can hold (tokio's
    /// `const_new_with`), named after its creation site and registered in the first
    /// simulation that uses it.
    #[track_caller]
    pub const fn const_new_with(value: T) -> OnceCell<T> {
        OnceCell {
            bind: Binding::unregistered(Location::caller()),
            value: OnceLock::new(),
            seed: Mutex::new(Some(value)),
            state: Mutex::new(State::new()),
        }
    }

    /// The value's slot, with a `const_new_with` value moved in.
    fn slot(&self) -> &OnceLock<T> {
        if self.value.get().is_none() {
            if let Some(v) = self.seed.lock().take() {
                let _ = self.value.set(v);
            }
        }
        &self.value
    }

    /// The value's slot, to change, with a `const_new_with` value moved in.
    fn slot_mut(&mut self) -> &mut OnceLock<T> {
        if let Some(v) = self.seed.get_mut().take() {
            let _ = self.value.set(v);
        }
        &mut self.value
    }

    /// Whether the cell is set.
    pub fn initialized(&self) -> bool {
        self.bind.touch();
        self.slot().get().is_some()
    }

    /// The value, if the cell is set.
    pub fn get(&self) -> Option<&T> {
        self.bind.touch();
        self.slot().get()
    }

    /// The value, if the cell is set (no other task can be initializing it).
    pub fn get_mut(&mut self) -> Option<&mut T> {
        self.bind.touch();
        self.slot_mut().get_mut()
    }

    /// Sets the value.
    ///
    /// # Errors
    /// [`SetError`] with `value` back when the cell is set or an initializer runs.
    pub fn set(&self, value: T) -> Result<(), SetError<T>> {
        self.bind.touch();
        if self.slot().get().is_some() {
            return Err(SetError::AlreadyInitializedError(value));
        }
        if self.state.lock().initializing {
            return Err(SetError::InitializingError(value));
        }
        self.put(value);
        Ok(())
    }

    /// Stores `value` (the cell is empty and no initializer runs) and wakes the waiters.
    fn put(&self, value: T) {
        if self.slot().set(value).is_err() {
            unreachable!("a OnceCell was set twice");
        }
        self.bind.record(RecordKind::Init);
        let waiters = std::mem::take(&mut self.state.lock().waiters);
        for (_, w) in waiters {
            w.wake();
        }
    }

    /// The value, running `f` to set it first when the cell is empty (waiting while
    /// another task's initializer runs).
    pub async fn get_or_init<F, Fut>(&self, f: F) -> &T
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = T>,
    {
        match self.get_or_try_init(|| async { Ok::<T, std::convert::Infallible>(f().await) }).await {
            Ok(value) => value,
            Err(never) => match never {},
        }
    }

    /// The value, running `f` to set it first when the cell is empty; an `Err` from
    /// `f` leaves the cell empty (the next waiter runs its initializer).
    ///
    /// # Errors
    /// The error of `f`.
    pub async fn get_or_try_init<E, F, Fut>(&self, f: F) -> Result<&T, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        if !self.acquire().await {
            return Ok(self.slot().get().expect("the cell is set"));
        }
        let mut guard = InitGuard { cell: self, armed: true };
        let result = f().await;
        match result {
            Ok(value) => {
                guard.armed = false;
                self.bind.touch();
                self.state.lock().initializing = false;
                self.put(value);
                Ok(self.slot().get().expect("the cell was just set"))
            }
            Err(e) => {
                drop(guard);
                Err(e)
            }
        }
    }

    /// Waits until the cell is set (`false`) or this task may initialize it (`true`).
    async fn acquire(&self) -> bool {
        // A wait dropped before it completes leaves the list (`LeaveWaiters`).
        let key = Mutex::new(None);
        let _leave = LeaveWaiters { cell: self, key: &key };
        std::future::poll_fn(|cx| {
            self.bind.touch();
            if self.slot().get().is_some() {
                return Poll::Ready(false);
            }
            let mut st = self.state.lock();
            let mut key = key.lock();
            // Wakers let go are dropped after the lock: their drops may use the cell.
            if !st.initializing {
                st.initializing = true;
                let own = key.take().and_then(|k| take_waiter(&mut st.waiters, k));
                drop(st);
                drop(own);
                return Poll::Ready(true);
            }
            let k = *key.get_or_insert_with(|| {
                st.next_key += 1;
                st.next_key - 1
            });
            let replaced = set_waiter(&mut st.waiters, k, cx.waker());
            drop(st);
            drop(replaced);
            self.bind.wait_on(Wait::Init);
            Poll::Pending
        })
        .await
    }

    /// Waits until the cell is set, by [`set`](OnceCell::set) or another task's
    /// initializer, without ever initializing it (tokio's `SetOnce::wait`). A task
    /// waiting here is reported as "init on `name`". Cancel safe.
    pub async fn wait(&self) -> &T {
        // A wait dropped before it completes leaves the list (`LeaveWaiters`).
        let key = Mutex::new(None);
        let _leave = LeaveWaiters { cell: self, key: &key };
        std::future::poll_fn(|cx| {
            self.bind.touch();
            if let Some(value) = self.slot().get() {
                return Poll::Ready(value);
            }
            let mut st = self.state.lock();
            let mut key = key.lock();
            let k = *key.get_or_insert_with(|| {
                st.next_key += 1;
                st.next_key - 1
            });
            let replaced = set_waiter(&mut st.waiters, k, cx.waker());
            drop(st);
            // Dropped after the lock: a waker's drop may use the cell.
            drop(replaced);
            self.bind.wait_on(Wait::Init);
            Poll::Pending
        })
        .await
    }

    /// Takes the value out, leaving the cell empty.
    pub fn take(&mut self) -> Option<T> {
        self.bind.touch();
        self.slot_mut().take()
    }

    /// The value, if the cell is set.
    pub fn into_inner(mut self) -> Option<T> {
        self.slot_mut().take()
    }
}

impl<T> Default for OnceCell<T> {
    #[track_caller]
    fn default() -> OnceCell<T> {
        OnceCell::new()
    }
}

impl<T: fmt::Debug> fmt::Debug for OnceCell<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnceCell").field("value", &self.slot().get()).finish()
    }
}

impl<T: Clone> Clone for OnceCell<T> {
    #[track_caller]
    fn clone(&self) -> OnceCell<T> {
        OnceCell::new_with(self.get().cloned())
    }
}

impl<T> From<T> for OnceCell<T> {
    #[track_caller]
    fn from(value: T) -> OnceCell<T> {
        OnceCell::new_with(Some(value))
    }
}
