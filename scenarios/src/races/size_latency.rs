//! Race 6, size and latency at the same instant: a batcher that checks the size
//! before the deadline.
//!
//! The buggy batcher waits in one select on its input and its latency timer. An
//! item that fills the batch arriving at exactly the latency deadline is handled
//! by whichever branch the select (or the order of wake-ups) favours: when the
//! timer goes first, the latency flush emits the batch and the item starts the next
//! one (correct); when the item goes first, it joins the batch, which is flushed
//! for being full: one item too many, and every later batch shifts.
//!
//! The fix is the `processors` crate's batcher: on every input it first flushes a
//! batch whose deadline is due at `now`, then adds the item.

use std::rc::Rc;
use std::time::Duration;

use processors::{Batcher, Logic};
use sim_core::select::{select, Either};
use sim_core::sync::mpsc::{self, Receiver, Sender};
use sim_core::time::{sleep, Sleep};

use super::{consume, counted, forward, log, ms, produce};
use crate::props;
use crate::scenario::{Expectation, Scenario, Variant};
use crate::world::{list, spawn, world, Ctx, Observer, World};

/// The batch size limit.
pub const MAX_SIZE: usize = 3;
/// The latency limit.
pub const LATENCY: Duration = ms(100);
/// The producer's channel to the batcher.
pub const IN: &str = "in";
/// The batcher's channel to the consumer.
pub const OUT: &str = "out";
/// When the producer closes its channel.
pub const CLOSE: Duration = ms(350);

/// The input: 3 would fill the batch `[1, 2]` and arrives exactly at its deadline.
pub fn input() -> Vec<(Duration, u32)> {
    vec![(ms(0), 1), (ms(40), 2), (ms(100), 3), (ms(120), 4), (ms(140), 5), (ms(200), 6)]
}

/// The race's variants.
pub fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario::new(
            "size-vs-latency/buggy",
            6,
            Variant::Buggy,
            "batcher checks size before its deadline: an item filling the batch at the deadline can join it",
            Expectation::Caught { within: 100 },
            true,
            None,
            build,
        ),
        Scenario::new(
            "size-vs-latency/fixed",
            6,
            Variant::Fixed,
            "the processors batcher flushes a due batch before adding the item: same batches in every order",
            Expectation::Clean { seeds: 10_000 },
            true,
            None,
            build,
        ),
    ]
}

fn build(variant: Variant, ctx: &Ctx) -> World {
    let observer = Observer::new();
    let (to_batcher, from_producer) = sim_core::named(IN, || mpsc::channel(16));
    sim_core::sync::FingerprintValues::fingerprint_values(&to_batcher);
    let (to_consumer, from_batcher) = sim_core::named(OUT, || mpsc::channel(16));
    sim_core::sync::FingerprintValues::fingerprint_values(&to_consumer);
    let (sent, received) = (log(), log());
    let producer = spawn("producer", produce(input(), CLOSE, to_batcher, observer.clone(), IN, sent.clone()));
    let batcher = match variant {
        Variant::Buggy => spawn("batcher", buggy_batcher(from_producer, to_consumer, observer.clone())),
        _ => {
            let input = counted(from_producer, observer.clone(), IN);
            let batcher = Batcher::new(MAX_SIZE, Some(LATENCY)).expect("a valid batcher configuration");
            spawn("batcher", forward(batcher.process_ok(input), to_consumer, observer.clone(), OUT))
        }
    };
    let consumer = spawn("consumer", consume(from_batcher, observer.clone(), OUT, received.clone(), |b| list(b)));
    world(ctx, observer, vec![producer, batcher, consumer], move |_| {
        props::batcher(MAX_SIZE, LATENCY, &sent.borrow(), &received.borrow())
    })
}

/// Buggy: one select over input and timer; an input is added (and the size
/// checked) without looking at the deadline.
async fn buggy_batcher(mut input: Receiver<u32>, output: Sender<Vec<u32>>, observer: Rc<Observer>) {
    let mut batch = Vec::new();
    let mut timer: Option<Sleep> = None;
    loop {
        let item = match timer.as_mut() {
            None => input.recv().await,
            Some(deadline) => match select(input.recv(), deadline).await {
                Either::Left(item) => item,
                Either::Right(()) => {
                    timer = None; // latency flush
                    if output.send(std::mem::take(&mut batch)).await.is_err() {
                        return;
                    }
                    observer.ledger.sent(OUT);
                    continue;
                }
            },
        };
        let Some(item) = item else { break };
        observer.ledger.received(IN);
        batch.push(item); // BUG: a deadline due right now is not looked at
        if batch.len() == 1 {
            timer = Some(sleep(LATENCY));
        }
        if batch.len() == MAX_SIZE {
            timer = None; // size flush
            if output.send(std::mem::take(&mut batch)).await.is_err() {
                return;
            }
            observer.ledger.sent(OUT);
        }
    }
    if !batch.is_empty() && output.send(batch).await.is_ok() {
        observer.ledger.sent(OUT);
    }
}
