//! Not a race: `spin/buggy`, a task that loops without ever yielding. A poll that
//! never returns cannot be preempted; the poll watchdog ([`sim_core::tooling::watchdog`])
//! reports it (task, seed, replay command) and ends the tool with status 3 instead
//! of hanging. Hidden: reachable by name only, never part of `lockstep run --all`.

use crate::scenario::{Expectation, Scenario, Variant};
use crate::world::{spawn, world, Ctx, Observer, World};

/// The one variant.
pub fn scenarios() -> Vec<Scenario> {
    vec![Scenario::new(
        "spin/buggy",
        0,
        Variant::Buggy,
        "a task that loops without ever yielding: the poll watchdog ends the run (hidden from list and --all)",
        Expectation::Caught { within: 1 },
        false,
        None,
        build,
    )]
}

fn build(_: Variant, ctx: &Ctx) -> World {
    let spinner = spawn("spinner", async {
        while std::hint::black_box(true) {
            std::hint::spin_loop();
        }
    });
    world(ctx, Observer::new(), vec![spinner], |_| Vec::new())
}
