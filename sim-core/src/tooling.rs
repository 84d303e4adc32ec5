//! For tool builders: what the `lockstep` tool, sim-tokio and exploration tools use,
//! and a user writing simulations and checks does not.
//!
//! Everything a test needs is elsewhere in the crate (see the table in the crate docs).
//! This module holds the engine's machinery that tools built on it drive directly:
//!
//! | module | what |
//! | --- | --- |
//! | [`strategy`] | the sealed [`Strategy`](strategy::Strategy) trait, the enumerators of every order ([`explore_all`](strategy::explore_all), [`explore_reduced`](strategy::explore_reduced)), PCT's default estimate, the value-stable generator |
//! | [`footprint`] | what a step touched, and when two steps commute |
//! | [`identity`] | event identities, which tapes carry so they replay across refactors |
//! | [`trace`] | trace records and lines, how values are hashed ([`value_hash`](trace::value_hash)) and shown ([`value_text`](trace::value_text)) |
//! | [`watchdog`] | the poll watchdog's exit code and default bound |
//! | [`coop`] | tokio's cooperative budget, for sim-tokio's `task::coop` |
//! | [`task`] | what sim-tokio needs of the running task: escapes, the current task, join sets named by their creation site |
//! | [`env`](mod@env) | the parser of the `LOCKSTEP_*` variables, and the `cargo test` command that runs the current test |
//! | [`artefacts`] | writing a failure's artefacts from a run a tool drove itself |
//!
//! These are public so that the workspace's tools can be written against them; they
//! change when the engine does.

#[path = "coop.rs"]
pub mod coop;
#[path = "env.rs"]
pub mod env;
#[path = "identity.rs"]
pub mod identity;
#[path = "watchdog.rs"]
pub mod watchdog;

pub mod strategy {
    //! Strategies as tools drive them: sealed, built from a
    //! [`StrategyKind`](crate::StrategyKind) or handed out by the enumerators.
    //!
    //! [`explore_all`] runs every distinct sequence of choices once (depth first);
    //! [`explore_reduced`] skips an order when it only swaps two steps whose
    //! [footprints](crate::tooling::footprint) do not conflict, running one order per class. PCT
    //! (random priorities with change points) is described, with its guarantee, in the
    //! repository's `docs/exploration.md`; [`PCT_DEFAULT_STEPS`] is its default estimate of
    //! scheduling choice points per run.

    pub use crate::strategy::pct::DEFAULT_STEPS as PCT_DEFAULT_STEPS;
    pub use crate::strategy::{
        explore_all, explore_reduced, Exploration, ExploreError, ReducedExploration, SimRng, Strategy,
    };

    /// A new simulation whose choice points `strategy` resolves instead of
    /// `config.strategy` (for explorers and custom policies); otherwise [`Sim::new`].
    ///
    /// [`Sim::new`]: crate::Sim::new
    pub fn sim_with(config: crate::Config, strategy: Box<dyn Strategy>) -> crate::Sim {
        crate::Sim::with_strategy(config, strategy)
    }
}

pub mod footprint {
    //! Footprints: what one step of a run touched, and when two steps commute.
    //!
    //! The reduced enumeration ([`explore_reduced`](crate::tooling::strategy::explore_reduced)) skips
    //! an order when it only swaps two steps that touch disjoint things. It learns what a
    //! step touched by watching it run: the engine collects an [`Access`] for every
    //! channel, timer and task the step reads or changes, every task it wakes, and every
    //! task or channel it creates. Two steps whose footprints do not
    //! [conflict](Footprint::conflicts_with) leave the same state in either order. Memory
    //! shared outside the primitives is declared with [`touch`](crate::touch).

    pub use crate::access::{Access, Footprint};
}

pub mod trace {
    //! Trace records and lines: what a [`Trace`](crate::Trace) holds, record by record.

    pub use crate::trace::{value_hash, value_text, RecordKind, TraceLine, TraceRecord, MAX_VALUE_TEXT};
}

pub mod artefacts {
    //! Writing a failure's [artefacts](crate::artefacts) from a run a tool drove itself
    //! (the checks write theirs on their own).

    pub use crate::artefacts::tool::{for_run, replay_marked};
}

pub mod task {
    //! What sim-tokio needs of the running task and the current simulation.

    use std::panic::Location;

    use crate::task::JoinSet;
    use crate::TaskId;

    /// Reports that the running task escaped the simulation: it did something Lockstep
    /// cannot order (a blocking thread pool, a real timer, I/O). The run stops after the
    /// current step and fails with [`FailureKind::Escape`](crate::FailureKind::Escape)
    /// naming the task and `cause`.
    ///
    /// # Panics
    /// Panics when no simulation is current on this thread.
    #[track_caller]
    pub fn escape(cause: impl Into<String>) {
        crate::task::escape(cause)
    }

    /// Whether this thread is inside the poll of a simulated task right now: a panic
    /// there is caught and becomes the run's failure (`FailureKind::Panic`, message
    /// included). It borrows nothing and never panics, so a panic hook may call it: the
    /// `lockstep` tool's hook stays quiet for such panics, which its reports already show.
    pub fn in_task_poll() -> bool {
        crate::task::in_task_poll()
    }

    /// The id of the task being polled, if any.
    pub fn current_task() -> Option<TaskId> {
        crate::task::current_task()
    }

    /// Whether a simulation is current on this thread (being driven, or alive: see
    /// [`Sim`](crate::Sim)), so that tasks and primitives created now belong to it.
    pub fn in_simulation() -> bool {
        crate::task::in_simulation()
    }

    /// An empty [`JoinSet`] named `name`, or, without one, after `at` (its creation
    /// site: sim-tokio's `JoinSet::new` passes its caller's location on).
    pub fn join_set_at<T>(name: Option<String>, at: &'static Location<'static>) -> JoinSet<T> {
        JoinSet::new_at(name, at)
    }
}
