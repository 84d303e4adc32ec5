//! Tests that fail on purpose, as a user's failing tests would: `printed_replays` in
//! the engine tests runs each one through `cargo test` in a child process, takes the
//! replay command its report prints, and runs that command, as printed, in another.
//! A plain `cargo test` never runs them (`test = false` in `Cargo.toml`).

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use sim_core::time::sleep;
use sim_core::{check_pct, check_proptest, check_random, fail, touch, Check};

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

#[test]
fn check_random_fails() {
    check_random(race, 100);
}

#[test]
fn check_pct_fails() {
    check_pct(race, 100, 2);
}

#[test]
fn check_exhaustive_fails() {
    Check::exhaustive().name("a display name").run(race).assert_ok();
}

#[test]
fn check_proptest_without_inputs_fails() {
    Check::proptest(256).run(race).assert_ok();
}

#[test]
fn check_proptest_fails() {
    // The input says whether the race runs at all: it shrinks to 1.
    check_proptest(0u8..4, |n| async move {
        if n != 0 {
            race().await;
        }
    });
}
