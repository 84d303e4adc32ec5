//! Integration tests of the processors: the timelines, boundary rules through
//! the full driver, property tests of every invariant, and schedule independence
//! across seeds.
//!
//! One source, two worlds: in the workspace (`--cfg lockstep`) the processors and these
//! tests run on the simulator; built without the flag (CI's stage "processors on real
//! tokio") on real tokio with paused time. See `support`.

mod boundaries;
mod catalogue;
mod properties;
#[cfg(lockstep)]
mod schedules;
mod support;
mod timelines;
