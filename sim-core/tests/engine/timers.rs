//! Timers: virtual time, intervals, timeouts, cancellation, driving by hand.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use sim_core::time::{interval, sleep, sleep_until, timeout, Instant, MissedTickBehavior};
use sim_core::{Config, Sim};

const MS: Duration = Duration::from_millis(1);

#[test]
fn an_hour_of_virtual_time_with_thousands_of_timers_runs_to_the_exact_tick_count() {
    // 1,000 tasks, each sleeping in a loop with a period of 1 to 60 s for an hour:
    // 284,673 timers. Its speed is measured in the engine benchmark.
    let mut sim = Sim::new(Config::random(1));
    let ticks = Rc::new(Cell::new(0u64));
    let mut expected = 0;
    for i in 0..1_000u64 {
        let period = Duration::from_secs(i % 60 + 1);
        expected += 3600 / (i % 60 + 1);
        let ticks = ticks.clone();
        sim.spawn(async move {
            while Instant::now() + period <= Instant::from_millis(3_600_000) {
                sleep(period).await;
                ticks.set(ticks.get() + 1);
            }
        });
    }
    sim.run().unwrap();
    assert_eq!(ticks.get(), expected);
    assert_eq!(sim.now(), Instant::from_millis(3_600_000));
}

#[test]
fn advance_applies_every_event_due_and_runs_every_task_it_woke() {
    let mut sim = Sim::new(Config::random(5));
    let seen = Rc::new(RefCell::new(Vec::new()));
    let s = seen.clone();
    sim.spawn(async move {
        sleep(50 * MS).await;
        s.borrow_mut().push(Instant::now());
        sleep(50 * MS).await;
        s.borrow_mut().push(Instant::now());
    });
    sim.advance(49 * MS).unwrap();
    assert!(seen.borrow().is_empty());
    assert_eq!(sim.now(), Instant::from_millis(49));
    sim.advance(MS).unwrap();
    assert_eq!(*seen.borrow(), [Instant::from_millis(50)], "the timer due at exactly 50ms ran");
    sim.run_until(Instant::from_millis(120)).unwrap();
    assert_eq!(*seen.borrow(), [Instant::from_millis(50), Instant::from_millis(100)]);
    assert_eq!(sim.now(), Instant::from_millis(120));
}

#[test]
fn run_until_idle_drains_the_current_instant_without_moving_time() {
    let mut sim = Sim::new(Config::default());
    let hits = Rc::new(Cell::new(0));
    let h = hits.clone();
    sim.spawn(async move {
        h.set(1);
        sleep(MS).await;
        h.set(2);
    });
    sim.run_until_idle().unwrap();
    assert_eq!((hits.get(), sim.now()), (1, Instant::ZERO));
    assert!(sim.step().unwrap(), "the timer is still pending");
    assert_eq!(sim.now(), Instant::from_millis(1));
}

#[test]
fn a_dropped_timer_never_fires() {
    let mut sim = Sim::new(Config::default());
    sim.spawn(async {
        let early = sleep(10 * MS);
        drop(early);
        sleep(20 * MS).await;
    });
    sim.run().unwrap();
    let fires = sim.trace().lines.iter().filter(|l| l.kind == sim_core::tooling::trace::RecordKind::TimerFire).count();
    assert_eq!(fires, 1);
    assert_eq!(sim.now(), Instant::from_millis(20));
}

#[test]
fn timeout_returns_the_value_or_elapsed_at_the_exact_deadline() {
    let mut sim = Sim::new(Config::default());
    let out = sim
        .block_on(async {
            let fast = timeout(10 * MS, async {
                sleep(5 * MS).await;
                1
            })
            .await;
            let slow = timeout(10 * MS, sleep(50 * MS)).await;
            (fast, slow.is_err(), Instant::now())
        })
        .unwrap();
    assert_eq!(out, (Ok(1), true, Instant::from_millis(15)));
}

#[test]
fn sleep_until_the_past_fires_at_the_current_instant() {
    let mut sim = Sim::new(Config::default());
    let t = sim
        .block_on(async {
            sleep(5 * MS).await;
            sleep_until(Instant::ZERO).await;
            Instant::now()
        })
        .unwrap();
    assert_eq!(t, Instant::from_millis(5));
}

fn ticks_with(behavior: MissedTickBehavior) -> Vec<u64> {
    let mut sim = Sim::new(Config::default());
    sim.block_on(async move {
        let mut iv = interval(10 * MS);
        iv.set_missed_tick_behavior(behavior);
        let mut seen = Vec::new();
        for i in 0..5 {
            iv.tick().await;
            seen.push(Instant::now().as_nanos() / 1_000_000);
            if i == 1 {
                sleep(35 * MS).await; // miss ticks 20 and 30
            }
        }
        seen
    })
    .unwrap()
}

#[test]
fn interval_missed_ticks_follow_tokio_behaviours() {
    assert_eq!(ticks_with(MissedTickBehavior::Burst), [0, 10, 45, 45, 45]);
    assert_eq!(ticks_with(MissedTickBehavior::Delay), [0, 10, 45, 55, 65]);
    assert_eq!(ticks_with(MissedTickBehavior::Skip), [0, 10, 45, 50, 60]);
}

#[test]
fn the_same_seed_gives_the_same_fingerprint_for_timer_programs() {
    let run = |seed| {
        let mut sim = Sim::new(Config::random(seed));
        for i in 0..4u64 {
            sim.spawn(async move {
                let mut iv = interval(Duration::from_millis(5 * (i % 2 + 1)));
                for _ in 0..6 {
                    iv.tick().await;
                }
            });
        }
        sim.run().unwrap();
        sim.fingerprint()
    };
    for seed in 0..100 {
        assert_eq!(run(seed), run(seed));
    }
}

/// The `timer` names of a trace's timer records of `kind` (`timer-set`, `timer-fire`, …).
fn timer_names(trace: &sim_core::Trace, kind: &str) -> Vec<String> {
    trace.lines.iter().filter(|l| l.kind.label() == kind).map(|l| l.timer.clone().unwrap_or_default()).collect()
}

#[test]
fn a_timer_is_named_after_the_line_that_created_it_or_by_named_and_keeps_its_name_on_reset() {
    let mut sim = Sim::new(Config::default().trace(sim_core::TraceMode::Full));
    let first = line!() + 3;
    sim.spawn(async move {
        // Each timer below is created on the line its comment names.
        let mut timer = sleep(MS); // first
        timer.reset(Instant::now() + 2 * MS); // the same timer, re-armed: same name
        (&mut timer).await;
        sim_core::named("cooldown", || sleep(MS)).await; // a `named` scope wins
        let mut ticks = interval(MS); // first + 4: re-armed after each tick, same name
        ticks.tick().await;
        ticks.tick().await;
        let _ = timeout(MS, std::future::pending::<()>()).await; // first + 7
    });
    sim.run().unwrap();
    let trace = sim.trace();
    let at = |offset: u32| format!("timers.rs:{}", first + offset);
    let cooldown = "cooldown".to_string();
    // The interval is armed three times (at creation and after each tick), all one name.
    let set = [at(0), at(0), cooldown.clone(), at(4), at(4), at(4), at(7)];
    assert_eq!(timer_names(&trace, "timer-set"), set);
    // The reset timer fires once, under the name it was created with.
    // The interval's third arming is due with the timeout's timer, at 5ms, and fires too.
    assert_eq!(timer_names(&trace, "timer-fire"), [at(0), cooldown, at(4), at(4), at(4), at(7)]);
    // Cancelled: the reset's first firing.
    assert_eq!(timer_names(&trace, "timer-cancel"), [at(0)]);
    let fire = trace.lines.iter().find(|l| l.kind.label() == "timer-fire").unwrap().to_string();
    assert!(fire.ends_with(&format!(" timer 1 `{}` at 2ms", at(0))), "{fire}");
}

#[test]
fn a_timer_name_is_not_fingerprinted_moving_a_sleep_to_another_line_keeps_the_fingerprint() {
    let run = |other_line: bool| {
        let mut sim = Sim::new(Config::random(3));
        sim.spawn_named("t", async move {
            // The same sleep, created on one line or the other.
            let here = || sleep(MS);
            let there = || sleep_until(Instant::now() + MS);
            let timer = if other_line { there() } else { here() };
            timer.await;
        });
        sim.run().unwrap();
        let names = timer_names(&sim.trace(), "timer-set");
        (sim.fingerprint(), names)
    };
    let (a, b) = (run(false), run(true));
    assert_ne!(a.1, b.1, "the two sleeps are on different lines");
    assert_eq!(a.0, b.0);
}
