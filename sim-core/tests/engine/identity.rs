//! Tapes that survive refactors: choices carry the identity of what they picked.

use std::time::Duration;

use sim_core::sync::mpsc;
use sim_core::time::{sleep, Instant};
use sim_core::{Config, Failure, FailureKind, Sim, Tape};

use crate::support::{buggy_throttle, PERIOD};

/// How the code around the race looks.
#[derive(Clone, Copy, PartialEq)]
enum Code {
    Original,
    /// A renamed local and an extra task whose events fall on the race's instants.
    Refactored,
}

fn world(config: Config, code: Code) -> (Sim, Result<(), Box<Failure>>) {
    let mut sim = Sim::new(config);
    let (in_tx, in_rx) = sim_core::named("in", || mpsc::channel(1));
    let (out_tx, mut out_rx) = sim_core::named("out", || mpsc::channel(1));
    if code == Code::Refactored {
        sim.spawn_named("metrics", async {
            for _ in 0..3 {
                sleep(Duration::from_millis(25)).await;
            }
        });
    }
    sim.spawn_named("throttle", buggy_throttle(in_rx, out_tx));
    sim.spawn_named("driver", async move {
        in_tx.send(1).await.unwrap();
        let first = out_rx.recv().await;
        assert_eq!(first, Some(1));
        sleep(PERIOD).await;
        in_tx.send(6).await.unwrap();
        assert_eq!(out_rx.recv().await, Some(6));
    });
    let result = sim.run();
    (sim, result)
}

fn is_the_hang(failure: &Failure) -> bool {
    matches!(&failure.kind, FailureKind::Deadlock { blocked }
        if blocked.iter().map(|b| b.name.as_str()).collect::<Vec<_>>() == ["throttle", "driver"])
}

fn failing_tape() -> Tape {
    (0..200)
        .find_map(|seed| world(Config::random(seed), Code::Original).1.err())
        .map(|failure| {
            assert!(is_the_hang(&failure), "{failure}");
            failure.tape
        })
        .expect("some seed finds the hang")
}

#[test]
fn a_failure_tape_names_the_events_it_picked() {
    let text = failing_tape().to_string();
    assert!(text.starts_with("t2:"), "{text}");
    assert!(text.contains("@timer:driver#0") || text.contains("@timer:throttle#0"), "{text}");
}

#[test]
fn a_tape_replays_the_same_failure_after_a_harmless_refactor() {
    let tape: Tape = failing_tape().to_string().parse().unwrap();
    let (original, failure) = world(Config::replay(tape.clone()), Code::Original);
    assert!(is_the_hang(&failure.unwrap_err()));
    assert!(!original.tape_diverged());

    let (refactored, failure) = world(Config::replay(tape.clone()), Code::Refactored);
    let failure = failure.expect_err("the refactored code still hangs under the old tape");
    assert!(is_the_hang(&failure), "{failure}");
    assert!(!refactored.tape_diverged(), "every recorded choice found its event");
}

#[test]
fn a_positional_tape_does_not_survive_the_same_refactor() {
    // The contrast that motivates identities: the extra task shifts choice points.
    let choices: Vec<String> = failing_tape().choices().iter().map(|c| format!("{}.{}", c.options, c.index)).collect();
    let tape: Tape = format!("t1:{}", choices.join(",")).parse().unwrap();
    let (sim, _) = world(Config::replay(tape), Code::Refactored);
    assert!(sim.tape_diverged());
}

#[test]
fn a_tape_naming_events_that_no_longer_exist_is_stale_not_an_error() {
    let tape: Tape = "t2:2.1@timer:gone#0,2.1@poll:gone#1".parse().unwrap();
    let (sim, result) = world(Config::replay(tape), Code::Original);
    assert!(result.is_ok(), "unmatched entries leave the run canonical (and FIFO passes)");
    assert!(sim.tape_diverged());
    let fifo = world(Config::default(), Code::Original).0;
    assert_eq!(sim.fingerprint(), fifo.fingerprint());
}

#[test]
fn identities_number_polls_timers_and_selections_per_name() {
    let (sim, _) = world(Config::random(1), Code::Original);
    let tape = sim.recorded_tape();
    let text = tape.to_string();
    let items = text.strip_prefix("t2:").expect("recorded tapes carry identities");
    let ids: Vec<&str> =
        items.split(',').map(|item| item.split_once('@').expect("one identity per choice").1).collect();
    assert!(!ids.is_empty());
    for id in ids {
        let name = id.split_once(':').unwrap().1.split_once('#').unwrap().0;
        assert!(["throttle", "driver"].contains(&name), "{id}");
    }
    assert!(Instant::ZERO < sim.now());
}
