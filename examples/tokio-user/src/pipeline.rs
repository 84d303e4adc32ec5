//! The benchmark's workload, in plain tokio: a throttle between a paced producer and a
//! consumer (`cargo bench -p tokio-user-on-tokio --bench tokio_source` runs this very source
//! on the simulator and on real tokio, and compares it with the same program written
//! against `sim-core` directly).
//!
//! One producer sends one item after each gap of `gaps`; one processor passes an item, then
//! drops items until its cooldown timer fires (a `select!` over the timer and the input,
//! `biased;`: timer first); one consumer drains the output. [`Counts`] says what happened,
//! so that every side can be checked to have run the same program.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::{sleep, Instant};

/// The processor's cooldown.
pub const PERIOD: Duration = Duration::from_millis(10);
/// The capacity of both channels.
pub const CAPACITY: usize = 16;

/// What one run did: items produced, cooldown timers fired, items consumed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Items the producer sent.
    pub produced: u64,
    /// Cooldown firings the processor handled.
    pub fired: u64,
    /// Items the consumer received.
    pub consumed: u64,
}

impl Counts {
    /// Events, counted alike on every side: produced + fired + consumed.
    pub fn events(&self) -> u64 {
        self.produced + self.fired + self.consumed
    }
}

/// Runs the pipeline over `gaps` and returns what it did.
///
/// # Panics
/// When a task of the pipeline panics (none does).
pub async fn throttle_pipeline(gaps: Arc<[Duration]>) -> Counts {
    let (in_tx, mut in_rx) = mpsc::channel::<u64>(CAPACITY);
    let (out_tx, mut out_rx) = mpsc::channel::<u64>(CAPACITY);
    let producer = tokio::spawn(async move {
        let mut produced = 0;
        for (i, gap) in gaps.iter().enumerate() {
            sleep(*gap).await;
            in_tx.send(i as u64).await.expect("processor alive");
            produced += 1;
        }
        produced
    });
    let processor = tokio::spawn(async move {
        let mut fired = 0;
        let mut cooling = false;
        let timer = sleep(PERIOD);
        tokio::pin!(timer);
        loop {
            tokio::select! {
                biased;
                () = &mut timer, if cooling => {
                    cooling = false;
                    fired += 1;
                }
                item = in_rx.recv() => match item {
                    Some(item) if !cooling => {
                        cooling = true;
                        timer.as_mut().reset(Instant::now() + PERIOD);
                        out_tx.send(item).await.expect("consumer alive");
                    }
                    Some(_) => {}
                    None => break,
                },
            }
        }
        fired
    });
    let consumer = tokio::spawn(async move {
        let mut consumed = 0;
        while out_rx.recv().await.is_some() {
            consumed += 1;
        }
        consumed
    });
    let produced = producer.await.expect("producer");
    let fired = processor.await.expect("processor");
    let consumed = consumer.await.expect("consumer");
    Counts { produced, fired, consumed }
}
