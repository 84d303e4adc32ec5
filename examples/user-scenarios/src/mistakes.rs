//! Two mistakes made on purpose, to show what the tool does with them; registered hidden
//! ([`Registry::register_hidden`](scenarios::Registry::register_hidden)), so `list` and
//! `--all` never run them.
//!
//! - [`counter_outlives_the_run`]: a request id from a process-wide counter. A run's
//!   behaviour then depends on the runs before it in the process, so the same seed run twice
//!   differs: `check-determinism` exits 1 naming the difference, and `explore` says
//!   `NONDETERMINISTIC` (1).
//! - [`spin_wait`]: waits for a flag in a loop without an `.await`. The task that would set
//!   the flag never gets to run, and the poll never returns: the poll watchdog reports the
//!   task and ends the tool with status 3.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::sleep;

/// The next request id, for the whole process: it is not reset between runs.
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// A worker sends a request whose id comes from a process-wide counter, after a delay that depends on
/// the id (1 ms for an even id, 2 ms for an odd one); the caller waits for it. Every run
/// passes, but two runs in a row take different ids, so their timers differ.
pub async fn counter_outlives_the_run() {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let (requests, mut inbox) = mpsc::channel(1);
    tokio::spawn(async move {
        sleep(Duration::from_millis(1 + id % 2)).await;
        requests.send(id).await.expect("the caller waits for the request");
    });
    assert_eq!(inbox.recv().await, Some(id));
}

/// A worker is to set a flag; the caller waits for it in a loop without an `.await`. The
/// simulation runs one task at a time, so the worker never runs and the loop never ends.
pub async fn spin_wait() {
    let ready = Arc::new(AtomicBool::new(false));
    let flag = ready.clone();
    tokio::spawn(async move { flag.store(true, Ordering::Release) });
    while !ready.load(Ordering::Acquire) {
        std::hint::spin_loop();
    }
}
