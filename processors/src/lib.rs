//! Stream processors for Lockstep: throttle, debounce, batcher and windows.
//!
//! This crate is filled in by the processors issue; for now it only links the engine.
#![forbid(unsafe_code)]

pub use sim_core;
