//! Race 1, throttle hang: the cooldown timer armed after the hand-off.
//!
//! The buggy throttle passes an item by sending it downstream and only then
//! (after the send returned) starts cooling down: it arms a `PERIOD` timer whose
//! firing ends the cooldown, and takes input and timer in one Go-style select.
//! The driver sends 1, receives 1, sleeps `PERIOD`, sends 6 and waits for 6. At
//! 50 ms the throttle's timer and the driver's wake-up fall on the same instant:
//! when the driver's 6 is handled before the timer has ended the cooldown, 6 is
//! dropped and the driver waits forever, a deadlock naming both tasks.
//!
//! The fix is the timestamp throttle of the `processors` crate: it passes a success
//! when `now >= last_emit + PERIOD`, whatever fired first.

use std::rc::Rc;
use std::time::Duration;

use processors::{Logic, Throttle};
use sim_core::select::{select, Either};
use sim_core::sync::mpsc::{self, Receiver, Sender};
use sim_core::time::{sleep, Sleep};

use super::{counted, forward, log, ms, throttle_checks, throttle_driver};
use crate::scenario::{Expectation, Scenario, Variant};
use crate::world::{spawn, world, Ctx, Observer, World};

/// The throttle's period, and the driver's pause between its two items.
pub const PERIOD: Duration = ms(50);
/// The driver's channel to the throttle.
pub const IN: &str = "in";
/// The throttle's channel to the driver.
pub const OUT: &str = "out";

/// The race's variants.
pub fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario::new(
            "throttle-hang/buggy",
            1,
            Variant::Buggy,
            "throttle arms its cooldown after handing 1 downstream; the driver's 6 at 50 ms can be dropped: deadlock",
            Expectation::Caught { within: 100 },
            true,
            Some(10_000),
            build,
        ),
        Scenario::new(
            "throttle-hang/fixed",
            1,
            Variant::Fixed,
            "the timestamp throttle (now >= last_emit + period) passes 6 at 50 ms in every order",
            Expectation::Clean { seeds: 10_000 },
            true,
            Some(10_000),
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
    let throttle = match variant {
        Variant::Buggy => spawn("throttle", buggy_throttle(from_driver, to_driver, observer.clone())),
        _ => {
            let input = counted(from_driver, observer.clone(), IN);
            let throttled = Throttle::new(PERIOD).process_ok(input);
            spawn("throttle", forward(throttled, to_driver, observer.clone(), OUT))
        }
    };
    let (sent, received) = (log(), log());
    let driver = spawn(
        "driver",
        throttle_driver(to_throttle, from_throttle, PERIOD, observer.clone(), sent.clone(), received.clone()),
    );
    world(ctx, observer, vec![driver, throttle], move |_| throttle_checks(PERIOD, &sent, &received))
}

/// Buggy: the cooldown starts after the hand-off, and the timer's firing (not the
/// clock) ends it.
async fn buggy_throttle(mut input: Receiver<u32>, output: Sender<u32>, observer: Rc<Observer>) {
    let mut cooling: Option<Sleep> = None;
    loop {
        let item = match cooling.as_mut() {
            None => input.recv().await,
            // Input and timer in one select: when both are ready, the pick is a choice point.
            Some(timer) => match select(input.recv(), timer).await {
                Either::Left(item) => item,
                Either::Right(()) => {
                    cooling = None; // the timer fired: the cooldown is over
                    continue;
                }
            },
        };
        let Some(item) = item else { return };
        observer.ledger.received(IN);
        if cooling.is_some() {
            continue; // dropped: still cooling
        }
        if output.send(item).await.is_err() {
            return;
        }
        observer.ledger.sent(OUT);
        cooling = Some(sleep(PERIOD)); // BUG: armed after the item was handed downstream
    }
}
