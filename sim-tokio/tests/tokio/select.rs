//! `select!`: tokio's syntax, and an unbiased pick that is a recorded choice.

use std::future::ready;
use std::time::Duration;

use sim_core::{Config, Sim};

use crate::support::twice;

const MS: Duration = Duration::from_millis(1);

/// Three branches ready at once, unbiased: which one ran.
async fn three_ready() -> u32 {
    tokio::select! {
        a = ready(0) => a,
        b = ready(1) => b,
        c = ready(2) => c,
    }
}

fn branch_under(seed: u64) -> u32 {
    let mut sim = Sim::new(Config::random(seed));
    sim.block_on_local(three_ready()).unwrap()
}

#[test]
fn one_seed_takes_the_same_branch_in_200_runs() {
    for seed in 0..5 {
        let first = branch_under(seed);
        for _ in 0..200 {
            assert_eq!(branch_under(seed), first, "seed {seed}");
        }
    }
}

#[test]
fn each_branch_is_taken_under_some_seed() {
    let mut seen = [false; 3];
    for seed in 0..64 {
        seen[branch_under(seed) as usize] = true;
    }
    assert_eq!(seen, [true; 3]);
}

/// The canonical order polls the first enabled branch first; the pick is one
/// recorded choice among 3 (the tape says so), and `biased;` records none.
#[test]
fn the_unbiased_pick_is_one_recorded_choice_and_biased_makes_none() {
    let mut sim = Sim::new(Config::default());
    assert_eq!(sim.block_on_local(three_ready()).unwrap(), 0);
    let choices: Vec<_> = sim.recorded_tape().choices().iter().map(|c| (c.options, c.index)).collect();
    // Spawning `main` queues one event: no scheduling choice; the select adds one of 3.
    assert_eq!(choices, [(3, 0)]);
    let mut sim = Sim::new(Config::random(1));
    let biased = sim.block_on_local(async {
        tokio::select! {
            biased;
            a = ready(0) => a,
            b = ready(1) => b,
        }
    });
    assert_eq!(biased.unwrap(), 0);
    assert!(sim.recorded_tape().is_empty(), "{}", sim.recorded_tape());
}

/// With only one branch enabled (a precondition off, a pattern refuted) no choice
/// is recorded; a refuted pattern disables its branch, and `else` runs when none is left.
#[test]
fn preconditions_refutable_patterns_and_else() {
    let got = twice(7, || async {
        let mut sim_tape_len = Vec::new();
        let off = false;
        let one = tokio::select! {
            x = ready(1), if off => x,
            y = ready(2) => y,
        };
        sim_tape_len.push(one);
        let refuted = tokio::select! {
            Some(x) = ready(None::<u32>) => x,
            else => 99,
        };
        sim_tape_len.push(refuted);
        // The refuted branch is disabled and the other, pending for 1 ms, wins.
        let later = tokio::select! {
            Some(x) = ready(None::<u32>) => x,
            _ = tokio::time::sleep(MS) => 5,
        };
        sim_tape_len.push(later);
        let all_off = tokio::select! {
            x = ready(3), if off => x,
            else => { 42 }
        };
        sim_tape_len.push(all_off);
        sim_tape_len
    });
    assert_eq!(got, [2, 99, 5, 42]);
}

#[test]
#[should_panic(expected = "all branches are disabled and there is no else branch")]
fn no_branch_left_and_no_else_panics_like_tokio() {
    let mut sim = Sim::new(Config::default());
    let result = sim.block_on_local(async {
        tokio::select! {
            Some(x) = ready(None::<u32>) => x,
        }
    });
    panic!("{}", result.unwrap_err());
}

/// Handlers run after the futures are dropped, and may `break` out of the caller's loop.
#[test]
fn handlers_can_break_and_reuse_what_the_futures_borrowed() {
    let got = twice(2, || async {
        let mut count = 0u32;
        let mut ticks = tokio::time::interval(MS);
        loop {
            tokio::select! {
                _ = ticks.tick() => {
                    count += 1;
                    if count == 3 {
                        break;
                    }
                }
                _ = tokio::time::sleep(10 * MS) => unreachable!(),
            }
        }
        count
    });
    assert_eq!(got, 3);
}

/// A task blocked in a `select!` over a channel names the channel and its wait in
/// the deadlock report (the channel is named after the line that created it).
#[test]
fn a_task_blocked_in_select_names_its_waits_in_the_deadlock_report() {
    let line = line!() + 2;
    let (result, _) = crate::support::run(Config::default(), || async {
        let (_tx, mut rx) = tokio::sync::mpsc::channel::<u32>(1);
        let (_keep, mut named) = tokio::lockstep::named("input", || tokio::sync::mpsc::channel::<u32>(1));
        tokio::select! {
            _ = rx.recv() => {}
            _ = named.recv() => {}
        }
    });
    let failure = result.unwrap_err();
    let expected = format!("deadlock: 1 task blocked: main (recv on `select.rs:{line}`, recv on `input`)");
    assert!(failure.to_string().contains(&expected), "{failure}");
}

/// A debounce-like loop over a channel and a timer, unbiased: a seed gives one
/// fingerprint, twice.
#[test]
fn a_select_loop_over_a_channel_and_a_timer_is_deterministic_per_seed() {
    for seed in 0..20 {
        twice(seed, || async {
            let (tx, mut rx) = tokio::sync::mpsc::channel::<u32>(4);
            let producer = tokio::spawn(async move {
                for i in 0..4 {
                    tokio::time::sleep(5 * MS).await;
                    tx.send(i).await.unwrap();
                }
            });
            let mut seen = Vec::new();
            let quiet = tokio::time::sleep(5 * MS);
            tokio::pin!(quiet);
            loop {
                tokio::select! {
                    item = rx.recv() => match item {
                        Some(i) => {
                            seen.push(i);
                            quiet.as_mut().reset(tokio::time::Instant::now() + 5 * MS);
                        }
                        None => break,
                    },
                    () = &mut quiet, if !quiet.is_elapsed() => seen.push(100),
                }
            }
            producer.await.unwrap();
            seen
        });
    }
}

/// `select! { else => … }` with no branch is the `else` value (tokio accepts it).
#[test]
fn an_else_only_select_is_its_else_value() {
    let mut sim = Sim::new(Config::default());
    let (a, b) = sim
        .block_on_local(async {
            let a = tokio::select! { else => 1 };
            let b = tokio::select! { biased; else => 2, };
            (a, b)
        })
        .unwrap();
    assert_eq!((a, b), (1, 2));
}

/// `mut x`, `ref x` and `ref mut x` bindings in a branch's pattern: the value is
/// tested by reference first, then moved into the handler with the binding modes
/// written.
#[test]
fn binding_modes_in_patterns_bind_as_written() {
    let mut sim = Sim::new(Config::default());
    let out = sim
        .block_on_local(async {
            let a = tokio::select! {
                Some(mut s) = ready(Some("1".to_string())) => { s.push('a'); s }
            };
            let b = tokio::select! {
                Some(ref s) = ready(Some("2".to_string())) => s.clone(),
            };
            let c = tokio::select! {
                Some(ref mut s) = ready(Some("3".to_string())) => { s.push('c'); s.clone() }
            };
            let d = tokio::select! {
                (mut n, Some(ref m)) = ready((1, Some(10))) => { n += *m; n }
            };
            (a, b, c, d)
        })
        .unwrap();
    assert_eq!(out, ("1a".to_string(), "2".to_string(), "3c".to_string(), 11));
}

/// A branch's future may borrow a temporary (`&mut ready(())`): the temporary
/// lives as long as the `select!`, as in tokio's expansion.
#[test]
fn a_branch_future_may_borrow_a_temporary() {
    let mut sim = Sim::new(Config::default());
    let out = sim
        .block_on_local(async {
            tokio::select! {
                v = &mut ready(7) => v,
                () = &mut std::future::pending::<()>() => 0,
            }
        })
        .unwrap();
    assert_eq!(out, 7);
}
