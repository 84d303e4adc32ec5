//! Throttle: pass an item, then drop items for `period`.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::{sleep, Instant};

/// Race 1 of the catalogue, as a tokio user writes it: the cooldown is armed after the item has
/// been handed on, and the timer's firing ends it. When the next item arrives exactly at the end
/// of the cooldown and is taken before the timer's firing, it is dropped.
pub fn throttle_buggy(mut input: mpsc::Receiver<u32>, period: Duration) -> mpsc::Receiver<u32> {
    let (tx, rx) = mpsc::channel(1);
    tokio::spawn(async move {
        let mut cooling = false;
        let cooldown = sleep(period);
        tokio::pin!(cooldown);
        loop {
            tokio::select! {
                biased;
                () = &mut cooldown, if cooling => cooling = false,
                item = input.recv() => {
                    let Some(item) = item else { return };
                    if cooling {
                        continue; // still cooling down: dropped
                    }
                    if tx.send(item).await.is_err() {
                        return;
                    }
                    cooling = true;
                    cooldown.as_mut().reset(Instant::now() + period);
                }
            }
        }
    });
    rx
}

/// The fix: decide from the time the item is taken, not from which wake-up came first.
pub fn throttle_fixed(mut input: mpsc::Receiver<u32>, period: Duration) -> mpsc::Receiver<u32> {
    let (tx, rx) = mpsc::channel(1);
    tokio::spawn(async move {
        let mut last: Option<Instant> = None;
        while let Some(item) = input.recv().await {
            let now = Instant::now();
            if last.is_none_or(|t| now >= t + period) {
                last = Some(now);
                if tx.send(item).await.is_err() {
                    return;
                }
            }
        }
    });
    rx
}

/// The driver of race 1: send 1, receive it, wait `period`, send 6 and wait for it. With the
/// buggy throttle, some orders drop 6 and the driver waits forever: a deadlock under Lockstep,
/// a timeout (after a virtual minute) under tokio. Returns whether 6 came through.
pub async fn six_after_the_cooldown(buggy: bool) -> bool {
    const PERIOD: Duration = Duration::from_millis(50);
    let (tx, input) = mpsc::channel(1);
    let mut output = if buggy { throttle_buggy(input, PERIOD) } else { throttle_fixed(input, PERIOD) };
    tx.send(1).await.unwrap();
    assert_eq!(output.recv().await, Some(1));
    sleep(PERIOD).await;
    tx.send(6).await.unwrap();
    output.recv().await == Some(6)
}
