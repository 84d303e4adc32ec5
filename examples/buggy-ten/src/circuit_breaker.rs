//! Circuit breaker: closed, it admits every call; a failed call opens it; open, it refuses calls
//! until [`COOLDOWN`] has passed since the failure that opened it, then it is half-open and
//! admits calls again; a success closes it, a failure (in any state) opens it anew.
//!
//! **The race.** The buggy breaker arms a timer task when it opens, which sets it half-open
//! [`COOLDOWN`] later. Two calls admitted at 50 ms fail at 100 ms and at 200 ms. The first
//! opens the breaker at 100 ms and arms a timer for 200 ms; at 200 ms the second failure and
//! that timer are due together. When the failure is recorded first, it re-opens the breaker
//! (open until 300 ms), and then the stale timer sets it half-open anyway: a call at 250 ms is
//! admitted to a service that failed 50 ms ago.
//!
//! **The fix.** No timer: the state moves from open to half-open when a call or a result looks
//! at it and its cooldown has passed (`now >= opened_at + COOLDOWN`), so only the latest
//! opening counts.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::{sleep, sleep_until, Instant};

use crate::{ms, Variant};

/// How long an opened breaker refuses calls.
pub const COOLDOWN: Duration = ms(100);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Closed,
    Open { since: Instant },
    HalfOpen,
}

/// A circuit breaker, shared by the callers.
#[derive(Clone)]
pub struct Breaker {
    state: Arc<Mutex<State>>,
    variant: Variant,
}

impl Breaker {
    /// A closed breaker.
    pub fn new(variant: Variant) -> Breaker {
        Breaker { state: Arc::new(Mutex::new(State::Closed)), variant }
    }

    /// The state now; the fixed breaker moves from open to half-open here, by the clock.
    fn current(&self, state: &mut State) -> State {
        if let (Variant::Fixed, State::Open { since }) = (self.variant, *state) {
            if Instant::now() >= since + COOLDOWN {
                *state = State::HalfOpen;
            }
        }
        *state
    }

    /// Whether a call may go ahead now.
    pub fn admit(&self) -> bool {
        let mut state = self.state.lock().unwrap();
        !matches!(self.current(&mut state), State::Open { .. })
    }

    /// Records the result of an admitted call.
    pub fn record(&self, ok: bool) {
        let mut state = self.state.lock().unwrap();
        let now = self.current(&mut state);
        if ok {
            if now == State::HalfOpen {
                *state = State::Closed;
            }
            return;
        }
        *state = State::Open { since: Instant::now() };
        if self.variant == Variant::Buggy {
            let state = self.state.clone();
            tokio::spawn(async move {
                sleep(COOLDOWN).await;
                *state.lock().unwrap() = State::HalfOpen;
            });
        }
    }
}

/// One call: when it is made, how long the service takes, and whether it fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Call {
    /// The call is made at `50 + 100 * slot` ms: never at the instant a result or a cooldown
    /// ends (those fall on multiples of 100 ms), so whether it is admitted depends on the
    /// times only.
    pub slot: u64,
    /// The service's latency: `50 + 100 * latency` ms.
    pub latency: u64,
    /// Whether the service succeeds.
    pub ok: bool,
}

impl Call {
    fn start_ms(self) -> u64 {
        50 + 100 * self.slot
    }

    fn end_ms(self) -> u64 {
        self.start_ms() + 50 + 100 * self.latency
    }
}

/// The calls.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Input {
    /// The calls, in any order.
    pub calls: Vec<Call>,
}

impl Default for Input {
    /// Two calls at 50 ms that fail at 100 ms and 200 ms, and a call at 250 ms.
    fn default() -> Input {
        Input {
            calls: vec![
                Call { slot: 0, latency: 0, ok: false },
                Call { slot: 0, latency: 1, ok: false },
                Call { slot: 2, latency: 0, ok: true },
            ],
        }
    }
}

/// Which calls must be admitted, from the times alone: a call at `t` is refused exactly when
/// an admitted call failed at some `f` with `f <= t < f + COOLDOWN` and no later failure
/// came before `t` (a success never changes what is admitted: it closes a half-open breaker,
/// which admits anyway, and is ignored by an open one).
pub fn expected(input: &Input) -> Vec<bool> {
    // Results fall on multiples of 100 ms and calls at 50 mod 100, so no call shares an
    // instant with a result, and results that share one commute (any failure among them
    // leaves the breaker open since that instant).
    let cooldown = COOLDOWN.as_millis() as u64;
    let mut admitted = vec![false; input.calls.len()];
    let mut order: Vec<usize> = (0..input.calls.len()).collect();
    order.sort_by_key(|&i| input.calls[i].start_ms());
    let mut failures: Vec<u64> = Vec::new(); // the failure times of admitted calls
    for i in order {
        let t = input.calls[i].start_ms();
        let last_failure = failures.iter().copied().filter(|&f| f <= t).max();
        admitted[i] = last_failure.is_none_or(|f| t >= f + cooldown);
        if admitted[i] && !input.calls[i].ok {
            failures.push(input.calls[i].end_ms());
        }
    }
    admitted
}

/// Makes the calls, each from its own task, and checks which were admitted.
pub async fn world(variant: Variant, input: Input) {
    let breaker = Breaker::new(variant);
    let start = Instant::now();
    let mut callers = Vec::new();
    for call in &input.calls {
        let (breaker, call) = (breaker.clone(), *call);
        callers.push(tokio::spawn(async move {
            sleep_until(start + ms(call.start_ms())).await;
            if !breaker.admit() {
                return false;
            }
            sleep_until(start + ms(call.end_ms())).await;
            breaker.record(call.ok);
            true
        }));
    }
    let mut admitted = Vec::new();
    for caller in callers {
        admitted.push(caller.await.unwrap());
    }
    assert_eq!(admitted, expected(&input), "calls {:?}", input.calls);
}
