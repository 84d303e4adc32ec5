//! `tokio::task::coop` under simulation: sim-core's budget ([`sim_core::tooling::coop`]).
//!
//! As in tokio, each task poll starts with a budget of 128 units; `watch`'s
//! `changed`/`wait_for`/`closed`, [`consume_budget`] and `select!` spend or check it,
//! and once it is spent they wake the task and return `Pending`, so a loop over an
//! always-ready resource still lets the other tasks run. The budget depends only on
//! what the task did in that poll: it keeps runs deterministic. Outside a simulated
//! task there is no budget (everything proceeds).

pub use sim_core::tooling::coop::{
    consume_budget, cooperative, has_budget_remaining, poll_proceed, unconstrained, Coop, RestoreOnPending,
    Unconstrained,
};
