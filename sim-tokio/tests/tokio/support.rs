//! Running a future as one simulation and reading what happened.

use std::future::Future;

use sim_core::{Config, Failure, Fingerprint, Sim};

/// Runs `f`'s future as one simulation under `config`: its output, or the failure,
/// and the run's fingerprint.
pub fn run<F, Fut>(config: Config, f: F) -> (Result<Fut::Output, Box<Failure>>, Fingerprint)
where
    F: FnOnce() -> Fut,
    Fut: Future,
{
    let mut sim = Sim::new(config);
    let future = sim.enter(f);
    let result = sim.block_on_local(future);
    (result, sim.fingerprint())
}

/// Runs seed `seed` twice and asserts both runs have one fingerprint; returns the output.
pub fn twice<F, Fut>(seed: u64, f: F) -> Fut::Output
where
    F: Fn() -> Fut,
    Fut: Future,
    Fut::Output: PartialEq + std::fmt::Debug,
{
    let (a, fa) = run(Config::random(seed), &f);
    let (b, fb) = run(Config::random(seed), &f);
    assert_eq!(fa, fb, "seed {seed} gave two fingerprints");
    let (a, b) = (a.unwrap_or_else(|e| panic!("{e}")), b.unwrap_or_else(|e| panic!("{e}")));
    assert_eq!(a, b);
    a
}
