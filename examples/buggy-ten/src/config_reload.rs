//! Config reload: a worker answers requests using the configuration published on a
//! `tokio::sync::watch` channel. An admin that publishes a new version and then sends a request
//! must get an answer made with that version (read your writes).
//!
//! **The race.** The buggy worker keeps a copy of the configuration and refreshes it in a
//! `select!` branch on `changed()`. After the admin publishes and sends its request, both
//! branches are ready in the same poll, and `select!` (not `biased;`) picks which to run first:
//! when it picks the request, the answer is made with the old copy.
//!
//! **The fix.** Read the configuration where it is used (`config.borrow()` when answering), so
//! an answer is made with whatever was published before the request, in every order.

use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::sleep;

use crate::{ms, Variant};

/// The configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Its version, from 1.
    pub version: u32,
}

/// The worker: answers each request with the version of the configuration it used, and
/// returns how many reloads it noticed once the requests end.
pub async fn worker(
    variant: Variant,
    mut config: watch::Receiver<Config>,
    mut requests: mpsc::Receiver<oneshot::Sender<u32>>,
) -> u32 {
    let mut cached = config.borrow_and_update().clone();
    let mut reloads = 0;
    loop {
        tokio::select! {
            Ok(()) = config.changed() => {
                cached = config.borrow_and_update().clone();
                reloads += 1;
            }
            request = requests.recv() => {
                let Some(reply) = request else { return reloads };
                let version = match variant {
                    Variant::Buggy => cached.version,
                    Variant::Fixed => config.borrow().version,
                };
                let _ = reply.send(version);
            }
        }
    }
}

/// What the admin does, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Publish the next version.
    Reload,
    /// Send a request and wait for its answer.
    Request,
    /// Sleep this many milliseconds.
    Sleep(u64),
}

/// The admin's script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Input {
    /// The operations, in order.
    pub ops: Vec<Op>,
}

impl Default for Input {
    /// A request, a reload, and at once a request.
    fn default() -> Input {
        Input { ops: vec![Op::Request, Op::Reload, Op::Request] }
    }
}

/// Runs the admin's script against a worker, checking that every answer was made with the
/// version published last before its request.
pub async fn world(variant: Variant, input: Input) {
    let (publish, config) = watch::channel(Config { version: 1 });
    let (tx, rx) = mpsc::channel(8);
    let worker = tokio::spawn(worker(variant, config, rx));
    let mut version = 1;
    for (i, op) in input.ops.iter().enumerate() {
        match *op {
            Op::Reload => {
                version += 1;
                publish.send(Config { version }).unwrap();
            }
            Op::Request => {
                let (reply, answer) = oneshot::channel();
                tx.send(reply).await.unwrap();
                let used = answer.await.unwrap();
                assert_eq!(used, version, "request #{i} of {:?} was answered with a stale config", input.ops);
            }
            Op::Sleep(n) => sleep(ms(n)).await,
        }
    }
    drop(tx);
    worker.await.unwrap();
}
