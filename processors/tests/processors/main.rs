//! Integration tests of the processors: the timelines on tokio and on the
//! simulator, boundary rules through the full driver, property tests of every
//! invariant, and schedule independence across seeds.

mod boundaries;
mod properties;
mod schedules;
mod support;
mod timelines;
