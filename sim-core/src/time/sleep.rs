//! `sleep` and `sleep_until`.

use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::context::{self, Handle};
use crate::core::TimerKey;
use crate::time::Instant;

/// Waits until `duration` has elapsed in virtual time.
///
/// # Panics
/// Panics when no simulation is current on this thread.
#[track_caller]
pub fn sleep(duration: Duration) -> Sleep {
    let handle = context::current();
    let deadline = handle.core.borrow().now().saturating_add(duration);
    Sleep::register(handle, deadline, Location::caller())
}

/// Waits until virtual time `deadline`; a deadline in the past fires at the current
/// instant (still as an event, so still a choice point), unless the clock is paused
/// ([the clock](crate::time#the-clock)): then the poll that first sees the timer completes it, as
/// tokio's paused timer does.
///
/// # Panics
/// Panics when no simulation is current on this thread.
#[track_caller]
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep::register(context::current(), deadline, Location::caller())
}

/// A timer future (`Unpin`, and `Send` and `Sync` as tokio's). The timer is
/// registered at creation in the current simulation; dropping the future cancels it.
///
/// # Panics
/// Polling it, [`is_elapsed`](Sleep::is_elapsed) and [`reset`](Sleep::reset) panic
/// when its simulation is not current on this thread (as tokio's timers panic
/// outside their runtime). Dropped then, it cannot cancel its timer, which fires
/// unobserved.
#[must_use = "a timer does nothing unless awaited"]
pub struct Sleep {
    /// The simulation's number.
    sim: u64,
    timer: TimerKey,
    deadline: Instant,
    /// The timer's name (kept across [`Sleep::reset`]).
    name: u32,
}

impl Sleep {
    fn register(handle: Handle, deadline: Instant, at: &'static Location<'static>) -> Sleep {
        let (timer, name) = {
            let mut core = handle.core.borrow_mut();
            let name = core.timer_name(at);
            (core.timer_register(deadline, name), name)
        };
        Sleep { sim: handle.id, timer, deadline, name }
    }

    /// Its simulation.
    #[track_caller]
    fn home(&self) -> Handle {
        context::home(self.sim).unwrap_or_else(|| {
            panic!("a Lockstep timer (`sleep`, `interval`, `timeout`) was used while its simulation is not current on this thread")
        })
    }

    /// When the timer fires.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Whether the timer has fired.
    pub fn is_elapsed(&self) -> bool {
        self.home().core.borrow_mut().timer_fired(self.timer)
    }

    /// Re-arms the timer for `deadline` (cancelling the old firing).
    pub fn reset(&mut self, deadline: Instant) {
        let handle = self.home();
        let mut core = handle.core.borrow_mut();
        let kept = core.timer_cancel(self.timer);
        self.timer = core.timer_register(deadline, self.name);
        self.deadline = deadline;
        drop(core);
        // Dropped once the core is let go: a waker's drop may use the simulation.
        drop(kept);
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let (fired, replaced) = self.home().core.borrow_mut().timer_poll(self.timer, cx.waker());
        // Dropped once the core is let go: a waker's drop may use the simulation.
        drop(replaced);
        if fired {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let Some(handle) = context::home(self.sim) {
            let kept = handle.engine().timer_cancel(self.timer);
            drop(kept);
        }
    }
}

impl std::fmt::Debug for Sleep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sleep").field("deadline", &self.deadline).finish_non_exhaustive()
    }
}
