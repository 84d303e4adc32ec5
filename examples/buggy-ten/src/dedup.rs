//! Dedup with a TTL: drop an item whose key passed less than [`TTL`] ago; pass the rest.
//!
//! Both variants remember a passed key in a shared cache and spawn an eviction task that
//! removes it [`TTL`] later, so the cache does not grow without bound.
//!
//! **The race.** A key passes at 0 ms and comes again at exactly 100 ms, when the window of the
//! first has ended. The eviction task and the second item are due at the same instant: when the
//! item is looked up first, the key is still cached and the buggy dedup, which trusts the
//! cache's contents, drops an item it should pass.
//!
//! **The fix.** The cache remembers when each key passed, and an item is a duplicate only if
//! `now < passed + TTL`; eviction is housekeeping that removes an entry only if it is still the
//! one it was armed for.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::{sleep, Instant};

use crate::{ms, Variant};

/// How long a key suppresses duplicates.
pub const TTL: Duration = ms(100);

/// Starts a dedup over `(key, value)` items; the returned channel carries the values passed.
pub fn dedup(variant: Variant, mut input: mpsc::Receiver<(u8, u32)>) -> mpsc::UnboundedReceiver<u32> {
    let (out, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let cache: Arc<Mutex<BTreeMap<u8, Instant>>> = Arc::default();
        while let Some((key, value)) = input.recv().await {
            let now = Instant::now();
            let duplicate = {
                let cache = cache.lock().unwrap();
                match variant {
                    Variant::Buggy => cache.contains_key(&key),
                    Variant::Fixed => cache.get(&key).is_some_and(|&passed| now < passed + TTL),
                }
            };
            if duplicate {
                continue;
            }
            cache.lock().unwrap().insert(key, now);
            let _ = out.send(value);
            let cache = cache.clone();
            tokio::spawn(async move {
                sleep(TTL).await;
                let mut cache = cache.lock().unwrap();
                if variant == Variant::Buggy || cache.get(&key) == Some(&now) {
                    cache.remove(&key);
                }
            });
        }
    });
    rx
}

/// The items: each a key and the gap before it; values are numbered from 1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Input {
    /// `(key, gap before the item in milliseconds)`.
    pub items: Vec<(u8, u64)>,
}

impl Default for Input {
    /// Key 0 at 0 ms and again at exactly 100 ms.
    fn default() -> Input {
        Input { items: vec![(0, 0), (0, 100)] }
    }
}

/// The values that must pass, from the items' times alone.
pub fn expected(input: &Input) -> Vec<u32> {
    let ttl = TTL.as_millis() as u64;
    let mut passed: BTreeMap<u8, u64> = BTreeMap::new();
    let (mut t, mut out) = (0, Vec::new());
    for (i, &(key, gap)) in input.items.iter().enumerate() {
        t += gap;
        if passed.get(&key).is_some_and(|&at| t < at + ttl) {
            continue;
        }
        passed.insert(key, t);
        out.push(i as u32 + 1);
    }
    out
}

/// Feeds the items to a dedup and checks what passed.
pub async fn world(variant: Variant, input: Input) {
    let (tx, rx) = mpsc::channel(16);
    let mut out = dedup(variant, rx);
    for (i, &(key, gap)) in input.items.iter().enumerate() {
        if gap > 0 {
            sleep(ms(gap)).await;
        }
        tx.send((key, i as u32 + 1)).await.unwrap();
    }
    drop(tx);
    let mut passed = Vec::new();
    while let Some(value) = out.recv().await {
        passed.push(value);
    }
    assert_eq!(passed, expected(&input), "items {:?}", input.items);
}
