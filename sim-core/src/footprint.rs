//! Footprints: what one step of a run touched, and when two steps commute.
//!
//! The reduced enumeration ([`explore_reduced`](crate::tooling::strategy::explore_reduced))
//! skips an order when it only swaps two steps that touch disjoint things. It learns
//! what a step touched by watching it run: the engine collects an [`Access`] for
//! every channel, timer and task the step reads or changes, every task it wakes, and
//! every task or channel it creates. Two steps whose footprints do not
//! [conflict](crate::access::Footprint::conflicts_with) leave the same state in either order.

use crate::access::Access;
use crate::context;

/// Declares that the running step reads or writes the shared memory called `name`,
/// so that the reduced enumeration orders it against every other step that touches
/// `name`. Outside a simulation, or while nothing collects footprints, it does
/// nothing (it costs one check).
///
/// # What the engine cannot see
/// Memory the tasks share outside Lockstep's primitives (an `Rc<RefCell<Vec<_>>>`
/// log, a counter in a `Cell`) is invisible to the engine. Declare it with
/// [`touch`] wherever a task reads or writes it, or the reduction may treat two
/// steps that both push to the log as commuting and explore only one order of
/// them: a "proof" that missed orders. State whose order cannot matter (a counter
/// only ever incremented and read after the run) needs no declaration.
///
/// ```
/// use std::cell::RefCell;
/// use std::rc::Rc;
/// use sim_core::{touch, spawn, Sim, Config};
///
/// let mut sim = Sim::new(Config::default());
/// let log = Rc::new(RefCell::new(Vec::new()));
/// for name in ["a", "b"] {
///     let log = log.clone();
///     sim.spawn_named(name, async move {
///         touch("log"); // the two pushes do not commute
///         log.borrow_mut().push(name);
///     });
/// }
/// sim.run().unwrap();
/// ```
pub fn touch(name: &str) {
    if let Some(handle) = context::try_current() {
        if handle.footprints {
            handle.touch(Access::Shared(name_hash(name)));
        }
    }
}

/// FNV-1a: a hash of the name that is the same in every run and on every platform.
fn name_hash(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shared_name_hashes_the_same_every_time_and_apart_from_other_names() {
        assert_eq!(name_hash("log"), name_hash("log"));
        assert_ne!(name_hash("log"), name_hash("out"));
    }
}
