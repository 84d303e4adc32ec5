//! Graceful shutdown: a worker runs jobs from a queue until a shutdown signal (a
//! `tokio::sync::Notify`); every job the queue accepted must run, and a job offered after the
//! shutdown is refused (its `send` fails), never silently dropped.
//!
//! **The race.** The producer offers its last job at the instant the shutdown signal fires. The
//! buggy worker `select!`s between the signal and the queue and, on the signal, stops at once:
//! when the job was accepted into the queue first and the signal is seen first (it came first,
//! or both were ready and `select!` picked it), the accepted job is dropped with the queue.
//!
//! **The fix.** On the signal, close the queue (later sends fail) and drain what it already
//! holds before stopping.

use std::sync::Arc;

use tokio::sync::{mpsc, Notify};
use tokio::time::{sleep, sleep_until, Instant};

use crate::{ms, Variant};

/// The worker: runs jobs from `jobs` until `shutdown` is notified; returns the jobs it ran.
pub async fn worker(variant: Variant, mut jobs: mpsc::Receiver<u32>, shutdown: Arc<Notify>) -> Vec<u32> {
    let mut ran = Vec::new();
    loop {
        tokio::select! {
            job = jobs.recv() => match job {
                Some(job) => ran.push(job),
                None => return ran,
            },
            () = shutdown.notified() => {
                if variant == Variant::Fixed {
                    jobs.close();
                    while let Some(job) = jobs.recv().await {
                        ran.push(job);
                    }
                }
                return ran;
            }
        }
    }
}

/// When jobs are offered and when the shutdown comes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Input {
    /// The gap before each job, numbered from 1, in milliseconds.
    pub gaps_ms: Vec<u64>,
    /// When the shutdown signal fires, in milliseconds.
    pub shutdown_ms: u64,
}

impl Default for Input {
    /// Jobs at 0 and 100 ms, the shutdown at 100 ms.
    fn default() -> Input {
        Input { gaps_ms: vec![0, 100], shutdown_ms: 100 }
    }
}

/// Offers the jobs while a signal task shuts the worker down, and checks that the jobs run are
/// exactly the jobs accepted, in order.
pub async fn world(variant: Variant, input: Input) {
    let start = Instant::now();
    let shutdown = Arc::new(Notify::new());
    let (tx, rx) = mpsc::channel(16);
    let worker = tokio::spawn(worker(variant, rx, shutdown.clone()));
    tokio::spawn(async move {
        sleep_until(start + ms(input.shutdown_ms)).await;
        shutdown.notify_one();
    });
    let mut accepted = Vec::new();
    for (i, gap) in input.gaps_ms.iter().enumerate() {
        if *gap > 0 {
            sleep(ms(*gap)).await;
        }
        let job = i as u32 + 1;
        if tx.send(job).await.is_ok() {
            accepted.push(job);
        }
    }
    drop(tx);
    let ran = worker.await.unwrap();
    assert_eq!(ran, accepted, "jobs after gaps {:?} ms, shutdown at {} ms", input.gaps_ms, input.shutdown_ms);
}
