//! The simulator behind tokio's names (built only with `--cfg lockstep`).

pub mod coop;
pub(crate) mod entry;
pub mod io;
pub(crate) mod macros;
pub mod runtime;
pub mod sync;
pub mod task;
pub mod time;
