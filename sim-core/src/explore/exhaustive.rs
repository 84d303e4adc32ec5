//! Every order of a property's schedule as a test: enumerate, and prove or explain.

use std::fmt;
use std::ops::ControlFlow;

use super::critical::{critical_pair, CriticalPair};
use super::shrink::{shrink_tape_bounded, Minimality};
use super::{run_config, with_tape_hint};
use crate::artefacts::{self, Written};
use crate::determinism::{confirm, Observed};
use crate::env::EnvOverrides;
use crate::prefix::{mismatch_failure, PrefixPath, RunShape};
use crate::share::Share;
use crate::strategy::exhaustive::{explore_all_until, explore_reduced_until, ExploreError};
use crate::{Config, Failure, FailureKind, Sim, StrategyKind, Tape};

/// How the exhaustive search of a [`Check`](crate::check::Check) enumerates a world's
/// orders: the check's settings, as the enumeration needs them.
#[derive(Clone, Debug)]
pub(crate) struct ExhaustiveCheck {
    /// The test name, used in reports. The replay command selects the test by its
    /// thread, whatever this name is.
    pub name: Option<String>,
    /// At most this many complete runs; past it the space is not exhausted and
    /// nothing is proven.
    pub max_runs: usize,
    /// Run every order instead of one per class of orders that differ only by
    /// commuting steps.
    pub every_order: bool,
    /// Whether to shrink the first failure and look for its critical pair.
    pub explain: bool,
    /// At most this many runs search the tapes with fewer departures than the greedy
    /// shrink's for a globally minimal one ([`shrink_tape_bounded`](super::shrink_tape_bounded)).
    pub minimal_search: u32,
    /// The template of every simulation (limits, replay hint); its strategy is
    /// replaced, and its poll watchdog bound is `LOCKSTEP_POLL_TIMEOUT`, else its
    /// own, else [`DEFAULT_BOUND`](crate::watchdog::DEFAULT_BOUND).
    pub sim: Config,
    /// The share of complete runs run a second time (by their tape) and compared
    /// with their first run (fingerprint, outcome, trace); the first run always is,
    /// unless the share is 0. The first 100 failing runs are replayed too (the later
    /// ones by the share), and every run is compared, at no cost, with the run
    /// before it up to the choices they share. A mismatch stops the enumeration with
    /// a failure of kind [`FailureKind::Nondeterministic`], never a proof.
    pub determinism: Share,
}

impl ExhaustiveCheck {
    fn config(&self, strategy: StrategyKind) -> Config {
        run_config(&self.sim, self.name.as_deref(), strategy)
    }
}

/// The first failing order of an enumeration, shrunk.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct FailingOrder {
    /// The complete run (from 1) that failed first.
    pub run: usize,
    /// Its tape, shrunk toward the canonical order while it fails the same way (when
    /// [`Check::explain`](crate::check::Check::explain) is on); [`FailingOrder::minimality`] says how far.
    pub tape: Tape,
    /// The failure report of that tape's run.
    pub failure: Box<Failure>,
    /// Runs spent shrinking (the greedy pass and the search for fewer departures).
    pub shrink_runs: u32,
    /// Whether the tape has the fewest departures that fail this way, or is only
    /// 1-minimal; `None` when it was not shrunk.
    pub minimality: Option<Minimality>,
    /// The two events whose order decides the outcome, when found.
    pub critical: Option<CriticalPair>,
}

/// What the exhaustive search of a [`Check`](crate::check::Check) found
/// ([`Report::Exhaustive`](crate::check::Report::Exhaustive)).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ExhaustiveSummary {
    /// The test name.
    pub name: Option<String>,
    /// Whether every order was run, or one per class of commuting steps.
    pub every_order: bool,
    /// Complete runs: orders, or classes of orders.
    pub runs: usize,
    /// Executions started and found to repeat a class already run (reduction only).
    pub redundant: usize,
    /// Complete runs that failed.
    pub failing: usize,
    /// Whether the whole space was run (false when the bound cut it short).
    pub exhausted: bool,
    /// The first failing order, shrunk.
    pub first_failing: Option<Box<FailingOrder>>,
    /// Why the enumeration stopped early: the program did not replay its own prefix
    /// (a different set of events due at a choice point it had reached before). A
    /// run that did not replay otherwise is reported in
    /// [`ExhaustiveSummary::first_failing`], as a failure of kind
    /// [`FailureKind::Nondeterministic`].
    pub error: Option<ExploreError>,
    /// Runs replayed by their tape and compared with their first run (every failing
    /// run and a share of the others: [`Check::determinism`](crate::check::Check::determinism)).
    pub replayed: usize,
    /// Where the first failing order's artefacts (report, tape, trace, timeline) were
    /// written ([`crate::artefacts`]); `None` when it passed or they are off.
    pub artefacts: Option<Written>,
}

impl ExhaustiveSummary {
    /// Whether every order was run and none failed: the property holds for these
    /// inputs under every schedule.
    pub fn is_proven(&self) -> bool {
        self.exhausted && self.failing == 0 && self.error.is_none() && self.first_failing.is_none()
    }

    /// Whether a run did not replay: the first failing order is then a failure of
    /// kind [`FailureKind::Nondeterministic`], and nothing is proven.
    pub fn is_nondeterministic(&self) -> bool {
        self.error.is_some()
            || self.first_failing.as_ref().is_some_and(|f| matches!(f.failure.kind, FailureKind::Nondeterministic(_)))
    }

    /// Panics with the report (the shrunk failing order with its replay command, or
    /// why nothing was proven) unless [`ExhaustiveSummary::is_proven`].
    ///
    /// # Panics
    /// When the property is not proven.
    #[track_caller]
    pub fn assert_proven(&self) {
        if !self.is_proven() {
            panic!("{self}");
        }
    }
}

impl fmt::Display for ExhaustiveSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.name.as_deref().unwrap_or("property");
        let unit = if self.every_order { "orders" } else { "classes of orders" };
        if let Some(error) = &self.error {
            return write!(f, "lockstep: `{name}`: {error}");
        }
        let Some(found) = &self.first_failing else {
            return if self.exhausted {
                write!(f, "lockstep: `{name}`: proven: all {} {unit} pass", self.runs)
            } else {
                write!(
                    f,
                    "lockstep: `{name}`: not proven: {} {unit} pass, and the bound cut the enumeration short",
                    self.runs
                )
            };
        };
        if matches!(found.failure.kind, FailureKind::Nondeterministic(_)) {
            writeln!(
                f,
                "lockstep: `{name}`: nondeterministic: run {} of the enumeration did not replay ({} {unit} run before it, {} failing); nothing is proven",
                found.run, self.runs, self.failing
            )?;
            writeln!(f, "  replay: {}", found.failure.replay)?;
            if let Some(written) = &self.artefacts {
                writeln!(f, "  artefacts: {written}")?;
            }
            writeln!(f, "the report:")?;
            return write!(f, "{}", found.failure);
        }
        let departures = found.tape.departures();
        writeln!(
            f,
            "lockstep: `{name}`: {} in {} of {}{} {unit} (first: run {}); shrunk in {} runs to {departures} departure{} from the canonical order",
            found.failure.kind.class(),
            self.failing,
            self.runs,
            if self.exhausted { "" } else { "+" },
            found.run,
            found.shrink_runs,
            if departures == 1 { "" } else { "s" }
        )?;
        if let Some(minimality) = found.minimality {
            writeln!(f, "  {minimality}")?;
        }
        writeln!(f, "  tape: {}", found.tape)?;
        if let Some(pair) = &found.critical {
            writeln!(f, "  critical pair: {pair}")?;
        }
        writeln!(f, "  replay: {}", found.failure.replay)?;
        if let Some(written) = &self.artefacts {
            writeln!(f, "  artefacts: {written}")?;
        }
        writeln!(f, "the shrunk run's report:")?;
        write!(f, "{}", found.failure)
    }
}

/// Runs `property` under every order of its choice points (or one per class of
/// orders that differ only by commuting steps, the default), up to `cfg.max_runs`
/// complete runs, under the overrides `env`, and reports whether it holds in all of
/// them. The first failing order is shrunk with [`shrink_tape`](super::shrink_tape)
/// and explained with its [critical pair](super::critical_pair). `env.tape` is not
/// looked at (the runner replays tapes itself).
///
/// `property` receives a fresh simulation (current, configured by the check): it
/// builds its world, runs it and returns the failure, if any. Under the reduction,
/// memory the world's tasks share outside Lockstep's primitives must be declared
/// with [`touch`](crate::footprint::touch).
pub(crate) fn exhaustive_check_with(
    cfg: ExhaustiveCheck,
    env: &EnvOverrides,
    property: impl Fn(&mut Sim) -> Result<(), Box<Failure>>,
) -> ExhaustiveSummary {
    let determinism = env.determinism.unwrap_or(cfg.determinism);
    let cfg = ExhaustiveCheck { sim: with_tape_hint(&cfg.sim, env), determinism, ..cfg };
    let mut summary = ExhaustiveSummary {
        name: cfg.name.clone(),
        every_order: cfg.every_order,
        runs: 0,
        redundant: 0,
        failing: 0,
        exhausted: false,
        first_failing: None,
        error: None,
        replayed: 0,
        artefacts: None,
    };
    let mut first: Option<(usize, Box<Failure>)> = None;
    let mut verifier =
        Verifier { path: PrefixPath::default(), executions: 0, replayed: 0, failures_replayed: 0, stopped: None };
    if cfg.every_order {
        let (mut runs, mut failing) = (0, 0);
        let e = explore_all_until(cfg.max_runs, |prefix| {
            let mut sim = Sim::new(cfg.config(StrategyKind::Replay(prefix.clone())));
            let result = property(&mut sim);
            let recorded = sim.recorded_tape();
            verifier.after(&cfg, sim, &result, &property)?;
            runs += 1;
            if let Err(failure) = result {
                failing += 1;
                first.get_or_insert((runs, failure));
            }
            ControlFlow::Continue(recorded)
        });
        (summary.runs, summary.failing, summary.exhausted) = (e.runs, failing, e.exhausted);
    } else {
        let mut first_failure = None;
        let reduced = explore_reduced_until(cfg.max_runs, |strategy| {
            let mut sim = Sim::with_strategy(cfg.config(StrategyKind::Fifo), strategy);
            let result = property(&mut sim);
            verifier.after(&cfg, sim, &result, &property)?;
            match result {
                Ok(()) => ControlFlow::Continue(false),
                Err(failure) => {
                    first_failure.get_or_insert(failure);
                    ControlFlow::Continue(true)
                }
            }
        });
        match reduced {
            Ok(e) => {
                (summary.runs, summary.redundant, summary.failing, summary.exhausted) =
                    (e.runs, e.redundant, e.failing, e.exhausted);
                first = e.first_failing.zip(first_failure);
            }
            Err(error) => summary.error = Some(error),
        }
    }
    summary.replayed = verifier.replayed;
    summary.first_failing = match verifier.stopped {
        Some((run, failure)) => {
            summary.exhausted = false;
            let tape = failure.tape.clone();
            Some(Box::new(FailingOrder { run, tape, failure, shrink_runs: 0, minimality: None, critical: None }))
        }
        None => first.map(|(run, failure)| Box::new(explain(&cfg, run, failure, &property))),
    };
    if let Some(found) = &summary.first_failing {
        summary.artefacts = artefacts::for_check(&cfg.config(StrategyKind::Fifo), &found.failure, &property);
    }
    summary
}

/// How many failing runs an enumeration replays because they failed; later ones are
/// replayed as passing runs are, by the share. A program with thousands of failing
/// orders pays for a hundred replays, not thousands.
const ALWAYS_REPLAYED_FAILURES: usize = 100;

/// Checks each run of an enumeration for determinism as it goes.
struct Verifier {
    /// The run before, to compare the next one with up to the choices they share.
    path: PrefixPath,
    /// Runs so far, redundant ones included.
    executions: usize,
    replayed: usize,
    /// Failing runs replayed so far because they failed.
    failures_replayed: usize,
    /// The run (among executions) that did not replay, and the failure that says so.
    stopped: Option<(usize, Box<Failure>)>,
}

impl Verifier {
    /// Compares the run `sim` made (ending with `result`) with the run before it up
    /// to the choices they share, and replays it when it failed or the share picks
    /// it. Breaks when it did not replay.
    fn after(
        &mut self,
        cfg: &ExhaustiveCheck,
        sim: Sim,
        result: &Result<(), Box<Failure>>,
        property: &impl Fn(&mut Sim) -> Result<(), Box<Failure>>,
    ) -> ControlFlow<()> {
        self.executions += 1;
        let run = self.executions;
        let shape = RunShape::of(&sim, result);
        let sampled = cfg.determinism != Share::NONE && (run == 1 || cfg.determinism.picks(run as u64));
        let failed = result.is_err() && self.failures_replayed < ALWAYS_REPLAYED_FAILURES;
        self.failures_replayed += usize::from(failed);
        let observed = (failed || sampled).then(|| Observed::of(&sim, result));
        let config = cfg.config(StrategyKind::Replay(sim.tape()));
        drop(sim);
        let mut rerun = |config: Config| {
            let mut sim = Sim::new(config);
            let result = property(&mut sim);
            Observed::of(&sim, &result)
        };
        if let Some(mismatch) = self.path.check(run, shape) {
            self.stopped = Some((run, mismatch_failure(&config, &mismatch, &mut rerun)));
            return ControlFlow::Break(());
        }
        if let Some(observed) = observed {
            self.replayed += 1;
            if let Err(failure) = confirm(&config, &observed, &mut rerun) {
                self.stopped = Some((run, failure));
                return ControlFlow::Break(());
            }
        }
        ControlFlow::Continue(())
    }
}

/// Shrinks a failing order and finds its critical pair (when the check asks).
fn explain(
    cfg: &ExhaustiveCheck,
    run: usize,
    failure: Box<Failure>,
    property: &impl Fn(&mut Sim) -> Result<(), Box<Failure>>,
) -> FailingOrder {
    let template = cfg.config(StrategyKind::Fifo);
    let shrunk =
        if cfg.explain { shrink_tape_bounded(&template, &failure.tape, cfg.minimal_search, property) } else { None };
    let Some(shrunk) = shrunk else {
        let tape = failure.tape.clone();
        return FailingOrder { run, tape, failure, shrink_runs: 0, minimality: None, critical: None };
    };
    let critical = critical_pair(&template, &shrunk.tape, property);
    FailingOrder {
        run,
        tape: shrunk.tape,
        failure: shrunk.failure,
        shrink_runs: shrunk.runs + shrunk.search_runs,
        minimality: Some(shrunk.minimality),
        critical,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::artefacts::Artefacts;

    /// Three choices `c`, `a`, `b` of two options each; the run fails when `a` and `b`
    /// both depart, or when `c` does. Enumerated depth first, the first failing order
    /// is `a=1, b=1` (run 4): 1-minimal (setting either back passes, 3 greedy runs with
    /// the replay), yet `c=1` alone fails. Finding it takes 2 more runs (the canonical
    /// order, then `c=1`); bounded to 1, the search leaves the pair and says so.
    #[test]
    fn a_bounded_search_reports_a_one_minimal_tape() {
        let property = |sim: &mut Sim| {
            let world = async {
                let (c, a, b) = (crate::choose(2), crate::choose(2), crate::choose(2));
                if (a == 1 && b == 1) || c == 1 {
                    crate::fail("a and b, or c");
                }
            };
            sim.block_on(world)
        };
        let cfg = |minimal_search| ExhaustiveCheck {
            name: Some("one_or_two".to_string()),
            max_runs: 100,
            every_order: true,
            explain: true,
            minimal_search,
            sim: Config::default().artefacts(Artefacts::Off),
            determinism: Share::DEFAULT_DETERMINISM,
        };
        let full = exhaustive_check_with(cfg(super::super::DEFAULT_MINIMAL_SEARCH), &EnvOverrides::none(), property);
        let found = full.first_failing.as_ref().expect("fails");
        assert_eq!((found.run, found.tape.departures(), found.shrink_runs), (4, 1, 5), "{full}");
        assert_eq!(found.minimality, Some(Minimality::Global), "{full}");

        let cut = exhaustive_check_with(cfg(1), &EnvOverrides::none(), property);
        let found = cut.first_failing.as_ref().expect("fails");
        assert_eq!((found.tape.departures(), found.minimality), (2, Some(Minimality::OneMinimal)), "{cut}");
        let text = cut.to_string();
        let expected = "to 2 departures from the canonical order\n  1-minimal: no single departure can be set back, \
                        but not every tape with fewer departures was run\n";
        assert!(text.contains(expected), "{text}");
    }
}
