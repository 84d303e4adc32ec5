//! The `lockstep` command-line tool: list the scenarios, run them over many
//! seeds, enumerate their orders, replay one run, check determinism, replay the
//! regression corpus. [`main`] runs it on the race catalogue; [`main_with`] on a
//! user's own [`Registry`] (the user's tool, with the same commands and statuses).
//!
//! Exit status: 0 when every scenario met its expectation (buggy caught, fixed
//! clean; for `explore`, buggy caught in some order and fixed proven in every
//! order, and no scenario that fails to replay its own prefix; for `replay`, the run passed; for `check-determinism`, every seed ran
//! the same twice), 1 when not, 2 on bad input, with a one-line reason on
//! standard error; 3 when a poll did not return within the watchdog's bound
//! (`LOCKSTEP_POLL_TIMEOUT`, default 60 s; see [`sim_core::tooling::watchdog`]): the task's
//! name, the seed and the replay command are on standard error.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant as WallClock;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sim_core::check::{Check, Report, Search, Shard, StopAt};
use sim_core::determinism::check_determinism_seeds;
use sim_core::explore::{ExhaustiveSummary, FailingOrder};
use sim_core::tooling::env::EnvOverrides;
use sim_core::{StrategyKind, Tape, TraceMode};

use crate::corpus::{self, Entry};
use crate::registry::{self, Registry};
use crate::scenario::{Expectation, Scenario};
use sim_core::timeline::{render_marked, Marks};

/// Deterministic simulation of stream-processor races: the race catalogue.
#[derive(Debug, Parser)]
#[command(name = "lockstep", version, arg_required_else_help = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List every scenario: name, variant, expectation and a one-line description.
    List,
    /// Run scenarios over many seeds on every core and print a summary table.
    Run(RunArgs),
    /// Enumerate every order of scenarios (one per class of commuting steps): find each buggy
    /// variant's failing orders, prove each fixed variant in all of them.
    Explore(ExploreArgs),
    /// Replay one run (a seed or a tape): print its report and trace tail, write its trace and timeline.
    Replay(ReplayArgs),
    /// Run each seed twice and compare the fingerprints.
    CheckDeterminism(DeterminismArgs),
    /// Replay every entry of the regression corpus: each must still fail with its recorded
    /// outcome and fingerprint.
    Corpus(CorpusArgs),
}

/// Who resolves choice points in `run`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum StrategyArg {
    /// The canonical order only (one run per scenario).
    Fifo,
    /// Seeded random tie-breaking, one run per seed.
    Random,
    /// PCT (random task priorities with change points; see `docs/exploration.md`), one run
    /// per seed. Its failures replay by tape.
    Pct,
}

#[derive(Debug, Args)]
struct RunArgs {
    /// Scenarios to run: full names (`drain/buggy`) or families (`drain`).
    names: Vec<String>,
    /// Run every scenario `list` shows.
    #[arg(long, conflicts_with = "names")]
    all: bool,
    /// Seeds 0..N instead of each scenario's bound or budget (`1e6` notation accepted).
    /// Seeds are handed out as they run, never counted up front.
    #[arg(long, value_name = "N", conflicts_with = "seed", value_parser = parse_seed_count)]
    seeds: Option<u64>,
    /// Only this seed (any u64).
    #[arg(long, value_name = "S", conflicts_with = "shard")]
    seed: Option<u64>,
    /// The strategy.
    #[arg(long, value_enum, default_value_t = StrategyArg::Random)]
    strategy: StrategyArg,
    /// PCT: the depth of the bugs aimed at, 1 to 64 (depth - 1 change points).
    #[arg(long, value_name = "D", value_parser = clap::value_parser!(u32).range(1..=64))]
    depth: Option<u32>,
    /// PCT: the estimated number of choice points of a run, over which change points are drawn.
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u64).range(1..))]
    pct_steps: Option<u64>,
    /// Worker threads, 1 to 1024 (default: every core).
    #[arg(long, value_name = "J", value_parser = clap::value_parser!(u64).range(1..=1024))]
    jobs: Option<u64>,
    /// Run only shard I of N of each seed range (0-based), to split a run across machines.
    #[arg(long, value_name = "I/N")]
    shard: Option<Shard>,
    /// Run every seed instead of stopping at the first failure: every failure is
    /// counted, the lowest 100 are kept (and recorded with --record).
    #[arg(long)]
    keep_going: bool,
    /// Append newly found failures to the regression corpus.
    #[arg(long)]
    record: bool,
    /// The corpus file for --record (default: the tool's own; the catalogue's is
    /// tests/corpus/failures.txt of this checkout).
    #[arg(long, value_name = "FILE", requires = "record")]
    corpus: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct ExploreArgs {
    /// Scenarios to explore: full names (`drain/fixed`) or families (`drain`).
    names: Vec<String>,
    /// Explore every scenario `list` shows.
    #[arg(long, conflicts_with = "names")]
    all: bool,
    /// Stop after this many complete runs per scenario (the space is then not exhausted).
    #[arg(long, value_name = "N", default_value_t = 20_000, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    max_runs: u64,
    /// Run every order, without merging orders that differ only by commuting steps.
    #[arg(long)]
    every_order: bool,
}

#[derive(Debug, Args)]
struct ReplayArgs {
    /// The scenario (full name, as in `throttle-hang/buggy`).
    name: String,
    /// The seed to replay.
    #[arg(long, value_name = "S", conflicts_with_all = ["tape", "tape_file"], required_unless_present_any = ["tape", "tape_file"])]
    seed: Option<u64>,
    /// The tape to replay (the `tape:` of a report).
    #[arg(long, value_name = "T", conflicts_with = "tape_file")]
    tape: Option<Tape>,
    /// Read the tape to replay from this file (for tapes too long for a command line).
    #[arg(long, value_name = "FILE")]
    tape_file: Option<PathBuf>,
    /// Write the whole trace here as JSON Lines.
    #[arg(long, value_name = "FILE.jsonl")]
    trace: Option<PathBuf>,
    /// Write the run's timeline here as a self-contained HTML page.
    #[arg(long, value_name = "FILE.html")]
    timeline: Option<PathBuf>,
    /// How many trace records to print.
    #[arg(long, value_name = "N", default_value_t = 24)]
    tail: usize,
}

#[derive(Debug, Args)]
struct DeterminismArgs {
    /// The scenario (full name).
    name: String,
    /// Check seeds 0..N.
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..))]
    seeds: u64,
}

#[derive(Debug, Args)]
struct CorpusArgs {
    /// The corpus file (default: the tool's own; the catalogue's is tests/corpus/failures.txt).
    #[arg(long, value_name = "FILE")]
    file: Option<PathBuf>,
}

/// `print!` that is no panic when standard output is gone (a reader such as `| head`
/// closed the pipe): what could not be written is dropped.
macro_rules! out {
    ($($arg:tt)*) => {{
        let _ = std::io::Write::write_fmt(&mut std::io::stdout().lock(), format_args!($($arg)*));
    }};
}

/// `println!`, as [`out!`].
macro_rules! outln {
    () => { out!("\n") };
    ($($arg:tt)*) => {{
        out!($($arg)*);
        out!("\n");
    }};
}

/// Bad input: the one-line reason, exit status 2.
struct BadInput(String);

/// Runs the `lockstep` tool on the race catalogue with the process's arguments.
pub fn main() -> ExitCode {
    tool(registry::catalogue(), Cli::command())
}

/// Runs the tool on a user's `registry` with the process's arguments: the `main` of
/// a user's own `lockstep`. Every command works as on the catalogue, with the same
/// exit statuses (0 met, 1 not met, 2 bad input with a one-line reason on standard
/// error, 3 the poll watchdog); messages start with [`Registry::tool`], and every
/// replay command printed starts with [`Registry::command`]. A registry with
/// [problems](Registry::problems) exits 2 naming the first.
///
/// ```no_run
/// // src/bin/my-lockstep.rs
/// fn main() -> std::process::ExitCode {
///     scenarios::cli::main_with(my_crate::registry())
/// }
/// # mod my_crate { pub fn registry() -> scenarios::Registry { unimplemented!() } }
/// ```
pub fn main_with(registry: Registry) -> ExitCode {
    if let Some(problem) = registry.problems().first() {
        eprintln!("{}: bad registry: {}", registry.tool(), one_line(problem));
        return ExitCode::from(2);
    }
    // The tool runs once per process and hands out `&'static Scenario`s (to the check
    // runner's threads): the registry lives as long as the process.
    let registry: &'static Registry = Box::leak(Box::new(registry));
    let about = format!("Deterministic simulation of races: the scenarios of `{}`.", registry.tool());
    let command = Cli::command().name(registry.tool()).bin_name(registry.tool()).about(about);
    tool(registry, command)
}

fn tool(reg: &'static Registry, command: clap::Command) -> ExitCode {
    // A panic inside a task (a failing `assert!`) is the run's failure: its report,
    // message included, is what the tool prints. Any other panic is shown as usual.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !sim_core::tooling::task::in_task_poll() {
            default_hook(info);
        }
    }));
    let cli = match command.try_get_matches().and_then(|m| Cli::from_arg_matches(&m)) {
        Ok(cli) => cli,
        Err(e) => return clap_error(reg, e),
    };
    match sim_core::tooling::env::poll_timeout_from_env() {
        Ok(bound) => crate::set_poll_timeout(bound.unwrap_or(sim_core::tooling::watchdog::DEFAULT_BOUND)),
        Err(e) => {
            eprintln!("{}: {}", reg.tool(), one_line(&e.to_string()));
            return ExitCode::from(2);
        }
    }
    let result = match cli.command {
        Command::List => list(reg),
        Command::Run(args) => run(reg, args),
        Command::Explore(args) => explore(reg, args),
        Command::Replay(args) => replay(reg, args),
        Command::CheckDeterminism(args) => check_determinism(reg, args),
        Command::Corpus(args) => check_corpus(reg, args),
    };
    match result {
        Ok(code) => code,
        Err(BadInput(reason)) => {
            eprintln!("{}: {}", reg.tool(), one_line(&reason));
            ExitCode::from(2)
        }
    }
}

/// `text` with its control characters escaped (`\n`), so that a reason quoting
/// user input (a name holding a newline) stays on one line.
fn one_line(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { c.escape_default().to_string() } else { c.to_string() }).collect()
}

/// A number of seeds: a decimal integer of at least 1, or `MeE` notation (`1e12`).
fn parse_seed_count(text: &str) -> Result<u64, String> {
    let reason = || "expected a number of seeds from 1 to 2^64-1: a decimal integer, or `1e6` notation".to_string();
    let n = match text.trim().split_once(['e', 'E']) {
        Some((mantissa, exponent)) => {
            let mantissa: u64 = mantissa.parse().map_err(|_| reason())?;
            let exponent: u32 = exponent.parse().map_err(|_| reason())?;
            10u64.checked_pow(exponent).and_then(|p| p.checked_mul(mantissa)).ok_or_else(reason)?
        }
        None => text.trim().parse().map_err(|_| reason())?,
    };
    if n == 0 {
        return Err(reason());
    }
    Ok(n)
}

/// Help and version go to standard output (status 0); any other parse error is
/// bad input, told in one line (status 2).
fn clap_error(reg: &Registry, e: clap::Error) -> ExitCode {
    let tool = reg.tool();
    use clap::error::ErrorKind;
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        let _ = e.print();
        return ExitCode::SUCCESS;
    }
    if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        eprintln!(
            "{tool}: a command is required: list, run, explore, replay, check-determinism or corpus \
             (see `{tool} --help`)"
        );
        return ExitCode::from(2);
    }
    // The first paragraph of clap's message, on one line ("…were not provided: --seed <S>").
    let rendered = e.render().to_string();
    let paragraph: Vec<&str> =
        rendered.lines().map(str::trim).skip_while(|l| l.is_empty()).take_while(|l| !l.is_empty()).collect();
    let reason = paragraph.join(" ");
    let reason = one_line(reason.trim_start_matches("error:").trim());
    eprintln!("{tool}: {reason} (see `{tool} --help`)");
    ExitCode::from(2)
}

fn find(reg: &'static Registry, name: &str) -> Result<&'static Scenario, BadInput> {
    let tool = reg.tool();
    reg.get(name).ok_or_else(|| BadInput(format!("no scenario named `{name}` (see `{tool} list`)")))
}

fn list(reg: &'static Registry) -> Result<ExitCode, BadInput> {
    let mut out = String::new();
    let _ = writeln!(out, "{:<28} {:>4}  {:<13} {:<24} description", "scenario", "race", "variant", "expectation");
    for s in reg.all() {
        // A user's scenario is no race of the catalogue: no number.
        let race = if s.race == 0 { "-".to_string() } else { s.race.to_string() };
        let _ = writeln!(
            out,
            "{:<28} {:>4}  {:<13} {:<24} {}",
            s.name,
            race,
            s.variant.label(),
            s.expect.to_string(),
            s.summary
        );
    }
    out!("{out}");
    Ok(ExitCode::SUCCESS)
}

/// One scenario's line in the summary table.
struct Row {
    scenario: &'static Scenario,
    seeds_run: u64,
    failures: usize,
    first_failing: String,
    rate: f64,
    met: bool,
    /// The lowest failure's report, if any.
    failure: Option<Box<sim_core::Failure>>,
    /// What the lowest failure's run left unbalanced (found after it stopped).
    findings: Vec<String>,
    /// Failures to record in the corpus.
    found: Vec<Entry>,
    /// A panic that escaped the run.
    panic: Option<String>,
}

/// PCT's defaults in `run`: the catalogue's races have depth 1 or 2, and their runs
/// have a few dozen choice points.
const PCT_DEPTH: u32 = 3;
const PCT_STEPS: u64 = 64;

fn run(reg: &'static Registry, args: RunArgs) -> Result<ExitCode, BadInput> {
    if args.strategy != StrategyArg::Pct && (args.depth.is_some() || args.pct_steps.is_some()) {
        return Err(BadInput("--depth and --pct-steps apply to --strategy pct only".to_string()));
    }
    let seeded = args.seed.is_some() || args.seeds.is_some() || args.shard.is_some() || args.keep_going;
    if args.strategy == StrategyArg::Fifo && seeded {
        return Err(BadInput(
            "--seed, --seeds, --shard and --keep-going apply to --strategy random or pct: fifo runs the canonical order once"
                .to_string(),
        ));
    }
    let scenarios = selected(reg, &args.names, args.all)?;
    if args.strategy != StrategyArg::Fifo {
        for scenario in &scenarios {
            let (seeds, shard) = seed_plan(scenario, &args);
            if args.seed.is_none() && shard.len_of(&seeds) == 0 {
                return Err(BadInput(format!(
                    "shard {shard} of seeds {seeds:?} of `{}` holds no seed: a run of 0 seeds proves nothing",
                    scenario.name
                )));
            }
        }
    }
    let corpus_path = args.corpus.clone().or_else(|| reg.corpus_path().map(Path::to_path_buf));
    let header = corpus::header(reg);
    if args.record {
        let Some(path) = &corpus_path else {
            return Err(BadInput(format!("`{}` has no corpus file of its own: give --corpus FILE", reg.tool())));
        };
        corpus::prepare(path, &header)
            .map_err(|e| BadInput(format!("cannot record in the corpus {}: {e}", path.display())))?;
    }
    let mut rows = Vec::new();
    for scenario in scenarios {
        rows.push(run_one(scenario, &args));
    }
    out!("{}", table(&rows));
    let mut notes = String::new();
    for row in &rows {
        note(&mut notes, row);
    }
    out!("{notes}");
    if let (true, Some(path)) = (args.record, corpus_path) {
        let found: Vec<Entry> = rows.iter().flat_map(|r| r.found.iter().cloned()).collect();
        let added = corpus::append(&path, &found, &header)
            .map_err(|e| BadInput(format!("cannot record in the corpus {}: {e}", path.display())))?;
        outln!("recorded {added} new failure{} in {}", plural(added), path.display());
    }
    let met = rows.iter().filter(|r| r.met).count();
    outln!("\n{met} of {} scenarios met their expectation", rows.len());
    Ok(if met == rows.len() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn selected(reg: &'static Registry, names: &[String], all: bool) -> Result<Vec<&'static Scenario>, BadInput> {
    let tool = reg.tool();
    if all {
        if reg.all().is_empty() {
            return Err(BadInput(format!("`{tool}` has no scenarios: --all runs nothing, and proves nothing")));
        }
        return Ok(reg.all().iter().collect());
    }
    if names.is_empty() {
        return Err(BadInput(format!("name the scenarios, or pass --all (see `{tool} list`)")));
    }
    let mut chosen: Vec<&'static Scenario> = Vec::new();
    for name in names {
        let found = reg.select(name);
        if found.is_empty() {
            return Err(BadInput(format!("no scenario or family named `{name}` (see `{tool} list`)")));
        }
        for s in found {
            if !chosen.iter().any(|c| c.name == s.name) {
                chosen.push(s);
            }
        }
    }
    Ok(chosen)
}

fn run_one(scenario: &'static Scenario, args: &RunArgs) -> Row {
    let started = WallClock::now();
    let mut row = Row {
        scenario,
        seeds_run: 0,
        failures: 0,
        first_failing: "-".to_string(),
        rate: 0.0,
        met: false,
        failure: None,
        findings: Vec::new(),
        found: Vec::new(),
        panic: None,
    };
    let attempt = catch_unwind(AssertUnwindSafe(|| match args.strategy {
        StrategyArg::Fifo => fifo_run(scenario, &mut row),
        StrategyArg::Random | StrategyArg::Pct => seeded_run(scenario, args, &mut row),
    }));
    if let Err(payload) = attempt {
        let message = payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "a panic".to_string());
        row.panic = Some(message);
        row.met = false;
        return row;
    }
    let secs = started.elapsed().as_secs_f64();
    row.rate = if secs > 0.0 { row.seeds_run as f64 / secs } else { 0.0 };
    // A seed that ran differently when run again is no catch: the scenario is broken.
    let nondeterministic =
        row.failure.as_ref().is_some_and(|f| matches!(f.kind, sim_core::FailureKind::Nondeterministic(_)));
    row.met = !nondeterministic && scenario.expect.met_by(row.failures);
    row
}

fn fifo_run(scenario: &Scenario, row: &mut Row) {
    let outcome = scenario.run(scenario.config(StrategyKind::Fifo));
    row.seeds_run = 1;
    row.findings = outcome.findings;
    if let Err(failure) = outcome.result {
        row.failures = 1;
        row.first_failing = "fifo".to_string();
        row.found.push(Entry::from_failure(scenario, &failure));
        row.failure = Some(failure);
    }
}

/// The seed range and shard a seeded `run` of `scenario` covers (`--seed` aside).
fn seed_plan(scenario: &Scenario, args: &RunArgs) -> (std::ops::Range<u64>, Shard) {
    let seeds = match args.seeds {
        Some(n) => 0..n,
        None => 0..scenario.expect.seeds(),
    };
    (seeds, args.shard.unwrap_or(Shard::ALL))
}

fn seeded_strategy(args: &RunArgs) -> Search {
    match args.strategy {
        StrategyArg::Pct => {
            Search::Pct { depth: args.depth.unwrap_or(PCT_DEPTH), steps: Some(args.pct_steps.unwrap_or(PCT_STEPS)) }
        }
        StrategyArg::Random | StrategyArg::Fifo => Search::Random,
    }
}

/// `--seed S`: one run, of any seed up to `u64::MAX` (which no `Range<u64>` holds).
fn single_seed_run(scenario: &Scenario, args: &RunArgs, seed: u64, row: &mut Row) {
    let strategy = match seeded_strategy(args) {
        Search::Pct { depth, steps } => StrategyKind::Pct { seed, depth, steps: steps.unwrap_or(PCT_STEPS) },
        _ => StrategyKind::Random { seed },
    };
    let outcome = scenario.run(scenario.config(strategy));
    row.seeds_run = 1;
    if let Err(failure) = outcome.result {
        row.failures = 1;
        row.first_failing = seed.to_string();
        row.findings = outcome.findings;
        row.found.push(Entry::from_failure(scenario, &failure));
        row.failure = Some(failure);
    }
}

fn seeded_run(scenario: &Scenario, args: &RunArgs, row: &mut Row) {
    if let Some(seed) = args.seed {
        return single_seed_run(scenario, args, seed, row);
    }
    let (seeds, shard) = seed_plan(scenario, args);
    let planned = shard.len_of(&seeds);
    let mut cfg = Check::random(0).seeds(seeds).shard(shard);
    if let Some(jobs) = args.jobs {
        cfg = cfg.jobs(usize::try_from(jobs).unwrap_or(usize::MAX));
    }
    cfg = cfg.stop(if args.keep_going { StopAt::Never } else { StopAt::FirstFailure });
    cfg = cfg.search(seeded_strategy(args));
    let bar = progress(scenario, planned);
    let summary = scenario.check(cfg, &|| bar.inc(1));
    bar.finish_and_clear();
    row.seeds_run = summary.seeds_run;
    row.failures = usize::try_from(summary.failure_count).unwrap_or(usize::MAX);
    if let Some(first) = summary.first_failure() {
        row.first_failing = first.seed.map_or_else(|| "-".to_string(), |s| s.to_string());
        row.failure = Some(first.failure.clone());
        // The check keeps only the report; one more run (of its tape: a PCT seed is not a
        // random seed) tells what it left unbalanced.
        row.findings = scenario.run_tape(first.failure.tape.clone()).findings;
    }
    row.found = summary.failures.iter().map(|f| Entry::from_failure(scenario, &f.failure)).collect();
}

/// A progress bar on standard error, hidden when that is not a terminal.
fn progress(scenario: &Scenario, seeds: u64) -> ProgressBar {
    let target =
        if std::io::stderr().is_terminal() { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() };
    let bar = ProgressBar::with_draw_target(Some(seeds), target);
    if let Ok(style) = ProgressStyle::with_template("{msg:<28} [{bar:30}] {pos}/{len} seeds {per_sec}") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(scenario.name);
    bar
}

fn table(rows: &[Row]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<28} {:<13} {:>8} {:>9} {:>14} {:>10}  result",
        "scenario", "variant", "seeds", "failures", "first failing", "seeds/s"
    );
    for row in rows {
        let result = match (row.met, row.scenario.expect) {
            _ if row.panic.is_some() => "PANICKED",
            _ if row.failure.as_ref().is_some_and(|f| matches!(f.kind, sim_core::FailureKind::Nondeterministic(_))) => {
                "NONDETERMINISTIC"
            }
            (true, Expectation::Caught { .. }) => "caught (expected)",
            (true, Expectation::Clean { .. }) => "clean (expected)",
            (false, Expectation::Caught { .. }) => "NOT CAUGHT",
            (false, Expectation::Clean { .. }) => "FAILED",
        };
        let _ = writeln!(
            out,
            "{:<28} {:<13} {:>8} {:>9} {:>14} {:>10.0}  {result}",
            row.scenario.name,
            row.scenario.variant.label(),
            row.seeds_run,
            row.failures,
            row.first_failing,
            row.rate
        );
    }
    out
}

/// What to say under the table about a row: one line per expected catch, the full
/// report of an unexpected failure.
fn note(out: &mut String, row: &Row) {
    let name = row.scenario.name;
    if let Some(panic) = &row.panic {
        let _ = writeln!(out, "\n{name}: a panic escaped the run: {panic}");
        return;
    }
    match (&row.failure, row.met) {
        (Some(failure), true) => {
            let _ = writeln!(out, "\n{name}: {}", failure.kind);
        }
        (Some(failure), false) => {
            let _ = writeln!(out, "\n{name}: UNEXPECTED FAILURE\n{failure}");
        }
        (None, false) => {
            let _ =
                writeln!(out, "\n{name}: NOT CAUGHT in {} seeds (expected: {})", row.seeds_run, row.scenario.expect);
        }
        (None, true) => {}
    }
    for finding in &row.findings {
        let _ = writeln!(out, "  also found after the run: {finding}");
    }
    if let (Some(failure), true) = (&row.failure, row.met) {
        let _ = writeln!(out, "  replay: {}", failure.replay);
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// What enumerating one scenario's orders found.
struct Explored {
    scenario: &'static Scenario,
    summary: ExhaustiveSummary,
}

impl Explored {
    /// Whether an order ran differently when run again (a run's state leaks across runs).
    fn nondeterministic(&self) -> bool {
        let s = &self.summary;
        s.error.is_some()
            || s.first_failing
                .as_ref()
                .is_some_and(|f| matches!(f.failure.kind, sim_core::FailureKind::Nondeterministic(_)))
    }

    fn met(&self) -> bool {
        let s = &self.summary;
        match self.scenario.expect {
            _ if self.nondeterministic() => false,
            Expectation::Caught { .. } => s.failing > 0,
            Expectation::Clean { .. } => s.is_proven(),
        }
    }
}

fn explore(reg: &'static Registry, args: ExploreArgs) -> Result<ExitCode, BadInput> {
    let scenarios = selected(reg, &args.names, args.all)?;
    let max_runs = usize::try_from(args.max_runs).unwrap_or(usize::MAX);
    let mut rows = Vec::new();
    for scenario in scenarios {
        rows.push(explore_one(scenario, max_runs, args.every_order));
    }
    let (unit, one) = if args.every_order { ("orders", "order") } else { ("classes", "class") };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<28} {:<13} {:>8} {:>9} {:>8} {:>9}  result",
        "scenario", "variant", unit, "redundant", "failing", "exhausted"
    );
    for row in &rows {
        let s = &row.summary;
        let result = match (row.met(), row.scenario.expect) {
            _ if row.nondeterministic() => "NONDETERMINISTIC",
            (true, Expectation::Caught { .. }) => "caught (expected)",
            (true, Expectation::Clean { .. }) => "proven (expected)",
            (false, Expectation::Caught { .. }) => "NOT CAUGHT",
            (false, Expectation::Clean { .. }) if s.failing > 0 => "FAILED",
            (false, Expectation::Clean { .. }) => "NOT EXHAUSTED",
        };
        let _ = writeln!(
            out,
            "{:<28} {:<13} {:>8} {:>9} {:>8} {:>9}  {result}",
            row.scenario.name,
            row.scenario.variant.label(),
            s.runs,
            s.redundant,
            s.failing,
            if s.exhausted { "yes" } else { "no" }
        );
    }
    for row in &rows {
        let name = row.scenario.name;
        if let Some(why) = &row.summary.error {
            let _ = writeln!(out, "\n{name}: {why} (see `{} check-determinism {name}`)", reg.tool());
            continue;
        }
        match (&row.summary.first_failing, row.met()) {
            (Some(found), true) => {
                let _ = writeln!(out, "\n{name}: first failing {one} (run {}): {}", found.run, found.failure.kind);
                explain(&mut out, found);
            }
            (Some(found), false) if row.nondeterministic() => {
                let _ = writeln!(
                    out,
                    "\n{name}: run {} ran differently when run again (see `{} check-determinism {name}`)\n{}",
                    found.run,
                    reg.tool(),
                    found.failure
                );
            }
            (Some(found), false) => {
                let _ = writeln!(out, "\n{name}: UNEXPECTED FAILURE in run {}\n{}", found.run, found.failure);
            }
            (None, false) if matches!(row.scenario.expect, Expectation::Caught { .. }) => {
                let _ = writeln!(out, "\n{name}: no failing order in {} {unit}", row.summary.runs);
            }
            (None, false) => {
                let _ = writeln!(
                    out,
                    "\n{name}: clean in {} {unit}, but the bound of {max_runs} cut the enumeration short: not proven",
                    row.summary.runs
                );
            }
            (None, true) => {}
        }
    }
    let met = rows.iter().filter(|r| r.met()).count();
    let _ = writeln!(out, "\n{met} of {} scenarios met their expectation", rows.len());
    out!("{out}");
    Ok(if met == rows.len() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// How far the first failing order shrank, the pair of events that decides it, and
/// the command that replays it.
fn explain(out: &mut String, found: &FailingOrder) {
    let departures = found.tape.departures();
    if departures == 0 {
        let _ = writeln!(out, "  the canonical order itself fails: no departure from it is needed");
    } else {
        let _ = writeln!(
            out,
            "  shrunk in {} run{} to {departures} departure{} from the canonical order",
            found.shrink_runs,
            plural(found.shrink_runs as usize),
            plural(departures)
        );
    }
    if let Some(pair) = &found.critical {
        let _ = writeln!(out, "  critical pair: {pair}");
    }
    let _ = writeln!(out, "  replay: {}", found.failure.replay);
}

fn explore_one(scenario: &'static Scenario, max_runs: usize, every_order: bool) -> Explored {
    let cfg = Check::exhaustive()
        .name(scenario.name)
        .runs(max_runs as u64)
        .every_order(every_order)
        .sim(scenario.config(StrategyKind::Fifo));
    let canonical = scenario.ctx().canonical;
    let world = move || scenario.build(&crate::world::Ctx { canonical: canonical.clone() }).harness;
    let Report::Exhaustive(summary) = cfg.run_with_env(&EnvOverrides::none(), world) else {
        unreachable!("an exhaustive check reports an exhaustive summary")
    };
    Explored { scenario, summary }
}

fn replay(reg: &'static Registry, args: ReplayArgs) -> Result<ExitCode, BadInput> {
    let scenario = find(reg, &args.name)?;
    let tape = match (&args.tape, &args.tape_file) {
        (Some(tape), _) => Some(tape.clone()),
        (None, Some(path)) => Some(read_tape(path)?),
        (None, None) => None,
    };
    let (strategy, which) = match (tape, args.seed) {
        (Some(tape), _) => {
            let which = format!("tape {tape}");
            (StrategyKind::Replay(tape), which)
        }
        (None, Some(seed)) => (StrategyKind::Random { seed }, format!("seed {seed}")),
        (None, None) => return Err(BadInput("give --seed S, --tape T or --tape-file FILE".to_string())),
    };
    if let (Some(trace), Some(timeline)) = (&args.trace, &args.timeline) {
        if same_file(trace, timeline) {
            return Err(BadInput(format!(
                "--trace and --timeline name the same file {}: give each its own",
                trace.display()
            )));
        }
    }
    // Open the output files first: a bad path is bad input, before any work.
    let trace_file = args.trace.as_ref().map(create).transpose()?;
    let timeline_file = args.timeline.as_ref().map(create).transpose()?;
    let outcome = scenario.run(scenario.config(strategy).trace(TraceMode::Full));
    if outcome.diverged {
        return Err(BadInput(format!(
            "the tape does not fit `{}`: the run diverged from it (a choice point had another number of \
             options, or recorded events never came), so it replays nothing; was it recorded from another \
             scenario or an older version of the code?",
            scenario.name
        )));
    }
    let mut out = String::new();
    let _ = writeln!(out, "{}: replaying `{}` ({which})", reg.tool(), scenario.name);
    match &outcome.result {
        Ok(()) => {
            let _ = writeln!(out, "passed; fingerprint {}; tape {}", outcome.fingerprint, outcome.tape);
        }
        Err(failure) => {
            let _ = writeln!(out, "{failure}");
            for finding in &outcome.findings {
                let _ = writeln!(out, "  also found after the run: {finding}");
            }
        }
    }
    let _ = writeln!(out, "output: {}", outcome.output);
    let lines = &outcome.trace.lines;
    let shown = args.tail.min(lines.len());
    let _ = writeln!(out, "trace tail (last {shown} of {} records):", lines.len());
    for line in &lines[lines.len() - shown..] {
        let _ = writeln!(out, "  {line}");
    }
    if let (Some(file), Some(path)) = (trace_file, &args.trace) {
        let mut w = BufWriter::new(file);
        outcome
            .trace
            .write_jsonl(&mut w)
            .and_then(|()| w.flush())
            .map_err(|e| BadInput(format!("cannot write {}: {e}", path.display())))?;
        let _ = writeln!(out, "wrote the trace ({} records) to {}", lines.len(), path.display());
    }
    if let (Some(mut file), Some(path)) = (timeline_file, &args.timeline) {
        let title = format!("{} ({which})", scenario.name);
        let critical = critical_pair(scenario, &outcome);
        let marks = critical.map_or_else(Marks::default, |[failing, overtaken]| Marks::critical(failing, overtaken));
        let html = render_marked(&outcome.trace, outcome.result.as_ref().err().map(|f| &**f), &title, &marks);
        file.write_all(html.as_bytes()).map_err(|e| BadInput(format!("cannot write {}: {e}", path.display())))?;
        match critical {
            Some([failing, overtaken]) => {
                let _ = writeln!(
                    out,
                    "wrote the timeline to {} (critical pair marked: `{}` overtook `{}`)",
                    path.display(),
                    lines[failing],
                    lines[overtaken]
                );
            }
            None => {
                let _ = writeln!(out, "wrote the timeline to {}", path.display());
            }
        }
    }
    out!("{out}");
    Ok(if outcome.result.is_ok() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// The critical pair of a failing replay, as indices into its trace (as the checks'
/// artefacts mark it): its tape's departures flipped back one at a time, latest first,
/// until a run passes (`sim_core::tooling::artefacts::replay_marked`). `None` for a passing run, or when
/// no single flip passes.
fn critical_pair(scenario: &'static Scenario, outcome: &crate::scenario::Outcome) -> Option<[usize; 2]> {
    outcome.result.as_ref().err()?;
    let property = crate::exploration::property(scenario);
    let (trace, pair) =
        sim_core::tooling::artefacts::replay_marked(&scenario.config(StrategyKind::Fifo), &outcome.tape, &property)?;
    // The re-run is the same run (a run is a pure function of its tape): its indices
    // are the replay's. Anything else marks nothing rather than the wrong events.
    (trace.fingerprint == outcome.trace.fingerprint && trace.lines.len() == outcome.trace.lines.len())
        .then_some(pair)
        .flatten()
}

/// Reads a tape from a file, at most [`Tape::MAX_TEXT`] bytes of it.
fn read_tape(path: &Path) -> Result<Tape, BadInput> {
    use std::io::Read as _;
    let bad = |e: String| BadInput(format!("cannot read a tape from {}: {e}", path.display()));
    let file = File::open(path).map_err(|e| bad(e.to_string()))?;
    let mut bytes = Vec::new();
    let limit = u64::try_from(Tape::MAX_TEXT).unwrap_or(u64::MAX) + 1;
    file.take(limit).read_to_end(&mut bytes).map_err(|e| bad(e.to_string()))?;
    if bytes.len() > Tape::MAX_TEXT {
        return Err(bad("the file is longer than 16 MiB".to_string()));
    }
    let text = String::from_utf8(bytes).map_err(|_| bad("not UTF-8 text".to_string()))?;
    text.parse().map_err(|e| bad(format!("{e}")))
}

/// Whether two output paths name the same file (as written, or after resolving
/// their directories).
fn same_file(a: &Path, b: &Path) -> bool {
    let resolved = |p: &Path| -> Option<PathBuf> {
        let dir = match p.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        Some(dir.canonicalize().ok()?.join(p.file_name()?))
    };
    a == b || resolved(a).is_some_and(|ra| resolved(b).is_some_and(|rb| ra == rb))
}

fn create(path: &PathBuf) -> Result<File, BadInput> {
    File::create(path).map_err(|e| BadInput(format!("cannot create {}: {e}", path.display())))
}

fn check_determinism(reg: &'static Registry, args: DeterminismArgs) -> Result<ExitCode, BadInput> {
    let scenario = find(reg, &args.name)?;
    let ctx = scenario.ctx();
    // Seeds: every replay command printed (the report's, the watchdog's) is by seed.
    let config = scenario.config(StrategyKind::Random { seed: 0 });
    match check_determinism_seeds(&config, 0..args.seeds, || scenario.build(&ctx).harness) {
        Ok(fingerprints) => {
            let mut distinct = fingerprints.clone();
            distinct.sort();
            distinct.dedup();
            outln!(
                "{}: `{}`: {} seeds each ran twice with identical traces ({} distinct runs)",
                reg.tool(),
                scenario.name,
                fingerprints.len(),
                distinct.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(nondeterminism) => {
            outln!("{nondeterminism}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// `corpus`: replays every entry of the tool's corpus (or `--file`).
fn check_corpus(reg: &'static Registry, args: CorpusArgs) -> Result<ExitCode, BadInput> {
    let Some(path) = args.file.or_else(|| reg.corpus_path().map(Path::to_path_buf)) else {
        return Err(BadInput(format!("`{}` has no corpus file of its own: give --file FILE", reg.tool())));
    };
    if !path.is_file() {
        return Err(BadInput(format!("no corpus file at {}", path.display())));
    }
    // An unreadable file is bad input; entries that do not replay as recorded are a finding.
    corpus::load(&path).map_err(|e| BadInput(format!("cannot read the corpus {}: {e}", path.display())))?;
    match corpus::check_file(reg, &path) {
        Ok(n) => {
            outln!(
                "{}: {n} corpus entr{} of {} replay{} as recorded",
                reg.tool(),
                if n == 1 { "y" } else { "ies" },
                path.display(),
                if n == 1 { "s" } else { "" }
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(problems) => {
            for problem in &problems {
                outln!("{problem}");
            }
            outln!(
                "\n{} corpus entr{} of {} no longer replay{} as recorded",
                problems.len(),
                if problems.len() == 1 { "y" } else { "ies" },
                path.display(),
                if problems.len() == 1 { "s" } else { "" }
            );
            Ok(ExitCode::FAILURE)
        }
    }
}
