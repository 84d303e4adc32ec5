//! Race 4, fake-clock tick loss: a window that counts ticks.
//!
//! A Go-style ticker, at each period, does a non-blocking send of the tick's time
//! into a capacity-1 channel: when the previous tick has not been taken yet, the
//! new one is lost. The buggy tumbling window selects over its input and those
//! ticks and closes the current window at each tick it receives. Its consumer is
//! slow: it takes nothing before `CONSUMER_WAKES`, so the window blocks handing
//! over its second window, a third tick waits in the tick channel, and at
//! `CONSUMER_WAKES` the ticker's next tick and the window's unblocking fall on the
//! same instant. When the ticker goes first, that tick is lost and two windows
//! merge into one that covers twice `SIZE`.
//!
//! Detection: the window invariant (each window covers exactly `SIZE`, aligned to
//! the origin) and schedule dependence. The fix is the `processors` crate's
//! tumbling window, which computes windows from deadlines, not from counting ticks.

use std::rc::Rc;
use std::time::Duration;

use processors::{Logic, TumblingWindow, Window};
use sim_core::select::{select, Either};
use sim_core::sync::mpsc::{self, error::TrySendError, Receiver, Sender};
use sim_core::time::sleep_until;

use super::{consume, counted, forward, log, ms, produce, Log};
use crate::props;
use crate::scenario::{Expectation, Scenario, Variant};
use crate::world::{at, list, spawn, world, Ctx, Observer, World};

/// The window size, and the ticker's period.
pub const SIZE: Duration = ms(100);
/// When the slow consumer starts taking windows.
pub const CONSUMER_WAKES: Duration = ms(400);
/// When the producer closes its channel.
pub const CLOSE: Duration = ms(650);
/// The producer's channel to the window.
pub const IN: &str = "in";
/// The ticker's capacity-1 channel to the window.
pub const TICKS: &str = "ticks";
/// The window's capacity-1 channel to the consumer.
pub const OUT: &str = "windows";

/// The input: one item in each of the first two windows, none while the window is
/// blocked, then items in `[400ms, 500ms)` and `[500ms, 600ms)`.
pub fn input() -> Vec<(Duration, u32)> {
    vec![(ms(10), 1), (ms(110), 2), (ms(420), 3), (ms(450), 4), (ms(530), 5)]
}

/// The race's variants.
pub fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario::new(
            "tick-loss/buggy",
            4,
            Variant::Buggy,
            "window closes at each tick of a Go-style ticker; with a slow consumer a tick is lost and two windows merge",
            Expectation::Caught { within: 100 },
            true,
            None,
            build,
        ),
        Scenario::new(
            "tick-loss/fixed",
            4,
            Variant::Fixed,
            "the processors tumbling window computes windows from deadlines: same windows in every order",
            Expectation::Clean { seeds: 10_000 },
            true,
            None,
            build,
        ),
    ]
}

fn build(variant: Variant, ctx: &Ctx) -> World {
    let observer = Observer::new();
    let (to_window, from_producer) = sim_core::named(IN, || mpsc::channel(16));
    sim_core::sync::FingerprintValues::fingerprint_values(&to_window);
    let (to_consumer, from_window) = sim_core::named(OUT, || mpsc::channel(1));
    sim_core::sync::FingerprintValues::fingerprint_values(&to_consumer);
    let (sent, received) = (log(), log());
    let mut tasks = vec![spawn("producer", produce(input(), CLOSE, to_window, observer.clone(), IN, sent.clone()))];
    match variant {
        Variant::Buggy => {
            let (tick, ticks) = sim_core::named(TICKS, || mpsc::channel(1));
            sim_core::sync::FingerprintValues::fingerprint_values(&tick);
            tasks.push(spawn("window", buggy_window(from_producer, ticks, to_consumer, observer.clone())));
            tasks.push(spawn("ticker", ticker(tick, observer.clone())));
        }
        _ => {
            let input = counted(from_producer, observer.clone(), IN);
            let windows = TumblingWindow::new(SIZE).expect("a valid window size").process_ok(input);
            tasks.push(spawn("window", forward(windows, to_consumer, observer.clone(), OUT)));
        }
    }
    tasks.insert(2, spawn("consumer", slow_consumer(from_window, observer.clone(), received.clone())));
    world(ctx, observer, tasks, move |_| props::tumbling(SIZE, &sent.borrow(), at(CLOSE), &received.borrow()))
}

/// Writes a window as `[100ms, 200ms): [2]`.
pub fn show(window: &Window<u32>) -> String {
    format!("[{:?}, {:?}): {}", window.start, window.end, list(&window.items))
}

/// Takes nothing until `CONSUMER_WAKES`, then every window until the channel closes.
async fn slow_consumer(rx: Receiver<Window<u32>>, observer: Rc<Observer>, received: Log<Window<u32>>) {
    sleep_until(at(CONSUMER_WAKES)).await;
    consume(rx, observer, OUT, received, show).await;
}

/// The Go-style ticker: at each period, a non-blocking send of the tick's time;
/// a tick that finds the channel full is lost (and counted as dropped).
async fn ticker(tick: Sender<Duration>, observer: Rc<Observer>) {
    for k in 1.. {
        let time = SIZE * k;
        sleep_until(at(time)).await;
        match tick.try_send(time) {
            Ok(()) => observer.ledger.sent(TICKS),
            Err(TrySendError::Full(_)) => {
                observer.ledger.sent(TICKS);
                observer.ledger.dropped(TICKS, "tick lost: the previous tick was not taken yet");
            }
            Err(TrySendError::Closed(_)) => return,
        }
    }
}

/// Buggy: the current window ends at each tick received, whichever tick that is.
async fn buggy_window(
    mut input: Receiver<u32>,
    mut ticks: Receiver<Duration>,
    output: Sender<Window<u32>>,
    observer: Rc<Observer>,
) {
    let mut start = Duration::ZERO;
    let mut items = Vec::new();
    loop {
        match select(input.recv(), ticks.recv()).await {
            Either::Left(Some(item)) => {
                observer.ledger.received(IN);
                items.push(item);
            }
            Either::Left(None) | Either::Right(None) => break,
            Either::Right(Some(tick)) => {
                observer.ledger.received(TICKS);
                // BUG: a window is "from the last tick to this one"; a lost tick merges two.
                let window = Window { start, end: tick, items: std::mem::take(&mut items) };
                start = tick;
                if window.items.is_empty() {
                    continue;
                }
                if output.send(window).await.is_err() {
                    return;
                }
                observer.ledger.sent(OUT);
            }
        }
    }
    if !items.is_empty() && output.send(Window { start, end: start + SIZE, items }).await.is_ok() {
        observer.ledger.sent(OUT);
    }
}
