//! The engine's own tests: one binary, one module per area.

mod artefacts;
mod channels;
mod check;
mod determinism;
mod escape;
mod exhaustive_check;
mod explore;
mod golden;
mod identity;
mod locks;
mod models;
mod orders;
mod printed_replays;
mod reduction;
mod replay;
mod reports;
mod select;
mod smoke;
mod support;
mod sync;
mod sync_send;
mod tape_text;
mod timers;
mod trace;
mod verdicts;
mod watchdog;
