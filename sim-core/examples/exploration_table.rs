//! How many seeds or runs each exploration strategy needs to find each bug of a few
//! small synthetic programs: the table of `docs/exploration.md`.
//!
//! ```sh
//! cargo run --release -p sim-core --example exploration_table
//! ```
//!
//! Every number is deterministic (seeds are fixed), so the table printed is the
//! table in the docs. For each program and strategy:
//! - **FIFO**: whether the canonical order fails;
//! - **random**: the first failing seed and how many of seeds `0..10000` fail;
//! - **PCT, depth d**: the same, with `steps` (k) estimated as the number of choice
//!   points of the canonical run, and once with the default estimate `k = 100`;
//! - **proptest**: the generated case that failed first (generator seed 0) and the
//!   departures from the canonical order left after shrinking;
//! - **exhaustive**: the run (in depth-first order) that failed first, and the
//!   number of distinct orders (`>N` when the bound of 100,000 runs cut it short);
//! - **exhaustive, sleep sets**: the same with partial-order reduction: the
//!   complete run that failed first, the complete runs (one per class of orders that
//!   differ only by commuting events) and the redundant executions cut short.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use sim_core::explore::{proptest_check, PropCheck};
use sim_core::select::{select, Either};
use sim_core::sync::mpsc;
use sim_core::time::sleep;
use sim_core::tooling::strategy::explore_all;
use sim_core::tooling::strategy::explore_reduced;
use sim_core::tooling::strategy::PCT_DEFAULT_STEPS;
use sim_core::{yield_now, Config, Failure, Sim, StrategyKind};

type Program = fn(&mut Sim) -> Result<(), Box<Failure>>;

const SEEDS: u64 = 10_000;
const MAX_RUNS: usize = 100_000;

// ---- the programs ----

const PERIOD: Duration = Duration::from_millis(50);

/// The crate tutorial's throttle, which arms its cooldown after the hand-off.
async fn buggy_throttle(mut input: mpsc::Receiver<u32>, output: mpsc::Sender<u32>) {
    let mut cooldown = None;
    loop {
        let item = match cooldown.as_mut() {
            None => input.recv().await,
            Some(timer) => match select(input.recv(), timer).await {
                Either::Left(Some(_dropped)) => continue,
                Either::Left(None) => None,
                Either::Right(()) => {
                    cooldown = None;
                    continue;
                }
            },
        };
        let Some(item) = item else { return };
        output.send(item).await.unwrap();
        cooldown = Some(sleep(PERIOD));
    }
}

/// Race 1 of the catalogue: send 1, receive it, sleep a period, send 6, expect 6.
fn throttle_hang(sim: &mut Sim) -> Result<(), Box<Failure>> {
    let (in_tx, in_rx) = mpsc::channel_named("in", 1);
    let (out_tx, mut out_rx) = mpsc::channel_named("out", 1);
    sim.spawn_named("throttle", buggy_throttle(in_rx, out_tx));
    sim.spawn_named("driver", async move {
        in_tx.send(1).await.unwrap();
        assert_eq!(out_rx.recv().await, Some(1));
        sleep(PERIOD).await;
        in_tx.send(6).await.unwrap();
        assert_eq!(out_rx.recv().await, Some(6));
    });
    sim.run()
}

const WRITES: u32 = 10;

/// A reader that reads a version `reads` times with yields between, a writer that
/// bumps it `WRITES` times with a yield after each, and a check on what the reader saw.
fn reader_writer(sim: &mut Sim, reads: usize, torn: fn(&[u32]) -> bool) -> Result<(), Box<Failure>> {
    let version = Rc::new(Cell::new(0u32));
    let v = version.clone();
    sim.spawn_named("reader", async move {
        let mut seen = Vec::new();
        for i in 0..reads {
            if i > 0 {
                yield_now().await;
            }
            sim_core::touch("version");
            seen.push(v.get());
        }
        if torn(&seen) {
            sim_core::fail(format!("the reader saw {seen:?}"));
        }
    });
    sim.spawn_named("writer", async move {
        for _ in 0..WRITES {
            sim_core::touch("version");
            version.set(version.get() + 1);
            yield_now().await;
        }
    });
    sim.run()
}

/// Depth 1: the writer's whole batch lands before the reader's only read.
fn late_reader(sim: &mut Sim) -> Result<(), Box<Failure>> {
    reader_writer(sim, 1, |seen| seen[0] == WRITES)
}

/// Depth 2: the writer's whole batch lands between the reader's two reads.
fn torn_snapshot(sim: &mut Sim) -> Result<(), Box<Failure>> {
    reader_writer(sim, 2, |seen| seen[1] - seen[0] == WRITES)
}

// ---- the strategies ----

fn fails(program: Program, config: Config) -> bool {
    program(&mut Sim::new(config)).is_err()
}

/// "first failing seed (failures per 1,000)" over seeds `0..SEEDS`.
fn seeds(program: Program, strategy: impl Fn(u64) -> StrategyKind) -> String {
    let failing: Vec<u64> =
        (0..SEEDS).filter(|&seed| fails(program, Config::default().strategy(strategy(seed)))).collect();
    match failing.first() {
        Some(first) => format!("{first} ({} per 10,000)", failing.len()),
        None => format!("none in {SEEDS} seeds"),
    }
}

fn proptest_path(program: Program) -> String {
    let summary = proptest_check(PropCheck::default().cases(1000), program);
    match summary.counterexample {
        Some(c) => {
            let departures = c.tape.departures();
            format!(
                "case {}, shrunk to {departures} departure{}",
                c.failing_case,
                if departures == 1 { "" } else { "s" }
            )
        }
        None => format!("none in {} cases", summary.cases_run),
    }
}

fn exhaustive(program: Program) -> String {
    let mut first = None;
    let mut runs = 0;
    let exploration = explore_all(MAX_RUNS, |prefix| {
        runs += 1;
        let mut sim = Sim::new(Config::replay(prefix.clone()));
        if program(&mut sim).is_err() && first.is_none() {
            first = Some(runs);
        }
        sim.recorded_tape()
    });
    let total = if exploration.exhausted { exploration.runs.to_string() } else { format!(">{}", exploration.runs) };
    match first {
        Some(run) => format!("run {run} of {total}"),
        None => format!("none of {total}"),
    }
}

fn reduced(program: Program) -> String {
    let exploration = explore_reduced(MAX_RUNS, |strategy| {
        let mut sim = sim_core::tooling::strategy::sim_with(Config::default(), strategy);
        program(&mut sim).is_err()
    });
    let Ok(exploration) = exploration else { return "nondeterministic".to_string() };
    let more = if exploration.exhausted { "" } else { ">" };
    let total = format!("{more}{} (+{} redundant)", exploration.runs, exploration.redundant);
    match exploration.first_failing {
        Some(run) => format!("run {run}; {total}"),
        None => format!("none of {total}"),
    }
}

fn main() {
    let programs: [(&str, Program); 3] = [
        ("throttle hang", throttle_hang),
        ("late reader (depth 1)", late_reader),
        ("torn snapshot (depth 2)", torn_snapshot),
    ];
    let mut rows: Vec<(String, Vec<String>)> = Vec::new();
    let mut row = |name: &str, cell: &dyn Fn(Program) -> String| {
        rows.push((name.to_string(), programs.iter().map(|&(_, p)| cell(p)).collect()));
    };
    row("choice points (FIFO run)", &|p| choice_points(p).to_string());
    row("FIFO", &|p| if fails(p, Config::default()) { "fails" } else { "passes" }.to_string());
    row("random", &|p| seeds(p, |seed| StrategyKind::Random { seed }));
    for depth in 1..=3 {
        row(&format!("PCT, depth {depth}"), &|p| {
            let steps = choice_points(p);
            seeds(p, |seed| StrategyKind::Pct { seed, depth, steps })
        });
    }
    row("PCT, depth 2, k = 100", &|p| seeds(p, |seed| StrategyKind::Pct { seed, depth: 2, steps: PCT_DEFAULT_STEPS }));
    row("proptest (1,000 cases)", &proptest_path);
    row("exhaustive (DFS)", &exhaustive);
    row("exhaustive, sleep sets", &reduced);

    let header: Vec<&str> = programs.iter().map(|(name, _)| *name).collect();
    println!("| strategy | {} |", header.join(" | "));
    println!("| --- |{}", " --- |".repeat(header.len()));
    for (name, cells) in rows {
        println!("| {name} | {} |", cells.join(" | "));
    }
}

/// The number of choice points of the canonical run: PCT's estimate of `k`.
fn choice_points(program: Program) -> u64 {
    let mut sim = Sim::new(Config::default());
    let _ = program(&mut sim);
    sim.recorded_tape().len().max(1) as u64
}
