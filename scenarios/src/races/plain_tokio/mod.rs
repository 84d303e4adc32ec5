//! The catalogue in plain tokio: races 1, 2 and 5 written as a tokio user writes
//! them (`tokio::spawn`, `tokio::sync::mpsc`, `tokio::time::{sleep, interval,
//! Instant}`, `tokio::select!`), run through `sim-tokio`.
//!
//! This crate names `sim-tokio` as its `tokio` dependency
//! (`tokio = { package = "sim-tokio", … }`), so under `--cfg lockstep` every
//! `tokio::` path below is the simulator. Each module holds two parts:
//! - the *user's code*: the processor (buggy and fixed), with nothing in it but tokio
//!   and std, as it would be written for production;
//! - the *test*: the world around it (driver or producers, consumer) and the checks,
//!   which names tasks and channels with [`tokio::lockstep::named`]
//!   so that deadlock reports read `throttle (recv on `in`)`, as in the rest of
//!   the catalogue.
//!
//! The checks are the catalogue's own ([`props`](crate::props), the throttle
//! driver's, the drain's ledger), so a tokio variant fails exactly when the
//! `sim-core` variant of the same race does.

pub mod drain;
pub mod throttle_hang;
pub mod two_phase;

use std::future::Future;
use std::rc::Rc;

use tokio::lockstep;
use tokio::task::JoinHandle;

use crate::world::{self, Ctx, Observer, World};

/// A task of a world: its name and its tokio `JoinHandle`.
pub type Task = (&'static str, JoinHandle<()>);

/// Spawns `future` with `tokio::spawn`, naming the task `name` (in traces and
/// deadlock reports).
pub fn spawn_named<F: Future<Output = ()> + 'static>(name: &'static str, future: F) -> Task {
    (name, lockstep::named(name, || tokio::spawn(future)))
}

/// The world whose tasks (spawned with `tokio::spawn`) are `tasks`, joined in this
/// order; then the checks of [`world::world`]: conservation, `checks`, and the
/// output against the canonical order's when `ctx` holds it. A task that panicked
/// fails the run with its name and message (tokio hands a panic to the task's
/// `JoinHandle`, so nobody else would report it).
pub fn world_of(
    ctx: &Ctx,
    observer: Rc<Observer>,
    tasks: Vec<Task>,
    checks: impl FnOnce(&Observer) -> Vec<String> + 'static,
) -> World {
    let checked = world::world(ctx, observer.clone(), Vec::new(), checks);
    let harness = Box::pin(async move {
        for (name, task) in tasks {
            if let Err(error) = task.await {
                sim_core::fail(format!("task `{name}` did not finish: {error}"));
                return;
            }
        }
        checked.harness.await;
    });
    World { harness, observer }
}
