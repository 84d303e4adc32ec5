//! The scenarios crate's integration tests: the catalogue shows what it must, and
//! the `lockstep` tool works end to end.

mod catalogue;
mod cli;
mod exploration;
mod fuzz;
mod plain_tokio;
mod props;
mod timeline_browser;
