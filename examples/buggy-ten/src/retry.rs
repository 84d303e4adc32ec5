//! Retry with backoff: a client sends a payment to a server, waits for the reply at most
//! [`TIMEOUT`], and on a timeout tries again after a backoff, up to [`ATTEMPTS`] times. The
//! server settles the payments it holds on a fixed tick (every `settle_every`).
//!
//! **The race.** The server settles every 100 ms, so a payment sent at 0 ms is settled and
//! answered at 100 ms, the very instant the client's [`TIMEOUT`] ends. When the client sees its
//! timeout before the server has run, it retries a payment the server is about to make, and the
//! buggy server, which applies every request it holds, charges twice.
//!
//! **The fix.** Every request carries an idempotency key (the payment's id). The server applies
//! a key once; a request with a key it has already applied gets the recorded result.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::{interval_at, sleep, timeout, Instant};

use crate::{ms, Variant};

/// How long the client waits for a reply.
pub const TIMEOUT: Duration = ms(100);
/// The most times the client sends a request.
pub const ATTEMPTS: u32 = 3;

/// A payment request.
#[derive(Debug)]
pub struct Pay {
    /// The idempotency key.
    pub id: u64,
    /// The amount to charge.
    pub amount: u64,
    /// Where the new balance goes.
    pub reply: oneshot::Sender<u64>,
}

/// Starts the server: it settles the payments it holds every `settle_every` (and once more when
/// its input closes). Its task returns the balance charged in total.
pub fn start_server(variant: Variant, settle_every: Duration) -> (mpsc::Sender<Pay>, JoinHandle<u64>) {
    let mut settle = interval_at(Instant::now() + settle_every, settle_every);
    let (tx, mut requests) = mpsc::channel::<Pay>(8);
    let task = tokio::spawn(async move {
        let mut balance = 0;
        let mut applied: BTreeMap<u64, u64> = BTreeMap::new();
        let mut held: Vec<Pay> = Vec::new();
        let mut settle_held = |held: &mut Vec<Pay>| {
            for pay in held.drain(..) {
                let result = match applied.get(&pay.id) {
                    Some(&result) if variant == Variant::Fixed => result,
                    _ => {
                        balance += pay.amount;
                        applied.insert(pay.id, balance);
                        balance
                    }
                };
                let _ = pay.reply.send(result); // the client may have stopped waiting
            }
            balance
        };
        loop {
            tokio::select! {
                pay = requests.recv() => match pay {
                    Some(pay) => held.push(pay),
                    None => break,
                },
                _ = settle.tick() => {
                    settle_held(&mut held);
                }
            }
        }
        settle_held(&mut held)
    });
    (tx, task)
}

/// Sends the payment until a reply comes within [`TIMEOUT`], at most [`ATTEMPTS`] times, with
/// `backoff` between attempts. Returns the balance replied, if any.
pub async fn pay_with_retry(server: &mpsc::Sender<Pay>, id: u64, amount: u64, backoff: Duration) -> Option<u64> {
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            sleep(backoff).await;
        }
        let (reply, answer) = oneshot::channel();
        server.send(Pay { id, amount, reply }).await.ok()?;
        if let Ok(Ok(balance)) = timeout(TIMEOUT, answer).await {
            return Some(balance);
        }
    }
    None
}

/// The server's settlement period and the client's backoff.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Input {
    /// How often the server settles, in milliseconds (at least 1).
    pub settle_every_ms: u64,
    /// How long the client waits before a retry, in milliseconds.
    pub backoff_ms: u64,
}

impl Default for Input {
    /// The server settles exactly at the client's timeout.
    fn default() -> Input {
        Input { settle_every_ms: 100, backoff_ms: 50 }
    }
}

/// Pays 10 once, with retries, and checks the server charged 10 exactly once, and that a
/// reply, when one came, says so.
pub async fn world(variant: Variant, input: Input) {
    let (tx, server) = start_server(variant, ms(input.settle_every_ms));
    let replied = pay_with_retry(&tx, 1, 10, ms(input.backoff_ms)).await;
    drop(tx);
    let charged = server.await.unwrap();
    assert_eq!(charged, 10, "one payment of 10 charged {charged} ({input:?}, reply {replied:?})");
    if let Some(balance) = replied {
        assert_eq!(balance, 10, "the reply");
    }
}
