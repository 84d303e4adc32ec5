//! The same sources on real tokio with paused time: the buggy processors pass 1,000 runs,
//! because tokio's current-thread runtime fires every due timer before it runs a task.

use tokio_user_on_tokio::{debounce, run_paused, throttle};

#[test]
fn the_buggy_debounce_passes_1000_paused_runs_on_tokio() {
    for run in 0..1000 {
        assert_eq!(run_paused(debounce::item_at_the_deadline(true)), Some(vec![1, 2]), "run {run}");
    }
}

#[test]
fn the_buggy_throttle_passes_1000_paused_runs_on_tokio() {
    for run in 0..1000 {
        assert_eq!(run_paused(throttle::six_after_the_cooldown(true)), Some(true), "run {run}");
    }
}

#[test]
fn the_fixed_processors_pass_on_tokio_too() {
    for _ in 0..100 {
        assert_eq!(run_paused(debounce::item_at_the_deadline(false)), Some(vec![1, 2]));
        assert_eq!(run_paused(throttle::six_after_the_cooldown(false)), Some(true));
    }
}

/// The benchmark's workload (`benches/tokio_source.rs`): one seed runs the same twice on the
/// simulator, and both builds of the source throttle alike.
#[test]
fn the_benchmark_pipeline_runs_a_seed_the_same_twice_and_throttles_alike_on_both() {
    use std::sync::Arc;
    use std::time::Duration;

    let gaps: Arc<[Duration]> = vec![Duration::from_millis(4); 30].into();
    let on_sim = |seed| {
        let mut sim = sim_core::Sim::new(sim_core::Config::random(seed));
        let counts = sim.block_on(tokio_user::pipeline::throttle_pipeline(gaps.clone())).unwrap();
        ((counts.produced, counts.fired, counts.consumed), sim.fingerprint())
    };
    for seed in [0, 1, 17] {
        assert_eq!(on_sim(seed), on_sim(seed), "seed {seed}");
    }
    // 30 items at 4, 8, …, 120 ms, a 10 ms cooldown after each item that passes: those at 4,
    // 16, 28, …, 112 ms pass (every third: 10), and each cooldown fires 10 ms later, but the
    // last one (due at 122 ms) never does: the input closes at 120 ms and the throttle stops.
    assert_eq!(on_sim(0).0, (30, 9, 10));
    let on_tokio = run_paused(tokio_user_on_tokio::pipeline::throttle_pipeline(gaps.clone())).unwrap();
    assert_eq!((on_tokio.produced, on_tokio.fired, on_tokio.consumed), (30, 9, 10));
}
