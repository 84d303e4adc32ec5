//! Schedule independence: for a fixed input timeline, the output timeline (values
//! and emission times) is the same under every order of same-instant events.
//!
//! Each generated case runs under FIFO and under 100 random seeds; all records must be
//! equal. Only the simulator has orders to vary, so this module is built with
//! `--cfg lockstep` only; on tokio (paused time) the same generated timelines are checked
//! against the same invariants and models by `properties`. To keep the default run short
//! this uses 50 generated cases per processor (so 5,000 seeded runs each);
//! `PROPTEST_CASES` overrides the number of cases.

use processors::{Batcher, Debounce, Logic, SessionWindow, SlidingWindow, Throttle, TumblingWindow};
use proptest::prelude::*;
use sim_core::Config;
use std::collections::BTreeSet;
use std::fmt::Debug;

use crate::properties::{cases, timeline, units, UNIT};
use crate::support::sim::{run_sim, run_sim_with};
use crate::support::{ms, Timeline};

/// Seeds per case.
const SEEDS: u64 = 100;

fn independent<T, L>(timeline: &Timeline<T>, first_seed: u64, logic: impl Fn() -> L)
where
    T: Clone + Unpin + 'static,
    L: Logic<In = T> + Unpin + 'static,
    L::Out: Clone + Debug + PartialEq + Unpin + 'static,
{
    let fifo = run_sim(timeline, logic());
    for seed in (0..SEEDS).map(|i| first_seed.wrapping_add(i)) {
        let (record, _) = run_sim_with(timeline, Config::random(seed), logic());
        assert_eq!(record, fifo, "seed {seed} changed the output");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(50), ..ProptestConfig::default() })]

    #[test]
    fn throttle_output_is_the_same_under_every_seed_and_fifo(
        tl in timeline(12), period in units(0, 8), seed: u64,
    ) {
        independent(&tl, seed, || Throttle::new(period));
    }

    #[test]
    fn debounce_output_is_the_same_under_every_seed_and_fifo(
        tl in timeline(12), quiet in units(0, 8), seed: u64,
    ) {
        independent(&tl, seed, || Debounce::new(quiet));
    }

    #[test]
    fn batcher_output_is_the_same_under_every_seed_and_fifo(
        tl in timeline(12), size in 1usize..=4, latency in units(0, 8), seed: u64,
    ) {
        independent(&tl, seed, || Batcher::new(size, Some(latency)).unwrap());
    }

    #[test]
    fn tumbling_output_is_the_same_under_every_seed_and_fifo(
        tl in timeline(12), size in units(1, 8), seed: u64,
    ) {
        independent(&tl, seed, || TumblingWindow::new(size).unwrap());
    }

    #[test]
    fn sliding_output_is_the_same_under_every_seed_and_fifo(
        tl in timeline(12),
        (size, slide) in (1u32..=8).prop_flat_map(|s| (Just(UNIT * s), units(1, s))),
        seed: u64,
    ) {
        independent(&tl, seed, || SlidingWindow::new(size, slide).unwrap());
    }

    #[test]
    fn session_output_is_the_same_under_every_seed_and_fifo(
        tl in timeline(12), gap in units(1, 8), seed: u64,
    ) {
        independent(&tl, seed, || SessionWindow::new(gap, |v: &u32| v % 3).unwrap());
    }
}

#[test]
fn seeds_really_reorder_same_instant_events_while_the_output_stays_the_same() {
    // Test the tester: the property above means something only if seeds change the
    // order of events. At 100 ms the debounce's timer, the driver's wake-up and the
    // consumer's wake-up fall on one instant.
    let timeline = Timeline::oks([(0, 1), (100, 2), (100, 3), (200, 4)], 400);
    let fifo = run_sim(&timeline, Debounce::new(ms(100)));
    let mut fingerprints = BTreeSet::new();
    let mut tapes = BTreeSet::new();
    for seed in 0..SEEDS {
        let (record, sim) = run_sim_with(&timeline, Config::random(seed), Debounce::new(ms(100)));
        assert_eq!(record, fifo, "seed {seed}");
        fingerprints.insert(sim.fingerprint());
        tapes.insert(sim.tape().to_string());
    }
    assert!(tapes.len() > 5, "only {} distinct schedules in {SEEDS} seeds", tapes.len());
    assert!(fingerprints.len() > 5, "only {} distinct traces in {SEEDS} seeds", fingerprints.len());
}

/// Runs `timeline` twice under each of a few seeds and checks the two traces match.
fn deterministic<L>(timeline: &Timeline<u32>, logic: impl Fn() -> L)
where
    L: Logic<In = u32> + 'static,
    L::Out: Debug + PartialEq + 'static,
{
    for seed in [0, 1, 7, 42] {
        let (first, sim1) = run_sim_with(timeline, Config::random(seed), logic());
        let (second, sim2) = run_sim_with(timeline, Config::random(seed), logic());
        assert_eq!(sim1.fingerprint(), sim2.fingerprint(), "seed {seed} is not deterministic");
        assert_eq!(first, second);
    }
}

#[test]
fn a_seed_run_twice_gives_the_same_fingerprint_for_every_processor() {
    let tl = Timeline::oks([(0, 1), (0, 2), (50, 3), (100, 4), (100, 5), (150, 6)], 300);
    deterministic(&tl, || Throttle::new(ms(100)));
    deterministic(&tl, || Debounce::new(ms(100)));
    deterministic(&tl, || Batcher::new(2, Some(ms(100))).unwrap());
    deterministic(&tl, || TumblingWindow::new(ms(100)).unwrap());
    deterministic(&tl, || SlidingWindow::new(ms(100), ms(50)).unwrap());
    deterministic(&tl, || SessionWindow::new(ms(100), |v: &u32| v % 2).unwrap());
}
