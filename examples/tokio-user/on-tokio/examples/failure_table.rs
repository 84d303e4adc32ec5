//! Prints failures per 1,000 runs of each processor, Lockstep (seeds 0..1000) against tokio's
//! current-thread runtime with paused time (1,000 runs), from one process:
//!
//! ```sh
//! cargo run -p tokio-user-on-tokio --example failure_table
//! ```

use sim_core::check::{Check, Report, StopAt};

const RUNS: u64 = 1000;

fn lockstep<F, Fut>(name: &str, world: F) -> u64
where
    F: Fn() -> Fut + Sync + Send,
    Fut: std::future::Future<Output = ()> + 'static,
{
    let Report::Seeds(summary) = Check::random(RUNS).name(name).stop(StopAt::Never).run(world) else { unreachable!() };
    summary.failure_count
}

fn tokio_paused(mut run: impl FnMut() -> bool) -> u64 {
    (0..RUNS).filter(|_| !run()).count() as u64
}

fn main() {
    use tokio_user_on_tokio as on_tokio;
    let rows: [(&str, u64, u64); 4] = [
        (
            "debounce, timer first (buggy)",
            lockstep("debounce_buggy", || async {
                if tokio_user::debounce::item_at_the_deadline(true).await != [1, 2] {
                    sim_core::fail("an item was lost");
                }
            }),
            tokio_paused(|| on_tokio::run_paused(on_tokio::debounce::item_at_the_deadline(true)) == Some(vec![1, 2])),
        ),
        (
            "debounce, from timestamps (fixed)",
            lockstep("debounce_fixed", || async {
                if tokio_user::debounce::item_at_the_deadline(false).await != [1, 2] {
                    sim_core::fail("an item was lost");
                }
            }),
            tokio_paused(|| on_tokio::run_paused(on_tokio::debounce::item_at_the_deadline(false)) == Some(vec![1, 2])),
        ),
        (
            "throttle hang, race 1 (buggy)",
            lockstep("throttle_buggy", || async {
                if !tokio_user::throttle::six_after_the_cooldown(true).await {
                    sim_core::fail("6 was lost");
                }
            }),
            tokio_paused(|| on_tokio::run_paused(on_tokio::throttle::six_after_the_cooldown(true)) == Some(true)),
        ),
        (
            "throttle, from timestamps (fixed)",
            lockstep("throttle_fixed", || async {
                if !tokio_user::throttle::six_after_the_cooldown(false).await {
                    sim_core::fail("6 was lost");
                }
            }),
            tokio_paused(|| on_tokio::run_paused(on_tokio::throttle::six_after_the_cooldown(false)) == Some(true)),
        ),
    ];
    println!("| processor | Lockstep, failures in seeds 0..1000 | tokio paused, failures in 1,000 runs |");
    println!("| --- | --- | --- |");
    for (name, sim, tokio) in rows {
        println!("| {name} | {sim} | {tokio} |");
    }
}
