//! The main job: a real race in a throttle, found, replayed and fixed.
//!
//! ```sh
//! cargo run --release -p sim-core --example throttle_race
//! ```
//!
//! The throttle passes an item, then drops everything for `PERIOD`. The buggy one
//! (race 1 of the catalogue) hands the item downstream and only *then* starts its
//! cooldown timer, taking input and timer in one Go-style `select`. The driver plays
//! the test: send 1, receive 1, sleep `PERIOD`, send 6, expect 6. At t = 50 ms the
//! throttle's timer and the driver's wake-up fall on the same instant; when the
//! driver's 6 is handled before the timer has cleared the cooldown, 6 is dropped and
//! the driver waits forever. Which order happens is a recorded choice, so:
//!
//! 1. seeds explore the orders until one deadlocks; the report names both tasks,
//!    what each waits on, the seed, the tape and the command that replays it;
//! 2. the tape replays the failure exactly (same trace fingerprint);
//! 3. the fixed throttle (decide from timestamps: `now >= last_emit + PERIOD`)
//!    passes every seed.
//!
//! The example exits with a failure status if the bug is not caught, the replay
//! differs, or the fix fails, so it doubles as a check.
//!
//! Replay one run: `cargo run --release -p sim-core --example throttle_race -- --tape 't1:…'`
//! (or `--seed N`); add `--fixed` for the fixed throttle.

use std::collections::BTreeSet;
use std::process::ExitCode;
use std::time::Duration;

use sim_core::select::{select, Either};
use sim_core::sync::mpsc::{self, Receiver, Sender};
use sim_core::time::{sleep, Instant, Sleep};
use sim_core::tooling::strategy::explore_all;
use sim_core::{fail, Config, Failure, FailureKind, Fingerprint, Sim, Tape};

/// The throttle's period, and the driver's pause between its two items.
const PERIOD: Duration = Duration::from_millis(50);
/// The buggy throttle must be caught within this many seeds.
const SEARCH_SEEDS: u64 = 1_000;
/// The fixed throttle must pass this many seeds.
const FIXED_SEEDS: u64 = 1_000;
/// The command that replays a run, with the tape filled in by the report.
const REPLAY: &str = "cargo run --release -p sim-core --example throttle_race -- --tape '{tape}'";

/// Which throttle sits between the driver's two channels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Variant {
    Buggy,
    Fixed,
}

/// Buggy: the cooldown starts after the hand-off.
async fn buggy_throttle(mut input: Receiver<u32>, output: Sender<u32>) {
    // The cooldown timer; `Some` while cooling.
    let mut cooling: Option<Sleep> = None;
    loop {
        let item = match cooling.as_mut() {
            None => input.recv().await,
            // Input and timer in one select: when both are ready, the pick is a choice point.
            Some(timer) => match select(input.recv(), timer).await {
                Either::Left(item) => item,
                Either::Right(()) => {
                    cooling = None; // the timer fired: the cooldown is over
                    continue;
                }
            },
        };
        let Some(item) = item else { return };
        if cooling.is_some() {
            continue; // dropped: still cooling
        }
        if output.send(item).await.is_err() {
            return;
        }
        cooling = Some(sleep(PERIOD)); // BUG: armed after the item was handed downstream
    }
}

/// Fixed: decisions come from timestamps, so the order of same-instant events cannot matter.
async fn fixed_throttle(mut input: Receiver<u32>, output: Sender<u32>) {
    let mut last_emit: Option<Instant> = None;
    while let Some(item) = input.recv().await {
        let now = Instant::now();
        if last_emit.is_some_and(|last| now < last + PERIOD) {
            continue; // dropped: within the period
        }
        last_emit = Some(now); // state first, then the hand-off
        if output.send(item).await.is_err() {
            return;
        }
    }
}

/// The test: send 1, receive 1, sleep `PERIOD`, send 6, receive 6.
async fn driver(input: Sender<u32>, mut output: Receiver<u32>) {
    input.send(1).await.expect("the throttle takes input");
    let first = output.recv().await;
    sleep(PERIOD).await;
    input.send(6).await.expect("the throttle takes input");
    let second = output.recv().await;
    if (first, second) != (Some(1), Some(6)) {
        fail(format!("expected 1 then 6, received {first:?} then {second:?}"));
    }
}

/// Builds the world: driver -> `in` -> throttle -> `out` -> driver.
fn world(variant: Variant, config: Config) -> Sim {
    let sim = Sim::new(config);
    let (to_throttle, from_driver) = sim_core::named("in", || mpsc::channel(1));
    let (to_driver, from_throttle) = sim_core::named("out", || mpsc::channel(1));
    match variant {
        Variant::Buggy => sim.spawn_named("throttle", buggy_throttle(from_driver, to_driver)),
        Variant::Fixed => sim.spawn_named("throttle", fixed_throttle(from_driver, to_driver)),
    };
    sim.spawn_named("driver", driver(to_throttle, from_throttle));
    sim
}

/// Runs the world to the end: its fingerprint, or its failure report.
fn run(variant: Variant, config: Config) -> Result<Fingerprint, Box<Failure>> {
    let mut sim = world(variant, config);
    sim.run()?;
    Ok(sim.fingerprint())
}

/// Runs the world under every order of same-instant events: (orders, failing orders).
fn every_order(variant: Variant) -> (usize, usize) {
    let mut failing = 0;
    let exploration = explore_all(10_000, |prefix| {
        let mut sim = world(variant, Config::replay(prefix.clone()));
        failing += usize::from(sim.run().is_err());
        sim.recorded_tape()
    });
    assert!(exploration.exhausted, "the world is small enough to enumerate");
    (exploration.runs, failing)
}

/// The configuration of one run: a strategy, a name for reports, and the replay command.
fn config(variant: Variant, base: Config) -> Config {
    let name = match variant {
        Variant::Buggy => "throttle_race/buggy",
        Variant::Fixed => "throttle_race/fixed",
    };
    let mut config = base.name(name);
    config.replay_hint = Some(match variant {
        Variant::Buggy => REPLAY.to_string(),
        Variant::Fixed => format!("{REPLAY} --fixed"),
    });
    config
}

fn main() -> ExitCode {
    match replay_args() {
        Ok(Some((variant, base))) => return replay_one(variant, base),
        Ok(None) => {}
        Err(message) => {
            eprintln!("throttle_race: {message}");
            eprintln!("usage: throttle_race [--seed N | --tape TAPE] [--fixed]");
            return ExitCode::from(2);
        }
    }

    println!("== 1. The buggy throttle (cooldown armed after the hand-off), seeds 0..{SEARCH_SEEDS}");
    let found =
        (0..SEARCH_SEEDS).find_map(|seed| run(Variant::Buggy, config(Variant::Buggy, Config::random(seed))).err());
    let Some(failure) = found else {
        eprintln!("NOT CAUGHT: the buggy throttle passed {SEARCH_SEEDS} seeds");
        return ExitCode::FAILURE;
    };
    let seed = failure.seed.expect("random runs have a seed");
    println!("caught after {} seeds:\n\n{failure}\n", seed + 1);
    if !names_both_tasks(&failure) {
        eprintln!("WRONG FAILURE: expected a deadlock naming the driver and the throttle");
        return ExitCode::FAILURE;
    }

    println!("== 2. Replay from the tape alone: {}", failure.tape);
    let replayed = match run(Variant::Buggy, config(Variant::Buggy, Config::replay(failure.tape.clone()))) {
        Err(replayed) => replayed,
        Ok(fingerprint) => {
            eprintln!("REPLAY DIFFERS: the replayed run passed (fingerprint {fingerprint})");
            return ExitCode::FAILURE;
        }
    };
    println!("replayed: {}", replayed.kind);
    println!("fingerprint: original {}, replayed {}", failure.fingerprint, replayed.fingerprint);
    if replayed.fingerprint != failure.fingerprint {
        eprintln!("REPLAY DIFFERS: the fingerprints do not match");
        return ExitCode::FAILURE;
    }
    println!("same run, step for step\n");

    println!("== 3. The fixed throttle (now >= last_emit + period), seeds 0..{FIXED_SEEDS}");
    let mut orders = BTreeSet::new();
    for seed in 0..FIXED_SEEDS {
        match run(Variant::Fixed, config(Variant::Fixed, Config::random(seed))) {
            Ok(fingerprint) => orders.insert(fingerprint),
            Err(failure) => {
                eprintln!("FIXED THROTTLE FAILED:\n{failure}");
                return ExitCode::FAILURE;
            }
        };
    }
    println!("{FIXED_SEEDS} seeds passed, {} distinct runs among them\n", orders.len());

    println!("== 4. Every order of same-instant events, enumerated");
    let (buggy_orders, buggy_failing) = every_order(Variant::Buggy);
    let (fixed_orders, fixed_failing) = every_order(Variant::Fixed);
    println!("buggy throttle: {buggy_failing} of {buggy_orders} orders deadlock");
    println!("fixed throttle: {fixed_failing} of {fixed_orders} orders fail");
    if buggy_failing == 0 || fixed_failing > 0 {
        eprintln!("UNEXPECTED: the buggy throttle must fail in some order, the fixed one in none");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// Whether the failure is the expected deadlock: the driver waiting on `out`, the throttle on `in`.
fn names_both_tasks(failure: &Failure) -> bool {
    let FailureKind::Deadlock { blocked } = &failure.kind else { return false };
    let waits_on = |task: &str, wait: &str| blocked.iter().any(|b| b.name == task && b.waits.iter().any(|w| w == wait));
    waits_on("driver", "recv on `out`") && waits_on("throttle", "recv on `in`")
}

/// Replays one run given on the command line and prints how it ended.
fn replay_one(variant: Variant, base: Config) -> ExitCode {
    match run(variant, config(variant, base)) {
        Ok(fingerprint) => {
            println!("passed; fingerprint {fingerprint}");
            ExitCode::SUCCESS
        }
        Err(failure) => {
            println!("{failure}");
            ExitCode::FAILURE
        }
    }
}

/// `--seed N` or `--tape TAPE`, and `--fixed`: one run to replay, if asked for.
fn replay_args() -> Result<Option<(Variant, Config)>, String> {
    let mut variant = Variant::Buggy;
    let mut base = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--fixed" => variant = Variant::Fixed,
            "--seed" => base = Some(Config::random(value()?.parse().map_err(|e| format!("bad --seed: {e}"))?)),
            "--tape" => base = Some(Config::replay(value()?.parse::<Tape>().map_err(|e| format!("bad --tape: {e}"))?)),
            _ => return Err(format!("unknown argument `{arg}`")),
        }
    }
    Ok(base.map(|base| (variant, base)))
}
