//! Tapes: record, print, parse, replay, same fingerprint.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use sim_core::time::sleep;
use sim_core::StrategyKind;
use sim_core::{choose, Config, Fingerprint, Sim, Tape};

/// Five tasks waking at overlapping instants and drawing choices: many choice points.
fn busy(config: Config) -> (Fingerprint, Tape, Vec<(u32, usize)>) {
    let mut sim = Sim::new(config);
    let log = Rc::new(RefCell::new(Vec::new()));
    for i in 0..5u32 {
        let log = log.clone();
        sim.spawn(async move {
            for round in 0..4u64 {
                sleep(Duration::from_millis(10 * (round % 2 + 1))).await;
                let pick = choose(3);
                log.borrow_mut().push((i, pick));
            }
        });
    }
    sim.run().unwrap();
    let out = log.borrow().clone();
    (sim.fingerprint(), sim.tape(), out)
}

#[test]
fn a_printed_tape_replays_to_the_same_fingerprint() {
    for seed in 0..50 {
        let (fingerprint, tape, log) = busy(Config::random(seed));
        let text = tape.to_string();
        let parsed: Tape = text.parse().unwrap();
        let (replayed, _, replayed_log) = busy(Config::replay(parsed));
        assert_eq!(replayed, fingerprint, "seed {seed}, tape {text}");
        assert_eq!(replayed_log, log);
    }
}

#[test]
fn replay_ignores_the_strategy_that_recorded_the_tape() {
    let (fingerprint, tape, _) = busy(Config::random(77));
    // Recorded under random(77); replayed with a config that named another strategy first.
    let config = Config::random(12_345).strategy(StrategyKind::Replay(tape));
    assert_eq!(busy(config).0, fingerprint);
}

#[test]
fn different_seeds_explore_different_orders() {
    let fingerprints: std::collections::BTreeSet<_> = (0..20).map(|s| busy(Config::random(s)).0).collect();
    assert!(fingerprints.len() > 15, "only {} distinct runs in 20 seeds", fingerprints.len());
}

#[test]
fn an_empty_tape_replays_the_fifo_order() {
    let (fifo, tape, _) = busy(Config::default());
    assert_eq!(tape.to_string(), "t1:");
    assert_eq!(busy(Config::replay(Tape::new())).0, fifo);
}

#[test]
fn a_tape_from_other_code_is_flagged_as_diverged() {
    let tape: Tape = "t1:7.6*3".parse().unwrap();
    let mut sim = Sim::new(Config::replay(tape));
    for _ in 0..2 {
        sim.spawn(async {});
    }
    sim.run().unwrap();
    assert!(sim.tape_diverged());
}
