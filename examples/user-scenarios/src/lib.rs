//! A user's own scenarios in a `lockstep` tool of their own.
//!
//! [`retry`] is plain tokio code (this crate names `sim-tokio` as `tokio`): a client that
//! retries a deposit when its reply does not come within a timeout. [`registry`] registers
//! two scenarios on it (and, hidden, two [`mistakes`] made on purpose), and `src/bin/user-lockstep.rs` is the tool, one line:
//! `scenarios::cli::main_with(user_scenarios::registry())`. Every `lockstep` command then
//! works on them:
//!
//! ```text
//! cargo run -p user-scenarios --bin user-lockstep -- list
//! cargo run -p user-scenarios --bin user-lockstep -- run --all
//! cargo run -p user-scenarios --bin user-lockstep -- replay retry/buggy --seed 0 --timeline retry.html
//! ```
#![forbid(unsafe_code)]

use scenarios::{Expectation, Registry, Scenario};

pub mod mistakes;
pub mod retry;

/// How this crate's tool is run: the start of every replay command it prints.
pub const COMMAND: &str = "cargo run -p user-scenarios --bin user-lockstep --";

/// This crate's scenarios, for its tool and its tests.
pub fn registry() -> Registry {
    Registry::new("user-lockstep", COMMAND)
        .corpus(concat!(env!("CARGO_MANIFEST_DIR"), "/corpus/failures.txt"))
        .register(Scenario::from_fn(
            "retry/buggy",
            "a reply due at the client's timeout: the retry deposits twice",
            Expectation::Caught { within: 100 },
            || async { retry::deposit_once(false).await },
        ))
        .register(Scenario::from_fn(
            "retry/fixed",
            "the retry carries the request's id, the server applies each id once",
            Expectation::Clean { seeds: 200 },
            || async { retry::deposit_once(true).await },
        ))
        // Mistakes made on purpose, by name only: what `check-determinism`, `explore` and
        // the poll watchdog say about them (see `mistakes`).
        .register_hidden(Scenario::from_fn(
            "mistake/nondeterministic",
            "a request id from a process-wide counter: the same seed runs differently twice",
            Expectation::Clean { seeds: 10 },
            || async { mistakes::counter_outlives_the_run().await },
        ))
        .register_hidden(Scenario::from_fn(
            "mistake/spin",
            "waits for a flag without an .await: the poll never returns",
            Expectation::Caught { within: 1 },
            || async { mistakes::spin_wait().await },
        ))
}
