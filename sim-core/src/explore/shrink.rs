//! Shrinking a failing tape toward the canonical order, without a property-test framework.

use super::run_once;
use crate::{Config, Failure, Sim, StrategyKind, Tape};

/// A failing tape shrunk by [`shrink_tape`].
#[derive(Clone, Debug)]
pub struct Shrunk {
    /// The shrunk tape (trailing canonical choices left out).
    pub tape: Tape,
    /// The failure of the shrunk tape's run.
    pub failure: Box<Failure>,
    /// How many runs shrinking took, the first replay of the given tape included.
    pub runs: u32,
}

/// Shrinks a failing `tape` (from a seed's report, a PCT run, anywhere) to fewer
/// departures from the canonical order.
///
/// Sets departures back to canonical one at a time, latest first, and keeps each
/// change after which the run still fails with the same class of failure
/// ([`FailureKind::class`](crate::FailureKind::class)); repeats until no single
/// departure can go. Each kept run's own tape becomes the new basis, so the result
/// is a tape a run really recorded. Every remaining departure is needed: setting any
/// one of them back to 0 passes or fails differently. `template` gives the name and
/// limits; its strategy is replaced.
///
/// Returns `None` when `tape` does not fail.
pub fn shrink_tape(
    template: &Config,
    tape: &Tape,
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
        return Some(Shrunk { tape: basis.trimmed(), failure, runs });
    }
}
