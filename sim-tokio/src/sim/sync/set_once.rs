//! `tokio::sync::SetOnce` under simulation, over sim-core's `OnceCell`.

use std::error::Error;
use std::fmt;

use sim_core::sync::OnceCell;

/// A value set at most once, that tasks can wait for, shaped like
/// `tokio::sync::SetOnce` (an "event" carrying a value).
///
/// It is a Lockstep `OnceCell` that nobody initializes with `get_or_init`: named
/// after the line that created it (`config.rs:8`, or an enclosing
/// `lockstep::named`); setting the value is traced as `init`; a task blocked in
/// [`wait`](SetOnce::wait) is reported as "init on `config.rs:8`"; every read and
/// write is part of the step's footprint. [`const_new`](SetOnce::const_new) works in
/// a `static`, as `OnceCell::const_new` does.
pub struct SetOnce<T> {
    cell: OnceCell<T>,
}

impl<T> SetOnce<T> {
    /// An empty `SetOnce`, named after the caller's line.
    #[track_caller]
    pub fn new() -> SetOnce<T> {
        SetOnce { cell: OnceCell::new() }
    }

    /// An empty `SetOnce` for a `const` or `static`.
    #[track_caller]
    pub const fn const_new() -> SetOnce<T> {
        SetOnce { cell: OnceCell::const_new() }
    }

    /// A `SetOnce` holding `value` when it is `Some`.
    #[track_caller]
    pub fn new_with(value: Option<T>) -> SetOnce<T> {
        SetOnce { cell: OnceCell::new_with(value) }
    }

    /// A `SetOnce` holding `value`, for a `const` or `static`.
    #[track_caller]
    pub const fn const_new_with(value: T) -> SetOnce<T> {
        SetOnce { cell: OnceCell::const_new_with(value) }
    }

    /// Whether the value is set.
    pub fn initialized(&self) -> bool {
        self.cell.initialized()
    }

    /// The value, if it is set.
    pub fn get(&self) -> Option<&T> {
        self.cell.get()
    }

    /// Sets the value and wakes every task waiting for it.
    ///
    /// # Errors
    /// [`SetOnceError`] with `value` back when the value was already set.
    pub fn set(&self, value: T) -> Result<(), SetOnceError<T>> {
        self.cell.set(value).map_err(|e| match e {
            sim_core::sync::SetError::AlreadyInitializedError(v) | sim_core::sync::SetError::InitializingError(v) => {
                SetOnceError(v)
            }
        })
    }

    /// The value, if it is set.
    pub fn into_inner(self) -> Option<T> {
        self.cell.into_inner()
    }

    /// Waits until the value is set; at once when it is. Cancel safe.
    pub async fn wait(&self) -> &T {
        self.cell.wait().await
    }
}

impl<T> Default for SetOnce<T> {
    #[track_caller]
    fn default() -> SetOnce<T> {
        SetOnce::new()
    }
}

impl<T> From<T> for SetOnce<T> {
    #[track_caller]
    fn from(value: T) -> SetOnce<T> {
        SetOnce::new_with(Some(value))
    }
}

impl<T: Clone> Clone for SetOnce<T> {
    #[track_caller]
    fn clone(&self) -> SetOnce<T> {
        SetOnce::new_with(self.get().cloned())
    }
}

impl<T: PartialEq> PartialEq for SetOnce<T> {
    fn eq(&self, other: &SetOnce<T>) -> bool {
        self.get() == other.get()
    }
}

impl<T: Eq> Eq for SetOnce<T> {}

impl<T: fmt::Debug> fmt::Debug for SetOnce<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SetOnce").field("value", &self.get()).finish()
    }
}

/// [`SetOnce::set`] found the value already set; it hands `value` back.
#[derive(Debug, PartialEq, Eq)]
pub struct SetOnceError<T>(pub T);

impl<T> fmt::Display for SetOnceError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SetOnceError")
    }
}

impl<T: fmt::Debug> Error for SetOnceError<T> {}
