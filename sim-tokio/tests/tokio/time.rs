//! `tokio::time` in virtual time.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use sim_core::Config;
use tokio::time::{self, Instant, MissedTickBehavior};

use crate::support::{run, twice};

const MS: Duration = Duration::from_millis(1);

#[test]
fn sleep_moves_virtual_time_by_exactly_its_duration() {
    let elapsed = twice(0, || async {
        let start = Instant::now();
        time::sleep(50 * MS).await;
        let mid = Instant::now();
        time::sleep_until(start + 80 * MS).await;
        (mid - start, start.elapsed())
    });
    assert_eq!(elapsed, (50 * MS, 80 * MS));
}

#[test]
fn instant_arithmetic_saturates_like_tokio() {
    twice(0, || async {
        let early = Instant::now();
        time::sleep(10 * MS).await;
        let late = Instant::now();
        assert_eq!(early - late, Duration::ZERO);
        assert_eq!(early.duration_since(late), Duration::ZERO);
        assert_eq!(early.checked_duration_since(late), None);
        assert_eq!(late.checked_duration_since(early), Some(10 * MS));
        assert_eq!(late.checked_sub(10 * MS), Some(early));
        // tokio's clock starts where the machine's stands, so instants before the
        // start exist: here a year of them.
        assert_eq!(early.checked_sub(MS).map(|before| early - before), Some(MS));
        let year = Duration::from_secs(365 * 24 * 3600);
        assert!(early.checked_sub(year).is_some());
        assert_eq!(early.checked_sub(year + Duration::from_nanos(1)), None);
        assert_eq!(format!("{:?}", early - MS), "t=-1ms");
        let mut t = early;
        t += 3 * MS;
        t -= MS;
        assert_eq!(t - early, 2 * MS);
        assert_eq!(Instant::from_std(late.into_std()), late);
    });
}

#[test]
fn sleep_reset_moves_the_deadline_and_rearms_a_fired_timer() {
    let got = twice(0, || async {
        let start = Instant::now();
        let sleep = time::sleep(100 * MS);
        tokio::pin!(sleep);
        sleep.as_mut().reset(start + 30 * MS);
        assert_eq!(sleep.deadline(), start + 30 * MS);
        (&mut sleep).await;
        assert!(sleep.is_elapsed());
        let first = start.elapsed();
        sleep.as_mut().reset(Instant::now() + 5 * MS);
        assert!(!sleep.is_elapsed());
        (&mut sleep).await;
        (first, start.elapsed())
    });
    assert_eq!(got, (30 * MS, 35 * MS));
}

#[test]
fn timeout_gives_elapsed_and_a_ready_future_at_the_deadline_wins() {
    let got = twice(0, || async {
        let slow = time::timeout(10 * MS, time::sleep(20 * MS)).await;
        let err = slow.unwrap_err();
        assert_eq!(err.to_string(), "deadline has elapsed");
        // Both due at 10 ms after the second start: the inner future is polled first.
        let start = Instant::now();
        let tie = time::timeout_at(start + 10 * MS, time::sleep(10 * MS)).await;
        let io: std::io::Error = err.into();
        (tie.is_ok(), io.kind(), start.elapsed())
    });
    assert_eq!(got, (true, std::io::ErrorKind::TimedOut, 10 * MS));
}

#[test]
fn interval_ticks_at_start_then_every_period() {
    let ticks = twice(0, || async {
        let start = Instant::now();
        let mut interval = time::interval(10 * MS);
        assert_eq!(interval.period(), 10 * MS);
        assert_eq!(interval.missed_tick_behavior(), MissedTickBehavior::Burst);
        let mut at = Vec::new();
        for _ in 0..3 {
            at.push(interval.tick().await - start);
        }
        interval.reset_after(25 * MS);
        at.push(interval.tick().await - start);
        interval.reset_immediately();
        at.push(interval.tick().await - start);
        at
    });
    assert_eq!(ticks, [Duration::ZERO, 10 * MS, 20 * MS, 45 * MS, 45 * MS]);
}

/// A task busy for 35 ms misses ticks at 10, 20, 30: Burst fires them at once
/// (scheduled instants 10, 20, 30, then 40 on schedule); Delay restarts one
/// period after the late tick (35, 45); Skip jumps to the next multiple (35, 40).
#[test]
fn missed_tick_behaviors_follow_tokio() {
    let run_with = |behavior| {
        twice(0, move || async move {
            let start = Instant::now();
            let mut interval = time::interval_at(start + 10 * MS, 10 * MS);
            interval.set_missed_tick_behavior(behavior);
            time::sleep(35 * MS).await;
            let mut seen = Vec::new();
            for _ in 0..3 {
                let scheduled = interval.tick().await - start;
                seen.push((scheduled, start.elapsed()));
            }
            seen
        })
    };
    assert_eq!(run_with(MissedTickBehavior::Burst), [(10 * MS, 35 * MS), (20 * MS, 35 * MS), (30 * MS, 35 * MS)]);
    assert_eq!(run_with(MissedTickBehavior::Delay), [(10 * MS, 35 * MS), (45 * MS, 45 * MS), (55 * MS, 55 * MS)]);
    assert_eq!(run_with(MissedTickBehavior::Skip), [(10 * MS, 35 * MS), (40 * MS, 40 * MS), (50 * MS, 50 * MS)]);
}

/// `advance` sleeps: a timer due halfway fires at its own instant, before the
/// advancing task resumes.
#[test]
fn advance_jumps_the_clock_and_fires_every_timer_due_before_it_returns() {
    // tokio's `advance` moves the clock in one jump: the 5 ms timers fire at 10 ms,
    // before `advance` returns, and the spawned task they wake sees 10 ms. No task
    // runs at 5 ms.
    for seed in 0..20 {
        let log = twice(seed, || async {
            time::pause();
            let log = Rc::new(RefCell::new(Vec::new()));
            let start = Instant::now();
            let l = log.clone();
            let timer = time::sleep(5 * MS);
            let t = tokio::spawn(async move {
                timer.await;
                l.borrow_mut().push(("timer", start.elapsed()));
            });
            let mut own = Box::pin(time::sleep(5 * MS));
            let waker = futures::task::noop_waker();
            let first = std::future::Future::poll(own.as_mut(), &mut std::task::Context::from_waker(&waker));
            assert!(first.is_pending());
            time::advance(10 * MS).await;
            assert!(own.is_elapsed(), "a timer due by then had not fired when advance returned");
            log.borrow_mut().push(("advanced", start.elapsed()));
            t.await.unwrap();
            time::resume();
            log.take()
        });
        let mut sorted = log.clone();
        sorted.sort();
        assert_eq!(sorted, [("advanced", 10 * MS), ("timer", 10 * MS)], "seed {seed}");
    }
}

#[test]
fn advance_and_resume_need_a_paused_clock_and_pause_only_once() {
    for (what, message) in
        [("advance", "time is not frozen"), ("resume", "time is not frozen"), ("pause twice", "time is already frozen")]
    {
        let (result, _) = run(Config::default(), || async move {
            match what {
                "advance" => time::advance(MS).await,
                "resume" => time::resume(),
                _ => {
                    time::pause();
                    time::pause();
                }
            }
        });
        let failure = result.unwrap_err();
        assert!(failure.to_string().contains(message), "{what}: {failure}");
    }
}

#[test]
fn with_the_clock_paused_a_timer_already_due_completes_in_its_first_poll() {
    use std::future::Future;
    use std::task::{Context, Poll};
    // tokio's paused timer fires a timer already due as the first poll registers it;
    // unpaused, such a timer is an event at the current instant (tokio rounds a
    // deadline up to the next millisecond), so its first poll is pending.
    let polls = twice(0, || async {
        let mut firsts = Vec::new();
        for paused in [false, true] {
            if paused {
                time::pause();
            }
            let past = Instant::now();
            time::sleep(MS).await;
            let mut sleep = Box::pin(time::sleep_until(past));
            assert!(!sleep.is_elapsed(), "not fired before its first poll");
            let waker = futures::task::noop_waker();
            let first = sleep.as_mut().poll(&mut Context::from_waker(&waker));
            firsts.push((paused, first == Poll::Ready(())));
            sleep.await;
        }
        firsts
    });
    assert_eq!(polls, [(false, false), (true, true)]);
}

#[test]
fn a_zero_interval_panics_like_tokio() {
    let (result, _) = run(Config::default(), || async {
        let _ = time::interval(Duration::ZERO);
    });
    let failure = result.unwrap_err();
    assert!(failure.to_string().contains("`period` must be non-zero."), "{failure}");
}

#[tokio::test(seeds = 2)]
async fn duration_is_reexported_from_time_as_tokio_does() {
    // `use tokio::time::Duration` is common in tokio code: it must name std's Duration.
    let d: tokio::time::Duration = std::time::Duration::from_millis(5);
    let start = tokio::time::Instant::now();
    tokio::time::sleep(d).await;
    assert_eq!(start.elapsed(), d);
}

#[test]
fn tokio_timers_are_named_after_the_line_that_created_them() {
    let mut sim = sim_core::Sim::new(Config::default().trace(sim_core::TraceMode::Full));
    let line = line!() + 3;
    let future = sim.enter(|| async {
        // sleep, interval and timeout, each on its own line (`line`, `line + 1`, `line + 2`).
        time::sleep(MS).await;
        let mut ticks = time::interval(MS);
        let _ = time::timeout(MS, std::future::pending::<()>()).await;
        ticks.tick().await;
        tokio::lockstep::named("cooldown", || time::sleep(MS)).await;
    });
    sim.block_on(future).unwrap();
    let names: Vec<String> =
        sim.trace().lines.iter().filter(|l| l.kind.label() == "timer-set").filter_map(|l| l.timer.clone()).collect();
    let at = |offset: u32| format!("time.rs:{}", line + offset);
    // The interval is re-armed after its tick under the name it was created with.
    assert_eq!(names, [at(0), at(1), at(2), at(1), "cooldown".to_string()]);
}

/// sim-tokio's dependencies add no trait impl that breaks type inference in a user's
/// code: `assert_eq!(items, vec![])` with `items: Vec<u32>` compiles, as with tokio
/// (tokio's `time_interval` test does this; `serde_json`'s `PartialEq<Value> for u32`,
/// once in sim-core's graph, made it ambiguous). This test fails by not compiling.
#[tokio::test(seeds = 1)]
async fn an_empty_vec_literal_compares_with_a_vec_of_integers() {
    let items: Vec<u32> = Vec::with_capacity(0);
    assert_eq!(items, vec![]);
}
