//! Timers shaped like `tokio::time`: [`sleep`], [`sleep_until`], [`interval`],
//! [`timeout`]. Every timer firing is an event in the one queue; timers due at the
//! same instant are choice points among themselves and with other events. Dropping
//! a timer cancels it. tokio's test-util clock controls are here too: [`pause`],
//! [`resume`], [`advance`] (see [`clock`] for what pausing changes).

pub mod clock;
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
