//! The reduction against plain enumeration on generated programs: with shared
//! memory declared, one order per class of commuting steps reaches exactly the
//! outcomes that every order reaches.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;
use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, RngAlgorithm, TestRng, TestRunner};

use sim_core::footprint::touch;
use sim_core::strategy::exhaustive::explore_reduced;
use sim_core::strategy::explore_all;
use sim_core::sync::mpsc;
use sim_core::time::sleep;
use sim_core::{choose, yield_now, Config, Sim};

/// One operation of a generated task.
#[derive(Clone, Copy, Debug)]
enum Op {
    /// Sleeps this many milliseconds (0 or 5: same-instant wake-ups are the point).
    Sleep(u64),
    /// Sends the task's number on a channel.
    Send(usize),
    /// Takes a message from a channel if one is there, and notes what it got.
    TryRecv(usize),
    /// Notes how many messages a channel holds.
    Len(usize),
    /// Appends the task's number to the shared log, declared with `touch`.
    Append,
    /// Yields to the other events due now.
    Yield,
    /// Draws 0 or 1 (a code-level choice) and notes it.
    Choose,
    /// Draws 0 or 1 and sends on the channel when it drew the second number: what
    /// the step touches depends on a choice made inside it.
    MaybeSend(usize, usize),
}

const CHANNELS: usize = 2;

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        prop_oneof![Just(0u64), Just(5)].prop_map(Op::Sleep),
        (0..CHANNELS).prop_map(Op::Send),
        (0..CHANNELS).prop_map(Op::TryRecv),
        (0..CHANNELS).prop_map(Op::Len),
        Just(Op::Append),
        Just(Op::Yield),
        Just(Op::Choose),
        (0..CHANNELS, 0..2usize).prop_map(|(c, on)| Op::MaybeSend(c, on)),
    ]
}

fn program() -> impl Strategy<Value = Vec<Vec<Op>>> {
    prop::collection::vec(prop::collection::vec(op(), 1..4), 2..4)
}

/// What a run of the program ends with: what each task noted, the shared log, and
/// the messages left in each channel.
type Outcome = (Vec<Vec<i64>>, Vec<usize>, Vec<usize>);

fn run(program: &[Vec<Op>], sim: &mut Sim) -> Outcome {
    let log = Rc::new(RefCell::new(Vec::new()));
    // Shared through `Rc`s that outlive the tasks: a task ending drops no sender, so
    // only the operations themselves touch the channels.
    let mut senders = Vec::new();
    let mut receivers = Vec::new();
    for c in 0..CHANNELS {
        let (tx, rx) = mpsc::unbounded_channel_named::<usize>(format!("ch{c}"));
        senders.push(tx);
        receivers.push(RefCell::new(rx));
    }
    let (senders, receivers) = (Rc::new(senders), Rc::new(receivers));
    let notes: Vec<Rc<RefCell<Vec<i64>>>> = program.iter().map(|_| Rc::new(RefCell::new(Vec::new()))).collect();
    for (t, ops) in program.iter().enumerate() {
        let (ops, log, notes) = (ops.clone(), log.clone(), notes[t].clone());
        let (senders, receivers) = (senders.clone(), receivers.clone());
        sim.spawn_named(format!("t{t}"), async move {
            for op in ops {
                match op {
                    Op::Sleep(ms) => sleep(Duration::from_millis(ms)).await,
                    Op::Send(c) => senders[c].send(t).unwrap(),
                    Op::TryRecv(c) => {
                        let got = receivers[c].borrow_mut().try_recv().ok();
                        notes.borrow_mut().push(got.map_or(-1, |v| v as i64));
                    }
                    Op::Len(c) => notes.borrow_mut().push(receivers[c].borrow().len() as i64),
                    Op::Append => {
                        touch("log");
                        log.borrow_mut().push(t);
                    }
                    Op::Yield => yield_now().await,
                    Op::Choose => notes.borrow_mut().push(choose(2) as i64),
                    Op::MaybeSend(c, on) => {
                        if choose(2) == on {
                            senders[c].send(t).unwrap();
                        }
                    }
                }
            }
        });
    }
    sim.run().unwrap();
    let noted = notes.iter().map(|n| n.borrow().clone()).collect();
    let left = receivers.iter().map(|r| r.borrow().len()).collect();
    let out = log.borrow().clone();
    (noted, out, left)
}

/// Every order (when there are at most `limit`), or `None`.
fn all_outcomes(program: &[Vec<Op>], limit: usize) -> Option<(usize, BTreeSet<Outcome>)> {
    let mut outcomes = BTreeSet::new();
    let e = explore_all(limit, |prefix| {
        let mut sim = Sim::new(Config::replay(prefix.clone()));
        outcomes.insert(run(program, &mut sim));
        sim.recorded_tape()
    });
    e.exhausted.then_some((e.runs, outcomes))
}

fn reduced_outcomes(program: &[Vec<Op>]) -> (usize, BTreeSet<Outcome>) {
    let mut outcomes = BTreeSet::new();
    let e = explore_reduced(100_000, |strategy| {
        let mut sim = Sim::with_strategy(Config::default(), strategy);
        outcomes.insert(run(program, &mut sim));
        false
    })
    .expect("generated programs are deterministic");
    assert!(e.exhausted);
    (e.runs, outcomes)
}

/// 200 generated programs of 2 or 3 tasks with up to 3 operations each, on two
/// channels and a declared log: the reduction reaches every outcome of plain
/// enumeration, in no more runs, and in fewer runs on most programs.
#[test]
fn the_reduction_reaches_every_outcome_of_plain_enumeration() {
    let config = ProptestConfig { cases: 200, failure_persistence: None, ..ProptestConfig::default() };
    let mut runner = TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    let (mut compared, mut smaller) = (0u32, 0u32);
    let counts = RefCell::new((&mut compared, &mut smaller));
    runner
        .run(&program(), |program| {
            let Some((all_runs, all)) = all_outcomes(&program, 20_000) else { return Ok(()) };
            let (reduced_runs, reduced) = reduced_outcomes(&program);
            prop_assert_eq!(&reduced, &all, "the reduction lost outcomes of {:?}", program);
            prop_assert!(reduced_runs <= all_runs);
            let mut c = counts.borrow_mut();
            *c.0 += 1;
            if reduced_runs < all_runs {
                *c.1 += 1;
            }
            Ok(())
        })
        .unwrap();
    assert!(compared >= 150, "most generated programs are small enough to enumerate ({compared})");
    assert!(smaller * 2 >= compared, "the reduction cuts most programs ({smaller} of {compared})");
}

/// Two reduced enumerations of one program run the same executions in the same
/// order (compared by fingerprint) and count the same steps.
#[test]
fn the_reduced_enumeration_is_deterministic() {
    let program = vec![
        vec![Op::Send(0), Op::Sleep(5), Op::TryRecv(1)],
        vec![Op::MaybeSend(1, 0), Op::Len(0), Op::Append],
        vec![Op::Sleep(5), Op::Append, Op::TryRecv(0)],
    ];
    let enumerate = || {
        let mut fingerprints = Vec::new();
        let e = explore_reduced(100_000, |strategy| {
            let mut sim = Sim::with_strategy(Config::default(), strategy);
            run(&program, &mut sim);
            fingerprints.push(sim.fingerprint());
            false
        })
        .unwrap();
        (e, fingerprints)
    };
    let (first, second) = (enumerate(), enumerate());
    assert!(first.0.exhausted && first.0.runs > 1);
    assert!(0 < first.0.replayed_steps && first.0.replayed_steps < first.0.steps);
    assert_eq!(first.1.len(), first.0.runs + first.0.redundant);
    assert_eq!(first, second);
}

/// Collecting footprints changes nothing in a run: the reduced enumeration's first
/// execution takes the canonical option everywhere and matches a FIFO run's trace.
#[test]
fn collecting_footprints_leaves_the_run_unchanged() {
    let program = vec![vec![Op::Send(0), Op::Yield, Op::TryRecv(0)], vec![Op::Sleep(5), Op::Append], vec![Op::Len(0)]];
    let mut fifo = Sim::new(Config::default());
    let expected = run(&program, &mut fifo);
    let mut first = None;
    explore_reduced(1, |strategy| {
        let mut sim = Sim::with_strategy(Config::default(), strategy);
        let outcome = run(&program, &mut sim);
        first.get_or_insert((outcome, sim.fingerprint()));
        false
    })
    .unwrap();
    assert_eq!(first, Some((expected, fifo.fingerprint())));
}

/// A program that does not replay its own prefix (here, one that spawns a task
/// more on every other execution) is reported, not explored wrongly.
#[test]
fn a_program_that_does_not_replay_its_prefix_is_reported() {
    use sim_core::strategy::exhaustive::ExploreError;
    let executions = std::cell::Cell::new(0usize);
    let result = explore_reduced(100, |strategy| {
        let mut sim = Sim::with_strategy(Config::default(), strategy);
        let tasks = 2 + executions.get() % 2;
        executions.set(executions.get() + 1);
        for t in 0..tasks {
            sim.spawn_named(format!("t{t}"), async move {
                touch("log");
            });
        }
        sim.run().unwrap();
        false
    });
    assert_eq!(result, Err(ExploreError::Nondeterministic { run: 2, depth: 0 }));
    assert!(result.unwrap_err().to_string().contains("the program is not deterministic"));
}
