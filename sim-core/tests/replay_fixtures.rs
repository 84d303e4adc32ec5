//! Tests that fail on purpose, as a user's failing tests would: `printed_replays` in
//! the engine tests runs each one through `cargo test` in a child process, takes the
//! replay command its report prints, and runs that command, as printed, in another.
//! A plain `cargo test` never runs them (`test = false` in `Cargo.toml`).

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use sim_core::check::{check, CheckConfig, Seeded};
use sim_core::explore::{exhaustive_check, proptest_check, proptest_check_with, ExhaustiveCheck, PropCheck};
use sim_core::footprint::touch;
use sim_core::time::sleep;
use sim_core::{check_random, fail, Failure, Sim};

/// Two tasks wake at 10 ms and log their names; it fails when `b` logs first.
fn spawn_race() -> Rc<RefCell<Vec<&'static str>>> {
    let log = Rc::new(RefCell::new(Vec::new()));
    for name in ["a", "b"] {
        let log = log.clone();
        sim_core::task::Builder::new().name(name).spawn(async move {
            sleep(Duration::from_millis(10)).await;
            touch("log");
            log.borrow_mut().push(name);
        });
    }
    log
}

fn check_log(log: &Rc<RefCell<Vec<&'static str>>>) {
    touch("log");
    if log.borrow().first() == Some(&"b") {
        fail("b logged first");
    }
}

async fn race() {
    let log = spawn_race();
    sleep(Duration::from_millis(20)).await;
    check_log(&log);
}

fn race_sim(sim: &mut Sim) -> Result<(), Box<Failure>> {
    let log = spawn_race();
    sim.spawn_named("check", async move {
        sleep(Duration::from_millis(20)).await;
        check_log(&log);
    });
    sim.run()
}

#[test]
fn check_random_fails() {
    check_random(0..100, race);
}

#[test]
fn a_pct_check_fails() {
    check(CheckConfig::default().seeds(0..100).seeded(Seeded::Pct { depth: 2, steps: 4 }), race).assert_ok();
}

#[test]
fn exhaustive_check_fails() {
    exhaustive_check(ExhaustiveCheck::default().name("a display name"), race_sim).assert_proven();
}

#[test]
fn proptest_check_fails() {
    proptest_check(PropCheck::default(), race_sim).assert_ok();
}

#[test]
fn proptest_check_with_fails() {
    // The input says whether the race runs at all: it shrinks to 1.
    let property = |&race: &u8, sim: &mut Sim| if race == 0 { sim.run() } else { race_sim(sim) };
    proptest_check_with(PropCheck::default(), 0u8..4, property).assert_ok();
}
