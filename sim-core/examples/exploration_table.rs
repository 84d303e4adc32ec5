//! How many seeds or runs each exploration strategy needs to find each bug of a few
//! small synthetic programs: the table of `docs/exploration.md`.
//!
//! ```sh
//! cargo run --release -p sim-core --example exploration_table
//! ```
//!
//! Every number is deterministic (seeds are fixed), so the table printed is the
//! table in the docs. Each program is one world of the check runner (`Fn() -> Fut`:
//! the closure spawns the other tasks, its future is the task `main`, spawned last),
//! and every row but the first two runs it through `sim_core::check::Check`. For
//! each program and strategy:
//! - **FIFO**: whether the canonical order fails;
//! - **random**: the first failing seed and how many of seeds `0..10000` fail;
//! - **PCT, depth d**: the same, with `steps` (k) set to the number of choice
//!   points of the canonical run, and once with the default estimate `k = 100`;
//! - **proptest**: the generated case that failed first (generator seed 0) and the
//!   departures from the canonical order left after shrinking;
//! - **exhaustive**: the run (in depth-first order) that failed first, and the
//!   number of distinct orders (`>N` when the bound of 100,000 runs cut it short);
//! - **exhaustive, sleep sets**: the same with partial-order reduction: the
//!   complete run that failed first, the complete runs (one per class of orders that
//!   differ only by commuting events) and the redundant executions cut short.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::time::Duration;

use sim_core::artefacts::Artefacts;
use sim_core::check::{Check, Report, Share, StopAt};
use sim_core::select::{select, Either};
use sim_core::sync::mpsc;
use sim_core::task::Builder;
use sim_core::time::sleep;
use sim_core::tooling::strategy::PCT_DEFAULT_STEPS;
use sim_core::{yield_now, Config, Sim};

/// A world: the closure spawns the other tasks; its future is the task `main`.
type World = fn() -> Pin<Box<dyn Future<Output = ()>>>;

const SEEDS: u64 = 10_000;
const MAX_RUNS: u64 = 100_000;

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
/// `main` is the driver; at the end it closes `in` and waits for the throttle, steps
/// in which only one event is due (no choice point).
fn throttle_hang() -> Pin<Box<dyn Future<Output = ()>>> {
    let (in_tx, in_rx) = sim_core::named("in", || mpsc::channel(1));
    let (out_tx, mut out_rx) = sim_core::named("out", || mpsc::channel(1));
    let throttle = Builder::new().name("throttle").spawn(buggy_throttle(in_rx, out_tx));
    Box::pin(async move {
        in_tx.send(1).await.unwrap();
        assert_eq!(out_rx.recv().await, Some(1));
        sleep(PERIOD).await;
        in_tx.send(6).await.unwrap();
        assert_eq!(out_rx.recv().await, Some(6));
        drop(in_tx);
        throttle.await.unwrap();
    })
}

const WRITES: u32 = 10;

/// A reader that reads a version `reads` times with yields between and checks what
/// it saw; `main` is the writer, which bumps it `WRITES` times with a yield after
/// each, then waits for the reader (by then only the reader's events are due: no
/// choice point).
fn reader_writer(reads: usize, torn: fn(&[u32]) -> bool) -> Pin<Box<dyn Future<Output = ()>>> {
    let version = Rc::new(Cell::new(0u32));
    let v = version.clone();
    let reader = Builder::new().name("reader").spawn(async move {
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
    Box::pin(async move {
        for _ in 0..WRITES {
            sim_core::touch("version");
            version.set(version.get() + 1);
            yield_now().await;
        }
        reader.await.unwrap();
    })
}

/// Depth 1: the writer's whole batch lands before the reader's only read.
fn late_reader() -> Pin<Box<dyn Future<Output = ()>>> {
    reader_writer(1, |seen| seen[0] == WRITES)
}

/// Depth 2: the writer's whole batch lands between the reader's two reads.
fn torn_snapshot() -> Pin<Box<dyn Future<Output = ()>>> {
    reader_writer(2, |seen| seen[1] - seen[0] == WRITES)
}

// ---- the strategies ----

/// One run of `world` in the canonical order: whether it failed, and its choice points.
fn canonical(world: World) -> (bool, u64) {
    let mut sim = Sim::new(Config::default().artefacts(Artefacts::Off));
    let future = sim.enter(world);
    let failed = sim.block_on(future).is_err();
    (failed, sim.recorded_tape().len().max(1) as u64)
}

/// A check of `world` with no artefacts and no determinism replays (every number
/// here comes from first runs).
fn quiet(check: Check) -> Check {
    check.artefacts(Artefacts::Off).determinism(Share::NONE).jobs(1)
}

/// "first failing seed (failures per 10,000)" over seeds `0..SEEDS`.
fn seeds(world: World, check: Check) -> String {
    let report = quiet(check.stop(StopAt::Never).keep(1)).run(world);
    let Report::Seeds(summary) = report else { unreachable!("a seeded search") };
    match summary.failing_seeds().first() {
        Some(first) => format!("{first} ({} per 10,000)", summary.failure_count),
        None => format!("none in {SEEDS} seeds"),
    }
}

fn proptest_path(world: World) -> String {
    let Report::Proptest(summary) = quiet(Check::proptest(1000)).run(world) else { unreachable!() };
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

fn exhaustive(world: World) -> String {
    let check = quiet(Check::exhaustive().every_order(true).explain(false).runs(MAX_RUNS));
    let Report::Exhaustive(summary) = check.run(world) else { unreachable!() };
    let total = if summary.exhausted { summary.runs.to_string() } else { format!(">{}", summary.runs) };
    match summary.first_failing {
        Some(found) => format!("run {} of {total}", found.run),
        None => format!("none of {total}"),
    }
}

fn reduced(world: World) -> String {
    let check = quiet(Check::exhaustive().explain(false).runs(MAX_RUNS));
    let Report::Exhaustive(summary) = check.run(world) else { unreachable!() };
    if summary.error.is_some() {
        return "nondeterministic".to_string();
    }
    let more = if summary.exhausted { "" } else { ">" };
    let total = format!("{more}{} (+{} redundant)", summary.runs, summary.redundant);
    match summary.first_failing {
        Some(found) => format!("run {}; {total}", found.run),
        None => format!("none of {total}"),
    }
}

fn main() {
    let programs: [(&str, World); 3] = [
        ("throttle hang", throttle_hang),
        ("late reader (depth 1)", late_reader),
        ("torn snapshot (depth 2)", torn_snapshot),
    ];
    let mut rows: Vec<(String, Vec<String>)> = Vec::new();
    let mut row = |name: &str, cell: &dyn Fn(World) -> String| {
        rows.push((name.to_string(), programs.iter().map(|&(_, p)| cell(p)).collect()));
    };
    row("choice points (FIFO run)", &|p| canonical(p).1.to_string());
    row("FIFO", &|p| if canonical(p).0 { "fails" } else { "passes" }.to_string());
    row("random", &|p| seeds(p, Check::random(SEEDS)));
    for depth in 1..=3 {
        row(&format!("PCT, depth {depth}"), &|p| seeds(p, Check::pct(SEEDS, depth).steps(canonical(p).1)));
    }
    row("PCT, depth 2, k = 100", &|p| seeds(p, Check::pct(SEEDS, 2).steps(PCT_DEFAULT_STEPS)));
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
