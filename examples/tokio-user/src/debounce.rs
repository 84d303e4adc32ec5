//! Debounce: emit the latest item once `quiet` has passed without a newer one.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::{sleep_until, Instant};

/// The debounce as commonly written: one timer, reset on every input, raced against the input
/// with the timer branch first.
///
/// The bug: when an input arrives exactly at the quiet deadline and the task is woken for it
/// before the timer's firing is observed, the pending item is replaced and never emitted,
/// although it was followed by `quiet` of silence. tokio's current-thread runtime fires due
/// timers before it runs tasks, so with paused time this order never happens there; on the
/// multi-thread runtime, or with timer jitter, it does.
pub fn debounce_buggy(mut input: mpsc::Receiver<u32>, quiet: Duration) -> mpsc::Receiver<u32> {
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(async move {
        let mut pending: Option<u32> = None;
        let timer = sleep_until(Instant::now() + quiet);
        tokio::pin!(timer);
        loop {
            tokio::select! {
                biased;
                () = &mut timer, if pending.is_some() => {
                    let item = pending.take().unwrap();
                    if tx.send(item).await.is_err() {
                        return;
                    }
                }
                item = input.recv() => match item {
                    Some(item) => {
                        pending = Some(item);
                        timer.as_mut().reset(Instant::now() + quiet);
                    }
                    None => {
                        if let Some(item) = pending.take() {
                            let _ = tx.send(item).await;
                        }
                        return;
                    }
                },
            }
        }
    });
    rx
}

/// The same debounce deciding from timestamps: an input first emits a pending item whose
/// deadline has passed, whichever wake-up came first.
pub fn debounce_fixed(mut input: mpsc::Receiver<u32>, quiet: Duration) -> mpsc::Receiver<u32> {
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(async move {
        let mut pending: Option<(u32, Instant)> = None;
        let timer = sleep_until(Instant::now() + quiet);
        tokio::pin!(timer);
        loop {
            tokio::select! {
                biased;
                () = &mut timer, if pending.is_some() => {
                    let (item, _) = pending.take().unwrap();
                    if tx.send(item).await.is_err() {
                        return;
                    }
                }
                item = input.recv() => {
                    let Some(item) = item else {
                        if let Some((old, _)) = pending.take() {
                            let _ = tx.send(old).await;
                        }
                        return;
                    };
                    if let Some((old, deadline)) = pending.take() {
                        if Instant::now() >= deadline && tx.send(old).await.is_err() {
                            return;
                        }
                    }
                    let deadline = Instant::now() + quiet;
                    pending = Some((item, deadline));
                    timer.as_mut().reset(deadline);
                }
            }
        }
    });
    rx
}

/// The scenario: 1 at 0 ms, then, after exactly `quiet` of silence, 2; then the input closes.
/// Returns what came out. Every order must give `[1, 2]`: 1 was followed by `quiet` of silence.
pub async fn item_at_the_deadline(buggy: bool) -> Vec<u32> {
    const QUIET: Duration = Duration::from_millis(100);
    let (tx, input) = mpsc::channel(16);
    let mut output = if buggy { debounce_buggy(input, QUIET) } else { debounce_fixed(input, QUIET) };
    tx.send(1).await.unwrap();
    tokio::time::sleep(QUIET).await;
    tx.send(2).await.unwrap();
    drop(tx);
    let mut out = Vec::new();
    while let Some(item) = output.recv().await {
        out.push(item);
    }
    out
}
