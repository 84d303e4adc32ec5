//! Timers shaped like `tokio::time`: [`sleep`], [`sleep_until`], [`interval`],
//! [`timeout`]. Every timer firing is an event in the one queue; timers due at the
//! same instant are choice points among themselves and with other events. Dropping
//! a timer cancels it. tokio's test-util clock controls are here too: [`pause`],
//! [`resume`], [`advance`] (see [`clock`] for what pausing changes).

pub mod clock;
mod instant;
mod interval;
mod sleep;
mod timeout;

pub(crate) use clock::ClockState;
pub use clock::{advance, is_paused, pause, resume, set_pausable, ClockError};
pub(crate) use instant::write_nanos;
pub use instant::Instant;
pub use interval::{interval, interval_at, Interval, MissedTickBehavior};
pub use sleep::{sleep, sleep_until, Sleep};
pub use timeout::{timeout, timeout_at, Elapsed, Timeout};
