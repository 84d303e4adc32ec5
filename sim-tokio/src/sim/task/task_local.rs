//! `task_local!` under simulation: a value that belongs to a future (a task, or
//! part of one), put in place around each of its polls and taken out after.
//!
//! The value lives in the [`TaskLocalFuture`] between polls and in a thread-local
//! slot during them, so it follows the future across polls, whatever other tasks run
//! in between: the same code gives the same values in every order the simulation
//! explores.

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Declares task-local keys: `static NAME: Type;`, one or more, each with its
/// attributes and visibility (as `tokio::task_local!`). Each is a
/// [`LocalKey`](crate::task::LocalKey), given a value for the span of a future by
/// [`scope`](crate::task::LocalKey::scope) or of a closure by
/// [`sync_scope`](crate::task::LocalKey::sync_scope).
///
/// ```
/// # #[cfg(lockstep)] {
/// sim_tokio::task_local! {
///     static REQUEST: u32;
/// }
/// let seen = REQUEST.sync_scope(7, || REQUEST.get());
/// assert_eq!(seen, 7);
/// assert!(REQUEST.try_with(|r| *r).is_err());
/// # }
/// ```
#[macro_export]
macro_rules! task_local {
    () => {};
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty; $($rest:tt)*) => {
        $crate::__task_local_inner!($(#[$attr])* $vis $name, $t);
        $crate::task_local!($($rest)*);
    };
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty) => {
        $crate::__task_local_inner!($(#[$attr])* $vis $name, $t);
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __task_local_inner {
    ($(#[$attr:meta])* $vis:vis $name:ident, $t:ty) => {
        $(#[$attr])*
        $vis static $name: $crate::task::LocalKey<$t> = {
            ::std::thread_local! {
                static __LOCKSTEP_TASK_LOCAL: ::std::cell::RefCell<::std::option::Option<$t>> =
                    const { ::std::cell::RefCell::new(::std::option::Option::None) };
            }
            $crate::task::LocalKey::__new(__LOCKSTEP_TASK_LOCAL)
        };
    };
}

/// A task-local key, declared with [`task_local!`](crate::task_local).
pub struct LocalKey<T: 'static> {
    slot: std::thread::LocalKey<RefCell<Option<T>>>,
}

impl<T: 'static> LocalKey<T> {
    #[doc(hidden)]
    pub const fn __new(slot: std::thread::LocalKey<RefCell<Option<T>>>) -> LocalKey<T> {
        LocalKey { slot }
    }

    /// Runs `future` with the key set to `value` during each of its polls (and
    /// while it is dropped).
    pub fn scope<F: Future>(&'static self, value: T, future: F) -> TaskLocalFuture<T, F> {
        TaskLocalFuture { key: self, value: Some(value), future: Some(future) }
    }

    /// Runs `f` with the key set to `value`.
    ///
    /// # Panics
    /// When called inside [`with`](LocalKey::with) on the same key.
    #[track_caller]
    pub fn sync_scope<F: FnOnce() -> R, R>(&'static self, value: T, f: F) -> R {
        let mut value = Some(value);
        match self.swapped(&mut value, f) {
            Ok(r) => r,
            Err(e) => e.panic(),
        }
    }

    /// Puts `value` into the slot, runs `f`, and puts the slot's value back into
    /// `value` (also when `f` panics).
    fn swapped<R>(&'static self, value: &mut Option<T>, f: impl FnOnce() -> R) -> Result<R, ScopeError> {
        struct Restore<'a, T: 'static> {
            key: &'static LocalKey<T>,
            value: &'a mut Option<T>,
        }
        impl<T: 'static> Drop for Restore<'_, T> {
            fn drop(&mut self) {
                self.key.slot.with(|slot| std::mem::swap(&mut *slot.borrow_mut(), self.value));
            }
        }
        self.slot
            .try_with(|slot| slot.try_borrow_mut().map(|mut s| std::mem::swap(&mut *s, value)))
            .map_err(|_| ScopeError::Destroyed)?
            .map_err(|_| ScopeError::Borrowed)?;
        let restore = Restore { key: self, value };
        let r = f();
        drop(restore);
        Ok(r)
    }

    /// Calls `f` with a reference to the key's value.
    ///
    /// # Panics
    /// When the key is not set in the running scope.
    #[track_caller]
    pub fn with<F: FnOnce(&T) -> R, R>(&'static self, f: F) -> R {
        match self.try_with(f) {
            Ok(r) => r,
            Err(_) => panic!("cannot access a task-local storage value without setting it first"),
        }
    }

    /// Calls `f` with a reference to the key's value.
    ///
    /// # Errors
    /// [`AccessError`] when the key is not set in the running scope.
    pub fn try_with<F: FnOnce(&T) -> R, R>(&'static self, f: F) -> Result<R, AccessError> {
        self.slot
            .try_with(|slot| {
                let slot = slot.try_borrow().map_err(|_| AccessError(()))?;
                slot.as_ref().map(f).ok_or(AccessError(()))
            })
            .unwrap_or(Err(AccessError(())))
    }

    /// A copy of the key's value.
    ///
    /// # Panics
    /// When the key is not set in the running scope.
    #[track_caller]
    pub fn get(&'static self) -> T
    where
        T: Clone,
    {
        self.with(T::clone)
    }
}

impl<T: 'static> fmt::Debug for LocalKey<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad("LocalKey { .. }")
    }
}

/// Why a scope could not be entered.
enum ScopeError {
    /// The slot is borrowed (a scope entered inside `with`).
    Borrowed,
    /// The thread is shutting down.
    Destroyed,
}

impl ScopeError {
    #[track_caller]
    fn panic(self) -> ! {
        match self {
            ScopeError::Borrowed => {
                panic!("cannot enter a task-local scope while the task-local storage is borrowed")
            }
            ScopeError::Destroyed => {
                panic!("cannot enter a task-local scope during or after destruction of the underlying thread-local")
            }
        }
    }
}

/// The key was not set in the running scope (returned by [`LocalKey::try_with`]).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct AccessError(());

impl fmt::Debug for AccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessError").finish()
    }
}

impl fmt::Display for AccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("task-local value not set")
    }
}

impl std::error::Error for AccessError {}

pin_project_lite::pin_project! {
    /// A future run with a task-local key set ([`LocalKey::scope`]): the value is in
    /// place during each poll of the inner future, and while it is dropped.
    pub struct TaskLocalFuture<T: 'static, F> {
        key: &'static LocalKey<T>,
        value: Option<T>,
        #[pin]
        future: Option<F>,
    }

    impl<T: 'static, F> PinnedDrop for TaskLocalFuture<T, F> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            let mut future = this.future;
            if future.is_some() {
                // Drop the inner future inside the scope, so its destructors see the value.
                if this.key.swapped(this.value, || future.set(None)).is_err() {
                    future.set(None);
                }
            }
        }
    }
}

impl<T: 'static, F> TaskLocalFuture<T, F> {
    /// Takes the key's value out of the future (it is no longer set in the future's
    /// later polls); `None` if it was taken already.
    pub fn take_value(self: Pin<&mut Self>) -> Option<T> {
        self.project().value.take()
    }
}

impl<T: 'static, F: Future> Future for TaskLocalFuture<T, F> {
    type Output = F::Output;

    #[track_caller]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let mut future = this.future;
        let polled = this.key.swapped(this.value, || future.as_mut().as_pin_mut().map(|f| f.poll(cx)));
        match polled {
            Ok(Some(poll)) => poll,
            Ok(None) => panic!("`TaskLocalFuture` polled after its future was dropped"),
            Err(e) => e.panic(),
        }
    }
}

impl<T: 'static + fmt::Debug, F> fmt::Debug for TaskLocalFuture<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskLocalFuture").field("value", &self.value).finish_non_exhaustive()
    }
}
