//! Debounce: emit an item once [`QUIET`] has passed without a newer one (and the last item when
//! the input closes).
//!
//! Both variants give every item a timer task that sleeps [`QUIET`] and then emits the pending
//! item if no newer item came in the meantime (a generation number says so).
//!
//! **The race.** Item 1 at 0 ms, item 2 at exactly 100 ms. At 100 ms two things are due: item
//! 1's timer task and the producer's send of item 2. When the debounce takes item 2 first, it
//! bumps the generation and replaces the pending item, and item 1's timer task then finds a
//! newer generation and emits nothing: item 1 is lost, although 100 ms of silence followed it.
//!
//! **The fix.** Decide from timestamps: a new item first emits a pending item whose quiet
//! period has already ended (`now >= arrived + QUIET`), whichever wake-up came first.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::{sleep, Instant};

use crate::{ms, Variant};

/// The silence after which an item is emitted.
pub const QUIET: Duration = ms(100);

#[derive(Default)]
struct State {
    generation: u64,
    pending: Option<(u32, Instant)>,
}

/// Starts a debounce over `input`; the returned channel closes once everything is emitted.
pub fn debounce(variant: Variant, mut input: mpsc::Receiver<u32>) -> mpsc::UnboundedReceiver<u32> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let state = Arc::new(Mutex::new(State::default()));
        while let Some(item) = input.recv().await {
            let now = Instant::now();
            let generation = {
                let mut s = state.lock().unwrap();
                if variant == Variant::Fixed {
                    if let Some((old, arrived)) = s.pending {
                        if now >= arrived + QUIET {
                            let _ = tx.send(old);
                        }
                    }
                }
                s.generation += 1;
                s.pending = Some((item, now));
                s.generation
            };
            let (state, tx) = (state.clone(), tx.clone());
            tokio::spawn(async move {
                sleep(QUIET).await;
                let mut s = state.lock().unwrap();
                if s.generation == generation {
                    if let Some((item, _)) = s.pending.take() {
                        let _ = tx.send(item);
                    }
                }
            });
        }
        // The input closed: emit what is pending now.
        let last = state.lock().unwrap().pending.take();
        if let Some((item, _)) = last {
            let _ = tx.send(item);
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
    /// Item 1 at 0 ms, item 2 exactly [`QUIET`] later.
    fn default() -> Input {
        Input { gaps_ms: vec![0, 100] }
    }
}

/// What must come out, from the input's timestamps alone: every item followed by at least
/// [`QUIET`] of silence, and the last one.
pub fn expected(input: &Input) -> Vec<u32> {
    let n = input.gaps_ms.len();
    (0..n).filter(|&i| i + 1 == n || ms(input.gaps_ms[i + 1]) >= QUIET).map(|i| i as u32 + 1).collect()
}

/// Feeds the input to a debounce and checks what comes out.
pub async fn world(variant: Variant, input: Input) {
    let (tx, rx) = mpsc::channel(16);
    let mut out = debounce(variant, rx);
    for (i, gap) in input.gaps_ms.iter().enumerate() {
        if *gap > 0 {
            sleep(ms(*gap)).await;
        }
        tx.send(i as u32 + 1).await.unwrap();
    }
    // Close the input only once the last item has had its quiet period.
    sleep(QUIET).await;
    drop(tx);
    let mut got = Vec::new();
    while let Some(item) = out.recv().await {
        got.push(item);
    }
    assert_eq!(got, expected(&input), "debounce of gaps {:?} ms", input.gaps_ms);
}
