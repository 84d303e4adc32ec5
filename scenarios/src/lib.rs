//! The race-reproduction catalogue and the `lockstep` command-line tool.
//!
//! This crate is filled in by the scenarios issue; for now it only links the engine.
#![forbid(unsafe_code)]

pub mod timeline;

pub use sim_core;
