//! Session windows: consecutive items belong to one session until a silence of at least
//! [`GAP`]; a session is emitted when it closes (and the open one when the input closes).
//!
//! **The race.** The buggy sessionizer waits for the next item with `timeout(GAP, recv())`, so
//! the session closes when that timeout fires. An item that comes exactly [`GAP`] after the
//! previous one is due at the same instant as the timeout; `timeout` polls the inner future
//! first, so when the item's send ran before the sessionizer, the item is received, not the
//! timeout, and it joins a session that had already closed.
//!
//! **The fix.** Decide from timestamps: an item that arrives [`GAP`] or more after the previous
//! one first closes the open session, whichever wake-up came first.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::{sleep, timeout, Instant};

use crate::{ms, Variant};

/// The silence that closes a session.
pub const GAP: Duration = ms(100);

/// Starts a sessionizer over `input`; the returned channel closes after the last session.
pub fn sessionize(variant: Variant, mut input: mpsc::Receiver<u32>) -> mpsc::UnboundedReceiver<Vec<u32>> {
    let (out, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut session: Vec<u32> = Vec::new();
        let mut last = Instant::now();
        loop {
            match timeout(GAP, input.recv()).await {
                Ok(Some(item)) => {
                    let now = Instant::now();
                    if variant == Variant::Fixed && !session.is_empty() && now >= last + GAP {
                        let _ = out.send(std::mem::take(&mut session));
                    }
                    session.push(item);
                    last = now;
                }
                Ok(None) => break,
                Err(_elapsed) => {
                    if !session.is_empty() {
                        let _ = out.send(std::mem::take(&mut session));
                    }
                }
            }
        }
        if !session.is_empty() {
            let _ = out.send(session);
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
    /// Items at 0, 50 and 150 ms: the third comes exactly one gap after the second.
    fn default() -> Input {
        Input { gaps_ms: vec![0, 50, 100] }
    }
}

/// The sessions, from the items' times alone.
pub fn expected(input: &Input) -> Vec<Vec<u32>> {
    let mut sessions: Vec<Vec<u32>> = Vec::new();
    for (i, &gap) in input.gaps_ms.iter().enumerate() {
        let item = i as u32 + 1;
        match sessions.last_mut() {
            Some(open) if ms(gap) < GAP => open.push(item),
            _ => sessions.push(vec![item]),
        }
    }
    sessions
}

/// Feeds the input to a sessionizer and checks the sessions.
pub async fn world(variant: Variant, input: Input) {
    let (tx, rx) = mpsc::channel(16);
    let mut out = sessionize(variant, rx);
    for (i, gap) in input.gaps_ms.iter().enumerate() {
        if *gap > 0 {
            sleep(ms(*gap)).await;
        }
        tx.send(i as u32 + 1).await.unwrap();
    }
    drop(tx);
    let mut sessions = Vec::new();
    while let Some(session) = out.recv().await {
        sessions.push(session);
    }
    assert_eq!(sessions, expected(&input), "sessions of gaps {:?} ms", input.gaps_ms);
}
