//! Lease: a holder keeps a lease by sending heartbeats; the lease manager declares it expired
//! when [`TTL`] passes without one. A heartbeat at exactly [`TTL`] after the previous one is in
//! time (the lease covers its whole TTL, end included).
//!
//! **The race.** The holder renews every [`TTL`], so each heartbeat is due at the very instant
//! the manager's expiry timer is. The buggy manager `select!`s between its expiry `sleep` and
//! the heartbeat channel: when the timer is seen first (it fired before the holder ran, or
//! both were ready and `select!` picked the timer), a lease renewed in time is declared expired.
//!
//! **The fix.** The manager expires a lease only once its TTL has passed: the expiry timer is
//! set a grace period after the TTL's end, so a heartbeat due at the end always arrives first.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::{sleep, sleep_until, Instant};

use crate::{ms, Variant};

/// How long a heartbeat keeps the lease.
pub const TTL: Duration = ms(100);
/// The fixed manager's grace after the TTL's end (shorter than any step of real time that
/// matters to the holder; here, anything above zero).
pub const GRACE: Duration = ms(1);

/// How a lease ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// Expired after this many heartbeats.
    Expired {
        /// Heartbeats received before the expiry.
        heartbeats: u32,
    },
    /// The holder released it (closed its channel) after this many heartbeats.
    Released {
        /// Heartbeats received.
        heartbeats: u32,
    },
}

/// The lease manager: watches `heartbeats` and says how the lease ended.
pub async fn manager(variant: Variant, mut heartbeats: mpsc::Receiver<()>) -> End {
    let wait = match variant {
        Variant::Buggy => TTL,
        Variant::Fixed => TTL + GRACE,
    };
    let mut count = 0;
    let expiry = sleep_until(Instant::now() + wait);
    tokio::pin!(expiry);
    loop {
        tokio::select! {
            beat = heartbeats.recv() => match beat {
                Some(()) => {
                    count += 1;
                    expiry.as_mut().reset(Instant::now() + wait);
                }
                None => return End::Released { heartbeats: count },
            },
            () = &mut expiry => return End::Expired { heartbeats: count },
        }
    }
}

/// When the holder sends its heartbeats.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Input {
    /// The gap before each heartbeat, in milliseconds.
    pub gaps_ms: Vec<u64>,
}

impl Default for Input {
    /// Two heartbeats, each exactly one TTL after the previous one.
    fn default() -> Input {
        Input { gaps_ms: vec![100, 100] }
    }
}

/// How the lease must end, from the heartbeats' times alone: it expires before the first
/// heartbeat that comes more than [`TTL`] after the previous one.
pub fn expected(input: &Input) -> End {
    let ttl = TTL.as_millis() as u64;
    match input.gaps_ms.iter().position(|&gap| gap > ttl) {
        Some(late) => End::Expired { heartbeats: late as u32 },
        None => End::Released { heartbeats: input.gaps_ms.len() as u32 },
    }
}

/// Runs a holder and a manager and checks how the lease ended.
pub async fn world(variant: Variant, input: Input) {
    let (tx, rx) = mpsc::channel(8);
    let manager = tokio::spawn(manager(variant, rx));
    for gap in &input.gaps_ms {
        if *gap > 0 {
            sleep(ms(*gap)).await;
        }
        if tx.send(()).await.is_err() {
            break; // the manager has ended: the lease is gone
        }
    }
    drop(tx);
    let end = manager.await.unwrap();
    assert_eq!(end, expected(&input), "heartbeats after gaps {:?} ms", input.gaps_ms);
}
