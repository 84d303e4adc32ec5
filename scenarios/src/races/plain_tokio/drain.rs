//! Race 5, the streaming handler drain, in plain tokio.
//!
//! Two producers send events into a bounded `mpsc` channel of capacity
//! [`CAPACITY`], each paced by a `tokio::time::interval` of 1 ms. When the main
//! producer returns, the server signals "done" on a `oneshot`. The buggy handler
//! `select!`s over the events and "done"; on "done" it drains the queue with
//! `try_recv` until it is empty and returns. The queue belongs to the server, which
//! keeps it after the handler returned.
//!
//! - `tokio-drain/no-straggler`: the helper finishes before "done". No order loses
//!   an event: no false alarm.
//! - `tokio-drain/buggy`: the helper outlives the main producer. Its events after
//!   the drain are never read and, once the buffer is full, it blocks forever: a
//!   deadlock naming the helper, with the lost events reported by the ledger.
//! - `tokio-drain/fixed`: the channel is the completion signal. It closes when its
//!   last sender is dropped, and the handler reads until `recv` returns `None`.

use std::cell::RefCell;
use std::rc::Rc;

use tokio::lockstep;
use tokio::sync::{mpsc, oneshot};
use tokio::time::interval;

use super::{spawn_named, world_of};
use crate::races::drain::{checks, CAPACITY, DONE_EVENT, EVENTS, MAIN_EVENTS, PROMPT_EVENTS, STRAGGLER_EVENTS};
use crate::races::{log, ms, note, Log};
use crate::scenario::{Expectation, Scenario, Variant};
use crate::world::{Ctx, Observer, World};

/// The server's "done" signal to the handler.
pub const DONE: &str = "done";

/// The race's variants.
pub fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario::new(
            "tokio-drain/buggy",
            5,
            Variant::Buggy,
            "race 5 in plain tokio: select! over the queue and a oneshot done, then try_recv until empty; a straggler's events are lost",
            Expectation::Caught { within: 10 },
            false,
            None,
            build,
        ),
        Scenario::new(
            "tokio-drain/no-straggler",
            5,
            Variant::NoStraggler,
            "race 5 in plain tokio, every producer done before the signal: nothing lost in any order (no false alarm)",
            Expectation::Clean { seeds: 10_000 },
            false,
            None,
            build,
        ),
        Scenario::new(
            "tokio-drain/fixed",
            5,
            Variant::Fixed,
            "race 5 in plain tokio, fixed: recv until None (the last sender dropped): nothing lost, straggler or not",
            Expectation::Clean { seeds: 10_000 },
            false,
            None,
            build,
        ),
    ]
}

// ---- The user's code: plain tokio. ----

/// Buggy: "done" means "drain what is buffered now, then stop". Hands every event
/// to `write`.
pub async fn handle_until_done(
    queue: &mut mpsc::Receiver<String>,
    mut done: oneshot::Receiver<()>,
    mut write: impl FnMut(String),
) {
    loop {
        // Events first: "done" is taken only when the queue is empty right now.
        tokio::select! {
            biased;
            event = queue.recv() => match event {
                Some(event) => write(event),
                None => return,
            },
            _ = &mut done => {
                // BUG: "done" says the main producer finished, not that every sender did.
                while let Ok(event) = queue.try_recv() {
                    write(event);
                }
                return;
            }
        }
    }
}

/// Fixed: read until the channel is closed, which happens when its last sender is
/// dropped.
pub async fn handle_until_closed(mut queue: mpsc::Receiver<String>, mut write: impl FnMut(String)) {
    while let Some(event) = queue.recv().await {
        write(event);
    }
}

/// Sends `count` events named `{prefix}0`, `{prefix}1`, … one per tick of a 1 ms
/// interval (the first at once), calling `sent` after each send.
pub async fn produce(prefix: &str, count: u64, events: mpsc::Sender<String>, mut sent: impl FnMut(String)) {
    let mut ticks = interval(ms(1));
    for i in 0..count {
        ticks.tick().await;
        let event = format!("{prefix}{i}");
        if events.send(event.clone()).await.is_err() {
            return;
        }
        sent(event);
    }
}

// ---- The test: the server around the handler, and the checks. ----

fn build(variant: Variant, ctx: &Ctx) -> World {
    let observer = Observer::new();
    let (events, queue) = lockstep::named(EVENTS, || mpsc::channel(CAPACITY));
    sim_core::sync::FingerprintValues::fingerprint_values(&events);
    let (sent, written) = (log(), log());
    let helper_events = if variant == Variant::NoStraggler { PROMPT_EVENTS } else { STRAGGLER_EVENTS };
    let helper = spawn_named("helper", produce("h", helper_events, events.clone(), sender(&observer, &sent)));
    let main = produce("p", MAIN_EVENTS, events, sender(&observer, &sent));
    let tasks = match variant {
        Variant::Fixed => {
            let producer = spawn_named("producer", main);
            let (writer, finish) = (writer(&observer, &written), finish(&observer, &written));
            let handler = spawn_named("handler", async move {
                handle_until_closed(queue, writer).await;
                finish();
            });
            vec![producer, helper, handler]
        }
        _ => {
            let (done, done_signal) = lockstep::named(DONE, oneshot::channel);
            let producer = spawn_named("producer", async move {
                main.await;
                let _ = done.send(()); // "I'm done": the completion flag
            });
            let (writer, finish) = (writer(&observer, &written), finish(&observer, &written));
            // The queue belongs to the server and outlives the handler: whatever reaches it
            // after the handler returned is never read, and the ledger says so.
            let kept = Rc::new(RefCell::new(None));
            let probe = kept.clone();
            observer.watch_buffer(EVENTS, move || probe.borrow().as_ref().map_or(0, mpsc::Receiver::len));
            let handler = spawn_named("handler", async move {
                let mut queue = queue;
                handle_until_done(&mut queue, done_signal, writer).await;
                finish();
                *kept.borrow_mut() = Some(queue);
            });
            vec![producer, helper, handler]
        }
    };
    world_of(ctx, observer, tasks, move |_| checks(&sent.borrow(), &written.borrow()))
}

/// What a producer calls after each send: counts it and logs it.
fn sender(observer: &Rc<Observer>, sent: &Log<String>) -> impl FnMut(String) {
    let (observer, sent) = (observer.clone(), sent.clone());
    move |event| {
        observer.ledger.sent(EVENTS);
        note(&sent, event);
    }
}

/// The handler's `write`: counts the event received, emits it and logs it.
fn writer(observer: &Rc<Observer>, written: &Log<String>) -> impl FnMut(String) {
    let (observer, written) = (observer.clone(), written.clone());
    move |event| {
        observer.ledger.received(EVENTS);
        observer.emit(&event);
        note(&written, event);
    }
}

/// The server's last event after its handler returned: `done`.
fn finish(observer: &Rc<Observer>, written: &Log<String>) -> impl FnOnce() {
    let (observer, written) = (observer.clone(), written.clone());
    move || {
        observer.emit(DONE_EVENT);
        note(&written, DONE_EVENT.to_string());
    }
}
