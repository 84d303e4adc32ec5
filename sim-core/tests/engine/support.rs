//! Helpers shared by the engine tests.

use std::collections::BTreeSet;
use std::time::Duration;

use sim_core::select::{select, Either};
use sim_core::sync::mpsc;
use sim_core::time::sleep;

use sim_core::tooling::strategy::explore_all;
use sim_core::tooling::strategy::explore_reduced as reduce;
use sim_core::{Config, Fingerprint, Sim};

/// What an exhaustive enumeration of a small program found.
pub struct Explored<T> {
    /// Runs (distinct choice sequences) explored.
    pub runs: usize,
    /// Distinct trace fingerprints among them.
    pub fingerprints: BTreeSet<Fingerprint>,
    /// Distinct outcomes.
    pub outcomes: BTreeSet<T>,
}

/// Runs `program` under every order of its choice points (at most 100,000 runs)
/// and asserts the enumeration was exhausted.
pub fn explore<T: Ord>(program: impl Fn(&mut Sim) -> T) -> Explored<T> {
    let mut fingerprints = BTreeSet::new();
    let mut outcomes = BTreeSet::new();
    let exploration = explore_all(100_000, |prefix| {
        let mut sim = Sim::new(Config::replay(prefix.clone()));
        outcomes.insert(program(&mut sim));
        fingerprints.insert(sim.fingerprint());
        assert!(!sim.tape_diverged(), "a prefix from the same program must replay exactly");
        sim.recorded_tape()
    });
    assert!(exploration.exhausted, "enumeration hit its bound");
    Explored { runs: exploration.runs, fingerprints, outcomes }
}

/// Runs `program` once per class of orders that differ only in commuting events,
/// and asserts the enumeration was exhausted.
pub fn explore_reduced<T: Ord>(program: impl Fn(&mut Sim) -> T) -> Explored<T> {
    let mut fingerprints = BTreeSet::new();
    let mut outcomes = BTreeSet::new();
    let exploration = reduce(100_000, |strategy| {
        let mut sim = sim_core::tooling::strategy::sim_with(Config::default(), strategy);
        outcomes.insert(program(&mut sim));
        fingerprints.insert(sim.fingerprint());
        false
    })
    .unwrap();
    assert!(exploration.exhausted, "enumeration hit its bound");
    assert_eq!(
        fingerprints.len(),
        exploration.runs + exploration.redundant,
        "every execution, counted or redundant, is a distinct order"
    );
    Explored { runs: exploration.runs, fingerprints, outcomes }
}

/// The throttle's cooldown period in the tutorial's throttle hang.
pub const PERIOD: Duration = Duration::from_millis(50);

/// The crate tutorial's buggy throttle: it passes an item, then arms its cooldown
/// only after the hand-off, and takes input and timer in one `select`.
pub async fn buggy_throttle(mut input: mpsc::Receiver<u32>, output: mpsc::Sender<u32>) {
    let mut cooldown = None;
    loop {
        let item = match cooldown.as_mut() {
            None => input.recv().await,
            Some(timer) => match select(input.recv(), timer).await {
                Either::Left(Some(_dropped)) => continue,
                Either::Left(None) => None,
                Either::Right(()) => {
                    cooldown = None;
                    continue;
                }
            },
        };
        let Some(item) = item else { return };
        output.send(item).await.unwrap();
        cooldown = Some(sleep(PERIOD));
    }
}

/// The throttle hang as a world of the one runner: the closure makes the channels
/// and spawns the buggy throttle, and its future, the task `main`, is the driver:
/// it sends each item one period after the previous one was passed and waits for
/// it (a throttle that drops one leaves it waiting forever). Then it closes `in`
/// and waits for the throttle to end.
///
/// Its orders are those of the same program with the driver a task of its own
/// spawned after the throttle (as the engine's own explorers and
/// `examples/exploration_table.rs` run it): `main` is spawned after the closure
/// returns, so it is the second task, as the driver was, and everything up to the
/// driver's last receive is the same, step for step. What `main` adds after it
/// makes no choice point: dropping `in` wakes the throttle, the only event due (its
/// cooldown timer is due a period later), whose poll ends it and drops that timer
/// and wakes `main`, again the only event due.
pub fn throttle_world(items: Vec<u32>) -> impl std::future::Future<Output = ()> {
    let (in_tx, in_rx) = sim_core::named("in", || mpsc::channel(1));
    let (out_tx, mut out_rx) = sim_core::named("out", || mpsc::channel(1));
    let throttle = sim_core::task::Builder::new().name("throttle").spawn(buggy_throttle(in_rx, out_tx));
    async move {
        for (i, item) in items.into_iter().enumerate() {
            if i > 0 {
                sleep(PERIOD).await;
            }
            in_tx.send(item).await.unwrap();
            assert_eq!(out_rx.recv().await, Some(item));
        }
        drop(in_tx);
        throttle.await.unwrap();
    }
}
