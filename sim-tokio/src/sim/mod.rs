//! The simulator behind tokio's names (built only with `--cfg lockstep`).

pub(crate) mod entry;
pub(crate) mod macros;
pub mod runtime;
pub mod sync;
pub mod task;
pub mod time;
