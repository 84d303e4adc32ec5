//! Lockstep's engine benchmark: `cargo bench -p sim-core --bench engine`.
//!
//! 1. A throttle-like workload, run on Lockstep and on tokio's current-thread runtime
//!    with paused time, in the same process: one producer sends 1,000 items with seeded
//!    gaps of 0–20 ms, one processor selects over its input and a cooldown timer, one
//!    consumer drains the output. "Events" are counted the same way on both sides:
//!    items produced + timer firings + items consumed. Target: Lockstep at least 10x
//!    tokio's events per second, with trace fingerprinting on (it always is).
//! 2. The cost of creating, running and dropping an empty simulation. Target: <= 1 µs.
//!
//! The throttle workload is timed in interleaved samples (tokio, Lockstep, then Lockstep,
//! tokio, …: no side always runs first), each pair giving one ratio of events per second;
//! the median of those paired ratios is printed with its quartiles, next to each side's best
//! and median. The other measurements are repeated and the best (and median) printed. Every
//! sample is timed by the thread's CPU time where the system has it (on a machine shared
//! with other work, wall-clock samples also count the time spent waiting for a CPU).

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant as WallInstant};

use sim_core::tooling::strategy::SimRng;
use sim_core::{Config, Sim};

/// Items the producer sends.
const ITEMS: usize = 1_000;
/// The largest gap between two items, in milliseconds (gaps are 0..=MAX_GAP_MS).
const MAX_GAP_MS: u64 = 20;
/// The processor's cooldown period.
const PERIOD: Duration = Duration::from_millis(10);
/// Bounded channel capacity on both sides.
const CAPACITY: usize = 16;
/// The seed of the gaps (and of Lockstep's random strategy).
const SEED: u64 = 0x10c_57e9;
/// Repetitions of the hour of timers and of the empty simulation.
const REPS: usize = 7;
/// Interleaved samples of each side of the throttle workload.
const PAIRS: usize = 201;

/// What one run of the workload did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Counts {
    produced: u64,
    fired: u64,
    consumed: u64,
    /// Engine steps (Lockstep only).
    steps: u64,
}

impl Counts {
    fn events(&self) -> u64 {
        self.produced + self.fired + self.consumed
    }
}

/// The producer's gaps, identical on both sides.
fn gaps() -> Arc<[Duration]> {
    let mut rng = SimRng::new(SEED);
    (0..ITEMS).map(|_| Duration::from_millis(rng.below(MAX_GAP_MS + 1))).collect()
}

// ---- tokio, current-thread, paused time ----

mod on_tokio {
    use super::*;
    use tokio::sync::mpsc;
    use tokio::time::{sleep, Instant};

    pub(crate) fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .expect("a current-thread runtime")
    }

    // Not inlined, so that an instruction counter can count one run, which does not depend on
    // the machine's load: valgrind --tool=callgrind --toggle-collect='*on_tokio*workload*'
    #[inline(never)]
    pub(crate) fn workload(rt: &tokio::runtime::Runtime, gaps: &Arc<[Duration]>) -> Counts {
        let gaps = gaps.clone();
        rt.block_on(async move {
            let (in_tx, mut in_rx) = mpsc::channel::<u64>(CAPACITY);
            let (out_tx, mut out_rx) = mpsc::channel::<u64>(CAPACITY);
            let producer = tokio::spawn(async move {
                let mut produced = 0;
                for (i, gap) in gaps.iter().enumerate() {
                    sleep(*gap).await;
                    in_tx.send(i as u64).await.expect("processor alive");
                    produced += 1;
                }
                produced
            });
            let processor = tokio::spawn(async move {
                let mut fired = 0;
                let mut cooling = false;
                let timer = sleep(PERIOD);
                tokio::pin!(timer);
                loop {
                    tokio::select! {
                        biased;
                        () = &mut timer, if cooling => {
                            cooling = false;
                            fired += 1;
                        }
                        item = in_rx.recv() => match item {
                            Some(item) if !cooling => {
                                cooling = true;
                                timer.as_mut().reset(Instant::now() + PERIOD);
                                out_tx.send(item).await.expect("consumer alive");
                            }
                            Some(_) => {}
                            None => break,
                        },
                    }
                }
                fired
            });
            let consumer = tokio::spawn(async move {
                let mut consumed = 0;
                while out_rx.recv().await.is_some() {
                    consumed += 1;
                }
                consumed
            });
            let produced = producer.await.expect("producer");
            let fired = processor.await.expect("processor");
            let consumed = consumer.await.expect("consumer");
            Counts { produced, fired, consumed, steps: 0 }
        })
    }
}

// ---- Lockstep ----

mod on_lockstep {
    use super::*;
    use sim_core::select::{select, Either};
    use sim_core::sync::mpsc;
    use sim_core::time::{sleep, Instant};

    // Not inlined (see on_tokio::workload): --toggle-collect='*on_lockstep*workload*'
    #[inline(never)]
    pub(crate) fn workload(gaps: &Arc<[Duration]>) -> Counts {
        let mut sim = Sim::new(Config::random(SEED));
        let (in_tx, mut in_rx) = sim_core::named("in", || mpsc::channel::<u64>(CAPACITY));
        let (out_tx, mut out_rx) = sim_core::named("out", || mpsc::channel::<u64>(CAPACITY));
        let gaps = gaps.clone();
        let producer = sim.spawn_named("producer", async move {
            let mut produced = 0;
            for (i, gap) in gaps.iter().enumerate() {
                sleep(*gap).await;
                in_tx.send(i as u64).await.expect("processor alive");
                produced += 1;
            }
            produced
        });
        let processor = sim.spawn_named("processor", async move {
            let mut fired = 0;
            let mut cooling = false;
            let mut timer = sleep(PERIOD);
            loop {
                let item = if cooling {
                    match select(&mut timer, in_rx.recv()).await {
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
        let consumer = sim.spawn_named("consumer", async move {
            let mut consumed = 0;
            while out_rx.recv().await.is_some() {
                consumed += 1;
            }
            consumed
        });
        sim.run().expect("the workload succeeds");
        let counts = sim.block_on(async move {
            let produced = producer.await.expect("producer");
            let fired = processor.await.expect("processor");
            let consumed = consumer.await.expect("consumer");
            (produced, fired, consumed)
        });
        let (produced, fired, consumed) = counts.expect("joins succeed");
        Counts { produced, fired, consumed, steps: sim.steps() }
    }
}

// ---- measuring ----

/// The clock samples are timed with: this thread's CPU time
/// (`clock_gettime(CLOCK_THREAD_CPUTIME_ID)`, through the `cpu-time` crate) where the system
/// has it, else the wall clock. (Every workload, tokio's runtime included, runs on this thread.)
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

    /// Times one call of `f`; returns the time and what `f` returned.
    fn time<R>(self, f: impl FnOnce() -> R) -> (Duration, R) {
        let (wall, cpu) = (WallInstant::now(), cpu_time::ThreadTime::try_now());
        let r = black_box(f());
        let took = match (self, cpu) {
            (Clock::ThreadCpu, Ok(start)) => start.elapsed(),
            _ => wall.elapsed(),
        };
        (took, r)
    }
}

/// Best and median of several timed repetitions.
struct Timing {
    best: Duration,
    median: Duration,
}

impl Timing {
    fn of(mut samples: Vec<Duration>) -> Timing {
        samples.sort();
        Timing { best: samples[0], median: samples[samples.len() / 2] }
    }
}

fn time_reps(clock: Clock, reps: usize, mut f: impl FnMut()) -> Timing {
    Timing::of((0..reps).map(|_| clock.time(&mut f).0).collect())
}

/// The (first quartile, median, third quartile) of `values`.
fn quartiles(values: &mut [f64]) -> (f64, f64, f64) {
    values.sort_by(f64::total_cmp);
    let at = |q: usize| values[(values.len() - 1) * q / 4];
    (at(1), at(2), at(3))
}

fn per_second(count: u64, d: Duration) -> f64 {
    count as f64 / d.as_secs_f64()
}

fn human(rate: f64) -> String {
    if rate >= 1e6 {
        format!("{:.2} M", rate / 1e6)
    } else {
        format!("{:.1} k", rate / 1e3)
    }
}

fn empty_simulation(clock: Clock) -> Timing {
    const N: u32 = 100_000;
    let t = time_reps(clock, REPS, || {
        for _ in 0..N {
            let mut sim = Sim::new(Config::default());
            sim.run().expect("an empty simulation succeeds");
            black_box(&sim);
        }
    });
    Timing { best: t.best / N, median: t.median / N }
}

/// An hour of virtual time: 1,000 tasks sleeping in loops with periods of 1 to 60 s
/// (about 146,000 timers), on Lockstep and on tokio with paused time. Returns the
/// number of timer firings and the best time of each.
fn hour_of_timers(clock: Clock, reps: usize) -> (u64, Timing, Timing) {
    const HOUR: Duration = Duration::from_secs(3600);
    let period = |i: u64| Duration::from_secs(i % 60 + 1);
    let ticks: u64 = (0..1_000u64).map(|i| 3600 / (i % 60 + 1)).sum();
    let on_lockstep = || {
        let mut sim = Sim::new(Config::random(SEED));
        for i in 0..1_000u64 {
            sim.spawn(async move {
                let end = sim_core::time::Instant::ZERO + HOUR;
                while sim_core::time::Instant::now() + period(i) <= end {
                    sim_core::time::sleep(period(i)).await;
                }
            });
        }
        sim.run().expect("the hour runs");
        assert_eq!(sim.now(), sim_core::time::Instant::ZERO + HOUR);
    };
    let rt = on_tokio::runtime();
    let on_tokio = || {
        rt.block_on(async {
            let start = tokio::time::Instant::now();
            let tasks: Vec<_> = (0..1_000u64)
                .map(|i| {
                    tokio::spawn(async move {
                        while tokio::time::Instant::now() + period(i) <= start + HOUR {
                            tokio::time::sleep(period(i)).await;
                        }
                    })
                })
                .collect();
            for task in tasks {
                task.await.expect("task");
            }
        });
    };
    (ticks, time_reps(clock, reps, on_lockstep), time_reps(clock, reps, on_tokio))
}

fn main() {
    // `cargo test --benches` runs bench binaries with `--bench` absent; keep that cheap.
    let quick = !std::env::args().any(|a| a == "--bench");
    let (reps, pairs) = if quick { (1, 2) } else { (REPS, PAIRS) };
    let clock = Clock::pick();
    let gaps = gaps();

    let rt = on_tokio::runtime();
    let (mut tokio_times, mut lockstep_times, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    let mut seen: Option<(Counts, Counts)> = None;
    for i in 0..pairs {
        let tokio = || clock.time(|| on_tokio::workload(&rt, &gaps));
        let lockstep = || clock.time(|| on_lockstep::workload(&gaps));
        let (t, l) = if i % 2 == 0 {
            let t = tokio();
            (t, lockstep())
        } else {
            let l = lockstep();
            (tokio(), l)
        };
        if let Some(first) = seen {
            assert_eq!(first, (t.1, l.1), "a run differs from the first");
        }
        seen = Some((t.1, l.1));
        // Lockstep's events per second over tokio's, in this pair.
        ratios.push((l.1.events() as f64 / l.0.as_secs_f64()) / (t.1.events() as f64 / t.0.as_secs_f64()));
        tokio_times.push(t.0);
        lockstep_times.push(l.0);
    }
    let (tokio_counts, lockstep_counts) = seen.expect("at least one pair");
    let (tokio_time, lockstep_time) = (Timing::of(tokio_times), Timing::of(lockstep_times));

    println!("throttle workload: {ITEMS} items, gaps 0-{MAX_GAP_MS} ms, period {PERIOD:?}, capacity {CAPACITY}");
    println!(
        "{pairs} interleaved samples of each (tokio, Lockstep, then Lockstep, tokio, ...), timed by {}",
        clock.name()
    );
    println!(
        "  tokio (current-thread, paused time): {} events ({} produced, {} timer firings, {} consumed)",
        tokio_counts.events(),
        tokio_counts.produced,
        tokio_counts.fired,
        tokio_counts.consumed
    );
    println!(
        "    best {:?}  median {:?}  -> {} events/s (median)",
        tokio_time.best,
        tokio_time.median,
        human(per_second(tokio_counts.events(), tokio_time.median))
    );
    println!(
        "  Lockstep (random strategy, fingerprint on): {} events ({} produced, {} timer firings, {} consumed), {} steps",
        lockstep_counts.events(),
        lockstep_counts.produced,
        lockstep_counts.fired,
        lockstep_counts.consumed,
        lockstep_counts.steps
    );
    println!(
        "    best {:?}  median {:?}  -> {} events/s, {} steps/s, {:.0} ns/step (median)",
        lockstep_time.best,
        lockstep_time.median,
        human(per_second(lockstep_counts.events(), lockstep_time.median)),
        human(per_second(lockstep_counts.steps, lockstep_time.median)),
        lockstep_time.median.as_nanos() as f64 / lockstep_counts.steps as f64
    );
    let (q1, m, q3) = quartiles(&mut ratios);
    println!(
        "  Lockstep / tokio, events per second: median of paired ratios {m:.2}x (quartiles {q1:.2}-{q3:.2}) (target >= 10x)"
    );

    let (ticks, lockstep_hour, tokio_hour) = hour_of_timers(clock, reps.min(3));
    println!("an hour of virtual time, 1000 tasks, {ticks} timer firings:");
    println!(
        "  Lockstep best {:?}, tokio (paused time) best {:?}  -> {:.1}x (target: well under a second)",
        lockstep_hour.best,
        tokio_hour.best,
        tokio_hour.best.as_secs_f64() / lockstep_hour.best.as_secs_f64()
    );

    let empty = empty_simulation(clock);
    println!(
        "empty simulation (create, run, drop): best {:?}  median {:?}  (target <= 1 µs)",
        empty.best, empty.median
    );
}
