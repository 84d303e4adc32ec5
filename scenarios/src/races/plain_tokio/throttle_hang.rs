//! Race 1, the throttle hang, in plain tokio.
//!
//! The buggy throttle is the one a tokio user writes first: one pinned `Sleep` as the
//! cooldown, re-armed with `reset` after an item has been handed downstream, and a
//! `tokio::select!` over the cooldown and the input. The cooldown ends when the
//! timer's branch runs. The driver sends 1, receives 1, sleeps `PERIOD`, sends 6 and
//! waits for 6: at 50 ms the cooldown's firing and the driver's 6 fall on the same
//! instant, and when the throttle takes 6 before it has seen the timer fire, 6 is
//! dropped and the driver waits forever (a deadlock naming both tasks).
//!
//! The fix decides from `Instant::now()` when an item is taken, not from which
//! wake-up came first.

use std::rc::Rc;
use std::time::Duration;

use tokio::lockstep;
use tokio::sync::mpsc;
use tokio::time::{sleep, Instant};

use super::{spawn_named, world_of};
use crate::races::{log, ms, note, throttle_checks, Log};
use crate::scenario::{Expectation, Scenario, Variant};
use crate::world::{Ctx, Observer, World};

/// The throttle's period, and the driver's pause between its two items.
pub const PERIOD: Duration = ms(50);
/// The driver's channel to the throttle.
pub const IN: &str = "in";
/// The throttle's channel to the driver.
pub const OUT: &str = "out";
/// The ledger's flow: items the driver sent through the throttle and got back (in
/// this world the throttle must drop none).
pub const FLOW: &str = "throttle";

/// The race's variants.
pub fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario::new(
            "tokio-throttle-hang/buggy",
            1,
            Variant::Buggy,
            "race 1 in plain tokio: select! over a reset Sleep and the input; the driver's 6 at 50 ms can be dropped: deadlock",
            Expectation::Caught { within: 100 },
            true,
            Some(10_000),
            build,
        ),
        Scenario::new(
            "tokio-throttle-hang/fixed",
            1,
            Variant::Fixed,
            "race 1 in plain tokio, fixed: passes when Instant::now() >= last + period, in every order",
            Expectation::Clean { seeds: 10_000 },
            true,
            Some(10_000),
            build,
        ),
    ]
}

// ---- The user's code: plain tokio. ----

/// Buggy: the cooldown is armed after the hand-off, and the timer's branch (not the
/// clock) ends it.
pub async fn throttle_buggy(mut input: mpsc::Receiver<u32>, output: mpsc::Sender<u32>, period: Duration) {
    let cooldown = sleep(period);
    tokio::pin!(cooldown);
    let mut cooling = false;
    loop {
        tokio::select! {
            () = &mut cooldown, if cooling => cooling = false,
            item = input.recv() => {
                let Some(item) = item else { return };
                if cooling {
                    continue; // still cooling down: dropped
                }
                if output.send(item).await.is_err() {
                    return;
                }
                cooling = true;
                cooldown.as_mut().reset(Instant::now() + period); // BUG: the timer decides
            }
        }
    }
}

/// Fixed: an item passes when `period` has passed since the last one passed, by the
/// clock, whatever woke the task first.
pub async fn throttle_fixed(mut input: mpsc::Receiver<u32>, output: mpsc::Sender<u32>, period: Duration) {
    let mut last: Option<Instant> = None;
    while let Some(item) = input.recv().await {
        let now = Instant::now();
        if last.is_none_or(|t| now >= t + period) {
            last = Some(now);
            if output.send(item).await.is_err() {
                return;
            }
        }
    }
}

// ---- The test: the driver and the checks. ----

fn build(variant: Variant, ctx: &Ctx) -> World {
    let observer = Observer::new();
    let (to_throttle, from_driver) = lockstep::named(IN, || mpsc::channel(1));
    let (to_driver, from_throttle) = lockstep::named(OUT, || mpsc::channel(1));
    sim_core::sync::FingerprintValues::fingerprint_values(&to_throttle);
    sim_core::sync::FingerprintValues::fingerprint_values(&to_driver);
    let throttle = match variant {
        Variant::Buggy => spawn_named("throttle", throttle_buggy(from_driver, to_driver, PERIOD)),
        _ => spawn_named("throttle", throttle_fixed(from_driver, to_driver, PERIOD)),
    };
    let (sent, received) = (log(), log());
    let driver =
        spawn_named("driver", driver(to_throttle, from_throttle, observer.clone(), sent.clone(), received.clone()));
    world_of(ctx, observer, vec![driver, throttle], move |_| throttle_checks(PERIOD, &sent, &received))
}

/// Sends 1, receives it, sleeps `PERIOD`, sends 6 and receives it.
async fn driver(
    input: mpsc::Sender<u32>,
    mut output: mpsc::Receiver<u32>,
    observer: Rc<Observer>,
    sent: Log<u32>,
    received: Log<u32>,
) {
    for (pause, item) in [(Duration::ZERO, 1), (PERIOD, 6)] {
        sleep(pause).await;
        if input.send(item).await.is_err() {
            return;
        }
        observer.ledger.sent(FLOW);
        note(&sent, item);
        let Some(got) = output.recv().await else { return };
        observer.ledger.received(FLOW);
        observer.emit(got);
        note(&received, got);
    }
}
