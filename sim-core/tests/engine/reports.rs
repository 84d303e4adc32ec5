//! Failure reports: each kind names the right tasks and carries the seed and the
//! replay command.

use std::time::Duration;

use sim_core::time::sleep;
use sim_core::{yield_now, Config, FailureKind, Sim, StepLimit, TimeLimit};

#[test]
fn deadlock_names_every_blocked_task_and_what_it_waits_on() {
    let mut sim = Sim::new(Config::random(9).name("engine::deadlock"));
    let stuck = sim.spawn_named("stuck", std::future::pending::<()>());
    sim.spawn_named("joiner", async move {
        let _ = stuck.await;
    });
    sim.spawn_named("sleeper", async { sleep(Duration::from_millis(5)).await });
    let failure = sim.run().unwrap_err();
    let FailureKind::Deadlock { blocked } = &failure.kind else { panic!("expected a deadlock, got {failure}") };
    let described: Vec<String> = blocked.iter().map(ToString::to_string).collect();
    assert_eq!(described, ["stuck (a future that is not a Lockstep primitive)", "joiner (join on `stuck`)"]);
    assert_eq!(failure.seed, Some(9));
    assert_eq!(failure.time.as_nanos(), 5_000_000, "the sleeper ran to completion first");
    // A raw simulation prints the Rust that replays it.
    let tape = failure.tape.to_string();
    assert_eq!(failure.replay, format!("Sim::new(Config::replay({tape:?}.parse()?))"));
    let text = failure.to_string();
    assert!(text.starts_with("lockstep: deadlock in `engine::deadlock`"), "{text}");
    assert!(text.contains("seed: 9"), "{text}");
}

#[test]
fn a_task_blocked_on_a_timer_is_not_a_deadlock() {
    let mut sim = Sim::new(Config::default());
    sim.spawn_named("late", async { sleep(Duration::from_secs(3600)).await });
    sim.run().unwrap();
    assert_eq!(sim.now().as_nanos(), 3_600_000_000_000);
}

#[test]
fn block_on_reports_a_deadlock_when_main_waits_forever() {
    let mut sim = Sim::new(Config::random(4));
    let failure = sim.block_on(std::future::pending::<()>()).unwrap_err();
    let FailureKind::Deadlock { blocked } = &failure.kind else { panic!("{failure}") };
    assert_eq!(blocked[0].name, "main");
}

#[test]
fn in_task_poll_is_true_inside_a_tasks_poll_only() {
    // A panic hook asks it: true where a panic becomes the run's failure, false elsewhere.
    assert!(!sim_core::tooling::task::in_task_poll());
    let mut sim = Sim::new(Config::random(3).name("engine::in_task_poll"));
    let seen = std::rc::Rc::new(std::cell::Cell::new(false));
    let inside = seen.clone();
    let result = sim.block_on(async move { inside.set(sim_core::tooling::task::in_task_poll()) });
    assert!(result.is_ok());
    assert!(seen.get(), "inside the poll of `main`");
    assert!(!sim_core::tooling::task::in_task_poll(), "reset after the run");
    // Also after a task's panic, which the run catches.
    let mut sim = Sim::new(Config::random(3).name("engine::in_task_poll_panic"));
    sim.spawn_named("boom", async { panic!("caught") });
    assert!(sim.run().is_err());
    assert!(!sim_core::tooling::task::in_task_poll(), "reset after a caught panic");
}

#[test]
fn a_panicking_task_fails_the_run_with_its_name_and_seed() {
    let mut sim = Sim::new(Config::random(17).name("engine::panic"));
    sim.spawn_named("calm", async { sleep(Duration::from_millis(1)).await });
    sim.spawn_named("boom", async {
        sleep(Duration::from_millis(2)).await;
        panic!("invariant broken at 2ms");
    });
    let failure = sim.run().unwrap_err();
    assert_eq!(
        failure.kind,
        FailureKind::Panic { task: "boom".to_string(), message: "invariant broken at 2ms".to_string() }
    );
    assert_eq!(failure.seed, Some(17));
    assert_eq!(failure.time.as_nanos(), 2_000_000);
    assert_eq!(failure.replay, format!("Sim::new(Config::replay({:?}.parse()?))", failure.tape.to_string()));
}

#[test]
fn a_yield_loop_hits_the_step_limit() {
    let mut sim = Sim::new(Config::random(1).name("spin").max_steps(StepLimit::FailAfter(1_000)));
    sim.spawn_named("spinner", async {
        loop {
            yield_now().await;
        }
    });
    let failure = sim.run().unwrap_err();
    assert_eq!(failure.kind, FailureKind::StepLimit { limit: 1_000 });
    assert_eq!(failure.step, 1_000);
    assert!(failure.trace_tail.iter().all(|l| l.task.as_deref() == Some("spinner")));
    assert!(failure.to_string().contains("livelock"));
}

#[test]
fn an_endless_ticker_hits_the_time_limit() {
    let limit = Duration::from_secs(60);
    let mut sim = Sim::new(Config::random(2).max_time(TimeLimit::FailAfter(limit)));
    sim.spawn_named("ticker", async {
        loop {
            sleep(Duration::from_secs(7)).await;
        }
    });
    let failure = sim.run().unwrap_err();
    assert_eq!(failure.kind, FailureKind::TimeLimit { limit });
    assert_eq!(failure.time.as_nanos(), 56_000_000_000, "the last tick within the limit was at 56 s");
}

#[test]
fn a_violation_reported_by_a_task_stops_the_run() {
    let mut sim = Sim::new(Config::random(3));
    sim.spawn_named("checker", async {
        sleep(Duration::from_millis(3)).await;
        sim_core::fail("output differs from input");
        sleep(Duration::from_millis(3)).await;
        unreachable!("the run stops after the violating step");
    });
    let failure = sim.run().unwrap_err();
    assert_eq!(
        failure.kind,
        FailureKind::Violation { task: Some("checker".into()), message: "output differs from input".into() }
    );
    assert_eq!(failure.time.as_nanos(), 3_000_000);
}
