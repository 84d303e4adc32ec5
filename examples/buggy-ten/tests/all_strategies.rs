//! Each processor's world, written once as one closure (`move |input| world(variant, input)`),
//! run under every strategy: seeded random, PCT, exhaustive enumeration (reduced), and proptest
//! drawing the inputs and the schedule together. Every buggy variant is caught by each of them,
//! with its own assertion (never some other failure); every fixed variant passes them all.

use std::fmt::Debug;
use std::future::Future;

use buggy_ten::*;
use proptest::prelude::*;
use sim_core::check::{check, CheckConfig, Seeded};
use sim_core::explore::{exhaustive_check, proptest_check_with, ExhaustiveCheck, PropCheck};
use sim_core::{Config, Sim};

/// Seeds of the random strategy.
const SEEDS: u64 = 1000;
/// Runs of PCT (depth 2).
const PCT_RUNS: u64 = 300;
/// Cases of proptest (inputs and schedule drawn together).
const CASES: u32 = 256;

/// What each strategy found: the report of its (first, or shrunk) failure.
#[derive(Debug)]
struct Found {
    random: Option<String>,
    pct: Option<String>,
    exhaustive: Option<String>,
    exhaustive_proven: bool,
    proptest: Option<String>,
}

/// The number of scheduling choice points of the canonical run: PCT's `steps`.
fn canonical_choices<I, F, Fut>(world: &F, input: &I) -> u64
where
    F: Fn(I) -> Fut,
    Fut: Future<Output = ()> + 'static,
    I: Clone,
{
    let mut sim = Sim::new(Config::default());
    let _ = sim.block_on(world(input.clone()));
    sim.recorded_tape().len() as u64
}

/// Runs the one closure `world` under every strategy: the fixed input `default` for random,
/// PCT and exhaustive, inputs drawn from `inputs` for proptest.
fn run_all<I, F, Fut>(world: F, default: I, inputs: impl Strategy<Value = I>) -> Found
where
    I: Clone + Debug + Send + Sync + 'static,
    F: Fn(I) -> Fut + Send + Sync,
    Fut: Future<Output = ()> + 'static,
{
    let steps = canonical_choices(&world, &default).max(1);
    let random = check(CheckConfig::default().seeds(0..SEEDS), || world(default.clone()));
    let pct = check(CheckConfig::default().seeds(0..PCT_RUNS).seeded(Seeded::Pct { depth: 2, steps }), || {
        world(default.clone())
    });
    let exhaustive =
        exhaustive_check(ExhaustiveCheck::default().print(false), |sim| sim.block_on(world(default.clone())));
    let prop =
        proptest_check_with(PropCheck::default().cases(CASES), inputs, |input, sim| sim.block_on(world(input.clone())));
    Found {
        random: random.first_failure().map(|f| f.failure.to_string()),
        pct: pct.first_failure().map(|f| f.failure.to_string()),
        exhaustive: exhaustive.first_failing.as_ref().map(|f| f.failure.to_string()),
        exhaustive_proven: exhaustive.is_proven(),
        proptest: prop.counterexample.as_ref().map(|c| c.failure.to_string()),
    }
}

/// Every strategy failed, each with the processor's own assertion `message`.
fn assert_caught(found: &Found, message: &str) {
    for (strategy, report) in [
        ("random", &found.random),
        ("pct", &found.pct),
        ("exhaustive", &found.exhaustive),
        ("proptest", &found.proptest),
    ] {
        let report = report.as_deref().unwrap_or_else(|| panic!("{strategy} did not catch the bug: {found:#?}"));
        assert!(report.contains(message), "{strategy} failed otherwise than by `{message}`:\n{report}");
    }
}

/// No strategy failed, and the enumeration was exhausted: the fixed variant is proven for the
/// default input.
fn assert_clean(found: &Found) {
    assert!(
        found.random.is_none() && found.pct.is_none() && found.exhaustive.is_none() && found.proptest.is_none(),
        "{found:#?}"
    );
    assert!(found.exhaustive_proven, "{found:#?}");
}

fn gaps(values: &[u64], max_len: usize) -> impl Strategy<Value = Vec<u64>> {
    prop::collection::vec(prop::sample::select(values.to_vec()), 1..=max_len)
}

macro_rules! both {
    ($module:ident, $buggy:ident, $fixed:ident, $message:expr, $inputs:expr) => {
        #[test]
        fn $buggy() {
            let world = |input| $module::world(Variant::Buggy, input);
            assert_caught(&run_all(world, $module::Input::default(), $inputs), $message);
        }

        #[test]
        fn $fixed() {
            let world = |input| $module::world(Variant::Fixed, input);
            assert_clean(&run_all(world, $module::Input::default(), $inputs));
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
