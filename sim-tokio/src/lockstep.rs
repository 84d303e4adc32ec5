//! Lockstep's few extras, present in both modes so that code calling them builds
//! with and without `--cfg lockstep`.

/// Whether this build runs under the simulator (`--cfg lockstep`).
pub const fn is_simulated() -> bool {
    cfg!(lockstep)
}

/// Runs `f`, naming every task (and primitive) it creates `name` in traces and
/// deadlock reports, instead of the default: the `file.rs:line` where it was
/// created. The innermost name wins. Outside simulation it just runs `f`.
///
/// ```
/// use sim_tokio::lockstep;
/// let value = lockstep::named("worker", || 1 + 1);
/// assert_eq!(value, 2);
/// ```
pub fn named<R>(name: impl Into<String>, f: impl FnOnce() -> R) -> R {
    #[cfg(lockstep)]
    {
        // sim-core's own scope names what sim-core creates directly (`Notify::new`).
        let name = name.into();
        let _guard = naming::push(name.clone());
        sim_core::named(name, f)
    }
    #[cfg(not(lockstep))]
    {
        let _ = name.into();
        f()
    }
}

/// Shows the values sent on `sender`'s channel in the run's trace, JSON Lines trace and
/// timeline, by their `Debug` text (sim-core's `show_values`: at most 100 characters a
/// value, never fingerprinted, so the run and its fingerprint stay the same). Call it once,
/// before the first send; it applies to the whole channel. Takes the senders of `mpsc`
/// (bounded and unbounded), `oneshot`, `watch` and `broadcast`. Outside simulation it
/// does nothing.
///
/// Only this call needs `T: Debug`: the channel keeps tokio's bounds, so code that never
/// calls it is unchanged.
///
/// ```
/// # #[cfg(any(lockstep, feature = "sync"))]
/// # fn main() {
/// use sim_tokio::{lockstep, sync::mpsc};
/// let (tx, _rx) = mpsc::channel::<(u32, &str)>(8);
/// lockstep::show_values(&tx);
/// # }
/// # #[cfg(not(any(lockstep, feature = "sync")))]
/// # fn main() {}
/// ```
pub fn show_values<S: ShowValues>(sender: &S) {
    sender.show_values();
}

/// A sender whose channel's values a trace can show: see [`show_values`].
pub trait ShowValues {
    /// See [`show_values`](fn@show_values).
    fn show_values(&self);
}

#[cfg(lockstep)]
mod show {
    use std::fmt::Debug;

    use sim_core::sync::{broadcast, mpsc, oneshot, watch};

    impl<T: Debug> super::ShowValues for mpsc::Sender<T> {
        fn show_values(&self) {
            sim_core::sync::ShowValues::show_values(self);
        }
    }

    impl<T: Debug> super::ShowValues for mpsc::UnboundedSender<T> {
        fn show_values(&self) {
            sim_core::sync::ShowValues::show_values(self);
        }
    }

    impl<T: Debug> super::ShowValues for oneshot::Sender<T> {
        fn show_values(&self) {
            sim_core::sync::ShowValues::show_values(self);
        }
    }

    impl<T: Debug> super::ShowValues for watch::Sender<T> {
        fn show_values(&self) {
            sim_core::sync::ShowValues::show_values(self);
        }
    }

    impl<T: Debug> super::ShowValues for broadcast::Sender<T> {
        fn show_values(&self) {
            sim_core::sync::ShowValues::show_values(self);
        }
    }
}

/// Outside simulation: nothing to show, the same bounds.
#[cfg(all(not(lockstep), feature = "sync"))]
mod show {
    use std::fmt::Debug;

    use tokio::sync::{broadcast, mpsc, oneshot, watch};

    impl<T: Debug> super::ShowValues for mpsc::Sender<T> {
        fn show_values(&self) {}
    }

    impl<T: Debug> super::ShowValues for mpsc::UnboundedSender<T> {
        fn show_values(&self) {}
    }

    impl<T: Debug> super::ShowValues for oneshot::Sender<T> {
        fn show_values(&self) {}
    }

    impl<T: Debug> super::ShowValues for watch::Sender<T> {
        fn show_values(&self) {}
    }

    impl<T: Debug> super::ShowValues for broadcast::Sender<T> {
        fn show_values(&self) {}
    }
}

#[cfg(lockstep)]
pub(crate) mod naming {
    use std::cell::RefCell;
    use std::panic::Location;

    thread_local! {
        static NAMES: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
    }

    pub(crate) struct Pop;

    impl Drop for Pop {
        fn drop(&mut self) {
            NAMES.with(|n| n.borrow_mut().pop());
        }
    }

    pub(crate) fn push(name: String) -> Pop {
        NAMES.with(|n| n.borrow_mut().push(name));
        Pop
    }

    /// The innermost [`named`](super::named) name, if any.
    pub(crate) fn scoped_name() -> Option<String> {
        NAMES.with(|n| n.borrow().last().cloned())
    }

    /// The name for something created at `location`: the innermost
    /// [`named`](super::named) name, else `file.rs:line`.
    pub(crate) fn name_for(location: &Location<'_>) -> String {
        NAMES.with(|n| n.borrow().last().cloned()).unwrap_or_else(|| {
            let file = location.file();
            let file = file.rsplit(['/', '\\']).next().unwrap_or(file);
            format!("{file}:{}", location.line())
        })
    }
}
