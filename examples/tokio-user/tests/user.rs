//! A tokio user's processors under Lockstep: the races are found, reported, replayed by the
//! printed command, and the timestamp fixes pass every seed.

use std::process::Command;

use sim_core::check::{check, CheckConfig, StopAt};
use sim_core::{Config, FailureKind, Sim};
use tokio_user::{debounce, throttle};

// ---- the fixed processors: `#[tokio::test]` over 1,000 seeds, as a user runs them ----

#[tokio::test(seeds = 1000)]
async fn the_timestamp_debounce_emits_an_item_followed_by_quiet_in_every_order() {
    assert_eq!(debounce::item_at_the_deadline(false).await, [1, 2]);
}

#[tokio::test(seeds = 1000)]
async fn the_timestamp_throttle_passes_six_after_the_cooldown_in_every_order() {
    assert!(throttle::six_after_the_cooldown(false).await);
}

// ---- failures per 1,000 seeds, pinned (a seed's run is a pure function of the seed) ----

/// Runs seeds 0..1000 of `world`, counting failures; returns (failures, lowest failing seed).
fn failures<F, Fut>(name: &str, world: F) -> (u64, Option<u64>)
where
    F: Fn() -> Fut + Sync + Send,
    Fut: std::future::Future<Output = ()> + 'static,
{
    let summary = check(CheckConfig::default().name(name).seeds(0..1000).stop(StopAt::Never), world);
    (summary.failure_count, summary.failures.first().and_then(|f| f.seed))
}

#[test]
fn lockstep_finds_the_debounce_losing_an_item_at_the_deadline() {
    let (count, first) = failures("debounce_buggy", || async {
        let out = debounce::item_at_the_deadline(true).await;
        if out != [1, 2] {
            sim_core::fail(format!("debounce emitted {out:?}, not [1, 2]"));
        }
    });
    assert_eq!((count, first), (PINNED_DEBOUNCE_FAILURES, Some(PINNED_DEBOUNCE_FIRST)));
}

#[test]
fn lockstep_finds_the_throttle_hang() {
    let (count, first) = failures("throttle_buggy", || async {
        assert!(throttle::six_after_the_cooldown(true).await);
    });
    assert_eq!((count, first), (PINNED_THROTTLE_FAILURES, Some(PINNED_THROTTLE_FIRST)));
}

#[test]
fn the_fixed_processors_fail_no_seed() {
    let (count, _) = failures("debounce_fixed", || async {
        assert_eq!(debounce::item_at_the_deadline(false).await, [1, 2]);
    });
    assert_eq!(count, 0);
    let (count, _) = failures("throttle_fixed", || async {
        assert!(throttle::six_after_the_cooldown(false).await);
    });
    assert_eq!(count, 0);
}

// Measured, and deterministic: each seed's run is a pure function of the seed. About one
// seed in eight loses the item or hangs; tokio with paused time never does
// (on-tokio/tests/on_tokio.rs, the tokio-user-on-tokio package).
const PINNED_DEBOUNCE_FAILURES: u64 = 122;
const PINNED_DEBOUNCE_FIRST: u64 = 2;
const PINNED_THROTTLE_FAILURES: u64 = 130;
const PINNED_THROTTLE_FIRST: u64 = 5;

// ---- the report: a deadlock naming the tasks; a seed replays to the same fingerprint ----

#[test]
fn the_throttle_hang_is_a_deadlock_naming_both_tasks_and_their_waits() {
    let mut sim = Sim::new(Config::random(PINNED_THROTTLE_FIRST).name("throttle_buggy"));
    let failure = sim.block_on(throttle::six_after_the_cooldown(true)).unwrap_err();
    let FailureKind::Deadlock { blocked } = &failure.kind else { panic!("{failure}") };
    let blocked: Vec<String> = blocked.iter().map(|b| b.to_string()).collect();
    assert_eq!(blocked.len(), 2, "{failure}");
    assert!(
        blocked.iter().any(|b| b.starts_with("throttle.rs:") && b.contains("(recv on `throttle.rs:")),
        "{blocked:?}"
    );
}

#[test]
fn a_seed_run_twice_gives_the_same_fingerprint() {
    for seed in [0, PINNED_DEBOUNCE_FIRST, PINNED_THROTTLE_FIRST, 7] {
        let run = |buggy: bool| {
            let mut sim = Sim::new(Config::random(seed));
            let _ = sim.block_on(async move {
                debounce::item_at_the_deadline(buggy).await;
                throttle::six_after_the_cooldown(buggy).await;
            });
            sim.fingerprint()
        };
        assert_eq!(run(true), run(true), "seed {seed}");
        assert_eq!(run(false), run(false), "seed {seed}");
    }
}

// ---- the failing #[tokio::test]s and their printed replay commands, run as printed ----

/// The value after `key` on the first line that has it.
fn field<'a>(text: &'a str, key: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.trim_start().strip_prefix(key))
        .unwrap_or_else(|| panic!("no `{key}` in:\n{text}"))
        .trim()
}

/// Runs `sh -c command` in this package's folder, with no LOCKSTEP_* variable inherited.
fn shell(command: &str) -> (bool, String) {
    let out = Command::new("sh")
        .args(["-c", command])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("LOCKSTEP_SEED")
        .env_remove("LOCKSTEP_TAPE")
        .env_remove("LOCKSTEP_SEEDS")
        .output()
        .unwrap();
    let text = format!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

fn failing_test_replays(test: &str, seed: u64, message: &str) {
    let (ok, report) = shell(&format!("cargo test -q -p tokio-user --test failing -- --exact {test}"));
    assert!(!ok, "{report}");
    assert!(report.contains(message), "{report}");
    let reported_seed: u64 = field(&report, "seed: ").split_whitespace().next().unwrap().parse().unwrap();
    assert_eq!(reported_seed, seed, "the lowest failing seed\n{report}");
    let fingerprint = field(&report, "fingerprint: ").to_string();
    let replay = field(&report, "replay: ").to_string();
    assert_eq!(replay, format!("LOCKSTEP_SEED={seed} cargo test -p tokio-user --test failing -- --exact {test}"));

    let (ok, replayed) = shell(&replay);
    assert!(!ok, "{replayed}");
    assert!(replayed.contains("running 1 test"), "the command selects exactly the test\n{replayed}");
    assert!(replayed.contains(message), "{replayed}");
    assert_eq!(field(&replayed, "fingerprint: "), fingerprint, "{replayed}");
}

#[test]
fn the_failing_debounce_test_prints_a_replay_that_reproduces_it() {
    failing_test_replays("the_debounce_emits_an_item_followed_by_quiet", PINNED_DEBOUNCE_FIRST, "[1, 2]");
}

#[test]
fn the_failing_throttle_test_prints_a_replay_that_reproduces_it() {
    failing_test_replays("the_throttle_passes_six_after_the_cooldown", PINNED_THROTTLE_FIRST, "deadlock");
}
