//! # scenarios: the race catalogue and the `lockstep` tool
//!
//! Every race of the race catalogue (`docs/scenarios.md`) as a [`Scenario`]: a
//! small world (producers, a processor, a consumer, a driver) built on a simulation
//! with readable task and channel names, run, and checked: the processor's invariants ([`props`]), message
//! conservation (every message sent is received or dropped by a counted cause:
//! [`world::Ledger`]) and, where it applies, the output timeline against the
//! canonical (FIFO) order's. A *buggy* variant must be caught within its detection
//! bound of seeds; a *fixed* variant must pass its seed budget (and every order,
//! where the world is small enough to enumerate).
//!
//! ## Map
//! - [`registry`]: every scenario ([`registry::all`]) and lookup by name; [`Registry`]:
//!   a user's own scenarios ([`Scenario::from_fn`]), which [`cli::main_with`] turns
//!   into the user's own `lockstep` tool (`docs/scenarios.md`, "Your own scenarios").
//! - [`Scenario`], [`Variant`], [`Expectation`], [`Outcome`]: one variant of a race
//!   and the ways to run it: [`Scenario::run`] (one configuration),
//!   [`Scenario::check`] (many seeds on every core, through [`sim_core::check`]),
//!   [`Scenario::explore`] (every order).
//! - [`races`]: the worlds, one module per race.
//! - [`world`]: what worlds are built from: the ledger, the output recorder, the harness.
//! - [`props`]: the processors' invariants.
//! - [`corpus`]: the regression corpus of failing runs that CI replays.
//! - [`cli`]: the `lockstep` command-line tool (its HTML timeline is
//!   [`sim_core::timeline`]).
//! - [`exploration`]: the catalogue under every exploration strategy (PCT, every
//!   order with and without reduction, the proptest path).
//!
//! ```
//! use scenarios::registry;
//!
//! let buggy = registry::get("throttle-hang/buggy").unwrap();
//! let summary = buggy.check(sim_core::Check::random(100).jobs(1), &|| {});
//! let first = summary.first_failure().expect("the race is caught within 100 seeds");
//! assert_eq!(first.failure.kind.class(), "deadlock");
//! // The failing seed replays to the same run, step for step.
//! let replayed = buggy.run_tape(first.failure.tape.clone());
//! assert_eq!(replayed.fingerprint, first.failure.fingerprint);
//! ```
#![forbid(unsafe_code)]

pub mod cli;
pub mod corpus;
pub mod exploration;
pub mod props;
pub mod races;
pub mod registry;
mod scenario;
pub mod world;

pub use registry::Registry;
pub use scenario::{
    set_poll_timeout, Build, Expectation, Exploration, Outcome, Scenario, Variant, CATALOGUE_COMMAND, REPLAY_SEED,
    REPLAY_TAPE,
};

pub use sim_core;
