//! The same tokio source on the simulator and on tokio, and sim-tokio against sim-core:
//! `cargo bench -p tokio-user-on-tokio --bench tokio_source`.
//!
//! The workload is `examples/tokio-user/src/pipeline.rs`, plain tokio (a throttle between a
//! paced producer sending 1,000 items with seeded gaps of 0–20 ms and a consumer; the
//! throttle `select!`s over its cooldown timer and its input). This process holds it twice:
//! built against sim-tokio (the `tokio-user` crate) and against real tokio (this crate,
//! which includes the same file). It also holds the same program written against
//! sim-core's own API (below). Three measurements:
//!
//! - **A**: the tokio source on the simulator (`Sim::block_on`, random strategy);
//! - **B**: the tokio source on tokio's current-thread runtime with paused time;
//! - **C**: the sim-core program on the simulator, same configuration as A.
//!
//! Samples are interleaved (A, B, C, then C, B, A, …: the order alternates so that no side
//! always runs first), each sample timing `RUNS` runs; each sample yields the paired ratios
//! B/A (how much faster the simulator runs the same source than tokio) and A/C (sim-tokio's
//! overhead over direct sim-core calls), and the medians of those ratios are printed, with
//! their quartiles. Every run is checked: A and C must produce the same counts and the same
//! number of engine steps (the same program, step for step); B's counts are printed next to
//! them (tokio's timer wheel rounds deadlines to the millisecond, so a few firings differ).

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant as WallInstant};

use sim_core::tooling::strategy::SimRng;
use sim_core::{Config, Sim};

/// Items the producer sends.
const ITEMS: usize = 1_000;
/// The largest gap between two items, in milliseconds (gaps are 0..=MAX_GAP_MS).
const MAX_GAP_MS: u64 = 20;
/// The seed of the gaps (and of the simulator's random strategy).
const SEED: u64 = 0x10c_57e9;
/// Interleaved samples of each side.
const SAMPLES: usize = 401;
/// Runs per sample.
const RUNS: usize = 2;

/// (produced, fired, consumed), and engine steps (0 on tokio).
type Counts = ((u64, u64, u64), u64);

fn gaps() -> Arc<[Duration]> {
    let mut rng = SimRng::new(SEED);
    (0..ITEMS).map(|_| Duration::from_millis(rng.below(MAX_GAP_MS + 1))).collect()
}

/// A: the tokio source, built against sim-tokio.
fn on_sim_tokio(gaps: &Arc<[Duration]>) -> Counts {
    let mut sim = Sim::new(Config::random(SEED));
    let c = sim.block_on(tokio_user::pipeline::throttle_pipeline(gaps.clone())).expect("the run passes");
    ((c.produced, c.fired, c.consumed), sim.steps())
}

/// B: the tokio source, built against tokio, on a current-thread runtime with paused time.
fn on_tokio(rt: &tokio::runtime::Runtime, gaps: &Arc<[Duration]>) -> Counts {
    let c = rt.block_on(tokio_user_on_tokio::pipeline::throttle_pipeline(gaps.clone()));
    ((c.produced, c.fired, c.consumed), 0)
}

/// C: the same program against sim-core's API.
fn on_sim_core(gaps: &Arc<[Duration]>) -> Counts {
    let mut sim = Sim::new(Config::random(SEED));
    let c = sim.block_on(sim_core_pipeline::throttle_pipeline(gaps.clone())).expect("the run passes");
    (c, sim.steps())
}

/// `pipeline.rs` written against sim-core: the same tasks, channels, timer and choices
/// (`select_biased` is `select!` with `biased;`).
mod sim_core_pipeline {
    use std::sync::Arc;
    use std::time::Duration;

    use sim_core::select::{select_biased, Either};
    use sim_core::sync::mpsc;
    use sim_core::time::{sleep, Instant};
    use tokio_user::pipeline::{CAPACITY, PERIOD};

    pub(crate) async fn throttle_pipeline(gaps: Arc<[Duration]>) -> (u64, u64, u64) {
        let (in_tx, mut in_rx) = sim_core::named("in", || mpsc::channel::<u64>(CAPACITY));
        let (out_tx, mut out_rx) = sim_core::named("out", || mpsc::channel::<u64>(CAPACITY));
        let producer = sim_core::task::Builder::new().name("producer").spawn(async move {
            let mut produced = 0;
            for (i, gap) in gaps.iter().enumerate() {
                sleep(*gap).await;
                in_tx.send(i as u64).await.expect("processor alive");
                produced += 1;
            }
            produced
        });
        let processor = sim_core::task::Builder::new().name("processor").spawn(async move {
            let mut fired = 0;
            let mut cooling = false;
            let mut timer = sleep(PERIOD);
            loop {
                let item = if cooling {
                    match select_biased(&mut timer, in_rx.recv()).await {
                        Either::Left(()) => {
                            cooling = false;
                            fired += 1;
                            continue;
                        }
                        Either::Right(item) => item,
                    }
                } else {
                    in_rx.recv().await
                };
                match item {
                    Some(item) if !cooling => {
                        cooling = true;
                        timer.reset(Instant::now() + PERIOD);
                        out_tx.send(item).await.expect("consumer alive");
                    }
                    Some(_) => {}
                    None => break,
                }
            }
            fired
        });
        let consumer = sim_core::task::Builder::new().name("consumer").spawn(async move {
            let mut consumed = 0;
            while out_rx.recv().await.is_some() {
                consumed += 1;
            }
            consumed
        });
        let produced = producer.await.expect("producer");
        let fired = processor.await.expect("processor");
        let consumed = consumer.await.expect("consumer");
        (produced, fired, consumed)
    }
}

/// The clock samples are timed with: this thread's CPU time
/// (`clock_gettime(CLOCK_THREAD_CPUTIME_ID)`, through the `cpu-time` crate) where the system
/// has it, else the wall clock. On a machine shared with other work, wall-clock time also
/// counts the time the thread waited for a CPU; the thread's CPU time does not. (The whole
/// workload, tokio's runtime included, runs on this thread.)
#[derive(Clone, Copy)]
enum Clock {
    ThreadCpu,
    Wall,
}

impl Clock {
    fn pick() -> Clock {
        if cpu_time::ThreadTime::try_now().is_ok() {
            Clock::ThreadCpu
        } else {
            Clock::Wall
        }
    }

    fn name(self) -> &'static str {
        match self {
            Clock::ThreadCpu => "the thread's CPU time",
            Clock::Wall => "wall-clock time",
        }
    }

    /// Times `RUNS` runs of `run`; returns the time and what the last run returned.
    fn sample(self, mut run: impl FnMut() -> Counts) -> (Duration, Counts) {
        let (wall, cpu) = (WallInstant::now(), cpu_time::ThreadTime::try_now());
        let mut counts = run();
        for _ in 1..RUNS {
            counts = black_box(run());
        }
        let took = match (self, cpu) {
            (Clock::ThreadCpu, Ok(start)) => start.elapsed(),
            _ => wall.elapsed(),
        };
        (took, counts)
    }
}

/// The (first quartile, median, third quartile) of `values`.
fn quartiles(values: &mut [f64]) -> (f64, f64, f64) {
    values.sort_by(f64::total_cmp);
    let at = |q: usize| values[(values.len() - 1) * q / 4];
    (at(1), at(2), at(3))
}

fn per_run(total: Duration) -> Duration {
    total / RUNS as u32
}

/// `TOKIO_SOURCE_SIDE=a|b|c` (and `TOKIO_SOURCE_RUNS=N`, default 100): runs only that side,
/// N times, and prints nothing but its counts, for a profiler or an instruction counter
/// (`valgrind --tool=callgrind`), whose figures do not depend on the machine's load.
fn one_side(side: &str, gaps: &Arc<[Duration]>, rt: &tokio::runtime::Runtime) {
    let runs: usize = std::env::var("TOKIO_SOURCE_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(100);
    let mut counts = None;
    for _ in 0..runs {
        counts = Some(black_box(match side {
            "a" => on_sim_tokio(gaps),
            "b" => on_tokio(rt, gaps),
            "c" => on_sim_core(gaps),
            other => panic!("TOKIO_SOURCE_SIDE must be a, b or c, not {other:?}"),
        }));
    }
    println!("side {side}: {runs} runs, last {counts:?}");
}

fn main() {
    let gaps = gaps();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a current-thread runtime");
    if let Ok(side) = std::env::var("TOKIO_SOURCE_SIDE") {
        return one_side(&side, &gaps, &rt);
    }
    let clock = Clock::pick();
    let (mut a_times, mut b_times, mut c_times) = (Vec::new(), Vec::new(), Vec::new());
    let (mut b_over_a, mut a_over_c) = (Vec::new(), Vec::new());
    let mut seen: Option<(Counts, Counts, Counts)> = None;
    for i in 0..SAMPLES {
        let a = || clock.sample(|| on_sim_tokio(&gaps));
        let b = || clock.sample(|| on_tokio(&rt, &gaps));
        let c = || clock.sample(|| on_sim_core(&gaps));
        let (ra, rb, rc) = if i % 2 == 0 {
            let ra = a();
            let rb = b();
            (ra, rb, c())
        } else {
            let rc = c();
            let rb = b();
            (a(), rb, rc)
        };
        assert_eq!(ra.1, rc.1, "sim-tokio and sim-core ran different programs (counts, steps)");
        if let Some(first) = seen {
            assert_eq!(first, (ra.1, rb.1, rc.1), "a run differs from the first");
        }
        seen = Some((ra.1, rb.1, rc.1));
        b_over_a.push(rb.0.as_secs_f64() / ra.0.as_secs_f64());
        a_over_c.push(ra.0.as_secs_f64() / rc.0.as_secs_f64());
        a_times.push(ra.0.as_secs_f64());
        b_times.push(rb.0.as_secs_f64());
        c_times.push(rc.0.as_secs_f64());
    }
    let (a, b, c) = seen.expect("at least one sample");
    let events = |((p, f, c), _): Counts| p + f + c;
    let median_run = |times: &mut Vec<f64>| per_run(Duration::from_secs_f64(quartiles(times).1));
    println!(
        "tokio source (examples/tokio-user/src/pipeline.rs): {ITEMS} items, gaps 0-{MAX_GAP_MS} ms, period {:?}, capacity {}",
        tokio_user::pipeline::PERIOD,
        tokio_user::pipeline::CAPACITY
    );
    println!(
        "{SAMPLES} interleaved samples (A, B, C, then C, B, A, ...) of {RUNS} runs each, timed by {}",
        clock.name()
    );
    let show = |label: &str, counts: Counts, median: Duration| {
        let ((p, f, c), steps) = counts;
        let steps = if steps > 0 { format!(", {steps} steps") } else { String::new() };
        println!(
            "  {label}: {} events ({p} produced, {f} timer firings, {c} consumed){steps}; median run {median:?} -> {:.2} M events/s",
            events(counts),
            events(counts) as f64 / median.as_secs_f64() / 1e6
        );
    };
    show("A sim-tokio, simulator (random strategy)", a, median_run(&mut a_times));
    show("B tokio, current-thread, paused time   ", b, median_run(&mut b_times));
    show("C sim-core's own API, simulator        ", c, median_run(&mut c_times));
    let (q1, m, q3) = quartiles(&mut b_over_a);
    println!(
        "  the same source, tokio / simulator, run time: median of paired ratios {m:.2}x (quartiles {q1:.2}-{q3:.2})"
    );
    let (q1, m, q3) = quartiles(&mut a_over_c);
    println!(
        "  sim-tokio / sim-core, run time: median of paired ratios {m:.3} (quartiles {q1:.3}-{q3:.3}): overhead {:+.1}% (target <= 10%)",
        (m - 1.0) * 100.0
    );
}
