//! sim-tokio under simulation: tokio's API, unchanged code, virtual time.
//!
//! `extern crate … as tokio` makes these files read like a user's tokio code
//! (`tokio::spawn`, `#[tokio::test]`); the user gets the same by renaming the
//! dependency. Only built with `--cfg lockstep`: without it sim-tokio is tokio.
#![cfg(lockstep)]

extern crate sim_tokio as tokio;

mod support;

mod coop;
mod locks;
mod macros;
mod replay;
mod runtime;
mod select;
mod sync;
mod sync_b;
mod task;
mod task_sets;
mod time;
