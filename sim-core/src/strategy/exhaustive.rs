//! Depth-first enumeration of every order.
//!
//! Each run is driven by a tape prefix (replayed, then canonical) and reports the full
//! tape it recorded. The next prefix flips the deepest choice that still has an
//! untried option. Runs are distinct by construction, and when the enumeration ends
//! every reachable sequence of choices has been run exactly once.

use std::cell::RefCell;
use std::ops::ControlFlow;
use std::rc::Rc;

use super::{Candidate, ChoiceKind, ChoicePoint, Policy, Strategy};
use crate::access::Footprint;
use crate::identity::EventKey;
use crate::{Choice, Tape};

/// The result of an exhaustive enumeration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exploration {
    /// Number of runs (distinct choice sequences) explored.
    pub runs: usize,
    /// Whether every order was explored (false when the bound cut it short).
    pub exhausted: bool,
}

/// Runs `run` once for every distinct sequence of choices, up to `max_runs` runs.
///
/// `run` receives the tape prefix to replay and must return the **full** tape its
/// run recorded (see [`Sim::recorded_tape`](crate::Sim::recorded_tape)).
pub fn explore_all(max_runs: usize, mut run: impl FnMut(&Tape) -> Tape) -> Exploration {
    explore_all_until(max_runs, |prefix| ControlFlow::Continue(run(prefix)))
}

/// [`explore_all`] that stops (not exhausted) when `run` breaks; the run that broke
/// is not counted.
pub(crate) fn explore_all_until(max_runs: usize, mut run: impl FnMut(&Tape) -> ControlFlow<(), Tape>) -> Exploration {
    let mut prefix = Tape::new();
    let mut runs = 0;
    loop {
        if runs == max_runs {
            return Exploration { runs, exhausted: false };
        }
        let ControlFlow::Continue(recorded) = run(&prefix) else {
            return Exploration { runs, exhausted: false };
        };
        runs += 1;
        match next_prefix(&recorded) {
            Some(next) => prefix = next,
            None => return Exploration { runs, exhausted: true },
        }
    }
}

/// The prefix of the next run after one that recorded `tape`, or `None` when done.
pub(crate) fn next_prefix(tape: &Tape) -> Option<Tape> {
    let choices = tape.choices();
    let pos = choices.iter().rposition(|c| c.index + 1 < c.options)?;
    let mut next = choices[..pos].to_vec();
    next.push(Choice { options: choices[pos].options, index: choices[pos].index + 1 });
    Some(Tape::from_choices(next))
}

// ---- with partial-order reduction ----

/// The result of an exhaustive enumeration with partial-order reduction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReducedExploration {
    /// Complete runs explored, one per class of orders that differ only in the order
    /// of commuting events.
    pub runs: usize,
    /// Runs cut short as redundant (every event due was already covered by an
    /// explored order: "sleep-set blocked"); not counted in `runs`.
    pub redundant: usize,
    /// Complete runs that failed (redundant ones are not counted: they repeat a
    /// class already run).
    pub failing: usize,
    /// The number (from 1, among complete runs) of the first that failed.
    pub first_failing: Option<usize>,
    /// Whether the whole space was explored (false when the bound cut it short).
    pub exhausted: bool,
    /// Steps executed over all runs, redundant ones included.
    pub steps: u64,
    /// Of those, steps that re-executed a prefix already executed by an earlier run
    /// (up to the choice point a run flips): what resuming saved prefixes instead of
    /// re-running from the start could save at most.
    pub replayed_steps: u64,
}

/// Why a reduced enumeration could not go on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExploreError {
    /// Re-running a recorded prefix of choices met a different choice point: the
    /// program is not deterministic (see [`crate::determinism`]).
    Nondeterministic {
        /// The run (from 1) that diverged.
        run: usize,
        /// The choice point (from 0) where it diverged.
        depth: usize,
    },
}

impl std::fmt::Display for ExploreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExploreError::Nondeterministic { run, depth } => write!(
                f,
                "run {run} did not replay its recorded prefix (choice point {depth} differed): \
                 the program is not deterministic"
            ),
        }
    }
}

impl std::error::Error for ExploreError {}

#[derive(Clone, Debug)]
enum Options {
    /// A scheduling choice among these events.
    Events(Vec<EventKey>),
    /// A code-level choice (select, choose) among this many options.
    Values(usize),
}

/// An event asleep: an order that starts with it here is covered by an order
/// explored before. It stays asleep while the steps taken commute with it.
#[derive(Clone, Debug)]
struct Sleeper {
    event: EventKey,
    /// What the event touched when it ran from the node where it fell asleep (over
    /// every run that took it there).
    footprint: Footprint,
}

#[derive(Clone, Debug)]
struct Node {
    options: Options,
    taken: usize,
    /// Events asleep on entry.
    sleep: Vec<Sleeper>,
    done: Vec<usize>,
    /// For a scheduling choice: what each option touched, merged over the runs that
    /// took it (with every selection inside it explored, once it is done).
    footprints: Vec<Footprint>,
}

impl Node {
    fn new(options: Options, sleep: Vec<Sleeper>) -> Node {
        let n = match &options {
            Options::Events(events) => events.len(),
            Options::Values(_) => 0,
        };
        Node { options, taken: 0, sleep, done: Vec::new(), footprints: vec![Footprint::default(); n] }
    }

    /// The sleep set below this node once `taken` has run and touched `footprint`:
    /// the events asleep here and the options already explored, less those that
    /// do not commute with it.
    fn sleep_below(&self, footprint: &Footprint) -> Vec<Sleeper> {
        let Options::Events(events) = &self.options else {
            return Vec::new();
        };
        let taken = events[self.taken];
        self.sleep
            .iter()
            .cloned()
            .chain(self.done.iter().map(|&j| Sleeper { event: events[j], footprint: self.footprints[j].clone() }))
            .filter(|s| s.event != taken && !s.footprint.conflicts_with(footprint))
            .collect()
    }

    fn next_untried(&self) -> Option<usize> {
        let n = match &self.options {
            Options::Events(events) => events.len(),
            Options::Values(n) => *n,
        };
        (0..n).find(|j| {
            !self.done.contains(j)
                && match &self.options {
                    Options::Events(events) => !self.sleep.iter().any(|s| s.event == events[*j]),
                    Options::Values(_) => true,
                }
        })
    }
}

#[derive(Default)]
struct Search {
    path: Vec<Node>,
    /// Nodes whose choice is forced in this run (the prefix being replayed).
    forced: usize,
    depth: usize,
    sleep: Vec<Sleeper>,
    /// The scheduling node whose chosen event is running in the current step.
    running: Option<usize>,
    /// Steps of this run so far.
    steps: u64,
    /// The step of the deepest forced choice point met in this run.
    flipped_at: u64,
    blocked: bool,
    diverged: Option<usize>,
}

/// The strategy that drives one run of the reduced search.
struct SleepSets(Rc<RefCell<Search>>);

impl Policy for SleepSets {
    fn wants_candidates(&self) -> bool {
        true
    }

    fn wants_footprints(&self) -> bool {
        true
    }

    fn observe(&mut self, event: &Candidate) {
        let mut s = self.0.borrow_mut();
        if s.sleep.iter().any(|z| z.event == event.event) {
            s.blocked = true;
        }
        s.running = None;
    }

    fn after_step(&mut self, footprint: &Footprint) {
        let mut guard = self.0.borrow_mut();
        let s = &mut *guard;
        s.steps += 1;
        if s.blocked {
            return;
        }
        match s.running.take() {
            Some(d) => {
                let node = &mut s.path[d];
                let taken = node.taken;
                if let Some(f) = node.footprints.get_mut(taken) {
                    f.merge(footprint);
                }
                s.sleep = node.sleep_below(footprint);
            }
            None => s.sleep.retain(|z| !z.footprint.conflicts_with(footprint)),
        }
    }

    fn choose(&mut self, point: &ChoicePoint<'_>) -> usize {
        let mut guard = self.0.borrow_mut();
        let s = &mut *guard;
        let d = s.depth;
        s.depth += 1;
        let schedule = point.kind == ChoiceKind::Schedule;
        let options = match point.kind {
            ChoiceKind::Schedule => Options::Events(point.candidates.iter().map(|c| c.event).collect()),
            _ => Options::Values(point.options),
        };
        if d < s.forced {
            let node = &s.path[d];
            let same = match (&node.options, &options) {
                (Options::Events(a), Options::Events(b)) => a == b,
                (Options::Values(a), Options::Values(b)) => a == b,
                _ => false,
            };
            if !same && s.diverged.is_none() {
                s.diverged = Some(d);
            }
            let taken = node.taken.min(point.options - 1);
            s.flipped_at = point.step;
            if schedule {
                s.running = Some(d);
            }
            return taken;
        }
        if s.blocked {
            // A redundant run: nothing below it is explored.
            return 0;
        }
        let sleep = if schedule { std::mem::take(&mut s.sleep) } else { Vec::new() };
        let mut node = Node::new(options, sleep);
        match node.next_untried() {
            Some(j) => node.taken = j,
            None => s.blocked = true,
        }
        let taken = node.taken;
        s.path.push(node);
        if schedule && !s.blocked {
            s.running = Some(s.path.len() - 1);
        }
        taken
    }

    fn describe(&self) -> String {
        "exhaustive(sleep sets)".to_string()
    }
}

/// Runs `run` once per class of orders, where orders that differ only in the order
/// of commuting steps form one class, up to `max_runs` complete runs.
///
/// This is depth-first search with sleep sets (Godefroid): after exploring the
/// orders that begin with event `a` at a choice point, a sibling `b` that commutes
/// with `a` is explored with `a` asleep, so `b;a` is never explored again after
/// `a;b`. Two steps commute when their [footprints](crate::tooling::footprint) do not
/// conflict: the engine records every channel, timer and task a step touches and
/// every task it wakes, and memory shared outside Lockstep's primitives counts only
/// where code declares it with [`touch`](crate::footprint::touch). An asleep event
/// carries the footprint it had when it ran from the node where it fell asleep, and
/// wakes up as soon as a step that conflicts with it runs. Code-level choices
/// (selections, [`choose`](crate::choose)) are always explored in full, and an
/// event's footprint covers every selection made inside it.
///
/// Each run re-executes the program from the start with the recorded prefix of
/// choices: futures cannot be snapshotted, so a prefix cannot be resumed, and a run
/// costs a whole execution (see `docs/exploration.md` for what that costs).
///
/// `run` receives the strategy for the run; it builds the simulation with
/// [`sim_with`](crate::tooling::strategy::sim_with), runs it to the end and says
/// whether the run failed (counted in [`ReducedExploration::failing`] once per
/// class).
///
/// # Errors
/// [`ExploreError::Nondeterministic`] when re-running a prefix met different choices.
pub fn explore_reduced(
    max_runs: usize,
    mut run: impl FnMut(Box<dyn Strategy>) -> bool,
) -> Result<ReducedExploration, ExploreError> {
    explore_reduced_until(max_runs, |strategy| ControlFlow::Continue(run(strategy)))
}

/// [`explore_reduced`] that stops (not exhausted) when `run` breaks; the run that
/// broke is not counted.
pub(crate) fn explore_reduced_until(
    max_runs: usize,
    mut run: impl FnMut(Box<dyn Strategy>) -> ControlFlow<(), bool>,
) -> Result<ReducedExploration, ExploreError> {
    let search = Rc::new(RefCell::new(Search::default()));
    let (mut runs, mut redundant, mut executions) = (0, 0, 0);
    let (mut steps, mut replayed_steps) = (0, 0);
    let (mut failing, mut first_failing) = (0, None);
    loop {
        if runs == max_runs {
            return Ok(ReducedExploration {
                runs,
                redundant,
                failing,
                first_failing,
                exhausted: false,
                steps,
                replayed_steps,
            });
        }
        {
            let mut s = search.borrow_mut();
            s.depth = 0;
            s.sleep.clear();
            s.running = None;
            s.steps = 0;
            s.flipped_at = 0;
            s.blocked = false;
            s.diverged = None;
        }
        let flow = run(Box::new(SleepSets(search.clone())));
        executions += 1;
        let mut s = search.borrow_mut();
        let ControlFlow::Continue(failed) = flow else {
            steps += s.steps;
            return Ok(ReducedExploration {
                runs,
                redundant,
                failing,
                first_failing,
                exhausted: false,
                steps,
                replayed_steps,
            });
        };
        if let Some(depth) = s.diverged {
            return Err(ExploreError::Nondeterministic { run: executions, depth });
        }
        if s.blocked {
            redundant += 1;
        } else {
            runs += 1;
            if failed {
                failing += 1;
                first_failing.get_or_insert(runs);
            }
        }
        steps += s.steps;
        replayed_steps += s.flipped_at.saturating_sub(1);
        // Backtrack to the deepest node with an untried, awake option.
        loop {
            let Some(node) = s.path.last_mut() else {
                return Ok(ReducedExploration {
                    runs,
                    redundant,
                    failing,
                    first_failing,
                    exhausted: true,
                    steps,
                    replayed_steps,
                });
            };
            node.done.push(node.taken);
            if let Some(j) = node.next_untried() {
                node.taken = j;
                s.forced = s.path.len();
                break;
            }
            s.path.pop();
        }
    }
}
