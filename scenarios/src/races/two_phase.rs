//! Race 2, the two-phase select: a debounce and a batcher that look at their timer
//! first and only then wait.
//!
//! Each loop of the buggy processors first polls the timer without blocking
//! ("phase 1": Go's `select { case <-timer.C: …; default: }`) and then waits on
//! input or timer ("phase 2"). Phase 1 only helps when the processor starts a new
//! loop; a processor already waiting in phase 2 when both the input and the timer
//! become ready at the same instant takes whichever the select picks. An input
//! delivered at exactly the deadline can so be taken before the timer's firing is
//! observed:
//! - the buggy debounce replaces its pending item, which is never emitted although
//!   it was followed by `QUIET` of silence;
//! - the buggy batcher puts the item into the old batch instead of starting the
//!   next one.
//!
//! Detection: the output differs from the canonical order's for one input
//! timeline (schedule dependence), and the processors' invariants fail. The fix
//! is the `processors` crate's debounce and batcher, which check the deadline
//! against `now` on every input.

use std::rc::Rc;
use std::time::Duration;

use processors::{Batcher, Debounce, Logic};
use sim_core::select::{select, Either};
use sim_core::sync::mpsc::{self, Receiver, Sender};
use sim_core::time::{sleep, Sleep};

use super::{consume, counted, forward, log, ms, produce};
use crate::props;
use crate::scenario::{Expectation, Scenario, Variant};
use crate::world::{at, list, spawn, world, Ctx, Observer, World};

/// The debounce's quiet period.
pub const QUIET: Duration = ms(100);
/// The batcher's size limit (large: here batches are cut by latency).
pub const MAX_SIZE: usize = 10;
/// The batcher's latency.
pub const LATENCY: Duration = ms(100);
/// The producer's channel to the processor.
pub const IN: &str = "in";
/// The processor's channel to the consumer.
pub const OUT: &str = "out";

/// The debounce's input: 2 arrives exactly at 1's deadline, 4 exactly at 3's.
pub fn debounce_input() -> Vec<(Duration, u32)> {
    vec![(ms(0), 1), (ms(100), 2), (ms(150), 3), (ms(250), 4), (ms(400), 5)]
}

/// When the debounce's input closes.
pub const DEBOUNCE_CLOSE: Duration = ms(600);

/// The batcher's input: 3 arrives exactly at the first batch's deadline, 5 exactly
/// at the second's.
pub fn batcher_input() -> Vec<(Duration, u32)> {
    vec![(ms(0), 1), (ms(50), 2), (ms(100), 3), (ms(150), 4), (ms(200), 5)]
}

/// When the batcher's input closes.
pub const BATCHER_CLOSE: Duration = ms(350);

/// The race's variants: the debounce and the batcher, buggy and fixed.
pub fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario::new(
            "two-phase-debounce/buggy",
            2,
            Variant::Buggy,
            "debounce polls its timer, then selects input or timer: an input at the deadline can replace the pending item unseen",
            Expectation::Caught { within: 100 },
            true,
            None,
            build_debounce,
        ),
        Scenario::new(
            "two-phase-debounce/fixed",
            2,
            Variant::Fixed,
            "the processors debounce checks its deadline against now on every input: same output in every order",
            Expectation::Clean { seeds: 10_000 },
            true,
            None,
            build_debounce,
        ),
        Scenario::new(
            "two-phase-batcher/buggy",
            2,
            Variant::Buggy,
            "batcher polls its timer, then selects input or timer: an item at the latency deadline can join the old batch",
            Expectation::Caught { within: 100 },
            true,
            None,
            build_batcher,
        ),
        Scenario::new(
            "two-phase-batcher/fixed",
            2,
            Variant::Fixed,
            "the processors batcher checks its deadline against now on every input: same batches in every order",
            Expectation::Clean { seeds: 10_000 },
            true,
            None,
            build_batcher,
        ),
    ]
}

fn build_debounce(variant: Variant, ctx: &Ctx) -> World {
    let observer = Observer::new();
    let (to_debounce, from_producer) = sim_core::named(IN, || mpsc::channel(16));
    sim_core::sync::FingerprintValues::fingerprint_values(&to_debounce);
    let (to_consumer, from_debounce) = sim_core::named(OUT, || mpsc::channel(16));
    sim_core::sync::FingerprintValues::fingerprint_values(&to_consumer);
    let (sent, received) = (log(), log());
    let producer =
        spawn("producer", produce(debounce_input(), DEBOUNCE_CLOSE, to_debounce, observer.clone(), IN, sent.clone()));
    let debounce = match variant {
        Variant::Buggy => spawn("debounce", buggy_debounce(from_producer, to_consumer, observer.clone())),
        _ => {
            let input = counted(from_producer, observer.clone(), IN);
            let debounced = Debounce::new(QUIET).process_ok(input);
            spawn("debounce", forward(debounced, to_consumer, observer.clone(), OUT))
        }
    };
    let consumer = spawn("consumer", consume(from_debounce, observer.clone(), OUT, received.clone(), u32::to_string));
    world(ctx, observer, vec![producer, debounce, consumer], move |_| {
        props::debounce(QUIET, &sent.borrow(), at(DEBOUNCE_CLOSE), &received.borrow())
    })
}

fn build_batcher(variant: Variant, ctx: &Ctx) -> World {
    let observer = Observer::new();
    let (to_batcher, from_producer) = sim_core::named(IN, || mpsc::channel(16));
    sim_core::sync::FingerprintValues::fingerprint_values(&to_batcher);
    let (to_consumer, from_batcher) = sim_core::named(OUT, || mpsc::channel(16));
    sim_core::sync::FingerprintValues::fingerprint_values(&to_consumer);
    let (sent, received) = (log(), log());
    let producer =
        spawn("producer", produce(batcher_input(), BATCHER_CLOSE, to_batcher, observer.clone(), IN, sent.clone()));
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

/// What the phase-2 select returned.
enum Event<T> {
    Input(Option<T>),
    Timer,
}

/// Phase 2: waits for input, or for input or the timer when one is armed.
async fn phase_two<T>(input: &mut Receiver<T>, timer: Option<&mut Sleep>) -> Event<T> {
    match timer {
        None => Event::Input(input.recv().await),
        Some(timer) => match select(input.recv(), timer).await {
            Either::Left(item) => Event::Input(item),
            Either::Right(()) => Event::Timer,
        },
    }
}

/// Phase 1: whether the timer has fired (a non-blocking look).
fn phase_one(timer: &Option<Sleep>) -> bool {
    timer.as_ref().is_some_and(Sleep::is_elapsed)
}

/// Buggy debounce: phase 1, then phase 2 (which may take an input at the deadline
/// before the timer).
async fn buggy_debounce(mut input: Receiver<u32>, output: Sender<u32>, observer: Rc<Observer>) {
    let mut pending: Option<u32> = None;
    let mut timer: Option<Sleep> = None;
    loop {
        if phase_one(&timer) {
            timer = None;
            if let Some(item) = pending.take() {
                if output.send(item).await.is_err() {
                    return;
                }
                observer.ledger.sent(OUT);
            }
            continue;
        }
        match phase_two(&mut input, timer.as_mut()).await {
            Event::Input(Some(item)) => {
                observer.ledger.received(IN);
                pending = Some(item);
                timer = Some(sleep(QUIET)); // BUG: the old deadline may be due right now
            }
            Event::Input(None) => {
                if let Some(item) = pending.take() {
                    if output.send(item).await.is_ok() {
                        observer.ledger.sent(OUT);
                    }
                }
                return;
            }
            Event::Timer => {
                timer = None;
                if let Some(item) = pending.take() {
                    if output.send(item).await.is_err() {
                        return;
                    }
                    observer.ledger.sent(OUT);
                }
            }
        }
    }
}

/// Buggy batcher: phase 1, then phase 2 (which may add an item at the deadline to
/// the old batch).
async fn buggy_batcher(mut input: Receiver<u32>, output: Sender<Vec<u32>>, observer: Rc<Observer>) {
    let mut batch: Vec<u32> = Vec::new();
    let mut timer: Option<Sleep> = None;
    let flush = |batch: &mut Vec<u32>| std::mem::take(batch);
    loop {
        if phase_one(&timer) {
            timer = None;
            if output.send(flush(&mut batch)).await.is_err() {
                return;
            }
            observer.ledger.sent(OUT);
            continue;
        }
        match phase_two(&mut input, timer.as_mut()).await {
            Event::Input(Some(item)) => {
                observer.ledger.received(IN);
                batch.push(item); // BUG: at the deadline this joins the batch being cut
                if batch.len() == 1 {
                    timer = Some(sleep(LATENCY));
                }
                if batch.len() == MAX_SIZE {
                    timer = None;
                    if output.send(flush(&mut batch)).await.is_err() {
                        return;
                    }
                    observer.ledger.sent(OUT);
                }
            }
            Event::Input(None) => {
                if !batch.is_empty() && output.send(flush(&mut batch)).await.is_ok() {
                    observer.ledger.sent(OUT);
                }
                return;
            }
            Event::Timer => {
                timer = None;
                if output.send(flush(&mut batch)).await.is_err() {
                    return;
                }
                observer.ledger.sent(OUT);
            }
        }
    }
}
