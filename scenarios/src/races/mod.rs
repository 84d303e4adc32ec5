//! The catalogue's races, one module per race, each with its buggy and fixed
//! variants, and the pieces their worlds share: a producer that sends an input
//! timeline, a consumer that records what it receives, and a stage that runs a
//! `processors` processor between two channels.

pub mod drain;
pub mod plain_tokio;
pub mod size_latency;
pub mod spin;
pub mod state_channel;
pub mod throttle_hang;
pub mod tick_loss;
pub mod two_phase;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use futures::{Stream, StreamExt};
use sim_core::sync::mpsc::{Receiver, Sender};
use sim_core::time::{sleep, sleep_until, Instant};

use crate::world::{at, Observer};

/// A typed log of `(instant, value)` pairs, shared by the tasks that fill it and the
/// harness that checks it.
pub type Log<T> = Rc<RefCell<Vec<(Instant, T)>>>;

/// A new, empty log.
pub fn log<T>() -> Log<T> {
    Rc::new(RefCell::new(Vec::new()))
}

/// Appends `value` to `log`, stamped now. Logs are memory the world's tasks share
/// outside Lockstep's primitives, so the append is declared with
/// [`touch`](sim_core::touch): the reduced enumeration then orders it
/// against every other step that writes a log.
pub fn note<T>(log: &Log<T>, value: T) {
    sim_core::touch("log");
    log.borrow_mut().push((Instant::now(), value));
}

/// Sends each `(time, value)` of `items` on `tx` at that time after the origin,
/// counting the sends on `flow` and logging them in `sent`; then holds `tx` until
/// `close_at` and drops it, which closes the channel (when it is the last sender).
pub async fn produce<T: Clone>(
    items: Vec<(Duration, T)>,
    close_at: Duration,
    tx: Sender<T>,
    observer: Rc<Observer>,
    flow: &'static str,
    sent: Log<T>,
) {
    for (time, value) in items {
        sleep_until(at(time)).await;
        if tx.send(value.clone()).await.is_err() {
            return;
        }
        observer.ledger.sent(flow);
        note(&sent, value);
    }
    sleep_until(at(close_at)).await;
}

/// Receives from `rx` until it closes, counting on `flow`, recording each value in
/// the output timeline (as `show` writes it) and in `received`.
pub async fn consume<T>(
    mut rx: Receiver<T>,
    observer: Rc<Observer>,
    flow: &'static str,
    received: Log<T>,
    show: fn(&T) -> String,
) {
    while let Some(value) = rx.recv().await {
        observer.ledger.received(flow);
        observer.emit(show(&value));
        note(&received, value);
    }
}

/// The throttle races' driver (the test): send 1 on `input`, receive 1 from
/// `output`, sleep `period`, send 6, receive 6. Counts on the flows named `in` and
/// `out`.
pub async fn throttle_driver(
    input: Sender<u32>,
    mut output: Receiver<u32>,
    period: Duration,
    observer: Rc<Observer>,
    sent: Log<u32>,
    received: Log<u32>,
) {
    for (pause, item) in [(Duration::ZERO, 1), (period, 6)] {
        sleep(pause).await;
        if input.send(item).await.is_err() {
            return;
        }
        observer.ledger.sent("in");
        note(&sent, item);
        let Some(got) = output.recv().await else { return };
        observer.ledger.received("out");
        observer.emit(got);
        note(&received, got);
    }
}

/// The throttle races' checks: the throttle's invariants, and the driver got 1 then 6.
pub fn throttle_checks(period: Duration, sent: &Log<u32>, received: &Log<u32>) -> Vec<String> {
    let (sent, received) = (sent.borrow(), received.borrow());
    let mut problems = crate::props::throttle(period, &sent, &received);
    let values: Vec<u32> = received.iter().map(|(_, v)| *v).collect();
    if values != [1, 6] {
        problems.insert(0, format!("driver: expected 1 then 6, received {values:?}"));
    }
    problems
}

/// Counts every item taken from `rx` as received on `flow` (a processor's input).
pub fn counted<T>(rx: Receiver<T>, observer: Rc<Observer>, flow: &'static str) -> impl Stream<Item = T> {
    rx.inspect(move |_| observer.ledger.received(flow))
}

/// Forwards every item of `stream` (a processor's output) to `tx`, counting the
/// sends on `flow`; ends when the stream ends or the receiver is gone.
pub async fn forward<S: Stream>(stream: S, tx: Sender<S::Item>, observer: Rc<Observer>, flow: &'static str) {
    let mut stream = std::pin::pin!(stream);
    while let Some(item) = stream.next().await {
        if tx.send(item).await.is_err() {
            return;
        }
        observer.ledger.sent(flow);
    }
}

/// Milliseconds.
pub const fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}
