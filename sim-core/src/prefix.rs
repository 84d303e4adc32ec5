//! Checking that runs of one program replay what they share: two runs that made the
//! same choices up to a choice point must have done the same thing up to it (the same
//! steps, at the same times, with the same trace fingerprint), and two runs that made
//! all the same choices must end the same way.
//!
//! The exploration checks run one program many times under choices that share
//! prefixes: exhaustive enumeration re-runs each prefix to flip its last choice, and
//! property tests generate and shrink schedules that often agree on their first
//! choices or on all of them. Each run notes a [`Mark`] at every choice point; a
//! [`PrefixPath`] (for a depth-first enumeration, which only ever shares a prefix with
//! the run before) or a [`PrefixTrie`] (for any order of runs) compares each run with
//! the runs before it, at no cost in runs. A [`Mismatch`] becomes a failure of kind
//! [`FailureKind::Nondeterministic`](crate::FailureKind::Nondeterministic) with
//! [`mismatch_failure`], which replays the later run to name the first differing step.

#[cfg(feature = "proptest")]
use std::collections::BTreeMap;

use crate::determinism::{into_failure, verify, Difference, Nondeterminism, Observed};
use crate::report::replay_command;
use crate::trace::TraceMode;
use crate::{Choice, Config, Failure, Sim};

pub(crate) use crate::core::Mark;

/// What one run did, as far as comparing it with other runs of the program goes.
#[derive(Clone, Debug)]
pub(crate) struct RunShape {
    choices: Vec<Choice>,
    marks: Vec<Mark>,
    end: Mark,
    outcome: Option<&'static str>,
}

impl RunShape {
    /// The shape of the run `sim` made, which ended with `result`.
    pub(crate) fn of(sim: &Sim, result: &Result<(), Box<Failure>>) -> RunShape {
        let end = Mark { step: sim.steps(), time: sim.now(), fingerprint: sim.fingerprint() };
        let outcome = result.as_ref().err().map(|f| f.kind.class());
        RunShape { choices: sim.recorded_tape().choices().to_vec(), marks: sim.marks(), end, outcome }
    }

    /// Position `i` of the run: the option count and mark of its `i`-th choice point,
    /// or (at `i == choices.len()`) 0 options and its end.
    fn at(&self, i: usize) -> (u32, Mark) {
        match self.choices.get(i) {
            Some(choice) => (choice.options, self.marks.get(i).copied().unwrap_or(self.end)),
            None => (0, self.end),
        }
    }
}

/// Two runs that made the same choices before a position did not do the same thing
/// up to it.
#[derive(Clone, Debug)]
pub(crate) struct Mismatch {
    /// The earlier run and the later one (numbered by the check, from 1).
    pub(crate) runs: [usize; 2],
    /// How many choices the runs share before the position where they differ.
    pub(crate) depth: usize,
    /// Both runs there: option count (0 at the run's end) and mark.
    pub(crate) at: [(u32, Mark); 2],
    /// The step of the last position where they agreed (0: the start).
    pub(crate) agreed_step: u64,
    /// Both runs' outcomes (`None` for a pass).
    pub(crate) outcomes: [Option<&'static str>; 2],
}

impl Mismatch {
    fn context(&self) -> String {
        let [a, b] = self.runs;
        let [(oa, ma), (ob, mb)] = self.at;
        let shared = match self.depth {
            0 => "before making any choice".to_string(),
            1 => "after making the same choice".to_string(),
            n => format!("after making the same {n} choices"),
        };
        let place = |options: u32, mark: Mark| match options {
            0 => format!("ended at step {} (t={})", mark.step, mark.time),
            n => format!("reached a choice among {n} at step {} (t={})", mark.step, mark.time),
        };
        let what = if (oa, ma) == (ob, mb) {
            let outcome = |o: Option<&str>| o.map_or("passed".to_string(), |c| format!("failed ({c})"));
            format!(
                "both ended at step {}, run {a} {}, run {b} {}",
                ma.step,
                outcome(self.outcomes[0]),
                outcome(self.outcomes[1])
            )
        } else if (oa, ma.step, ma.time) == (ob, mb.step, mb.time) {
            format!("both {}, with trace fingerprints {} and {}", place(oa, ma), ma.fingerprint, mb.fingerprint)
        } else {
            format!("run {a} {}; run {b} {}", place(oa, ma), place(ob, mb))
        };
        format!("runs {a} and {b} of the check did not do the same thing {shared}: {what}")
    }
}

/// Compares each run of a depth-first enumeration with the run before it: in that
/// order a run shares with every earlier run at most the prefix it shares with the
/// one just before, so this sees every shared prefix and keeps one run's shape.
#[derive(Default)]
pub(crate) struct PrefixPath {
    last: Option<(usize, RunShape)>,
}

impl PrefixPath {
    /// Compares run `run` with the one before it, then keeps it.
    pub(crate) fn check(&mut self, run: usize, shape: RunShape) -> Option<Mismatch> {
        let found = self.last.as_ref().and_then(|(before, last)| compare(*before, last, run, &shape));
        self.last = Some((run, shape));
        found
    }
}

/// The first position where `b` does not do what `a` did before the choices part.
fn compare(ra: usize, a: &RunShape, rb: usize, b: &RunShape) -> Option<Mismatch> {
    let mut agreed_step = 0;
    for i in 0..=a.choices.len().min(b.choices.len()) {
        let (x, y) = (a.at(i), b.at(i));
        if x != y || (x.0 == 0 && a.outcome != b.outcome) {
            let outcomes = [a.outcome, b.outcome];
            return Some(Mismatch { runs: [ra, rb], depth: i, at: [x, y], agreed_step, outcomes });
        }
        agreed_step = x.1.step;
        if a.choices.get(i).map(|c| c.index) != b.choices.get(i).map(|c| c.index) {
            return None;
        }
    }
    None
}

/// The most choice points a [`PrefixTrie`] keeps (past it, runs are still compared
/// with what it holds).
#[cfg(feature = "proptest")]
const TRIE_NODES: usize = 1 << 18;

/// Compares each run with every earlier run of the same inputs that made the same
/// choices before some position.
#[cfg(feature = "proptest")]
#[derive(Default)]
pub(crate) struct PrefixTrie {
    /// The first position of the runs of each input (by its `Debug` text).
    roots: BTreeMap<String, usize>,
    nodes: Vec<Node>,
}

#[cfg(feature = "proptest")]
struct Node {
    options: u32,
    mark: Mark,
    /// The run that put it here, and that run's outcome (compared at ends only).
    run: usize,
    outcome: Option<&'static str>,
    /// The next position, by the index chosen here.
    children: Vec<(u32, usize)>,
}

#[cfg(feature = "proptest")]
impl PrefixTrie {
    /// Compares run `run` (of the inputs `key`) with the earlier runs, then adds it.
    pub(crate) fn check(&mut self, key: &str, run: usize, shape: &RunShape) -> Option<Mismatch> {
        let mut cur = self.roots.get(key).copied();
        let mut parent: Option<(usize, u32)> = None;
        let mut agreed_step = 0;
        for i in 0..=shape.choices.len() {
            let here = shape.at(i);
            let node = match cur {
                Some(n) => n,
                None if self.nodes.len() >= TRIE_NODES => return None,
                None => {
                    let n = self.nodes.len();
                    let node =
                        Node { options: here.0, mark: here.1, run, outcome: shape.outcome, children: Vec::new() };
                    self.nodes.push(node);
                    match parent {
                        Some((p, index)) => self.nodes[p].children.push((index, n)),
                        None => {
                            self.roots.insert(key.to_string(), n);
                        }
                    }
                    n
                }
            };
            let seen = &self.nodes[node];
            if (seen.options, seen.mark) != here || (here.0 == 0 && seen.outcome != shape.outcome) {
                let at = [(seen.options, seen.mark), here];
                let outcomes = [seen.outcome, shape.outcome];
                return Some(Mismatch { runs: [seen.run, run], depth: i, at, agreed_step, outcomes });
            }
            agreed_step = here.1.step;
            let Some(choice) = shape.choices.get(i) else { break };
            cur = seen.children.iter().find(|(index, _)| *index == choice.index).map(|&(_, n)| n);
            parent = Some((node, choice.index));
        }
        None
    }
}

/// The failure for `mismatch`: the later run's tape (the strategy of `config`, a
/// replay of it) is run twice with the full trace kept, through `rerun`, and compared,
/// to name the first differing step; when those two runs agree, the report names
/// the steps between the last position where the runs agreed and the one where
/// they did not.
pub(crate) fn mismatch_failure(
    config: &Config,
    mismatch: &Mismatch,
    rerun: &mut dyn FnMut(Config) -> Observed,
) -> Box<Failure> {
    let full = config.clone().trace(TraceMode::Full);
    let first = rerun(full.clone());
    let context = mismatch.context();
    let nd = match verify(&full, &first, rerun) {
        Err(mut nd) => {
            nd.evidence = format!("{context}; its tape, run twice more: {}", nd.evidence);
            nd
        }
        Ok(()) => {
            let [(_, a), (oa, b)] = mismatch.at;
            let difference = if oa == 0 && a == b { Difference::Outcome } else { Difference::NotLocated };
            let evidence = format!(
                "{context}; the first difference is a step after step {} and up to step {}; the later run's \
                 tape, run twice more with the full trace kept, did the same both times",
                mismatch.agreed_step, b.step
            );
            let replay = match &first.failure {
                Some(failure) => failure.replay.clone(),
                None => replay_command(
                    config.replay_hint.as_deref(),
                    config.name.as_deref(),
                    None,
                    Some(&first.tape),
                    config.model,
                ),
            };
            Box::new(Nondeterminism {
                name: config.name.clone(),
                seed: None,
                tape: first.tape.clone(),
                outcomes: mismatch.outcomes,
                step: b.step,
                time: b.time,
                first: None,
                second: None,
                fingerprints: [a.fingerprint, b.fingerprint],
                difference,
                evidence,
                replay,
            })
        }
    };
    into_failure(config, &first, nd)
}
