//! Timers shaped like `tokio::time`: [`sleep`], [`sleep_until`], [`interval`],
//! [`timeout`]. Every timer firing is an event in the one queue; timers due at the
//! same instant are choice points among themselves and with other events. Dropping
//! a timer cancels it. tokio's test-util clock controls are here too: [`pause`],
//! [`resume`], [`advance`].
//!
//! ## The clock
//!
//! Virtual time never runs by itself: it moves when nothing is runnable, straight to
//! the next event (tokio's paused clock with auto-advance), or by [`advance`]. What
//! pausing changes is how a timer whose deadline has already passed behaves:
//!
//! - **Paused** (tokio's `start_paused`, `time::pause()`): such a timer completes in
//!   the poll that first sees it, as tokio's paused timer does (its driver fires a
//!   timer already due while registering it). `sleep_until(now).await` does not yield.
//! - **Not paused** (the default): it fires as an event at the current instant, so
//!   whatever else is due then may run first. Real tokio rounds a deadline up to the
//!   next millisecond, so a timer set for "now" waits for the driver's next turn, and
//!   a message due in the same millisecond comes before or after it.
//!
//! A timer set for a later instant is an event whatever the mode: when it falls due
//! together with other events, the model ([`crate::Model`]) says which orders a run
//! may take.

mod clock;
mod interval;
mod sleep;
mod timeout;

pub use crate::instant::Instant;
pub use clock::{advance, is_paused, pause, resume, set_pausable, ClockError};
pub use interval::{interval, interval_at, Interval, MissedTickBehavior};
pub use sleep::{sleep, sleep_until, Sleep};
pub use timeout::{timeout, timeout_at, Elapsed, Timeout};

impl Instant {
    /// The current virtual time of the simulation running on this thread.
    ///
    /// # Panics
    /// Panics when no simulation is current on this thread (outside a task and
    /// outside [`crate::Sim::enter`]).
    #[track_caller]
    pub fn now() -> Instant {
        crate::context::with_core(|core| core.now())
    }
}
