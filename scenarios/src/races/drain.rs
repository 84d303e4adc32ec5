//! Race 5, streaming handler drain: a completion flag raced against a buffered
//! queue.
//!
//! A main producer and a helper producer send events into a bounded channel
//! (capacity `CAPACITY`). When the main producer returns, it signals "done" on a
//! separate channel. The buggy handler selects over events and "done"; on "done" it
//! drains the events with `try_recv` until empty, writes a final "done" event and
//! stops (its queue stays alive: it belongs to the server, not to the handler).
//!
//! - `drain/no-straggler`: the helper finishes before "done" is signalled. Every
//!   event is in the buffer when the handler drains, so no order loses one: the
//!   harness must not raise a false alarm.
//! - `drain/buggy`: the helper outlives the main producer (a straggler). Its events
//!   after the drain are never read, and once the buffer is full it blocks forever:
//!   a deadlock naming the helper, with the lost events reported by the ledger.
//! - `drain/fixed`: the channel itself is the completion signal. It closes when the
//!   last sender is dropped, and the handler reads until it is closed.

use std::rc::Rc;

use sim_core::select::{select, Either};
use sim_core::sync::mpsc::{self, Receiver, Sender};
use sim_core::time::{sleep_until, Instant};

use super::{log, ms, note, Log};
use crate::scenario::{Expectation, Scenario, Variant};
use crate::world::{at, spawn, world, Ctx, Observer, World};

/// The events channel's capacity.
pub const CAPACITY: usize = 100;
/// Events the main producer sends, one per millisecond from 0. The helper sends at
/// the same instants, and each such instant multiplies the orders that matter by 4
/// (which sender goes first, and whether the handler reads between them): with 3,
/// the reduced enumeration exhausts every variant in a few thousand runs (see
/// `docs/exploration.md`), and the race is the same as with more.
pub const MAIN_EVENTS: u64 = 3;
/// Events the straggling helper sends, one per millisecond from 0: it outlives the
/// main producer by more than a buffer's worth.
pub const STRAGGLER_EVENTS: u64 = 150;
/// Events the helper sends when it is no straggler: it finishes an instant before
/// the main producer (at the main producer's last instant, "done" could overtake
/// the helper's last event, and that event would be lost).
pub const PROMPT_EVENTS: u64 = MAIN_EVENTS - 1;
/// The producers' channel to the handler.
pub const EVENTS: &str = "events";
/// The main producer's completion signal.
pub const DONE: &str = "done";
/// The handler's last event.
pub const DONE_EVENT: &str = "done";

/// The race's variants.
pub fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario::new(
            "drain/buggy",
            5,
            Variant::Buggy,
            "handler drains on a done signal while a straggling helper still sends: events lost, helper blocked",
            Expectation::Caught { within: 10 },
            false,
            None,
            build,
        ),
        Scenario::new(
            "drain/no-straggler",
            5,
            Variant::NoStraggler,
            "the same handler when every producer finishes before done: nothing lost in any order (no false alarm)",
            Expectation::Clean { seeds: 10_000 },
            false,
            None,
            build,
        ),
        Scenario::new(
            "drain/fixed",
            5,
            Variant::Fixed,
            "the handler reads until the channel closes (its last sender dropped): nothing lost, straggler or not",
            Expectation::Clean { seeds: 10_000 },
            false,
            None,
            build,
        ),
    ]
}

fn build(variant: Variant, ctx: &Ctx) -> World {
    let observer = Observer::new();
    let (events, queue) = sim_core::named(EVENTS, || mpsc::channel(CAPACITY));
    sim_core::sync::FingerprintValues::fingerprint_values(&events);
    let (sent, written) = (log(), log());
    let helper_events = if variant == Variant::NoStraggler { PROMPT_EVENTS } else { STRAGGLER_EVENTS };
    let mut tasks = Vec::new();
    let helper = producer("h", helper_events, events.clone(), observer.clone(), sent.clone());
    match variant {
        Variant::Fixed => {
            let main = producer("p", MAIN_EVENTS, events, observer.clone(), sent.clone());
            tasks.push(spawn("producer", main));
            tasks.push(spawn("helper", helper));
            tasks.push(spawn("handler", fixed_handler(queue, observer.clone(), written.clone())));
        }
        _ => {
            let (done, done_signal) = sim_core::named(DONE, || mpsc::channel(1));
            sim_core::sync::FingerprintValues::fingerprint_values(&done);
            let main = producer("p", MAIN_EVENTS, events, observer.clone(), sent.clone());
            tasks.push(spawn("producer", async move {
                main.await;
                let _ = done.send(()).await; // "I'm done": the completion flag
            }));
            tasks.push(spawn("helper", helper));
            tasks.push(spawn("handler", buggy_handler(queue, done_signal, observer.clone(), written.clone())));
        }
    }
    world(ctx, observer, tasks, move |_| checks(&sent.borrow(), &written.borrow()))
}

/// Sends `count` events named `{prefix}0`, `{prefix}1`, … one per millisecond from 0.
async fn producer(prefix: &'static str, count: u64, events: Sender<String>, observer: Rc<Observer>, sent: Log<String>) {
    for i in 0..count {
        sleep_until(at(ms(i))).await;
        let event = format!("{prefix}{i}");
        if events.send(event.clone()).await.is_err() {
            return;
        }
        observer.ledger.sent(EVENTS);
        note(&sent, event);
    }
}

/// Records a written event.
fn write(event: String, observer: &Observer, written: &Log<String>) {
    observer.emit(&event);
    note(written, event);
}

/// Buggy: "done" means "drain what is buffered now, then stop".
async fn buggy_handler(
    mut queue: Receiver<String>,
    mut done: Receiver<()>,
    observer: Rc<Observer>,
    written: Log<String>,
) {
    loop {
        match select(queue.recv(), done.recv()).await {
            Either::Left(Some(event)) => {
                observer.ledger.received(EVENTS);
                write(event, &observer, &written);
            }
            Either::Left(None) => break,
            Either::Right(_) => {
                // BUG: "done" says the main producer finished, not that every sender did.
                while let Ok(event) = queue.try_recv() {
                    observer.ledger.received(EVENTS);
                    write(event, &observer, &written);
                }
                break;
            }
        }
    }
    write(DONE_EVENT.to_string(), &observer, &written);
    // The queue belongs to the server and outlives the handler: whatever reaches it now is never read.
    observer.watch_buffer(EVENTS, move || queue.len());
}

/// Fixed: read until the channel is closed, which happens when its last sender is dropped.
async fn fixed_handler(mut queue: Receiver<String>, observer: Rc<Observer>, written: Log<String>) {
    while let Some(event) = queue.recv().await {
        observer.ledger.received(EVENTS);
        write(event, &observer, &written);
    }
    write(DONE_EVENT.to_string(), &observer, &written);
}

/// Every event sent was written exactly once, before the final "done"; each
/// producer's events in the order it sent them.
pub(crate) fn checks(sent: &[(Instant, String)], written: &[(Instant, String)]) -> Vec<String> {
    let mut problems = Vec::new();
    let names: Vec<&str> = written.iter().map(|(_, e)| e.as_str()).collect();
    match names.iter().position(|e| *e == DONE_EVENT) {
        Some(i) if i + 1 == names.len() => {}
        _ => problems.push("handler: the final event is not `done`".to_string()),
    }
    let events = &names[..names.len().saturating_sub(1)];
    let missing: Vec<&str> = sent.iter().map(|(_, e)| e.as_str()).filter(|e| !events.contains(e)).collect();
    if !missing.is_empty() {
        problems.push(format!("handler: {} events sent were never written, first {}", missing.len(), missing[0]));
    }
    for prefix in ["p", "h"] {
        let order: Vec<u64> =
            events.iter().filter_map(|e| e.strip_prefix(prefix)).filter_map(|n| n.parse().ok()).collect();
        if order.windows(2).any(|w| w[0] >= w[1]) {
            problems.push(format!("handler: the events of `{prefix}` were written out of order or twice"));
        }
    }
    problems
}
