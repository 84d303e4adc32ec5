//! What `#[tokio::main]` and `#[tokio::test]` expand to call.

use std::future::Future;

use sim_core::check::{Check, Outcome};
use sim_core::{Config, TimeLimit};

use crate::sim::runtime::{config_from_env, Flavor, Runtime};

/// Where a `#[tokio::main]` / `#[tokio::test]` function lives, as the macros see it.
#[derive(Clone, Copy, Debug)]
pub struct Entry {
    /// `module_path!()` at the function.
    pub module: &'static str,
    /// The function's name.
    pub name: &'static str,
    /// `CARGO_PKG_NAME`.
    pub package: &'static str,
    /// Whether the function is in an integration test (`CARGO_TARGET_TMPDIR` set).
    pub integration: bool,
    /// `CARGO_CRATE_NAME`.
    pub crate_name: &'static str,
    /// `CARGO_BIN_NAME`, in a binary.
    pub bin: Option<&'static str>,
    /// `seeds = N` of `#[tokio::test]`.
    pub seeds: Option<u64>,
    /// The runtime flavor: `current_thread`, `multi_thread` or `local`.
    pub flavor: &'static str,
    /// `start_paused = true`.
    pub start_paused: bool,
    /// `strategy = "…"` of `#[tokio::test]`: `random` (the default), `pct` or `exhaustive`.
    pub strategy: &'static str,
    /// `depth = D` of `#[tokio::test(strategy = "pct")]`.
    pub depth: Option<u32>,
}

impl Entry {
    /// The test's name as libtest knows it: the module path without the crate's
    /// own segment, then the function.
    pub fn test_name(&self) -> String {
        match self.module.split_once("::") {
            Some((_, rest)) => format!("{rest}::{}", self.name),
            None => self.name.to_string(),
        }
    }

    /// The cargo arguments that select this function's test target.
    fn target(&self) -> String {
        match (self.integration, self.bin) {
            (true, _) => format!("--test {}", self.crate_name),
            (false, Some(bin)) => format!("--bin {bin}"),
            (false, None) => "--lib".to_string(),
        }
    }

    /// The command that runs this test alone, exactly.
    pub fn test_command(&self) -> String {
        format!("cargo test -p {} {} -- --exact {}", self.package, self.target(), self.test_name())
    }
}

/// `#[tokio::main]`: runs `future` as one simulation.
///
/// # Panics
/// With the failure report when the run fails, or when a `LOCKSTEP_*` variable
/// holds a bad value.
///
/// The replay command a failure prints runs what called the function again: the
/// calling test, when a test that `cargo test` started calls it (by the test's
/// thread, as [`sim_core::tooling::env::cargo_test_command`] finds it; the function itself
/// is not a test), else the binary (`cargo run -p <package> --bin <bin>`), each with
/// `LOCKSTEP_TAPE='<tape>'` (or `LOCKSTEP_SEED`) in front.
pub fn block_on_main<F: Future>(entry: Entry, future: F) -> F::Output {
    let (name, command) = match (sim_core::tooling::env::cargo_test_command(), entry.bin) {
        (Some(command), _) => (std::thread::current().name().map(str::to_string), command),
        (None, Some(bin)) if !entry.integration => {
            (Some(entry.test_name()), format!("cargo run -p {} --bin {bin}", entry.package))
        }
        (None, _) => (Some(entry.test_name()), entry.test_command()),
    };
    let name = name.or_else(|| Some(entry.test_name()));
    let config = config_from_env(name, Some(command)).unwrap_or_else(|e| panic!("lockstep: {e}"));
    Runtime::with_config(config, Flavor::parse(entry.flavor), entry.start_paused).block_on(future)
}

/// `#[tokio::test]`: runs the body over the seed range on every core and panics
/// with the lowest failing seed's report and its replay command.
///
/// The body may return `()` or a `Result` whose `Err` fails the run: the same
/// [`Outcome`] as every world of sim-core's check runner.
///
/// # Panics
/// When a seed fails, or a `LOCKSTEP_*` variable holds a bad value.
pub fn run_test<F, Fut>(entry: Entry, body: F)
where
    F: Fn() -> Fut + Sync + Send,
    Fut: Future + 'static,
    Fut::Output: Outcome,
{
    let name = entry.test_name();
    let command = entry.test_command();
    let by_tape = entry.strategy != "random" || std::env::var_os("LOCKSTEP_TAPE").is_some_and(|v| !v.is_empty());
    let mut sim = Config::default().max_time(TimeLimit::Unlimited);
    sim.replay_hint = Some(if by_tape {
        format!("LOCKSTEP_TAPE='{{tape}}' {command}")
    } else {
        format!("LOCKSTEP_SEED={{seed}} {command}")
    });
    let flavor = Flavor::parse(entry.flavor);
    let start_paused = entry.start_paused;
    let body = move || {
        let body = body();
        async move {
            let _flavor = flavor.enter();
            flavor.set_up_clock(start_paused);
            body.await
        }
    };
    let check = match (entry.strategy, entry.seeds) {
        ("pct", seeds) => Check::pct(seeds.unwrap_or(1000), entry.depth.unwrap_or(3)),
        ("exhaustive", Some(runs)) => Check::exhaustive().runs(runs),
        ("exhaustive", None) => Check::exhaustive(),
        (_, seeds) => Check::random(seeds.unwrap_or(1000)),
    };
    check.name(name).sim(sim).run(body).assert_ok();
}
