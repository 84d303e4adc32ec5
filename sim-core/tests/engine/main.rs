//! The engine's own tests: one binary, one module per area.

mod orders;
mod smoke;
mod support;
