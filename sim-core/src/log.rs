//! `tracing` in virtual time.
//!
//! [`VirtualTime`] is a `tracing-subscriber` timer that stamps each event with the
//! virtual time of the simulation current on the thread (`t=50ms`), so the logs of a
//! simulated run read in simulated time and are the same on every run of a seed.
//! The engine enters a span `task{name=…, id=…}` around every poll, so each line
//! also names the task that logged it:
//!
//! ```text
//! t=50ms  INFO task{name=throttle id=2}: processors::throttle: emitted item=7
//! ```
//!
//! [`init_test_logging`] installs such a subscriber for tests.

use std::fmt;

use tracing::level_filters::LevelFilter;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;

use crate::context;
use crate::env::EnvOverrides;

/// A `tracing-subscriber` timer printing the current simulation's virtual time, as
/// `t=50ms`; `t=-` when no simulation is current on the thread, and `t=?` when the
/// simulation is busy (an event emitted by the engine while it updates its state).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VirtualTime;

impl FormatTime for VirtualTime {
    fn format_time(&self, w: &mut Writer<'_>) -> fmt::Result {
        let Some(handle) = context::try_current() else {
            return w.write_str("t=-");
        };
        let Ok(core) = handle.core.try_borrow() else {
            return w.write_str("t=?");
        };
        write!(w, "t={}", core.now())
    }
}

/// Installs a global `fmt` subscriber for tests: virtual-time stamps, output
/// captured by the test harness, no colours, events up to `LOCKSTEP_LOG` (default
/// `info`). Returns whether it was installed (false when a global subscriber was
/// already set, as by an earlier test in the same binary).
///
/// # Panics
/// When a `LOCKSTEP_*` variable holds a bad value (the message names it).
#[track_caller]
pub fn init_test_logging() -> bool {
    let env = EnvOverrides::from_env().unwrap_or_else(|e| panic!("lockstep: {e}"));
    init_test_logging_at(env.log.unwrap_or(LevelFilter::INFO))
}

/// [`init_test_logging`] at an explicit level, ignoring `LOCKSTEP_LOG`.
pub fn init_test_logging_at(level: impl Into<LevelFilter>) -> bool {
    tracing_subscriber::fmt()
        .with_timer(VirtualTime)
        .with_max_level(level.into())
        .with_ansi(false)
        .with_test_writer()
        .try_init()
        .is_ok()
}
