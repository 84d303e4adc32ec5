//! Shrinking a failing tape toward the canonical order, without a property-test framework.

use std::fmt;

use super::run_once;
use crate::{Choice, Config, Failure, Sim, StrategyKind, Tape};

/// How many runs [`shrink_tape`] spends, at most, searching the tapes with fewer
/// departures than its greedy result for a globally minimal one.
pub const DEFAULT_MINIMAL_SEARCH: u32 = 1_000;

/// What a shrunk tape's departure count is minimal among.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Minimality {
    /// Globally minimal: every tape with fewer departures from the canonical order was
    /// run, and none fails with the same class of failure.
    Global,
    /// 1-minimal: setting any one departure back to canonical passes or fails
    /// differently, but the tapes with fewer departures were not all run (there were
    /// more than the search bound allows), so a tape with fewer may fail the same way.
    OneMinimal,
}

impl fmt::Display for Minimality {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Minimality::Global => "globally minimal: no tape with fewer departures fails this way",
            Minimality::OneMinimal => {
                "1-minimal: no single departure can be set back, but not every tape with fewer departures was run"
            }
        })
    }
}

/// A failing tape shrunk by [`shrink_tape`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Shrunk {
    /// The shrunk tape (trailing canonical choices left out).
    pub tape: Tape,
    /// The failure of the shrunk tape's run.
    pub failure: Box<Failure>,
    /// How many runs the greedy pass took, the first replay of the given tape included.
    pub runs: u32,
    /// How many runs the search for a globally minimal tape took.
    pub search_runs: u32,
    /// Whether the tape is globally minimal or only 1-minimal.
    pub minimality: Minimality,
}

/// Shrinks a failing `tape` (from a seed's report, a PCT run, anywhere) to fewer
/// departures from the canonical order; [`shrink_tape_bounded`] with
/// [`DEFAULT_MINIMAL_SEARCH`].
///
/// Returns `None` when `tape` does not fail.
pub fn shrink_tape(
    template: &Config,
    tape: &Tape,
    property: impl Fn(&mut Sim) -> Result<(), Box<Failure>>,
) -> Option<Shrunk> {
    shrink_tape_bounded(template, tape, DEFAULT_MINIMAL_SEARCH, property)
}

/// Shrinks a failing `tape` to fewer departures from the canonical order, and to the
/// fewest when the search for them fits in `max_search_runs` runs.
///
/// "Fails the same way" means the same class of failure
/// ([`FailureKind::class`](crate::FailureKind::class)). First a greedy pass sets
/// departures back to canonical one at a time, latest first, keeping each change
/// after which the run still fails the same way, until no single departure can go
/// (the tape is *1-minimal*). Each kept run's own tape becomes the new basis, so the
/// result is a tape a run really recorded. A 1-minimal tape need not have the fewest
/// departures: two departures that fail only together can hide a single other one
/// that fails alone. So, with `m` departures left, the search then runs every tape
/// with fewer departures, breadth first (0 departures, then 1, …, then `m - 1`; each
/// one departs where the run with one departure fewer took the canonical order), and
/// takes the first that fails the same way: its departure count is the fewest
/// ([`Minimality::Global`]). (With one departure left no search is needed: the
/// greedy pass ran the canonical order.) When that takes more than `max_search_runs` runs it
/// stops and returns the greedy result as [`Minimality::OneMinimal`]. `template`
/// gives the name and limits; its strategy is replaced.
///
/// Returns `None` when `tape` does not fail.
pub fn shrink_tape_bounded(
    template: &Config,
    tape: &Tape,
    max_search_runs: u32,
    property: impl Fn(&mut Sim) -> Result<(), Box<Failure>>,
) -> Option<Shrunk> {
    let config = |tape: Tape| template.clone().strategy(StrategyKind::Replay(tape));
    let first = run_once(config(tape.clone()), &property);
    let mut failure = first.result.err()?;
    let class = failure.kind.class();
    let mut basis = first.recorded;
    let mut runs = 1;
    'shrinking: loop {
        let departures: Vec<usize> = (0..basis.len()).filter(|&i| basis.choices()[i].is_departure()).collect();
        for &position in departures.iter().rev() {
            let mut choices = basis.choices().to_vec();
            choices[position].index = 0;
            let run = run_once(config(Tape::from_choices(choices)), &property);
            runs += 1;
            if let Err(f) = run.result {
                if f.kind.class() == class {
                    failure = f;
                    basis = run.recorded;
                    continue 'shrinking;
                }
            }
        }
        break;
    }
    let greedy = basis.departures();
    let mut search_runs = 0;
    if greedy <= 1 {
        // With one departure left, the greedy pass already ran the canonical order.
        return Some(Shrunk { tape: basis.trimmed(), failure, runs, search_runs, minimality: Minimality::Global });
    }
    // One level per departure count: (the choices to replay, where the next departure may go).
    let mut level: Vec<(Vec<Choice>, usize)> = vec![(Vec::new(), 0)];
    for departures in 0..greedy {
        let mut next = Vec::new();
        for (prefix, from) in level {
            if search_runs == max_search_runs {
                return Some(Shrunk {
                    tape: basis.trimmed(),
                    failure,
                    runs,
                    search_runs,
                    minimality: Minimality::OneMinimal,
                });
            }
            search_runs += 1;
            let run = run_once(config(Tape::from_choices(prefix)), &property);
            match run.result {
                Err(f) if f.kind.class() == class => {
                    let tape = run.recorded.trimmed();
                    return Some(Shrunk { tape, failure: f, runs, search_runs, minimality: Minimality::Global });
                }
                _ if departures + 1 == greedy => {}
                _ => {
                    let choices = run.recorded.choices();
                    for (i, choice) in choices.iter().enumerate().skip(from) {
                        for index in 1..choice.options {
                            // More than the bound allows are never run: the search then ends 1-minimal.
                            if next.len() > max_search_runs as usize {
                                break;
                            }
                            let mut prefix = choices[..i].to_vec();
                            prefix.push(Choice { options: choice.options, index });
                            next.push((prefix, i + 1));
                        }
                    }
                }
            }
        }
        level = next;
    }
    Some(Shrunk { tape: basis.trimmed(), failure, runs, search_runs, minimality: Minimality::Global })
}
