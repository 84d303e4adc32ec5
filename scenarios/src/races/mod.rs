//! The catalogue's races, one module per race, each with its buggy and fixed
//! variants, and the pieces their worlds share: a producer that sends an input
//! timeline, a consumer that records what it receives, and a stage that runs a
//! `processors` processor between two channels.

// pub mod drain;
// pub mod size_latency;
// pub mod state_channel;
pub mod throttle_hang;
// pub mod tick_loss;
// pub mod two_phase;

use std::cell::RefCell;
use std::fmt::Display;
use std::rc::Rc;
use std::time::Duration;

use futures::{Stream, StreamExt};
use sim_core::sync::mpsc::{Receiver, Sender};
use sim_core::time::{sleep_until, Instant};

use crate::world::{at, Observer};

/// A typed log of `(instant, value)` pairs, shared by the tasks that fill it and the
/// harness that checks it.
pub type Log<T> = Rc<RefCell<Vec<(Instant, T)>>>;

/// A new, empty log.
pub fn log<T>() -> Log<T> {
    Rc::new(RefCell::new(Vec::new()))
}

/// Sends each `(time, value)` of `items` on `tx` at that time after the origin,
/// counting the sends on `flow` and logging them in `sent`. Dropping `tx` at the
/// end closes the channel (when it is the last sender).
pub async fn produce<T: Clone>(
    items: Vec<(Duration, T)>,
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
        sent.borrow_mut().push((Instant::now(), value));
    }
}

/// Receives from `rx` until it closes, counting on `flow`, recording each value in
/// the output timeline and in `received`.
pub async fn consume<T: Display>(mut rx: Receiver<T>, observer: Rc<Observer>, flow: &'static str, received: Log<T>) {
    while let Some(value) = rx.recv().await {
        observer.ledger.received(flow);
        observer.emit(&value);
        received.borrow_mut().push((Instant::now(), value));
    }
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
