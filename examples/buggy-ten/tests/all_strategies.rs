//! Each processor's world, written once as one closure (`move |input| world(variant, input)`),
//! run under every strategy of the one runner: seeded random, PCT (its steps estimated from a
//! canonical run), exhaustive enumeration (reduced), proptest over schedules alone and over
//! generated inputs and schedules together, and the replay of every failure as printed. Every
//! buggy variant is caught by each strategy with its own assertion (never some other failure);
//! every fixed variant passes them all, its enumeration proven.
//!
//! Run with `LOCKSTEP_SEED` or `LOCKSTEP_TAPE` set (the replay command a failure prints), a
//! test does what a user's property test does: it runs its world once under that seed or tape,
//! with the full trace, and fails with the report.

use std::fmt::Debug;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::process::Command;

use buggy_ten::*;
use proptest::prelude::*;
use sim_core::artefacts::Artefacts;
use sim_core::{replay, Check, Config, Report, Sim};

/// Seeds of the random strategy.
const SEEDS: u64 = 1000;
/// Runs of PCT (depth 2).
const PCT_RUNS: u64 = 300;
/// Cases of proptest.
const CASES: u32 = 256;

/// What one strategy found.
struct Found {
    strategy: &'static str,
    /// The report's text: the failure, or the summary of a pass.
    text: String,
    /// The failure: its tape, fingerprint and printed replay.
    failure: Option<(String, String, String)>,
    /// Whether it passed (for the exhaustive search: proven).
    ok: bool,
}

impl Found {
    fn of<V: Debug>(strategy: &'static str, report: Report<V>) -> Found {
        let failure = report.failure().map(|f| (f.tape.to_string(), f.fingerprint.to_string(), f.replay.clone()));
        let text = match report.failure() {
            Some(f) => f.to_string(),
            None => report.to_string(),
        };
        Found { strategy, text, failure, ok: report.is_ok() }
    }
}

/// Whether this test was started by a printed replay command.
fn replaying() -> bool {
    std::env::var_os("LOCKSTEP_SEED").is_some() || std::env::var_os("LOCKSTEP_TAPE").is_some()
}

/// Runs the one closure `world` under every strategy: the input `default` for random, PCT,
/// exhaustive and proptest over schedules, inputs drawn from `inputs` for proptest over inputs.
/// Also returns the proptest search's shrunk inputs, when it failed.
fn run_all<I, F, Fut>(world: F, default: I, inputs: impl Strategy<Value = I>) -> (Vec<Found>, Option<I>)
where
    I: Clone + Debug + Send + Sync + 'static,
    F: Fn(I) -> Fut + Send + Sync,
    Fut: Future<Output = ()> + 'static,
{
    let fixed_input = || world(default.clone());
    // The buggy worlds fail by design, five searches each, on every test run: their
    // artefacts would pile up under `target/lockstep/`. The printed replays, run as a user
    // runs them, still leave theirs.
    let quiet = |check: Check| check.artefacts(Artefacts::Off);
    let with_inputs = quiet(Check::proptest(CASES)).run_inputs(inputs, &world).expect("a proptest check");
    let shrunk = match &with_inputs {
        Report::Proptest(summary) => summary.counterexample.as_ref().map(|c| c.inputs.clone()),
        _ => None,
    };
    let found = vec![
        Found::of("random", quiet(Check::random(SEEDS)).run(fixed_input)),
        Found::of("pct", quiet(Check::pct(PCT_RUNS, 2)).run(fixed_input)),
        Found::of("exhaustive", quiet(Check::exhaustive()).run(fixed_input)),
        Found::of("proptest", quiet(Check::proptest(CASES)).run(fixed_input)),
        Found::of("proptest with inputs", with_inputs),
    ];
    (found, shrunk)
}

/// Runs a buggy world under every strategy and checks that each caught it with `message`,
/// and that each failure of the default input replays, as printed, to the same fingerprint.
fn assert_caught<I, F, Fut>(world: F, default: I, inputs: impl Strategy<Value = I>, message: &str)
where
    I: Clone + Debug + Send + Sync + 'static,
    F: Fn(I) -> Fut + Send + Sync,
    Fut: Future<Output = ()> + 'static,
{
    let fixed_input = || world(default.clone());
    if replaying() {
        Check::random(SEEDS).run(fixed_input).assert_ok();
        return;
    }
    let (found, shrunk) = run_all(&world, default.clone(), inputs);
    for f in &found {
        let (tape, fingerprint, _) =
            f.failure.as_ref().unwrap_or_else(|| panic!("{} did not catch the bug:\n{}", f.strategy, f.text));
        assert!(f.text.contains(message), "{} failed otherwise than by `{message}`:\n{}", f.strategy, f.text);
        // The Rust replay a report prints outside `cargo test`: `sim_core::replay(f, "t2:…")`,
        // and with generated inputs `sim_core::replay(|| f(<inputs>), "t2:…")`.
        let replayed = match f.strategy {
            "proptest with inputs" => {
                let shrunk = shrunk.clone().expect("the shrunk inputs");
                catch_unwind(AssertUnwindSafe(|| replay(|| world(shrunk.clone()), tape.as_str())))
            }
            _ => catch_unwind(AssertUnwindSafe(|| replay(fixed_input, tape.as_str()))),
        };
        let replayed = replayed.expect_err("the replay fails");
        let text = replayed.downcast_ref::<String>().expect("a report");
        assert!(text.contains(&format!("fingerprint: {fingerprint}")), "{}: replay of {tape}:\n{text}", f.strategy);
    }
    // The printed commands of the random search's failure (a seed) and of the exhaustive
    // search's (a tape), run as printed. (The proptest search with inputs prints the Rust
    // call that replays its shrunk case, replayed above, and a `rerun:` command with its
    // generator's seed, which runs the whole check again.)
    for f in [&found[0], &found[2]] {
        let (_, fingerprint, command) = f.failure.as_ref().unwrap();
        run_printed(command, fingerprint, message);
    }
}

/// Runs `command` (a printed `LOCKSTEP_SEED=…` or `LOCKSTEP_TAPE='…'` `cargo test …`) as printed, in this package's
/// folder with no other `LOCKSTEP_*` variable, and checks it runs one test that fails the
/// same way, with `fingerprint`.
fn run_printed(command: &str, fingerprint: &str, message: &str) {
    assert!(
        (command.starts_with("LOCKSTEP_SEED=") || command.starts_with("LOCKSTEP_TAPE='"))
            && command.contains(" cargo test -p buggy-ten --test all_strategies -- --exact "),
        "{command}"
    );
    let mut shell = Command::new("sh");
    shell.args(["-c", command]).current_dir(env!("CARGO_MANIFEST_DIR"));
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("LOCKSTEP_") {
            shell.env_remove(key);
        }
    }
    let out = shell.output().expect("sh runs");
    let text = format!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!out.status.success(), "the replay fails:\n{text}");
    assert!(text.contains("running 1 test"), "the command selects exactly one test:\n{text}");
    assert!(text.contains(message), "{text}");
    assert!(text.contains(&format!("fingerprint: {fingerprint}")), "{text}");
}

/// Runs a fixed world under every strategy and checks that all pass, the enumeration proven.
fn assert_clean<I, F, Fut>(world: F, default: I, inputs: impl Strategy<Value = I>)
where
    I: Clone + Debug + Send + Sync + 'static,
    F: Fn(I) -> Fut + Send + Sync,
    Fut: Future<Output = ()> + 'static,
{
    for f in run_all(world, default, inputs).0 {
        assert!(f.ok, "{} failed the fixed variant:\n{}", f.strategy, f.text);
    }
}

fn gaps(values: &[u64], max_len: usize) -> impl Strategy<Value = Vec<u64>> {
    prop::collection::vec(prop::sample::select(values.to_vec()), 1..=max_len)
}

macro_rules! both {
    ($module:ident, $buggy:ident, $fixed:ident, $message:expr, $inputs:expr) => {
        #[test]
        fn $buggy() {
            let world = |input| $module::world(Variant::Buggy, input);
            assert_caught(world, $module::Input::default(), $inputs, $message);
        }

        #[test]
        fn $fixed() {
            let world = |input| $module::world(Variant::Fixed, input);
            assert_clean(world, $module::Input::default(), $inputs);
        }
    };
}

both!(
    debounce,
    debounce_buggy_is_caught_by_every_strategy,
    debounce_fixed_passes_every_strategy,
    "debounce of gaps",
    gaps(&[0, 50, 100, 150], 4).prop_map(|gaps_ms| debounce::Input { gaps_ms })
);
both!(
    batcher,
    batcher_buggy_is_caught_by_every_strategy,
    batcher_fixed_passes_every_strategy,
    "but its linger ends",
    gaps(&[0, 50, 100, 150], 5).prop_map(|gaps_ms| batcher::Input { gaps_ms })
);
both!(
    rate_limiter,
    rate_limiter_buggy_is_caught_by_every_strategy,
    rate_limiter_fixed_passes_every_strategy,
    "requests after gaps",
    gaps(&[0, 50, 100, 150], 4).prop_map(|gaps_ms| rate_limiter::Input { gaps_ms })
);
both!(
    retry,
    retry_buggy_is_caught_by_every_strategy,
    retry_fixed_passes_every_strategy,
    "one payment of 10 charged",
    (prop::sample::select(vec![50u64, 100, 150]), prop::sample::select(vec![0u64, 50]))
        .prop_map(|(settle_every_ms, backoff_ms)| retry::Input { settle_every_ms, backoff_ms })
);
both!(
    lease,
    lease_buggy_is_caught_by_every_strategy,
    lease_fixed_passes_every_strategy,
    "heartbeats after gaps",
    gaps(&[0, 50, 100, 150], 3).prop_map(|gaps_ms| lease::Input { gaps_ms })
);
both!(
    session,
    session_buggy_is_caught_by_every_strategy,
    session_fixed_passes_every_strategy,
    "sessions of gaps",
    gaps(&[0, 50, 100, 150], 4).prop_map(|gaps_ms| session::Input { gaps_ms })
);
both!(
    dedup,
    dedup_buggy_is_caught_by_every_strategy,
    dedup_fixed_passes_every_strategy,
    "items [",
    prop::collection::vec((0u8..2, prop::sample::select(vec![0u64, 50, 100])), 1..=4)
        .prop_map(|items| dedup::Input { items })
);
both!(
    circuit_breaker,
    circuit_breaker_buggy_is_caught_by_every_strategy,
    circuit_breaker_fixed_passes_every_strategy,
    "calls [",
    prop::collection::vec((0u64..3, 0u64..2, prop::bool::weighted(0.25)), 1..=5).prop_map(|calls| {
        circuit_breaker::Input {
            calls: calls.into_iter().map(|(slot, latency, ok)| circuit_breaker::Call { slot, latency, ok }).collect(),
        }
    })
);
both!(
    config_reload,
    config_reload_buggy_is_caught_by_every_strategy,
    config_reload_fixed_passes_every_strategy,
    "answered with a stale config",
    prop::collection::vec(
        prop_oneof![
            2 => Just(config_reload::Op::Reload),
            3 => Just(config_reload::Op::Request),
            1 => Just(config_reload::Op::Sleep(50)),
        ],
        1..=5
    )
    .prop_map(|ops| config_reload::Input { ops })
);
both!(
    shutdown,
    shutdown_buggy_is_caught_by_every_strategy,
    shutdown_fixed_passes_every_strategy,
    "jobs after gaps",
    (gaps(&[0, 50, 100, 150], 3), prop::sample::select(vec![0u64, 50, 100, 150]))
        .prop_map(|(gaps_ms, shutdown_ms)| shutdown::Input { gaps_ms, shutdown_ms })
);

/// A seed's run is a pure function of the seed: run twice, every world gives the same
/// fingerprint (and the same outcome), buggy and fixed.
#[test]
fn a_seed_run_twice_gives_the_same_fingerprint() {
    fn twice<F: Future<Output = ()> + 'static>(seed: u64, world: impl Fn() -> F) {
        let run = || {
            let mut sim = Sim::new(Config::random(seed));
            let ok = sim.block_on(world()).is_ok();
            (sim.fingerprint(), ok)
        };
        assert_eq!(run(), run(), "seed {seed}");
    }
    for seed in [0, 1, 2, 3, 17, 99] {
        for variant in [Variant::Buggy, Variant::Fixed] {
            twice(seed, || debounce::world(variant, Default::default()));
            twice(seed, || batcher::world(variant, Default::default()));
            twice(seed, || rate_limiter::world(variant, Default::default()));
            twice(seed, || retry::world(variant, Default::default()));
            twice(seed, || lease::world(variant, Default::default()));
            twice(seed, || session::world(variant, Default::default()));
            twice(seed, || dedup::world(variant, Default::default()));
            twice(seed, || circuit_breaker::world(variant, Default::default()));
            twice(seed, || config_reload::world(variant, Default::default()));
            twice(seed, || shutdown::world(variant, Default::default()));
        }
    }
}

/// Every order of `world` (no reduction): how many runs, and how many failed.
fn every_order<F: Future<Output = ()> + 'static>(world: impl Fn() -> F + Sync + Send) -> (usize, usize) {
    match Check::exhaustive().every_order(true).explain(false).artefacts(Artefacts::Off).run(world) {
        Report::Exhaustive(s) => {
            assert!(s.exhausted, "{s}");
            (s.runs, s.failing)
        }
        other => panic!("not an enumeration: {other}"),
    }
}

/// The rate limiter's default world, every order: 6, of which 3 fail.
///
/// Main makes the limiter at 0 ms (which arms the refill interval for 100 ms and spawns the
/// refill task R), takes two tokens, and sleeps until 100 ms (its own timer, set second). At
/// 0 ms one event is due at a time (main's poll, then R's first poll): no choice. At 100 ms two
/// timers are due: the interval's firing `Fr` (which wakes R, whose poll `Pr` adds a token) and
/// main's `Fm` (which wakes main, whose poll `Pm` takes a token and ends the world: the run
/// stops there). Orders are interleavings of `Fr < Pr` and `Fm < Pm` cut at `Pm`:
/// - `Pr` before `Pm` (the token is there): `Fr Pr Fm Pm`, `Fr Fm Pr Pm`, `Fm Fr Pr Pm`: 3;
/// - `Pm` before `Pr` (refused): `Fm Pm`, `Fr Fm Pm`, `Fm Fr Pm`: 3, all failing.
///
/// The fixed limiter has no refill task: main alone, 1 order.
#[test]
fn rate_limiter_has_exactly_6_orders_of_which_3_fail() {
    assert_eq!(every_order(|| rate_limiter::world(Variant::Buggy, Default::default())), (6, 3));
    assert_eq!(every_order(|| rate_limiter::world(Variant::Fixed, Default::default())), (1, 0));
}

/// The session window's default world, every order: 7, of which 4 fail.
///
/// Items 1 and 2 at 0 and 50 ms go through with one event due at a time. Item 3 is due at 150
/// ms, exactly one gap after item 2: main's timer `Fm` (set first, at 50 ms, right after its
/// send) and the sessionizer's timeout `Fs` (set when it took item 2) are both due. `Pm` sends 3
/// and closes the input; `Ps` is the sessionizer's poll, whose `timeout` polls `recv` first.
/// - `Fs Ps …`: the timeout is seen, [1, 2] closes, then 3 alone: `Fs Ps Fm Pm Ps Pm`, 1 order,
///   and `Fs Fm Ps …` (the same once `Ps` ran first), 1: both pass;
/// - `Fs Fm Pm Ps Pm` and `Fm Fs Pm Ps Pm`: 3 was sent before the sessionizer ran, `recv` wins
///   and 3 joins [1, 2]: 2 failing; `Fm Fs Ps …` passes: 1;
/// - `Fm Pm` (3 sent and the sessionizer woken by it, its timer still pending), then `Ps Pm`
///   or `Fs Ps Pm`: `recv` wins either way: 2 failing.
///
/// 7 orders, 4 failing. The fixed sessionizer closes [1, 2] from 3's timestamp: the same 7
/// orders, none failing. In the canonical order (`Fm` set first, fires first) it fails too:
/// tokio with paused time takes that order, so this one plain tokio shows as well.
#[test]
fn session_window_has_exactly_7_orders_of_which_4_fail() {
    assert_eq!(every_order(|| session::world(Variant::Buggy, Default::default())), (7, 4));
    assert_eq!(every_order(|| session::world(Variant::Fixed, Default::default())), (7, 0));
}

/// The config reload's default world, every order: 48, of which 16 fail.
///
/// Everything happens at 0 ms, and only one task is ever due at a time (main and the worker
/// hand over to each other), so there is no scheduling choice: the choices are the worker's
/// `select!`, 2 ways (which branch is polled first) each time it runs its loop.
/// 1. The worker's first poll: request 1 is ready (one loop, 2 ways) and then nothing (one
///    loop, 2 ways): 4.
/// 2. Main, answered, publishes version 2 and sends request 2; the worker's second poll:
///    - `changed` first: it refreshes its copy, then answers request 2 with version 2 (a loop,
///      2 ways), then waits (2 ways): 4 passing;
///    - the request first: answered with version 1 (stale), then `changed` (2 ways), then it
///      waits (2 ways): 4 failing, and main's assertion ends the run.
/// 3. On the passing path main closes the requests; the worker's last loop (2 ways) ends it.
///
/// Passing: 4 × 4 × 2 = 32; failing: 4 × 4 = 16; 48 in all. The fixed worker answers with the
/// published version on both paths: 4 × 8 × 2 = 64, none failing.
#[test]
fn config_reload_has_exactly_48_orders_of_which_16_fail() {
    assert_eq!(every_order(|| config_reload::world(Variant::Buggy, Default::default())), (48, 16));
    assert_eq!(every_order(|| config_reload::world(Variant::Fixed, Default::default())), (64, 0));
}

/// The canonical order (oldest event first) passes eight of the ten buggy processors: their
/// races need another order. The session window's `timeout` polls `recv` first, and the
/// circuit breaker's late failure is set before the stale timer, so those two fail in it too.
#[test]
fn the_canonical_order_fails_only_the_session_window_and_the_circuit_breaker() {
    fn canonical<F: Future<Output = ()> + 'static>(world: F) -> bool {
        Sim::new(Config::default()).block_on(world).is_ok()
    }
    let b = Variant::Buggy;
    let passes = [
        ("debounce", canonical(debounce::world(b, Default::default()))),
        ("batcher", canonical(batcher::world(b, Default::default()))),
        ("rate_limiter", canonical(rate_limiter::world(b, Default::default()))),
        ("retry", canonical(retry::world(b, Default::default()))),
        ("lease", canonical(lease::world(b, Default::default()))),
        ("session", canonical(session::world(b, Default::default()))),
        ("dedup", canonical(dedup::world(b, Default::default()))),
        ("circuit_breaker", canonical(circuit_breaker::world(b, Default::default()))),
        ("config_reload", canonical(config_reload::world(b, Default::default()))),
        ("shutdown", canonical(shutdown::world(b, Default::default()))),
    ];
    let failing: Vec<&str> = passes.iter().filter(|(_, ok)| !ok).map(|(name, _)| *name).collect();
    assert_eq!(failing, ["session", "circuit_breaker"]);
}
