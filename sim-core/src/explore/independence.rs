//! Schedule independence as a built-in check: the same output under every schedule.

use std::fmt;

use crate::{Config, Sim, StrategyKind, Tape};

/// How [`schedule_independence`] runs.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Independence {
    /// The test name, used in reports. Default: none.
    pub name: Option<String>,
    /// How many schedules to compare (`K`): FIFO, then `K - 1` random seeds. Default: 64.
    pub runs: u64,
    /// The first random seed. Default: 0.
    pub first_seed: u64,
    /// The template of every simulation; its strategy is replaced. Default: [`Config::default`].
    pub sim: Config,
}

impl Default for Independence {
    fn default() -> Independence {
        Independence { name: None, runs: 64, first_seed: 0, sim: Config::default() }
    }
}

impl Independence {
    /// Sets the test name.
    pub fn name(mut self, name: impl Into<String>) -> Independence {
        self.name = Some(name.into());
        self
    }

    /// Sets the number of schedules compared (at least 1: FIFO alone).
    pub fn runs(mut self, runs: u64) -> Independence {
        self.runs = runs;
        self
    }

    /// Sets the first random seed.
    pub fn first_seed(mut self, seed: u64) -> Independence {
        self.first_seed = seed;
        self
    }

    /// Sets the simulation template.
    pub fn sim(mut self, sim: Config) -> Independence {
        self.sim = sim;
        self
    }

    /// The strategies compared, in order.
    fn strategies(&self) -> impl Iterator<Item = StrategyKind> + '_ {
        let seeds =
            (0..self.runs.saturating_sub(1)).map(|i| StrategyKind::Random { seed: self.first_seed.wrapping_add(i) });
        std::iter::once(StrategyKind::Fifo).chain(seeds)
    }
}

/// One run compared by [`schedule_independence`].
#[derive(Clone, Debug, PartialEq)]
pub struct ScheduleRun<T> {
    /// The schedule: [`StrategyKind::Fifo`] or a seed.
    pub strategy: StrategyKind,
    /// The choices it made (trailing canonical ones left out).
    pub tape: Tape,
    /// Its output.
    pub output: T,
}

impl<T> ScheduleRun<T> {
    /// `fifo` or `seed 7`.
    pub fn label(&self) -> String {
        match &self.strategy {
            StrategyKind::Fifo => "fifo".to_string(),
            StrategyKind::Random { seed } => format!("seed {seed}"),
            other => format!("{other:?}"),
        }
    }
}

/// Where two outputs first differ.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum OutputDifference {
    /// The outputs as wholes (from [`schedule_independence`]).
    Whole {
        /// The first run's output.
        first: String,
        /// The second run's output.
        second: String,
    },
    /// The first differing element of two timelines (from [`timeline_independence`]).
    At {
        /// Its index.
        index: usize,
        /// The first run's element there (`None`: its timeline ended).
        first: Option<String>,
        /// The second run's element there (`None`: its timeline ended).
        second: Option<String>,
    },
}

/// Two schedules gave different outputs.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ScheduleDependence<T> {
    /// The test name.
    pub name: Option<String>,
    /// The reference run (FIFO).
    pub first: ScheduleRun<T>,
    /// The first run whose output differs from it.
    pub second: ScheduleRun<T>,
    /// Where they differ.
    pub difference: OutputDifference,
    /// Runs made, the differing one included.
    pub runs: u64,
}

impl<T: fmt::Debug> fmt::Display for ScheduleDependence<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.name.as_deref().unwrap_or("simulation");
        let (a, b) = (self.first.label(), self.second.label());
        writeln!(
            f,
            "lockstep: `{name}`: the output depends on the schedule: {a} and {b} differ (after {} runs)",
            self.runs
        )?;
        let shown = |x: &Option<String>| x.clone().unwrap_or_else(|| "nothing (the output ended)".to_string());
        match &self.difference {
            OutputDifference::Whole { first, second } => writeln!(f, "  {a} gave {first}\n  {b} gave {second}")?,
            OutputDifference::At { index, first, second } => writeln!(
                f,
                "  first difference at output {index}: {a} gave {}, {b} gave {}",
                shown(first),
                shown(second)
            )?,
        }
        writeln!(f, "  {a}: tape {}  output: {:?}", self.first.tape, self.first.output)?;
        writeln!(f, "  {b}: tape {}  output: {:?}", self.second.tape, self.second.output)?;
        write!(f, "  replay: Sim::new(Config::replay(\"{}\".parse()?))", self.second.tape)
    }
}

/// Runs `output` under `cfg.runs` schedules (FIFO, then seeds from `cfg.first_seed`)
/// and reports the first run whose output differs from FIFO's, with both outputs.
///
/// `output` receives a fresh simulation (current, configured with the schedule): it
/// builds its world, runs it and returns what it observed (any `T: PartialEq +
/// Debug`; a run's failure can be part of it). For a timeline (`Vec`), use
/// [`timeline_independence`], which names the first differing element.
///
/// # Errors
/// The first pair of runs whose outputs differ.
pub fn schedule_independence<T: PartialEq + fmt::Debug>(
    cfg: &Independence,
    output: impl Fn(&mut Sim) -> T,
) -> Result<(), Box<ScheduleDependence<T>>> {
    compare(cfg, output, |a, b| OutputDifference::Whole { first: format!("{a:?}"), second: format!("{b:?}") })
}

/// [`schedule_independence`] for an output timeline: the report names the first
/// index where the timelines differ and the element each run had there.
///
/// ```
/// use std::cell::RefCell;
/// use std::rc::Rc;
/// use std::time::Duration;
/// use sim_core::explore::{timeline_independence, Independence, OutputDifference};
/// use sim_core::time::sleep;
///
/// // Two tasks log their names at 10 ms: the log depends on the schedule.
/// let found = timeline_independence(&Independence::default(), |sim| {
///     let log = Rc::new(RefCell::new(vec!["start"]));
///     for name in ["a", "b"] {
///         let log = log.clone();
///         sim.spawn_named(name, async move {
///             sleep(Duration::from_millis(10)).await;
///             log.borrow_mut().push(name);
///         });
///     }
///     sim.run().unwrap();
///     let out = log.borrow().clone();
///     out
/// })
/// .unwrap_err();
/// assert_eq!(found.first.output, ["start", "a", "b"]);
/// assert_eq!(found.second.output, ["start", "b", "a"]);
/// let OutputDifference::At { index, .. } = found.difference else { panic!() };
/// assert_eq!(index, 1);
/// ```
///
/// # Errors
/// The first pair of runs whose outputs differ.
pub fn timeline_independence<T: PartialEq + fmt::Debug>(
    cfg: &Independence,
    output: impl Fn(&mut Sim) -> Vec<T>,
) -> Result<(), Box<ScheduleDependence<Vec<T>>>> {
    compare(cfg, output, |a, b| {
        let index = a.iter().zip(b).position(|(x, y)| x != y).unwrap_or(a.len().min(b.len()));
        let show = |v: &Vec<T>| v.get(index).map(|x| format!("{x:?}"));
        OutputDifference::At { index, first: show(a), second: show(b) }
    })
}

fn compare<T: PartialEq + fmt::Debug>(
    cfg: &Independence,
    output: impl Fn(&mut Sim) -> T,
    differ: impl Fn(&T, &T) -> OutputDifference,
) -> Result<(), Box<ScheduleDependence<T>>> {
    let run = |strategy: StrategyKind| {
        let mut config = cfg.sim.clone().strategy(strategy.clone());
        if let Some(name) = &cfg.name {
            config = config.name(name.clone());
        }
        let mut sim = Sim::new(config);
        let output = output(&mut sim);
        ScheduleRun { strategy, tape: sim.tape(), output }
    };
    let mut strategies = cfg.strategies();
    let Some(reference) = strategies.next().map(run) else { return Ok(()) };
    for (i, strategy) in strategies.enumerate() {
        let other = run(strategy);
        if other.output != reference.output {
            let difference = differ(&reference.output, &other.output);
            let name = cfg.name.clone();
            return Err(Box::new(ScheduleDependence {
                name,
                first: reference,
                second: other,
                difference,
                runs: i as u64 + 2,
            }));
        }
    }
    Ok(())
}
