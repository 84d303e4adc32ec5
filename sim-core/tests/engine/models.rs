//! The two models of the world: `Model::Any` (every order of same-instant events) and
//! `Model::Tokio` (tokio's current-thread order only), and the label every run and
//! failure carries saying whether its order is tokio-reachable.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sim_core::check::Check;
use sim_core::select::{select, Either};
use sim_core::sync::mpsc;
use sim_core::time::sleep;
use sim_core::tooling::strategy::explore_all;
use sim_core::{fail, Config, Failure, Fingerprint, Model, Sim, Tape, TokioReach, TraceMode};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Every run of `program` under `model` (at most 100,000): how many, and for each its
/// outcome, fingerprint and tokio label, and its steps.
struct Runs<T> {
    count: usize,
    runs: Vec<(T, Fingerprint, TokioReach)>,
    steps: Vec<Steps>,
}

/// A run's trace lines without their choice annotations (`[choice 1 of 2]`): what the
/// run did, comparable across models (a fingerprint also covers the annotations, and
/// a step that is a choice point in one model is forced in the other).
type Steps = Vec<String>;

fn steps(sim: &Sim) -> Steps {
    sim.trace()
        .lines
        .into_iter()
        .map(|mut line| {
            line.choice = None;
            line.to_string()
        })
        .collect()
}

fn enumerate<T>(model: Model, program: impl Fn(&mut Sim) -> T) -> Runs<T> {
    let mut runs = Vec::new();
    let mut all_steps = Vec::new();
    let exploration = explore_all(100_000, |prefix| {
        let mut sim = Sim::new(Config::replay(prefix.clone()).model(model).trace(TraceMode::Full));
        let outcome = program(&mut sim);
        assert!(!sim.tape_diverged(), "a prefix from the same program must replay exactly");
        runs.push((outcome, sim.fingerprint(), sim.tokio_model()));
        all_steps.push(steps(&sim));
        sim.recorded_tape()
    });
    assert!(exploration.exhausted, "enumeration hit its bound");
    Runs { count: exploration.runs, runs, steps: all_steps }
}

impl<T: Clone + Ord> Runs<T> {
    fn outcomes(&self) -> BTreeSet<T> {
        self.runs.iter().map(|(o, _, _)| o.clone()).collect()
    }

    /// The outcome and steps of each run labelled reachable, sorted.
    fn reachable(&self) -> Vec<(T, Steps)> {
        let mut out: Vec<_> = self
            .runs
            .iter()
            .zip(&self.steps)
            .filter(|((_, _, r), _)| r.is_reachable())
            .map(|((o, _, _), s)| (o.clone(), s.clone()))
            .collect();
        out.sort();
        out
    }

    /// The outcome and steps of every run, sorted.
    fn all(&self) -> Vec<(T, Steps)> {
        let mut out: Vec<_> = self.runs.iter().zip(&self.steps).map(|((o, _, _), s)| (o.clone(), s.clone())).collect();
        out.sort();
        out
    }
}

/// Tasks named `names`, each sleeping 10 ms then appending its name; `a` then also
/// appends a value it draws with `choose(2)` when `draw` is set.
fn sleepers(names: &'static [&'static str], draw: bool) -> impl Fn(&mut Sim) -> Vec<String> {
    move |sim| {
        let log = Rc::new(RefCell::new(Vec::new()));
        for &name in names {
            let log = log.clone();
            sim.spawn_named(name, async move {
                sleep(ms(10)).await;
                log.borrow_mut().push(name.to_string());
                if draw && name == "a" {
                    log.borrow_mut().push(sim_core::choose(2).to_string());
                }
            });
        }
        sim.run().unwrap();
        let out = log.borrow().clone();
        out
    }
}

/// Two tasks `a`, `b` that sleep 10 ms. `Model::Any`: the two polls at t = 0 in 2
/// orders; at 10 ms two firings and two polls, each poll after its own firing:
/// 4! / (2 * 2) = 6 interleavings; 2 * 6 = 12 orders, outcomes `ab` and `ba`.
/// `Model::Tokio`: polls in spawn order (a, b), then both timers fire in registration
/// order (a's, b's) before any task runs, then the tasks in wake-up order (a, b):
/// 1 order, outcome `ab`. Exactly one of the 12 `Any` orders is that one.
#[test]
fn two_sleepers_have_12_orders_in_any_and_1_in_tokio() {
    let program = sleepers(&["a", "b"], false);
    let any = enumerate(Model::Any, &program);
    assert_eq!(any.count, 12);
    assert_eq!(any.outcomes(), BTreeSet::from([vec!["a".into(), "b".into()], vec!["b".into(), "a".into()]]));
    let tokio = enumerate(Model::Tokio, &program);
    assert_eq!(tokio.count, 1);
    assert_eq!(tokio.outcomes(), BTreeSet::from([vec!["a".to_string(), "b".to_string()]]));
    assert!(tokio.runs.iter().all(|(_, _, r)| *r == TokioReach::Reachable));
    // The one `Any` order labelled reachable is the tokio model's run, step for step.
    assert_eq!(any.reachable(), tokio.all());
}

/// The same with `a` drawing `choose(2)` after it wakes: a code-level choice stays a
/// choice in both models. `Any`: 12 * 2 = 24; `Tokio`: 1 * 2 = 2, outcomes `a0b`, `a1b`.
#[test]
fn code_level_choices_remain_in_the_tokio_model() {
    let program = sleepers(&["a", "b"], true);
    assert_eq!(enumerate(Model::Any, &program).count, 24);
    let tokio = enumerate(Model::Tokio, &program);
    assert_eq!(tokio.count, 2);
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert_eq!(tokio.outcomes(), BTreeSet::from([s(&["a", "0", "b"]), s(&["a", "1", "b"])]));
    let any = enumerate(Model::Any, &program);
    assert_eq!(any.reachable(), tokio.all(), "the reachable Any orders are exactly the tokio model's");
}

/// Three sleepers: 540 orders in `Any` (derived in `orders.rs`), 1 in `Tokio` (spawn
/// order, then the three firings in registration order, then the tasks in wake-up
/// order), and exactly one of the 540 is labelled reachable: that one.
#[test]
fn three_sleepers_have_540_orders_in_any_and_1_in_tokio() {
    let program = sleepers(&["a", "b", "c"], false);
    let any = enumerate(Model::Any, &program);
    assert_eq!(any.count, 540);
    let tokio = enumerate(Model::Tokio, &program);
    assert_eq!(tokio.count, 1);
    assert_eq!(tokio.runs[0].0, ["a", "b", "c"]);
    assert_eq!(any.reachable(), tokio.all());
}

// ---- a failure reachable only outside the tokio model ----

const PERIOD: Duration = Duration::from_millis(50);

/// The crate tutorial's buggy throttle: it hands an item on, then arms its cooldown
/// timer; the timer's firing ends the cooldown.
async fn buggy_throttle(mut input: mpsc::Receiver<u32>, output: mpsc::Sender<u32>) {
    let mut cooldown = None;
    loop {
        let item = match cooldown.as_mut() {
            None => input.recv().await,
            Some(timer) => match select(input.recv(), timer).await {
                Either::Left(Some(_dropped)) => continue,
                Either::Left(None) => None,
                Either::Right(()) => {
                    cooldown = None;
                    continue;
                }
            },
        };
        let Some(item) = item else { return };
        output.send(item).await.unwrap();
        cooldown = Some(sleep(PERIOD));
    }
}

/// The tutorial's world: a driver sends 1, receives it, sleeps 50 ms, sends 6 and
/// waits for it. At 50 ms the throttle's timer (set first, at 0 s) and the driver's
/// fall on the same instant.
fn throttle_world(sim: &mut Sim) -> Result<(), Box<Failure>> {
    let (in_tx, in_rx) = sim.enter(|| sim_core::named("in", || mpsc::channel(1)));
    let (out_tx, mut out_rx) = sim.enter(|| sim_core::named("out", || mpsc::channel(1)));
    sim.spawn_named("throttle", buggy_throttle(in_rx, out_tx));
    sim.spawn_named("driver", async move {
        in_tx.send(1).await.unwrap();
        assert_eq!(out_rx.recv().await, Some(1));
        sleep(PERIOD).await;
        in_tx.send(6).await.unwrap();
        assert_eq!(out_rx.recv().await, Some(6));
    });
    sim.run()
}

/// In tokio's order the throttle's timer (registered first) fires before the
/// driver's, and the throttle (woken first) runs before the driver: the cooldown has
/// ended when 6 arrives, so 6 passes. The throttle's `select` never sees two ready
/// branches in that order (at 50 ms only its timer is ready; at the end only the
/// closed input), so the tokio model has exactly 1 order, and it passes. The hang
/// needs the driver's timer to fire first: reachable only outside the tokio model.
#[test]
fn the_throttle_hang_is_reachable_only_outside_the_tokio_model() {
    let tokio = enumerate(Model::Tokio, |sim| throttle_world(sim).is_ok());
    assert_eq!(tokio.count, 1);
    assert_eq!(tokio.outcomes(), BTreeSet::from([true]));

    // Every failing order of the full enumeration is labelled not reachable, and the
    // one reachable order is the tokio model's passing run.
    let any = enumerate(Model::Any, |sim| throttle_world(sim).is_ok());
    assert!(any.outcomes().contains(&false), "the race is there outside the tokio model");
    for (passed, _, reach) in &any.runs {
        assert!(*passed || !reach.is_reachable(), "a failing order labelled reachable: {reach}");
    }
    assert_eq!(any.reachable(), tokio.all());

    // The tutorial's seed 3 fails; its report says why tokio cannot take its order:
    // at 50 ms the driver's timer (1) fired before the throttle's (0).
    let mut sim = Sim::new(Config::random(3).name("models::throttle_hang"));
    let failure = throttle_world(&mut sim).expect_err("seed 3 hangs (see the crate tutorial)");
    let reason = "timer 1 fired before timer 0, set earlier, both due at 50ms; tokio fires them in registration order";
    assert_eq!(failure.tokio_model, TokioReach::NotReachable { reason: reason.to_string() });
    assert!(failure.to_string().contains(&format!("\n  tokio model: not reachable ({reason})\n")), "{failure}");
    assert_eq!(failure.model, Model::Any);
}

/// A run that lets a task in between two timers due at the same instant: the label
/// names it. At 50 ms the throttle's timer fires, then (choice 2 of 2) the throttle
/// runs before the driver's timer fires. That order passes; it is simply not tokio's.
#[test]
fn a_task_between_two_timers_is_named() {
    // Find, among all orders, the runs whose first departure is that one.
    let any = enumerate(Model::Any, |sim| throttle_world(sim).is_ok());
    let between: Vec<_> = any
        .runs
        .iter()
        .filter(|(_, _, r)| r.to_string() == "not reachable (task `throttle` ran between two timers due at 50ms)")
        .collect();
    assert!(!between.is_empty());
}

// ---- a failure reachable in both models ----

/// A worker waits for one message with a 50 ms deadline (its timer, set first); the
/// producer sleeps 50 ms (its timer, set second) and sends. In tokio's order both
/// timers fire, the worker (woken first) runs, finds only its deadline ready and
/// calls the message late: the failure is reachable in the tokio model. Outside it,
/// orders where the producer sends first pass (or fail by the select's own choice).
fn deadline_world(sim: &mut Sim) -> Result<(), Box<Failure>> {
    let (tx, mut rx) = sim.enter(|| sim_core::named("msgs", || mpsc::channel(1)));
    sim.spawn_named("worker", async move {
        let deadline = sleep(ms(50));
        if let Either::Right(()) = select(rx.recv(), deadline).await {
            fail("the message sent at the deadline was treated as late");
        }
    });
    sim.spawn_named("producer", async move {
        sleep(ms(50)).await;
        tx.send(1).await.unwrap();
    });
    sim.run()
}

#[test]
fn the_deadline_race_is_reachable_in_both_models() {
    // The tokio model has one order (no select sees two ready branches in it), and it fails.
    let tokio = enumerate(Model::Tokio, |sim| deadline_world(sim).is_ok());
    assert_eq!(tokio.count, 1);
    assert_eq!(tokio.outcomes(), BTreeSet::from([false]));

    // Outside it, both outcomes; the one reachable order is tokio's failing run.
    let any = enumerate(Model::Any, |sim| deadline_world(sim).is_ok());
    assert_eq!(any.outcomes(), BTreeSet::from([false, true]));
    assert_eq!(any.reachable(), tokio.all());

    // The canonical order of `Model::Any` is tokio's here: its report says reachable.
    let mut sim = Sim::new(Config::default().name("models::deadline"));
    let failure = deadline_world(&mut sim).expect_err("the canonical order fails");
    assert_eq!(failure.tokio_model, TokioReach::Reachable);
    assert!(failure.to_string().contains("\n  tokio model: reachable\n"), "{failure}");

    // Under the tokio model every seed fails the same way, labelled reachable.
    for seed in 0..20 {
        let mut sim = Sim::new(Config::random(seed).model(Model::Tokio));
        let failure = deadline_world(&mut sim).expect_err("tokio's order fails");
        assert_eq!(failure.fingerprint, tokio.runs[0].1);
        assert_eq!(failure.tokio_model, TokioReach::Reachable);
        assert!(failure.to_string().contains("  seed: "), "{failure}");
        assert!(failure.to_string().contains("  model: tokio\n"), "{failure}");
    }
}

/// A raw `Sim` failure under the tokio model prints a replay snippet that sets the
/// model; run as printed (its tape parsed, the model set), it reproduces the failure.
#[test]
fn a_raw_tokio_model_failure_replays_as_printed() {
    let mut sim = Sim::new(Config::random(5).model(Model::Tokio));
    let failure = deadline_world(&mut sim).expect_err("tokio's order fails");
    let tape = failure.tape.to_string();
    assert_eq!(failure.replay, format!("Sim::new(Config::replay({tape:?}.parse()?).model(Model::Tokio))"));
    let parsed: Tape = tape.parse().unwrap();
    let mut replayed = Sim::new(Config::replay(parsed).model(Model::Tokio));
    let again = deadline_world(&mut replayed).expect_err("the replay fails the same way");
    assert_eq!(again.fingerprint, failure.fingerprint);
    assert!(!replayed.tape_diverged());
}

// ---- determinism ----

/// Two producers race into one channel; the receiver's `select` over the channel and a
/// timer due at the same instant is a code-level choice in the tokio model. A seed run
/// twice gives the same fingerprint and outcome, and seeds do explore the choice.
fn select_world(sim: &mut Sim) -> Vec<&'static str> {
    let log = Rc::new(RefCell::new(Vec::new()));
    let (tx, mut rx) = sim.enter(|| sim_core::named("c", || mpsc::channel(4)));
    for name in ["p1", "p2"] {
        let tx = tx.clone();
        sim.spawn_named(name, async move {
            sleep(ms(10)).await;
            tx.send(name).await.unwrap();
        });
    }
    drop(tx);
    let l = log.clone();
    sim.spawn_named("receiver", async move {
        let timer = sleep(ms(10));
        sleep(ms(20)).await;
        match select(rx.recv(), timer).await {
            Either::Left(Some(v)) => l.borrow_mut().push(v),
            Either::Left(None) => l.borrow_mut().push("closed"),
            Either::Right(()) => l.borrow_mut().push("timer"),
        }
    });
    sim.run().unwrap();
    let out = log.borrow().clone();
    out
}

#[test]
fn a_seed_run_twice_gives_the_same_fingerprint_in_the_tokio_model() {
    let mut outcomes = BTreeSet::new();
    for seed in 0..32 {
        let run = |seed| {
            let mut sim = Sim::new(Config::random(seed).model(Model::Tokio));
            let out = select_world(&mut sim);
            (out, sim.fingerprint(), sim.tape().to_string())
        };
        let (first, second) = (run(seed), run(seed));
        assert_eq!(first, second, "seed {seed}");
        outcomes.insert(first.0);
    }
    // At 20 ms the receiver's `select` finds "p1" in the channel (p1 and p2 sent at
    // 10 ms in that order) and its 10 ms timer fired: two ready branches, a choice of
    // 2 that seeds explore.
    assert_eq!(outcomes, BTreeSet::from([vec!["p1"], vec!["timer"]]));
}

/// `check` takes the model from its template: every seed's run is tokio's order.
#[test]
fn check_runs_in_the_model_of_its_template() {
    let summary = Check::random(8).name("models::check").sim(Config::default().model(Model::Tokio)).run(|| async {
        // The deadline world's two tasks, spawned by `main` (which tokio polls
        // first at t = 0 and which waits on the joins after).
        let (tx, mut rx) = sim_core::named("msgs", || mpsc::channel(1));
        let worker = sim_core::spawn(async move {
            let deadline = sleep(ms(50));
            if let Either::Right(()) = select(rx.recv(), deadline).await {
                fail("late");
            }
        });
        let producer = sim_core::spawn(async move {
            sleep(ms(50)).await;
            let _ = tx.send(1).await;
        });
        let _ = worker.await;
        let _ = producer.await;
    });
    let failure = summary.failure().expect("tokio's order fails");
    assert_eq!(failure.seed, Some(0));
    assert_eq!(failure.tokio_model, TokioReach::Reachable);
    assert_eq!(failure.model, Model::Tokio);
}

// ---- the tokio model against tokio itself ----

/// One program, written once for tokio and once for Lockstep by this macro, that logs
/// the order in which its tasks run. Together its steps exercise every rule of the
/// tokio model: the `block_on` future first after a driver turn, due timers before
/// tasks and in registration order, the run queue in wake-up order, `yield_now`
/// deferred to the next turn, and a sleep already due completing within the poll.
macro_rules! order_program {
    ($spawn:path, $sleep:path, $yield_now:path, $channel:path) => {{
        let log = Arc::new(Mutex::new(Vec::<String>::new()));
        let out = log.clone();
        let push = move |s: String| log.lock().unwrap().push(s);
        async move {
            let (tx, mut rx) = $channel(8);
            let p = push.clone();
            let tx_a = tx.clone();
            let a = $spawn(async move {
                p("a: start".into());
                $sleep(ms(10)).await;
                p("a: woke".into());
                tx_a.send(1).await.unwrap();
                $yield_now().await;
                p("a: after yield".into());
            });
            let p = push.clone();
            let b = $spawn(async move {
                p("b: start".into());
                $sleep(ms(10)).await;
                p("b: woke".into());
                $sleep(ms(0)).await;
                p("b: after sleep(0)".into());
            });
            let p = push.clone();
            let c = $spawn(async move {
                p("c: start".into());
                while let Some(v) = rx.recv().await {
                    p(format!("c: got {v}"));
                }
                p("c: closed".into());
            });
            push("main: spawned".into());
            $sleep(ms(10)).await;
            push("main: woke".into());
            tx.send(2).await.unwrap();
            $yield_now().await;
            push("main: after yield".into());
            drop(tx);
            a.await.unwrap();
            b.await.unwrap();
            c.await.unwrap();
            push("main: done".into());
            let log = out.lock().unwrap().clone();
            log
        }
    }};
}

/// The order, derived by hand from tokio's scheduler (see `sim_core::model`):
/// t = 0: `main` first (block_on starts woken): spawns a, b, c, sets its timer (1st);
/// then the queue a, b, c: each starts, a and b set timers (2nd, 3rd), c waits.
/// 10 ms: the three timers fire in registration order (main, a, b) before any task;
/// `main` first after the turn: sends 2 (wakes c, queued after a and b), yields
/// (deferred). Queue: a sends 1 and yields (deferred); b's `sleep(0)` is already due
/// and completes in the same poll; c gets 2 and 1. Queue empty: the driver turns and
/// the deferred wake-ups come back, main's first: main polled first, drops its
/// sender; a ends (dropping the last sender: c woken, then main by the join); c sees
/// the channel closed; the queue drains and main, polled after the turn, ends.
const TOKIO_ORDER: [&str; 14] = [
    "main: spawned",
    "a: start",
    "b: start",
    "c: start",
    "main: woke",
    "a: woke",
    "b: woke",
    "b: after sleep(0)",
    "c: got 2",
    "c: got 1",
    "main: after yield",
    "a: after yield",
    "c: closed",
    "main: done",
];

#[test]
fn tokio_itself_takes_the_order_derived_by_hand() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
    let log = rt.block_on(order_program!(
        tokio::spawn,
        tokio::time::sleep,
        tokio::task::yield_now,
        tokio::sync::mpsc::channel
    ));
    assert_eq!(log, TOKIO_ORDER);
}

#[test]
fn the_tokio_model_takes_tokios_order() {
    let run = |config: Config| {
        let mut sim = Sim::new(config);
        let log = sim.block_on(order_program!(sim_core::spawn, sleep, sim_core::yield_now, mpsc::channel)).unwrap();
        (log, sim.tokio_model())
    };
    let (log, reach) = run(Config::default().model(Model::Tokio));
    assert_eq!(log, TOKIO_ORDER);
    assert_eq!(reach, TokioReach::Reachable);
    // Outside the model, runs that leave tokio's order say so (and may log otherwise).
    let departed: Vec<_> = (0..20).map(|seed| run(Config::random(seed))).filter(|(_, r)| !r.is_reachable()).collect();
    assert!(!departed.is_empty());
    assert!(departed.iter().all(|(_, r)| r.to_string().starts_with("not reachable (")));
}

/// `main` spawns 100 tasks that each log their number, then yields. tokio runs at
/// most 61 tasks (`event_interval`) before its driver turns; the turn brings back the
/// deferred yield, and `main`, polled first after a turn, logs between task 60 and
/// task 61. (Were the interval not modelled, `main` would log after task 99.)
macro_rules! interval_program {
    ($spawn:path, $yield_now:path) => {{
        let log = Arc::new(Mutex::new(Vec::<String>::new()));
        async move {
            let mut handles = Vec::new();
            for i in 0..100 {
                let log = log.clone();
                handles.push($spawn(async move { log.lock().unwrap().push(format!("t{i}")) }));
            }
            $yield_now().await;
            log.lock().unwrap().push("main".into());
            for h in handles {
                h.await.unwrap();
            }
            let out = log.lock().unwrap().clone();
            out
        }
    }};
}

fn interval_order() -> Vec<String> {
    let mut order: Vec<String> = (0..100).map(|i| format!("t{i}")).collect();
    order.insert(61, "main".into());
    order
}

#[test]
fn tokio_and_the_tokio_model_turn_the_driver_every_61_tasks() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
    assert_eq!(rt.block_on(interval_program!(tokio::spawn, tokio::task::yield_now)), interval_order());
    let mut sim = Sim::new(Config::default().model(Model::Tokio));
    assert_eq!(sim.block_on(interval_program!(sim_core::spawn, sim_core::yield_now)).unwrap(), interval_order());
}

/// A task spawned before `block_on` is queued first, so the canonical order of
/// `Model::Any` polls it first; tokio polls the `block_on` future first. The label says so.
#[test]
fn a_task_run_before_the_block_on_future_is_named() {
    let mut sim = Sim::new(Config::default());
    sim.spawn_named("worker", async {});
    sim.block_on(async {}).unwrap();
    assert_eq!(
        sim.tokio_model().to_string(),
        "not reachable (task `worker` ran at 0s before task `main`, the block_on future; \
         tokio polls it first after each driver turn)"
    );
    let mut sim = Sim::new(Config::default().model(Model::Tokio));
    let order = Rc::new(RefCell::new(Vec::new()));
    let o = order.clone();
    sim.spawn_named("worker", async move { o.borrow_mut().push("worker") });
    let o = order.clone();
    sim.block_on(async move { o.borrow_mut().push("main") }).unwrap();
    // `main` ran first and ended the `block_on` before the worker's turn, as in tokio.
    assert_eq!(*order.borrow(), ["main"]);
    assert_eq!(sim.tokio_model(), TokioReach::Reachable);
}
