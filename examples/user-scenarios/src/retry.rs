//! A deposit with a timeout and one retry, in plain tokio.
//!
//! The server accepts a request at once and takes [`WORK`] to apply it; once its request is
//! accepted, the client waits [`TIMEOUT`] for the reply, the same time. In the canonical
//! order the server's timer, set first, fires first and the reply is in time. But both are
//! due at the same instant: when the client's timer is taken first, the client gives up on a
//! request the server is about to apply, and retries it (with a longer timeout): the buggy
//! server applies it twice. The fix: the server applies each request id once (a retry keeps
//! its id).

use std::collections::BTreeSet;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::time::{sleep, timeout};

/// How long the server takes to apply a request.
pub const WORK: Duration = Duration::from_millis(100);
/// How long the client waits for the first reply (each retry waits twice as long).
pub const TIMEOUT: Duration = Duration::from_millis(100);
/// The amount deposited.
pub const AMOUNT: u64 = 5;

/// A deposit request.
#[derive(Debug)]
pub struct Request {
    /// The request's id; a retry keeps it.
    pub id: u64,
    /// The amount to add.
    pub amount: u64,
    /// Told as soon as the server takes the request.
    pub accepted: oneshot::Sender<()>,
    /// Where the new balance goes.
    pub reply: oneshot::Sender<u64>,
}

/// The account server: applies each request after [`WORK`] and replies with the balance;
/// with `dedup`, a request whose id it has applied already changes nothing. Returns the
/// final balance when every client is gone.
pub async fn server(mut requests: mpsc::Receiver<Request>, dedup: bool) -> u64 {
    let mut balance = 0;
    let mut applied = BTreeSet::new();
    while let Some(request) = requests.recv().await {
        let _ = request.accepted.send(());
        sleep(WORK).await;
        if applied.insert(request.id) || !dedup {
            balance += request.amount;
        }
        // The client may have given up on this reply: that is no error.
        let _ = request.reply.send(balance);
    }
    balance
}

/// Deposits `amount` as request `id`: once the server has accepted it, waits [`TIMEOUT`]
/// for the reply, then retries once with twice the timeout. Returns the balance the server
/// replied, or `None`.
pub async fn deposit(requests: &mpsc::Sender<Request>, id: u64, amount: u64) -> Option<u64> {
    for wait in [TIMEOUT, TIMEOUT * 2] {
        let (accepted, on_accept) = oneshot::channel();
        let (reply, balance) = oneshot::channel();
        requests.send(Request { id, amount, accepted, reply }).await.ok()?;
        on_accept.await.ok()?;
        if let Ok(Ok(balance)) = timeout(wait, balance).await {
            return Some(balance);
        }
    }
    None
}

/// One deposit of [`AMOUNT`] through the server (`fixed`: the deduplicating one); panics
/// unless the final balance is exactly [`AMOUNT`].
pub async fn deposit_once(fixed: bool) {
    let (requests, inbox) = mpsc::channel(4);
    let server = tokio::spawn(server(inbox, fixed));
    let replied = deposit(&requests, 1, AMOUNT).await;
    drop(requests);
    let balance = server.await.expect("the server ends when the client is gone");
    assert_eq!(balance, AMOUNT, "one deposit of {AMOUNT} left a balance of {balance} (the client saw {replied:?})");
}
