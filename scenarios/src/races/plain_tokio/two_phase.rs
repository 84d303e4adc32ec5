//! Race 2, the two-phase debounce, in plain tokio.
//!
//! The buggy debounce first looks at its timer without waiting
//! (`Sleep::is_elapsed`, "phase 1"), then waits in a `tokio::select!` on the input
//! or the timer ("phase 2"). The look only helps at the top of a loop: a debounce
//! already waiting in phase 2 when an input and the timer become ready at the same
//! instant takes whichever the select (or the order of the wake-ups) gives it. An
//! input at exactly the deadline can so replace the pending item before the
//! timer's firing is seen: the pending item is never emitted, although it was
//! followed by `QUIET` of silence.
//!
//! The fix keeps each pending item's deadline and, on every input, first emits the
//! pending item whose deadline has passed by the clock.

use std::rc::Rc;
use std::time::Duration;

use tokio::lockstep;
use tokio::sync::mpsc;
use tokio::time::{sleep, sleep_until, Instant};

use super::{spawn_named, world_of};
use crate::props;
use crate::races::two_phase::{debounce_input, DEBOUNCE_CLOSE, QUIET};
use crate::races::{log, note, Log};
use crate::scenario::{Expectation, Scenario, Variant};
use crate::world::{at, Ctx, Observer, World};

/// The producer's channel to the debounce.
pub const IN: &str = "in";
/// The debounce's channel to the consumer.
pub const OUT: &str = "out";

/// The race's variants: the debounce, buggy and fixed (the input is race 2's:
/// [`debounce_input`]).
pub fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario::new(
            "tokio-two-phase/buggy",
            2,
            Variant::Buggy,
            "race 2's debounce in plain tokio: is_elapsed(), then select! on input or timer; an input at the deadline can replace the pending item",
            Expectation::Caught { within: 100 },
            true,
            None,
            build,
        ),
        Scenario::new(
            "tokio-two-phase/fixed",
            2,
            Variant::Fixed,
            "race 2's debounce in plain tokio, fixed: every input first emits a pending item whose deadline has passed",
            Expectation::Clean { seeds: 10_000 },
            true,
            None,
            build,
        ),
    ]
}

// ---- The user's code: plain tokio. ----

/// Buggy: phase 1 (a look at the timer), then phase 2 (a select that may take an
/// input at the deadline before the timer).
pub async fn debounce_two_phase(mut input: mpsc::Receiver<u32>, output: mpsc::Sender<u32>, quiet: Duration) {
    let mut pending: Option<u32> = None;
    let timer = sleep(quiet);
    tokio::pin!(timer);
    loop {
        // Phase 1: has the quiet period ended?
        if timer.is_elapsed() {
            if let Some(item) = pending.take() {
                if output.send(item).await.is_err() {
                    return;
                }
                continue;
            }
        }
        // Phase 2: wait for input, or for the timer while an item is pending.
        tokio::select! {
            () = &mut timer, if pending.is_some() => {
                let Some(item) = pending.take() else { continue };
                if output.send(item).await.is_err() {
                    return;
                }
            }
            item = input.recv() => match item {
                Some(item) => {
                    pending = Some(item); // BUG: the old item's deadline may be due right now
                    timer.as_mut().reset(Instant::now() + quiet);
                }
                None => {
                    if let Some(item) = pending.take() {
                        let _ = output.send(item).await;
                    }
                    return;
                }
            },
        }
    }
}

/// Fixed: each pending item keeps its deadline, and an input first emits the pending
/// item whose deadline has passed, whichever wake-up came first.
pub async fn debounce_fixed(mut input: mpsc::Receiver<u32>, output: mpsc::Sender<u32>, quiet: Duration) {
    let mut pending: Option<(u32, Instant)> = None;
    let timer = sleep(quiet);
    tokio::pin!(timer);
    loop {
        // `biased;` (timer first) is no fix on its own: at the deadline the input's wake-up
        // can still come before the timer's firing. It only spares the select a choice.
        tokio::select! {
            biased;
            () = &mut timer, if pending.is_some() => {
                let Some((item, _)) = pending.take() else { continue };
                if output.send(item).await.is_err() {
                    return;
                }
            }
            item = input.recv() => {
                let now = Instant::now();
                if let Some((old, deadline)) = pending.take() {
                    // Due by the clock (or the input ended): emit it before anything else.
                    if (now >= deadline || item.is_none()) && output.send(old).await.is_err() {
                        return;
                    }
                }
                let Some(item) = item else { return };
                pending = Some((item, now + quiet));
                timer.as_mut().reset(now + quiet);
            }
        }
    }
}

// ---- The test: producer, consumer, checks. ----

fn build(variant: Variant, ctx: &Ctx) -> World {
    let observer = Observer::new();
    let (to_debounce, from_producer) = lockstep::named(IN, || mpsc::channel(16));
    let (to_consumer, from_debounce) = lockstep::named(OUT, || mpsc::channel(16));
    sim_core::sync::FingerprintValues::fingerprint_values(&to_debounce);
    sim_core::sync::FingerprintValues::fingerprint_values(&to_consumer);
    let (sent, received) = (log(), log());
    let producer = spawn_named("producer", producer(to_debounce, sent.clone()));
    let debounce = match variant {
        Variant::Buggy => spawn_named("debounce", debounce_two_phase(from_producer, to_consumer, QUIET)),
        _ => spawn_named("debounce", debounce_fixed(from_producer, to_consumer, QUIET)),
    };
    let consumer = spawn_named("consumer", consumer(from_debounce, observer.clone(), received.clone()));
    world_of(ctx, observer, vec![producer, debounce, consumer], move |_| {
        props::debounce(QUIET, &sent.borrow(), at(DEBOUNCE_CLOSE), &received.borrow())
    })
}

/// Sends race 2's debounce input, each item at its time, then closes the channel
/// at `DEBOUNCE_CLOSE` (by dropping its sender).
async fn producer(tx: mpsc::Sender<u32>, sent: Log<u32>) {
    let start = Instant::now();
    for (time, item) in debounce_input() {
        sleep_until(start + time).await;
        if tx.send(item).await.is_err() {
            return;
        }
        note(&sent, item);
    }
    sleep_until(start + DEBOUNCE_CLOSE).await;
}

/// Receives until the debounce's output closes, recording every item.
async fn consumer(mut rx: mpsc::Receiver<u32>, observer: Rc<Observer>, received: Log<u32>) {
    while let Some(item) = rx.recv().await {
        observer.emit(item);
        note(&received, item);
    }
}
