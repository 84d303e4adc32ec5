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
