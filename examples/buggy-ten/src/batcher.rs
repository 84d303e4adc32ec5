//! Batcher: group items into batches of at most [`SIZE`], emitting a batch when it is full or
//! [`LINGER`] after its first item arrived, whichever comes first.
//!
//! The batcher spawns a linger timer task when a batch starts; the task sleeps [`LINGER`] and
//! sends a flush message back into the batcher's `select!` loop, which looks at flush messages
//! before input (`biased;`).
//!
//! **The race.** Items at 0, 100 and 100 ms. Batch 1 starts at 0 ms, so its flush message is
//! due at 100 ms, when items 2 and 3 arrive too. When the batcher takes item 2 first, batch 1
//! is full (`[1, 2]`) and goes out by size (the flush message was not sent yet); item 3 starts batch 2; then batch 1's flush message
//! arrives. The buggy batcher flushes whatever batch is open, so batch 2 (`[3]`) goes out at
//! 100 ms, 100 ms before its linger ends: a stale timer cut the next batch short.
//!
//! **The fix.** Each flush message names the batch it was armed for; a flush for a batch that
//! already went out (by size) is ignored.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::{sleep, Instant};

use crate::{millis, ms, Variant};

/// The largest batch.
pub const SIZE: usize = 2;
/// How long a batch waits for more items after its first one.
pub const LINGER: Duration = ms(100);

/// A batch as it was emitted: when, and its items.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch {
    /// When it went out.
    pub at: Instant,
    /// Its items.
    pub items: Vec<u32>,
}

/// Starts a batcher over `input`; the returned channel closes after the last batch.
pub fn batcher(variant: Variant, mut input: mpsc::Receiver<u32>) -> mpsc::UnboundedReceiver<Batch> {
    let (out, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        // Flush messages carry the number of the batch they were armed for.
        let (flush_tx, mut flush_rx) = mpsc::unbounded_channel::<u64>();
        let mut batch: Vec<u32> = Vec::new();
        let mut number = 0u64;
        let emit = |batch: &mut Vec<u32>| {
            let _ = out.send(Batch { at: Instant::now(), items: std::mem::take(batch) });
        };
        loop {
            tokio::select! {
                biased; // a due flush first, then input
                Some(armed_for) = flush_rx.recv() => {
                    let current = variant == Variant::Buggy || armed_for == number;
                    if current && !batch.is_empty() {
                        emit(&mut batch);
                    }
                }
                item = input.recv() => {
                    let Some(item) = item else { break };
                    if batch.is_empty() {
                        number += 1;
                        let (flush_tx, armed_for) = (flush_tx.clone(), number);
                        tokio::spawn(async move {
                            sleep(LINGER).await;
                            let _ = flush_tx.send(armed_for);
                        });
                    }
                    batch.push(item);
                    if batch.len() == SIZE {
                        emit(&mut batch);
                    }
                }
            }
        }
        if !batch.is_empty() {
            emit(&mut batch);
        }
    });
    rx
}

/// The items, numbered from 1, and the gap before each one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Input {
    /// The gap before each item, in milliseconds.
    pub gaps_ms: Vec<u64>,
}

impl Default for Input {
    /// Items at 0, 100 and 100 ms.
    fn default() -> Input {
        Input { gaps_ms: vec![0, 100, 0] }
    }
}

/// Feeds the input to a batcher, closing it [`LINGER`] after the last item, and checks the
/// batches: every item exactly once and in order, no batch over [`SIZE`], and a batch under
/// [`SIZE`] neither before its linger ended (its first item's arrival + [`LINGER`]) nor after.
pub async fn world(variant: Variant, input: Input) {
    let start = Instant::now();
    let (tx, rx) = mpsc::channel(16);
    let mut out = batcher(variant, rx);
    let mut arrived = Vec::new();
    for (i, gap) in input.gaps_ms.iter().enumerate() {
        if *gap > 0 {
            sleep(ms(*gap)).await;
        }
        arrived.push(Instant::now());
        tx.send(i as u32 + 1).await.unwrap();
    }
    sleep(LINGER).await;
    drop(tx);
    let mut batches = Vec::new();
    while let Some(batch) = out.recv().await {
        batches.push(batch);
    }
    let all: Vec<u32> = batches.iter().flat_map(|b| b.items.iter().copied()).collect();
    let n = input.gaps_ms.len() as u32;
    assert_eq!(all, (1..=n).collect::<Vec<_>>(), "every item once, in order: {batches:?}");
    for batch in &batches {
        assert!(batch.items.len() <= SIZE, "batch over {SIZE}: {:?}", batch.items);
        if batch.items.len() < SIZE {
            let linger_end = arrived[batch.items[0] as usize - 1] + LINGER;
            assert!(
                batch.at == linger_end,
                "batch {:?} went out at {}ms, but its linger ends at {}ms",
                batch.items,
                millis(start, batch.at),
                millis(start, linger_end)
            );
        }
    }
}
