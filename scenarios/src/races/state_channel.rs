//! Race 3, the state-channel pattern: the end of the cooldown travels through
//! another task.
//!
//! The buggy throttle passes an item by sending it downstream, then asks a helper
//! task, `cooldown`, to time the cooldown: the helper sleeps `PERIOD` and sends
//! "cooling ended" on a capacity-1 state channel. The throttle selects over its
//! input and that state channel. The driver is race 1's: send 1, receive 1, sleep
//! `PERIOD`, send 6, wait for 6. The extra hop (timer, helper, state channel,
//! throttle) adds same-instant orders in which the driver's 6 reaches a throttle
//! that has not yet heard that the cooldown ended: 6 is dropped and the driver
//! waits forever.
//!
//! The fix is race 1's: the timestamp throttle of the `processors` crate.

use std::rc::Rc;
use std::time::Duration;

use processors::{Logic, Throttle};
use sim_core::select::{select, Either};
use sim_core::sync::mpsc::{self, Receiver, Sender};
use sim_core::time::sleep;

use super::{counted, forward, log, ms, throttle_checks, throttle_driver};
use crate::scenario::{Expectation, Scenario, Variant};
use crate::world::{spawn, world, Ctx, Observer, World};

/// The throttle's period, and the driver's pause between its two items.
pub const PERIOD: Duration = ms(50);
/// The driver's channel to the throttle.
pub const IN: &str = "in";
/// The throttle's channel to the driver.
pub const OUT: &str = "out";
/// The throttle's request to the helper: start timing a cooldown.
pub const ARM: &str = "cooldown-start";
/// The helper's capacity-1 state channel: the cooldown ended.
pub const STATE: &str = "cooling-ended";

/// The race's variants.
pub fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario::new(
            "state-channel/buggy",
            3,
            Variant::Buggy,
            "a helper task times the cooldown and reports its end on a state channel; 6 at 50 ms can beat that report: deadlock",
            Expectation::Caught { within: 100 },
            true,
            Some(100_000),
            build,
        ),
        Scenario::new(
            "state-channel/fixed",
            3,
            Variant::Fixed,
            "the timestamp throttle needs no helper: 6 at 50 ms passes in every order",
            Expectation::Clean { seeds: 10_000 },
            true,
            Some(100_000),
            build,
        ),
    ]
}

fn build(variant: Variant, ctx: &Ctx) -> World {
    let observer = Observer::new();
    let (to_throttle, from_driver) = sim_core::named(IN, || mpsc::channel(1));
    sim_core::sync::FingerprintValues::fingerprint_values(&to_throttle);
    let (to_driver, from_throttle) = sim_core::named(OUT, || mpsc::channel(1));
    sim_core::sync::FingerprintValues::fingerprint_values(&to_driver);
    let mut tasks = Vec::new();
    match variant {
        Variant::Buggy => {
            let (arm, armed) = sim_core::named(ARM, || mpsc::channel(1));
            sim_core::sync::FingerprintValues::fingerprint_values(&arm);
            let (ended, state) = sim_core::named(STATE, || mpsc::channel(1));
            sim_core::sync::FingerprintValues::fingerprint_values(&ended);
            tasks.push(spawn("throttle", buggy_throttle(from_driver, to_driver, arm, state, observer.clone())));
            tasks.push(spawn("cooldown", cooldown(armed, ended)));
        }
        _ => {
            let input = counted(from_driver, observer.clone(), IN);
            let throttled = Throttle::new(PERIOD).process_ok(input);
            tasks.push(spawn("throttle", forward(throttled, to_driver, observer.clone(), OUT)));
        }
    }
    let (sent, received) = (log(), log());
    let driver = spawn(
        "driver",
        throttle_driver(to_throttle, from_throttle, PERIOD, observer.clone(), sent.clone(), received.clone()),
    );
    tasks.insert(0, driver);
    world(ctx, observer, tasks, move |_| throttle_checks(PERIOD, &sent, &received))
}

/// Buggy: cooling is a flag cleared by a message from the helper.
async fn buggy_throttle(
    mut input: Receiver<u32>,
    output: Sender<u32>,
    arm: Sender<()>,
    mut state: Receiver<()>,
    observer: Rc<Observer>,
) {
    let mut cooling = false;
    loop {
        let item = if cooling {
            match select(input.recv(), state.recv()).await {
                Either::Left(item) => item,
                Either::Right(Some(())) => {
                    cooling = false; // the helper says the cooldown ended
                    continue;
                }
                Either::Right(None) => return,
            }
        } else {
            input.recv().await
        };
        let Some(item) = item else { return };
        observer.ledger.received(IN);
        if cooling {
            continue; // dropped: still cooling, as far as this task knows
        }
        if output.send(item).await.is_err() {
            return;
        }
        observer.ledger.sent(OUT);
        cooling = true;
        // BUG: the cooldown starts after the hand-off, and its end comes back through another task.
        if arm.send(()).await.is_err() {
            return;
        }
    }
}

/// The helper: for each request, sleep `PERIOD`, then report the end of the cooldown.
async fn cooldown(mut armed: Receiver<()>, ended: Sender<()>) {
    while armed.recv().await.is_some() {
        sleep(PERIOD).await;
        if ended.send(()).await.is_err() {
            return;
        }
    }
}
