//! Throughput of each processor, in items per second:
//!
//! - `tokio`: the processor on a real tokio runtime (current thread); only in a build
//!   without `--cfg lockstep` (`RUSTFLAGS= cargo bench -p processors`), where the crate's
//!   `tokio` is tokio;
//! - `world`: the processor in this build's world, built inside
//!   `tokio::runtime::Builder::new_current_thread().start_paused(true)`: the Lockstep
//!   simulator under `--cfg lockstep` (the workspace: `cargo bench -p processors`), tokio
//!   with paused time without it;
//! - `select!`: an equivalent hand-written `tokio::select!` loop on real tokio with paused
//!   time (in both builds: it names the registry's tokio directly);
//!
//! and the ratio `world / select!`: the cost of the shared driver (and, on the simulator,
//! of the simulator) against hand-written code on tokio.
//!
//! Two workloads: `burst` (every item ready at once: per-item cost only) and `paced`
//! (64 items per virtual millisecond: timers fire and windows close along the way;
//! not run on real time, where it would measure sleeping). Both implementations
//! must produce the same outputs; the bench checks it.
//!
//! `BENCH_ITEMS` sets the items per run.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::time::{Duration, Instant};

use futures::{Stream, StreamExt};
use processors::{Batcher, Debounce, Logic, SessionWindow, SlidingWindow, Throttle, TumblingWindow};

const RUNS: usize = 3;
const BURST: u64 = 64;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// What came out: (outputs, items inside them). Both implementations must agree.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Tally {
    outputs: u64,
    items: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Workload {
    Burst,
    Paced,
}

/// When item `i` arrives.
fn step(workload: Workload, i: u64) -> Duration {
    match workload {
        Workload::Burst => Duration::ZERO,
        Workload::Paced => ms(i / BURST),
    }
}

/// The input of the processors: `n` numbers, all at once or `BURST` per millisecond, on
/// this build's `tokio` (the simulator under `--cfg lockstep`).
fn input(workload: Workload, n: u64) -> impl Stream<Item = u64> + Unpin {
    let origin = tokio::time::Instant::now();
    Box::pin(futures::stream::unfold(0, move |i| async move {
        if i == n {
            return None;
        }
        let at = origin + step(workload, i);
        if at > tokio::time::Instant::now() {
            tokio::time::sleep_until(at).await;
        }
        Some((i, i + 1))
    }))
}

/// The same input, written the same way, on real tokio for the hand-written loops.
fn real_input(workload: Workload, n: u64) -> impl Stream<Item = u64> + Unpin {
    let origin = real_tokio::time::Instant::now();
    Box::pin(futures::stream::unfold(0, move |i| async move {
        if i == n {
            return None;
        }
        let at = origin + step(workload, i);
        if at > real_tokio::time::Instant::now() {
            real_tokio::time::sleep_until(at).await;
        }
        Some((i, i + 1))
    }))
}

/// One processor under test: how to build its logic, and the hand-written loop.
trait Case {
    const NAME: &'static str;
    type L: Logic<In = u64> + 'static;
    fn logic(&self) -> Self::L;
    fn weigh(out: &<Self::L as Logic>::Out) -> u64;
    fn select_loop<S: Stream<Item = u64> + Unpin>(&self, input: S) -> impl Future<Output = Tally>;
}

/// Runs `logic` over the workload's input (both made here, inside the runtime, so that
/// they read its clock).
async fn drain<L: Logic<In = u64>>(logic: L, weigh: fn(&L::Out) -> u64, workload: Workload, n: u64) -> Tally {
    let mut out = pin!(logic.process_ok(input(workload, n)));
    let mut tally = Tally::default();
    while let Some(o) = out.next().await {
        tally.outputs += 1;
        tally.items += weigh(black_box(&o));
    }
    tally
}

fn time<R>(n: u64, mut run: impl FnMut() -> R) -> (f64, R) {
    let mut best = f64::MAX;
    let mut result = None;
    for _ in 0..RUNS {
        let start = Instant::now();
        let r = run();
        best = best.min(start.elapsed().as_secs_f64());
        result = Some(r);
    }
    (n as f64 / best, result.expect("at least one run"))
}

/// A runtime of this build's world: the simulator under `--cfg lockstep` (one
/// simulation, canonical order), tokio otherwise.
fn world_rt(paused: bool) -> tokio::runtime::Runtime {
    let mut builder = tokio::runtime::Builder::new_current_thread();
    builder.enable_time().start_paused(paused);
    builder.build().expect("runtime")
}

fn real_rt() -> real_tokio::runtime::Runtime {
    real_tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().expect("runtime")
}

fn bench<K: Case>(case: &K, n: u64) {
    for workload in [Workload::Burst, Workload::Paced] {
        let on_world = |paused: bool| world_rt(paused).block_on(drain(case.logic(), K::weigh, workload, n));
        // Real time only where the world is real tokio, and only for bursts.
        let real = (!cfg!(lockstep) && workload == Workload::Burst).then(|| time(n, || on_world(false)));
        let world = time(n, || on_world(true));
        let hand = time(n, || real_rt().block_on(async { case.select_loop(real_input(workload, n)).await }));
        assert_eq!(world.1, hand.1, "{}: the processor and the select! loop disagree", K::NAME);
        // On real time the outputs depend on how fast the burst is consumed (a throttle
        // passes more items when consuming them takes longer than its period): not compared.
        let real = real.map_or_else(|| format!("{:>10}", "-"), |r| format!("{:>10.3e}", r.0));
        println!(
            "{:<9} {:<6} {} {:>10.3e} {:>10.3e} {:>9.2}  ({} outputs)",
            K::NAME,
            format!("{workload:?}").to_lowercase(),
            real,
            world.0,
            hand.0,
            world.0 / hand.0,
            hand.1.outputs,
        );
    }
}

fn main() {
    let n: u64 = std::env::var("BENCH_ITEMS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let world = if cfg!(lockstep) { "the Lockstep simulator" } else { "tokio with paused time" };
    println!("items/s with {n} items per run, best of {RUNS}; world: {world}");
    println!("{:<9} {:<6} {:>10} {:>10} {:>10} {:>9}", "processor", "load", "tokio", "world", "select!", "world/sel");
    bench(&ThrottleCase, n);
    bench(&DebounceCase, n);
    bench(&BatcherCase, n);
    bench(&TumblingCase, n);
    bench(&SlidingCase, n);
    bench(&SessionCase, n);
}

// ---- the cases and their hand-written loops ----

fn now_since(origin: real_tokio::time::Instant) -> Duration {
    real_tokio::time::Instant::now() - origin
}

struct ThrottleCase;

impl Case for ThrottleCase {
    const NAME: &'static str = "throttle";
    type L = Throttle<u64>;
    fn logic(&self) -> Throttle<u64> {
        Throttle::new(Duration::from_micros(100))
    }
    fn weigh(_: &u64) -> u64 {
        1
    }
    async fn select_loop<S: Stream<Item = u64> + Unpin>(&self, mut input: S) -> Tally {
        let period = Duration::from_micros(100);
        let origin = real_tokio::time::Instant::now();
        let mut last: Option<Duration> = None;
        let mut tally = Tally::default();
        while let Some(x) = input.next().await {
            let now = now_since(origin);
            if last.is_none_or(|l| now >= l + period) {
                last = Some(now);
                black_box(x);
                tally.outputs += 1;
                tally.items += 1;
            }
        }
        tally
    }
}

struct DebounceCase;

impl Case for DebounceCase {
    const NAME: &'static str = "debounce";
    type L = Debounce<u64>;
    fn logic(&self) -> Debounce<u64> {
        Debounce::new(Duration::from_micros(500))
    }
    fn weigh(_: &u64) -> u64 {
        1
    }
    async fn select_loop<S: Stream<Item = u64> + Unpin>(&self, mut input: S) -> Tally {
        let quiet = Duration::from_micros(500);
        let mut tally = Tally::default();
        let mut pending = None;
        let mut sleep = pin!(real_tokio::time::sleep(Duration::ZERO));
        loop {
            real_tokio::select! {
                biased;
                () = &mut sleep, if pending.is_some() => {
                    black_box(pending.take());
                    tally.outputs += 1;
                    tally.items += 1;
                }
                item = input.next() => match item {
                    Some(x) => {
                        // The deadline may be due although the sleep was not polled
                        // ready (tokio's coop budget): handle it first.
                        let now = real_tokio::time::Instant::now();
                        if pending.is_some() && sleep.deadline() <= now {
                            black_box(pending.take());
                            tally.outputs += 1;
                            tally.items += 1;
                        }
                        pending = Some(x);
                        sleep.as_mut().reset(now + quiet);
                    }
                    None => {
                        if pending.take().is_some() {
                            tally.outputs += 1;
                            tally.items += 1;
                        }
                        return tally;
                    }
                },
            }
        }
    }
}

struct BatcherCase;

impl Case for BatcherCase {
    const NAME: &'static str = "batcher";
    type L = Batcher<u64>;
    fn logic(&self) -> Batcher<u64> {
        Batcher::new(100, Some(Duration::from_micros(700))).expect("valid")
    }
    fn weigh(batch: &Vec<u64>) -> u64 {
        batch.len() as u64
    }
    async fn select_loop<S: Stream<Item = u64> + Unpin>(&self, mut input: S) -> Tally {
        let (max, latency) = (100, Duration::from_micros(700));
        let mut tally = Tally::default();
        let mut batch: Vec<u64> = Vec::new();
        let emit = |batch: &mut Vec<u64>, tally: &mut Tally| {
            if !batch.is_empty() {
                tally.outputs += 1;
                tally.items += black_box(std::mem::take(batch)).len() as u64;
            }
        };
        let mut sleep = pin!(real_tokio::time::sleep(Duration::ZERO));
        loop {
            real_tokio::select! {
                biased;
                () = &mut sleep, if !batch.is_empty() => emit(&mut batch, &mut tally),
                item = input.next() => match item {
                    Some(x) => {
                        let now = real_tokio::time::Instant::now();
                        if !batch.is_empty() && sleep.deadline() <= now {
                            emit(&mut batch, &mut tally);
                        }
                        if batch.is_empty() {
                            sleep.as_mut().reset(now + latency);
                        }
                        batch.push(x);
                        if batch.len() == max {
                            emit(&mut batch, &mut tally);
                        }
                    }
                    None => {
                        emit(&mut batch, &mut tally);
                        return tally;
                    }
                },
            }
        }
    }
}

struct TumblingCase;

impl Case for TumblingCase {
    const NAME: &'static str = "tumbling";
    type L = TumblingWindow<u64>;
    fn logic(&self) -> TumblingWindow<u64> {
        TumblingWindow::new(ms(2)).expect("valid")
    }
    fn weigh(w: &processors::Window<u64>) -> u64 {
        w.items.len() as u64
    }
    async fn select_loop<S: Stream<Item = u64> + Unpin>(&self, mut input: S) -> Tally {
        let size = ms(2);
        let origin = real_tokio::time::Instant::now();
        let mut tally = Tally::default();
        let mut window: Option<(u128, Vec<u64>)> = None;
        let emit = |window: &mut Option<(u128, Vec<u64>)>, tally: &mut Tally| {
            if let Some((_, items)) = window.take() {
                tally.outputs += 1;
                tally.items += black_box(items).len() as u64;
            }
        };
        let mut sleep = pin!(real_tokio::time::sleep(Duration::ZERO));
        loop {
            real_tokio::select! {
                biased;
                () = &mut sleep, if window.is_some() => emit(&mut window, &mut tally),
                item = input.next() => match item {
                    Some(x) => {
                        let k = now_since(origin).as_nanos() / size.as_nanos();
                        if window.as_ref().is_some_and(|(current, _)| *current != k) {
                            emit(&mut window, &mut tally);
                        }
                        if window.is_none() {
                            sleep.as_mut().reset(origin + size * (k as u32 + 1));
                        }
                        window.get_or_insert_with(|| (k, Vec::new())).1.push(x);
                    }
                    None => {
                        emit(&mut window, &mut tally);
                        return tally;
                    }
                },
            }
        }
    }
}

struct SlidingCase;

impl Case for SlidingCase {
    const NAME: &'static str = "sliding";
    type L = SlidingWindow<u64>;
    fn logic(&self) -> SlidingWindow<u64> {
        SlidingWindow::new(ms(2), ms(1)).expect("valid")
    }
    fn weigh(w: &processors::Window<u64>) -> u64 {
        w.items.len() as u64
    }
    async fn select_loop<S: Stream<Item = u64> + Unpin>(&self, mut input: S) -> Tally {
        let (size, slide) = (ms(2), ms(1));
        let origin = real_tokio::time::Instant::now();
        let mut tally = Tally::default();
        let mut open: BTreeMap<u128, Vec<u64>> = BTreeMap::new();
        let end_of = |k: u128| slide * k as u32 + size;
        let flush_due = |open: &mut BTreeMap<u128, Vec<u64>>, now: Duration, tally: &mut Tally| {
            while let Some(entry) = open.first_entry() {
                if end_of(*entry.key()) > now {
                    break;
                }
                tally.outputs += 1;
                tally.items += black_box(entry.remove()).len() as u64;
            }
        };
        let mut sleep = pin!(real_tokio::time::sleep(Duration::ZERO));
        loop {
            real_tokio::select! {
                biased;
                () = &mut sleep, if !open.is_empty() => {
                    flush_due(&mut open, now_since(origin), &mut tally);
                    if let Some(&k) = open.keys().next() {
                        sleep.as_mut().reset(origin + end_of(k));
                    }
                }
                item = input.next() => match item {
                    Some(x) => {
                        let now = now_since(origin);
                        // Due windows first, even when the sleep was not polled ready.
                        flush_due(&mut open, now, &mut tally);
                        let t = now.as_nanos();
                        let last = t / slide.as_nanos();
                        let first = t.checked_sub(size.as_nanos()).map_or(0, |e| e / slide.as_nanos() + 1);
                        let was_empty = open.is_empty();
                        for k in first..=last {
                            open.entry(k).or_default().push(x);
                        }
                        if was_empty {
                            sleep.as_mut().reset(origin + end_of(first));
                        }
                    }
                    None => {
                        for (_, items) in std::mem::take(&mut open) {
                            tally.outputs += 1;
                            tally.items += black_box(items).len() as u64;
                        }
                        return tally;
                    }
                },
            }
        }
    }
}

struct SessionCase;

fn session_key(v: &u64) -> u64 {
    // Ten keys, each seen about every ten items.
    v % 10
}

impl Case for SessionCase {
    const NAME: &'static str = "session";
    type L = SessionWindow<u64, u64, fn(&u64) -> u64>;
    fn logic(&self) -> Self::L {
        SessionWindow::new(Duration::from_micros(300), session_key as fn(&u64) -> u64).expect("valid")
    }
    fn weigh(s: &processors::Session<u64, u64>) -> u64 {
        s.items.len() as u64
    }
    async fn select_loop<S: Stream<Item = u64> + Unpin>(&self, mut input: S) -> Tally {
        let gap = Duration::from_micros(300);
        let origin = real_tokio::time::Instant::now();
        let mut tally = Tally::default();
        // key -> (start, expiry, items); (expiry, start, key) for the due ones.
        let mut open: BTreeMap<u64, (Duration, Duration, Vec<u64>)> = BTreeMap::new();
        let mut expiries: BTreeSet<(Duration, Duration, u64)> = BTreeSet::new();
        let mut sleep = pin!(real_tokio::time::sleep(Duration::ZERO));
        let mut armed = None;
        loop {
            real_tokio::select! {
                biased;
                () = &mut sleep, if !expiries.is_empty() => {
                    let now = now_since(origin);
                    while expiries.first().is_some_and(|e| e.0 <= now) {
                        let (_, _, key) = expiries.pop_first().expect("non-empty");
                        let (_, _, items) = open.remove(&key).expect("open");
                        tally.outputs += 1;
                        tally.items += black_box(items).len() as u64;
                    }
                    if let Some(e) = expiries.first() {
                        sleep.as_mut().reset(origin + e.0);
                        armed = Some(e.0);
                    }
                }
                item = input.next() => match item {
                    Some(x) => {
                        let now = now_since(origin);
                        // Due sessions first, even when the sleep was not polled ready.
                        while expiries.first().is_some_and(|e| e.0 <= now) {
                            let (_, _, key) = expiries.pop_first().expect("non-empty");
                            let (_, _, items) = open.remove(&key).expect("open");
                            tally.outputs += 1;
                            tally.items += black_box(items).len() as u64;
                        }
                        let key = session_key(&x);
                        let expiry = now + gap;
                        match open.get_mut(&key) {
                            Some((start, old, items)) => {
                                expiries.remove(&(*old, *start, key));
                                *old = expiry;
                                items.push(x);
                                expiries.insert((expiry, *start, key));
                            }
                            None => {
                                open.insert(key, (now, expiry, vec![x]));
                                expiries.insert((expiry, now, key));
                            }
                        }
                        let first = expiries.first().expect("non-empty").0;
                        if armed != Some(first) {
                            sleep.as_mut().reset(origin + first);
                            armed = Some(first);
                        }
                    }
                    None => {
                        for (_, (_, _, items)) in std::mem::take(&mut open) {
                            tally.outputs += 1;
                            tally.items += black_box(items).len() as u64;
                        }
                        return tally;
                    }
                },
            }
        }
    }
}
