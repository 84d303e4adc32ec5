//! # tokio-suite: tokio's own tests as sim-tokio's yardstick
//!
//! `cargo run -p tokio-suite -- [OPTIONS] [FILE…]` fetches tokio's integration tests from
//! the registry at run time (the tokio version in this repository's `Cargo.lock`), copies
//! the requested files into a generated crate under `target/tokio-suite/sim/` whose
//! `tokio` is `sim-tokio` (built with `--cfg lockstep`), builds and runs each file under
//! wall-clock limits and prints, per file, whether it built (with the first compiler
//! error when not), how many tests passed, failed, hung or did not run, and the total
//! percentage. The same files built against the real tokio give each file's test count
//! (and, with `--baseline`, a second table of real tokio's results).
//!
//! See `docs/tokio.md`, "tokio's own tests", for the figures and what every failure means.
#![forbid(unsafe_code)]

pub mod cut;
pub mod parse;
pub mod project;
pub mod report;
pub mod run;

use std::path::{Path, PathBuf};
use std::time::Duration;

/// The files run when none are named: time, sync, macros and tasks (issue 11).
pub const DEFAULT_FILES: &[&str] = &[
    "time_sleep",
    "time_interval",
    "time_timeout",
    "time_pause",
    "sync_mpsc",
    "sync_oneshot",
    "sync_notify",
    "sync_watch",
    "sync_mutex",
    "sync_semaphore",
    "sync_barrier",
    "sync_broadcast",
    "sync_rwlock",
    "macros_select",
    "macros_join",
    "task_join_set",
    "task_abort",
    "task_yield_now",
];

/// The usage text (`--help`).
pub const USAGE: &str = "\
usage: cargo run -p tokio-suite -- [OPTIONS] [FILE...]

Runs tokio's own integration tests (tests/FILE.rs of the registry's tokio, the version in
Cargo.lock) against sim-tokio and prints a table per file. FILE is a name such as
`sync_mpsc` (or `sync_mpsc.rs`); default: the 18 time/sync/macros/task files.

options:
  --baseline          also run the files on real tokio and print its table
  --no-cut            do not cut what does not compile: a file that does not build
                      as is runs nothing (by default each item that holds a compiler
                      error is blanked out of the generated copy, and the rest runs)
  --seeds N           LOCKSTEP_SEEDS for #[tokio::test] bodies under sim-tokio (default 10)
  --timeout SECS      wall-clock limit for one file, restarts included (default 300)
  --test-timeout SECS a test with no result after this long is hung (default 30)
  -h, --help          this text

Work files: target/tokio-suite/. Exit status: 0 when it ran (whatever the percentage),
2 on bad arguments or an unknown file, 1 when the tests could not be fetched or built.";

/// The command line, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// The test files (names without `.rs`), in order, without duplicates.
    pub files: Vec<String>,
    /// Also run the files on real tokio.
    pub baseline: bool,
    /// Cut the items that do not compile from a file that does not build, and run the rest.
    pub cut: bool,
    /// `LOCKSTEP_SEEDS` for the sim side.
    pub seeds: u64,
    /// Limit for one file.
    pub file_timeout: Duration,
    /// Limit for one test.
    pub test_timeout: Duration,
}

/// What the command line asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Print the usage.
    Help,
    /// Run the suite.
    Run(Options),
}

/// Parses the arguments after the program name. `Err` holds a one-line reason.
pub fn parse_args<I: IntoIterator<Item = String>>(args: I) -> Result<Command, String> {
    let mut opts = Options {
        files: Vec::new(),
        baseline: false,
        cut: true,
        seeds: 10,
        file_timeout: Duration::from_secs(300),
        test_timeout: Duration::from_secs(30),
    };
    let mut args = args.into_iter();
    let positive = |flag: &str, value: Option<String>| -> Result<u64, String> {
        let value = value.ok_or_else(|| format!("{flag} needs a value"))?;
        match value.parse::<u64>() {
            Ok(0) => Err(format!("{flag} must be at least 1, got 0")),
            Ok(n) => Ok(n),
            Err(_) => Err(format!("{flag} takes a whole number, got `{value}`")),
        }
    };
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = || inline.clone().or_else(|| args.next());
        match flag.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--baseline" if inline.is_none() => opts.baseline = true,
            "--no-cut" if inline.is_none() => opts.cut = false,
            "--seeds" => opts.seeds = positive("--seeds", value())?,
            "--timeout" => opts.file_timeout = Duration::from_secs(positive("--timeout", value())?),
            "--test-timeout" => opts.test_timeout = Duration::from_secs(positive("--test-timeout", value())?),
            _ if arg.starts_with('-') => return Err(format!("unknown option `{arg}` (see --help)")),
            _ => {
                let name = arg.strip_suffix(".rs").unwrap_or(&arg);
                let valid = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                if !valid {
                    return Err(format!("`{arg}` is not a test file name like `sync_mpsc`"));
                }
                if !opts.files.iter().any(|f| f == name) {
                    opts.files.push(name.to_string());
                }
            }
        }
    }
    if opts.files.is_empty() {
        opts.files = DEFAULT_FILES.iter().map(|f| f.to_string()).collect();
    }
    Ok(Command::Run(opts))
}

/// The requested files that tokio's `tests/` directory does not hold.
pub fn missing_files(tests_dir: &Path, files: &[String]) -> Vec<String> {
    files.iter().filter(|f| !tests_dir.join(format!("{f}.rs")).is_file()).cloned().collect()
}

/// The repository this binary was built from (its test crates name `sim-tokio` by path).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

/// Why a run stopped early.
#[derive(Debug)]
pub enum Failure {
    /// Bad input (exit status 2).
    Input(String),
    /// The tests could not be fetched, written or run (exit status 1).
    Setup(String),
}

/// Runs the suite: fetch, generate, build and run each file on each side, print the tables
/// on stdout (progress on stderr).
pub fn run_suite(opts: &Options) -> Result<(), Failure> {
    use project::Side;
    let repo = repo_root();
    let lock = repo.join("Cargo.lock");
    let lock_text =
        std::fs::read_to_string(&lock).map_err(|e| Failure::Setup(format!("cannot read {}: {e}", lock.display())))?;
    let version = parse::locked_version(&lock_text, "tokio").map_err(|e| Failure::Setup(e.to_string()))?;
    let work = repo.join("target").join("tokio-suite");
    eprintln!("tokio-suite: locating tokio {version} in the registry…");
    let tokio = project::fetch_tokio(&work, &version).map_err(Failure::Setup)?;
    let tests_dir = tokio.dir.join("tests");
    let missing = missing_files(&tests_dir, &opts.files);
    if !missing.is_empty() {
        return Err(Failure::Input(format!(
            "tokio {version}'s tests/ has no {}",
            missing.iter().map(|f| format!("{f}.rs")).collect::<Vec<_>>().join(", ")
        )));
    }
    let mut crates = Vec::new();
    for side in [Side::Tokio, Side::Sim] {
        let manifest = project::manifest(side, &repo, &version, &tokio);
        let dir =
            project::write_crate(&work, side, &manifest, &lock, &tests_dir, &opts.files).map_err(Failure::Setup)?;
        crates.push((side, dir));
    }
    let limits = run::Limits { per_test: opts.test_timeout, per_file: opts.file_timeout };
    let sim_env = vec![("LOCKSTEP_SEEDS".to_string(), opts.seeds.to_string())];
    let mut sim_rows = Vec::new();
    let mut tokio_rows = Vec::new();
    let n = opts.files.len();
    for (i, file) in opts.files.iter().enumerate() {
        let mut reference = None;
        for (side, dir) in &crates {
            eprintln!("[{}/{n}] {file}: building on {}…", i + 1, side.name());
            let mut build = project::build(&work, dir, *side, file).map_err(Failure::Setup)?;
            let as_is = build.first_error.clone();
            let mut cuts = Vec::new();
            if build.executable.is_none() && *side == Side::Sim && opts.cut {
                let path = dir.join("tests").join(format!("{file}.rs"));
                for _round in 0..16 {
                    let Some(cut_now) = cut_errors(&path, file, &build)? else { break };
                    eprintln!("[{}/{n}] {file}: cut {} item(s) that do not compile, rebuilding…", i + 1, cut_now.len());
                    cuts.extend(cut_now);
                    build = project::build(&work, dir, *side, file).map_err(Failure::Setup)?;
                    if build.executable.is_some() {
                        break;
                    }
                }
            }
            let mut row = report::Row {
                file: file.clone(),
                build_error: as_is,
                tests: None,
                outcomes: Default::default(),
                ran: false,
                cut: cuts,
            };
            if let Some(exe) = &build.executable {
                let run_it = *side == Side::Sim || opts.baseline;
                if run_it {
                    eprintln!("[{}/{n}] {file}: running on {}…", i + 1, side.name());
                    let envs = if *side == Side::Sim { sim_env.clone() } else { Vec::new() };
                    match run::run_file(exe, &envs, limits) {
                        Ok(outcomes) => {
                            row.outcomes = outcomes;
                            row.ran = true;
                        }
                        Err(why) => row.build_error = Some(why),
                    }
                } else {
                    row.tests = list_count(exe);
                }
                if *side == Side::Tokio {
                    reference = row.tests.or_else(|| Some(row.outcomes.len()).filter(|_| row.build_error.is_none()));
                }
            }
            match side {
                Side::Tokio => tokio_rows.push(row),
                Side::Sim => {
                    row.tests = reference;
                    sim_rows.push(row)
                }
            }
        }
    }
    println!("tokio {version}'s tests on sim-tokio (LOCKSTEP_SEEDS={}):\n", opts.seeds);
    println!("{}", report::table(&sim_rows));
    println!("{}", report::not_passing(&sim_rows));
    if opts.baseline {
        println!("the same files on tokio {version}:\n");
        println!("{}", report::table(&tokio_rows));
        println!("{}", report::not_passing(&tokio_rows));
    }
    Ok(())
}

/// Cuts the items of the generated test file that hold `build`'s errors; `None` when
/// nothing could be cut (errors outside the file, or outside any item).
fn cut_errors(path: &Path, file: &str, build: &parse::Build) -> Result<Option<Vec<report::Cut>>, Failure> {
    use std::collections::BTreeMap;
    let source =
        std::fs::read_to_string(path).map_err(|e| Failure::Setup(format!("cannot read {}: {e}", path.display())))?;
    let mut errors = Vec::new();
    let mut support = BTreeMap::new();
    for (at, line, column, msg) in &build.located {
        if at.ends_with(&format!("tests/{file}.rs")) {
            errors.push(cut::At { line: *line, column: *column, message: msg.clone() });
        } else if let Some((_, module)) = at.rsplit_once("support/") {
            support.entry(module.trim_end_matches(".rs").to_string()).or_insert_with(|| msg.clone());
        }
    }
    let Ok((text, removed)) = cut::cut(&source, &errors, &support) else {
        return Ok(None);
    };
    std::fs::write(path, text).map_err(|e| Failure::Setup(format!("cannot write {}: {e}", path.display())))?;
    let cuts = removed.into_iter().map(|r| {
        let label = if r.names.is_empty() {
            format!("`{}`", r.item.label)
        } else {
            format!("`{}` from `{}`", r.names.join("`, `"), r.item.label)
        };
        report::Cut { test: r.item.test, label, error: r.error }
    });
    Ok(Some(cuts.collect()))
}

fn list_count(exe: &Path) -> Option<usize> {
    let out = std::process::Command::new(exe).arg("--list").output().ok()?;
    out.status.success().then(|| parse::parse_list(&String::from_utf8_lossy(&out.stdout)).len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Command, String> {
        parse_args(args.iter().map(|s| s.to_string()))
    }

    fn opts(args: &[&str]) -> Options {
        match parse(args) {
            Ok(Command::Run(o)) => o,
            other => panic!("{args:?}: {other:?}"),
        }
    }

    #[test]
    fn defaults() {
        let o = opts(&[]);
        assert_eq!(o.files.len(), 18);
        assert_eq!(o.files, DEFAULT_FILES);
        assert!(!o.baseline);
        assert!(o.cut);
        assert_eq!((o.seeds, o.file_timeout.as_secs(), o.test_timeout.as_secs()), (10, 300, 30));
    }

    #[test]
    fn options_and_files() {
        let o = opts(&[
            "--baseline",
            "--seeds",
            "3",
            "--timeout=60",
            "sync_mpsc.rs",
            "--test-timeout",
            "5",
            "time_sleep",
            "sync_mpsc",
        ]);
        assert_eq!(o.files, vec!["sync_mpsc".to_string(), "time_sleep".to_string()]);
        assert!(o.baseline);
        assert!(o.cut);
        assert_eq!((o.seeds, o.file_timeout.as_secs(), o.test_timeout.as_secs()), (3, 60, 5));
        assert!(!opts(&["--no-cut"]).cut);
        assert_eq!(parse(&["sync_mpsc", "--help"]), Ok(Command::Help));
        assert_eq!(parse(&["-h"]), Ok(Command::Help));
    }

    #[test]
    fn argument_errors_are_one_line() {
        let cases: &[(&[&str], &str)] = &[
            (&["--bogus"], "unknown option `--bogus` (see --help)"),
            (&["--seeds"], "--seeds needs a value"),
            (&["--seeds", "0"], "--seeds must be at least 1, got 0"),
            (&["--timeout", "ten"], "--timeout takes a whole number, got `ten`"),
            (&["--test-timeout=-1"], "--test-timeout takes a whole number, got `-1`"),
            (&["--baseline=yes"], "unknown option `--baseline=yes` (see --help)"),
            (&["--no-cut=1"], "unknown option `--no-cut=1` (see --help)"),
            (&["../sync_mpsc"], "`../sync_mpsc` is not a test file name like `sync_mpsc`"),
            (&[".rs"], "`.rs` is not a test file name like `sync_mpsc`"),
        ];
        for (args, why) in cases {
            assert_eq!(parse(args), Err(why.to_string()), "{args:?}");
            assert!(!why.contains('\n'));
        }
    }

    #[test]
    fn missing_files_in_a_tests_dir() {
        let dir = std::env::temp_dir().join(format!("tokio-suite-missing-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("sync_mpsc.rs"), "").unwrap();
        let files = vec!["sync_mpsc".to_string(), "sync_nope".to_string()];
        assert_eq!(missing_files(&dir, &files), vec!["sync_nope".to_string()]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
