//! Rate limiter: a token bucket holding at most [`CAPACITY`] tokens, starting full, gaining one
//! token every [`PERIOD`]; a request takes a token or is refused.
//!
//! **The race.** The buggy limiter refills from a background task driven by
//! `tokio::time::interval_at(now + PERIOD, PERIOD)`. A client that drained the bucket at 0 ms and asks again at
//! exactly 100 ms is owed the token of the 100 ms tick, but the tick and the request are due at
//! the same instant: when the request runs first, it is refused.
//!
//! **The fix.** No background task: a request first adds the tokens of every period that has
//! ended since the last refill (`(now - last) / PERIOD`), so the answer depends on the time
//! only, never on which wake-up ran first.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::{interval_at, sleep, Instant};

use crate::{ms, Variant};

/// The most tokens the bucket holds (and how many it starts with).
pub const CAPACITY: u32 = 2;
/// One token is added every period.
pub const PERIOD: Duration = ms(100);

struct Bucket {
    tokens: u32,
    /// The end of the last period whose token was added (the fixed variant's clock).
    last: Instant,
}

/// A token bucket.
pub struct Limiter {
    bucket: Arc<Mutex<Bucket>>,
    variant: Variant,
    refill: Option<JoinHandle<()>>,
}

impl Limiter {
    /// A full bucket; the buggy variant starts its refill task.
    pub fn new(variant: Variant) -> Limiter {
        let bucket = Arc::new(Mutex::new(Bucket { tokens: CAPACITY, last: Instant::now() }));
        let refill = (variant == Variant::Buggy).then(|| {
            let bucket = bucket.clone();
            let mut tick = interval_at(Instant::now() + PERIOD, PERIOD);
            tokio::spawn(async move {
                loop {
                    tick.tick().await;
                    let mut b = bucket.lock().unwrap();
                    b.tokens = (b.tokens + 1).min(CAPACITY);
                }
            })
        });
        Limiter { bucket, variant, refill }
    }

    /// Takes a token if there is one.
    pub fn try_acquire(&self) -> bool {
        let mut b = self.bucket.lock().unwrap();
        if self.variant == Variant::Fixed {
            let now = Instant::now();
            let periods = now.duration_since(b.last).as_nanos() / PERIOD.as_nanos();
            let periods = u32::try_from(periods).unwrap_or(u32::MAX);
            b.tokens = b.tokens.saturating_add(periods).min(CAPACITY);
            b.last += PERIOD * periods;
        }
        if b.tokens == 0 {
            return false;
        }
        b.tokens -= 1;
        true
    }
}

impl Drop for Limiter {
    fn drop(&mut self) {
        if let Some(task) = &self.refill {
            task.abort();
        }
    }
}

/// When requests are made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Input {
    /// The gap before each request, in milliseconds.
    pub gaps_ms: Vec<u64>,
}

impl Default for Input {
    /// Two requests at 0 ms drain the bucket; the third comes exactly one period later.
    fn default() -> Input {
        Input { gaps_ms: vec![0, 0, 100] }
    }
}

/// Which requests must be granted, from their times alone: the bucket gains a token at every
/// multiple of [`PERIOD`] (a request at that very instant counts it).
pub fn expected(input: &Input) -> Vec<bool> {
    let period = PERIOD.as_millis() as u64;
    let (mut tokens, mut t, mut refilled) = (CAPACITY, 0u64, 0u64);
    let mut granted = Vec::new();
    for gap in &input.gaps_ms {
        t += gap;
        let periods = t / period;
        tokens = (tokens + (periods - refilled) as u32).min(CAPACITY);
        refilled = periods;
        granted.push(tokens > 0);
        tokens = tokens.saturating_sub(1);
    }
    granted
}

/// Makes the requests and checks which were granted.
pub async fn world(variant: Variant, input: Input) {
    let limiter = Limiter::new(variant);
    let mut granted = Vec::new();
    for gap in &input.gaps_ms {
        if *gap > 0 {
            sleep(ms(*gap)).await;
        }
        granted.push(limiter.try_acquire());
    }
    assert_eq!(granted, expected(&input), "requests after gaps {:?} ms", input.gaps_ms);
}
