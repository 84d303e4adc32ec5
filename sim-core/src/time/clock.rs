//! tokio's test-util clock controls over virtual time (see the [module docs](super)).

use std::fmt;
use std::time::Duration;

use crate::context;

/// Why a clock control was refused. The texts are tokio's panic messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClockError {
    /// [`pause`] in a simulation that refuses it ([`set_pausable`]; tokio's
    /// multi-thread runtime).
    NotPausable,
    /// [`pause`] while the clock is paused.
    AlreadyPaused,
    /// [`resume`] while the clock is not paused.
    NotPaused,
}

impl fmt::Display for ClockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ClockError::NotPausable => {
                "`time::pause()` requires the `current_thread` Tokio runtime. \
                 This is the default Runtime used by `#[tokio::test]."
            }
            ClockError::AlreadyPaused => "time is already frozen",
            ClockError::NotPaused => "time is not frozen",
        })
    }
}

impl std::error::Error for ClockError {}

/// Pauses the clock of the current simulation (see [the clock](crate::time#the-clock)).
///
/// # Errors
/// [`ClockError::NotPausable`] when the simulation refuses pausing,
/// [`ClockError::AlreadyPaused`] when it is paused.
///
/// # Panics
/// When no simulation is current on this thread.
#[track_caller]
pub fn pause() -> Result<(), ClockError> {
    context::with_core(|core| {
        if !core.clock_pausable() {
            Err(ClockError::NotPausable)
        } else if core.clock_paused() {
            Err(ClockError::AlreadyPaused)
        } else {
            core.set_clock_paused(true);
            Ok(())
        }
    })
}

/// Unpauses the clock of the current simulation (virtual time still moves only when
/// nothing is runnable; see [the clock](crate::time#the-clock)).
///
/// # Errors
/// [`ClockError::NotPaused`] when it is not paused.
///
/// # Panics
/// When no simulation is current on this thread.
#[track_caller]
pub fn resume() -> Result<(), ClockError> {
    context::with_core(|core| {
        if !core.clock_paused() {
            return Err(ClockError::NotPaused);
        }
        core.set_clock_paused(false);
        Ok(())
    })
}

/// Whether the clock of the current simulation is paused.
///
/// # Panics
/// When no simulation is current on this thread.
#[track_caller]
pub fn is_paused() -> bool {
    context::with_core(|core| core.clock_paused())
}

/// Sets whether [`pause`] may pause the clock of the current simulation (default:
/// yes). tokio allows it on its current-thread runtime only; sim-tokio's
/// multi-thread runtimes refuse it.
///
/// # Panics
/// When no simulation is current on this thread.
#[track_caller]
pub fn set_pausable(pausable: bool) {
    context::with_core(|core| core.set_clock_pausable(pausable));
}

/// Moves the clock `duration` forward in one jump, as tokio's `time::advance`: every
/// timer due by the new time fires at once (at the new time, in deadline order, then
/// registration order), waking its waiter, and the calling task then yields, so it
/// continues after the tasks those timers woke have had their turn (in an order the
/// model allows). Tasks woken on the way do not run at intermediate instants: they all
/// see the new time.
///
/// # Panics
/// When no simulation is current on this thread, or when the new time overflows.
pub async fn advance(duration: Duration) {
    let wakers = context::with_core(|core| {
        let to = core.now().checked_add(duration).expect("overflow when adding duration to instant");
        core.jump_clock(to)
    });
    for waker in wakers {
        waker.wake();
    }
    crate::task::yield_now().await;
}
