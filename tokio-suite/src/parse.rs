//! Reading what the tools print: libtest's test output and `--list`, cargo's JSON build
//! messages, `cargo metadata`, and `Cargo.lock`. Pure functions over text, tested on canned
//! output.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value;

/// What libtest reported for one test.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reported {
    /// `test NAME ... ok`
    Passed,
    /// `test NAME ... FAILED`, with the first line of its panic message when libtest
    /// printed one in the failures section.
    Failed(String),
    /// `test NAME ... ignored`
    Ignored,
}

/// libtest's output of one (possibly interrupted) run, in the order printed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TestLog {
    /// Every test with a result, in the order the results were printed.
    pub results: Vec<(String, Reported)>,
    /// The test that was started (`test NAME ... `) but has no result yet: with
    /// `--test-threads=1` this is the test that was running when the output stopped.
    pub running: Option<String>,
}

/// Parses libtest's human output (the default "pretty" format). Run with
/// `--test-threads=1`, libtest prints `test NAME ... ` before a test starts and the result
/// after it ends, so a cut-off output names the test that was running. Stray text a test
/// writes straight to the process's stdout between the two halves is tolerated.
pub fn parse_libtest(stdout: &str) -> TestLog {
    let mut log = TestLog::default();
    let mut failures: BTreeMap<String, String> = BTreeMap::new();
    let mut section: Option<(String, Option<String>)> = None; // (test, first panic line)
    let mut after_panic = false;
    for line in stdout.lines() {
        if let Some(name) = line.strip_prefix("---- ").and_then(|l| l.strip_suffix(" stdout ----")) {
            if let Some((test, msg)) = section.take() {
                failures.insert(test, msg.unwrap_or_default());
            }
            section = Some((name.to_string(), None));
            after_panic = false;
            continue;
        }
        if let Some((_, msg)) = section.as_mut() {
            if line == "failures:" || line.starts_with("test result: ") {
                let (test, msg) = section.take().expect("section is open");
                failures.insert(test, msg.unwrap_or_default());
                continue;
            }
            if msg.is_none() {
                if line.contains("panicked at") {
                    // `thread 'x' panicked at src/f.rs:1:2:` then the message on the next
                    // line (Rust >= 1.73); older toolchains put it after the location.
                    match line.split_once("panicked at ").map(|(_, rest)| rest) {
                        Some(rest) if rest.starts_with('\'') => *msg = Some(rest.to_string()),
                        _ => after_panic = true,
                    }
                } else if after_panic && !line.trim().is_empty() {
                    *msg = Some(line.trim().to_string());
                }
            }
            continue;
        }
        let Some(rest) = line.strip_prefix("test ") else {
            if let Some(name) = log.running.clone() {
                // The second half of a result line split by stray output.
                if let Some(result) = result_word(line.trim()) {
                    log.results.push((name, result));
                    log.running = None;
                }
            }
            continue;
        };
        let Some((name, tail)) = rest.split_once(" ... ") else {
            continue;
        };
        // `#[should_panic]` tests are printed as `test NAME - should panic ... ok`.
        let name = name.strip_suffix(" - should panic").unwrap_or(name);
        let tail = tail.trim();
        match result_word(tail).or_else(|| tail.split_whitespace().last().and_then(result_word)) {
            Some(result) => {
                log.results.push((name.to_string(), result));
                log.running = None;
            }
            None => log.running = Some(name.to_string()),
        }
    }
    if let Some((test, msg)) = section.take() {
        failures.insert(test, msg.unwrap_or_default());
    }
    for (name, result) in &mut log.results {
        if let Reported::Failed(msg) = result {
            if let Some(found) = failures.get(name.as_str()) {
                msg.clone_from(found);
            }
        }
    }
    log
}

fn result_word(text: &str) -> Option<Reported> {
    match text {
        "ok" => Some(Reported::Passed),
        "FAILED" => Some(Reported::Failed(String::new())),
        _ if text == "ignored" || text.starts_with("ignored, ") => Some(Reported::Ignored),
        _ => None,
    }
}

/// Parses `TESTBIN --list`: one `NAME: test` line per test (benchmarks are left out).
pub fn parse_list(stdout: &str) -> Vec<String> {
    stdout.lines().filter_map(|l| l.strip_suffix(": test")).map(str::to_string).collect()
}

/// What `cargo test --no-run --message-format=json` said about one test target.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Build {
    /// The test binary, when it was built.
    pub executable: Option<PathBuf>,
    /// The first compiler error, on one line: `error[E0432]: message (file:line)`.
    pub first_error: Option<String>,
    /// How many compiler errors were reported (not counting "aborting due to…").
    pub errors: usize,
    /// Every compiler error: where it is (file as rustc names it, line, column, both
    /// 1-based) and the one-line text. An error inside a macro expansion is placed at the
    /// outermost call site in a file under `tests/`, when there is one.
    pub located: Vec<(String, usize, usize, String)>,
}

/// Parses the JSON lines cargo prints with `--message-format=json`; lines that are not
/// JSON (cargo's own status lines, if any reach stdout) are skipped.
pub fn parse_build(json_lines: &str) -> Build {
    let mut build = Build::default();
    for line in json_lines.lines() {
        let Ok(msg) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        match msg["reason"].as_str() {
            Some("compiler-artifact") => {
                let is_test = msg["profile"]["test"].as_bool() == Some(true);
                if let (true, Some(exe)) = (is_test, msg["executable"].as_str()) {
                    build.executable = Some(PathBuf::from(exe));
                }
            }
            Some("compiler-message") => {
                let m = &msg["message"];
                if m["level"].as_str() != Some("error") {
                    continue;
                }
                let text = m["message"].as_str().unwrap_or_default();
                if text.starts_with("aborting due to") {
                    continue;
                }
                build.errors += 1;
                let line = one_line_error(m);
                if let Some((file, at, column)) = test_location(m) {
                    build.located.push((file, at, column, line.clone()));
                }
                if build.first_error.is_none() {
                    build.first_error = Some(line);
                }
            }
            _ => {}
        }
    }
    build
}

fn primary_span(m: &Value) -> Option<&Value> {
    let spans = m["spans"].as_array()?;
    spans.iter().find(|s| s["is_primary"].as_bool() == Some(true)).or(spans.first())
}

fn test_location(m: &Value) -> Option<(String, usize, usize)> {
    let mut span = primary_span(m)?;
    let mut found = None;
    for _ in 0..64 {
        let file = span["file_name"].as_str().unwrap_or_default();
        if file.starts_with("tests/") || file.contains("/tests/") {
            let line = span["line_start"].as_u64()? as usize;
            found = Some((file.to_string(), line, span["column_start"].as_u64().unwrap_or(1) as usize));
        }
        match span.get("expansion").and_then(|e| e.get("span")) {
            Some(next) if next.is_object() => span = next,
            _ => break,
        }
    }
    found
}

fn one_line_error(m: &Value) -> String {
    let text = m["message"].as_str().unwrap_or_default();
    let text = text.lines().next().unwrap_or_default();
    let head = match m["code"]["code"].as_str() {
        Some(code) => format!("error[{code}]: {text}"),
        None => format!("error: {text}"),
    };
    match primary_span(m) {
        Some(span) => {
            let file = span["file_name"].as_str().unwrap_or_default();
            let file = file.rsplit('/').next().unwrap_or(file);
            format!("{head} ({file}:{})", span["line_start"])
        }
        None => head,
    }
}

/// The first `error: …` line of cargo's human stderr: why cargo failed when no compiler
/// error explains it (a dependency that cannot be resolved, a bad manifest).
pub fn first_cargo_error(stderr: &str) -> Option<String> {
    stderr
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("error") && !l.starts_with("error: could not compile"))
        .map(str::to_string)
}

/// Errors reading the project's `Cargo.lock` or `cargo metadata`'s output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LookupError {
    /// The lock file holds no package of that name.
    NotLocked(String),
    /// The lock file holds several versions of it.
    SeveralVersions(String, Vec<String>),
    /// `cargo metadata`'s output is not the JSON expected, or lacks the package.
    Metadata(String),
}

impl std::fmt::Display for LookupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LookupError::NotLocked(name) => write!(f, "Cargo.lock holds no package `{name}`"),
            LookupError::SeveralVersions(name, v) => {
                write!(f, "Cargo.lock holds several versions of `{name}`: {}", v.join(", "))
            }
            LookupError::Metadata(why) => write!(f, "cargo metadata: {why}"),
        }
    }
}

impl std::error::Error for LookupError {}

/// The version of the registry package `name` in a `Cargo.lock`.
pub fn locked_version(lock: &str, name: &str) -> Result<String, LookupError> {
    let mut versions = Vec::new();
    for block in lock.split("[[package]]").skip(1) {
        let field = |key: &str| {
            block.lines().find_map(|l| {
                let (k, v) = l.split_once('=')?;
                (k.trim() == key).then(|| v.trim().trim_matches('"').to_string())
            })
        };
        let from_registry = field("source").is_some_and(|s| s.starts_with("registry+"));
        if field("name").as_deref() == Some(name) && from_registry {
            versions.extend(field("version"));
        }
    }
    match versions.len() {
        0 => Err(LookupError::NotLocked(name.to_string())),
        1 => Ok(versions.remove(0)),
        _ => Err(LookupError::SeveralVersions(name.to_string(), versions)),
    }
}

/// What the runner needs to know about the registry's tokio package, from `cargo metadata`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokioPackage {
    /// The unpacked source directory (the manifest's folder) in cargo's registry cache.
    pub dir: PathBuf,
    /// tokio's features: name → the features it turns on (other features only; `dep:` and
    /// `crate/feature` entries are left out).
    pub features: BTreeMap<String, Vec<String>>,
    /// tokio's dev-dependencies: name → version requirement.
    pub dev_deps: BTreeMap<String, String>,
}

/// Finds package `name` at `version` in `cargo metadata --format-version 1`'s output.
pub fn registry_package(metadata: &str, name: &str, version: &str) -> Result<TokioPackage, LookupError> {
    let meta: Value = serde_json::from_str(metadata).map_err(|e| LookupError::Metadata(format!("not JSON ({e})")))?;
    let packages =
        meta["packages"].as_array().ok_or_else(|| LookupError::Metadata("no `packages` array".to_string()))?;
    let pkg = packages
        .iter()
        .find(|p| p["name"].as_str() == Some(name) && p["version"].as_str() == Some(version))
        .ok_or_else(|| LookupError::Metadata(format!("no package {name} {version}")))?;
    let manifest =
        pkg["manifest_path"].as_str().ok_or_else(|| LookupError::Metadata(format!("{name} has no manifest_path")))?;
    let dir = PathBuf::from(manifest)
        .parent()
        .map(PathBuf::from)
        .ok_or_else(|| LookupError::Metadata(format!("bad manifest_path {manifest}")))?;
    let mut features = BTreeMap::new();
    if let Some(map) = pkg["features"].as_object() {
        for (feature, enables) in map {
            let names = enables.as_array().map(Vec::as_slice).unwrap_or_default();
            let names = names.iter().filter_map(Value::as_str);
            let names = names.filter(|n| !n.contains(':') && !n.contains('/') && map.contains_key(*n));
            features.insert(feature.clone(), names.map(str::to_string).collect());
        }
    }
    let mut dev_deps = BTreeMap::new();
    for dep in pkg["dependencies"].as_array().map(Vec::as_slice).unwrap_or_default() {
        if dep["kind"].as_str() == Some("dev") {
            if let (Some(n), Some(req)) = (dep["name"].as_str(), dep["req"].as_str()) {
                dev_deps.entry(n.to_string()).or_insert_with(|| req.to_string());
            }
        }
    }
    Ok(TokioPackage { dir, features, dev_deps })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// libtest's output for a run with `--test-threads=1` (Rust 1.95), abridged by hand:
    /// one pass, one `#[should_panic]` pass, one ignored, two failures (a panic and an
    /// `Err` return), the failures section and the summary.
    const RUN: &str = "
running 5 tests
test a_passes ... ok
test b_should_panic - should panic ... ok
test c_ignored ... ignored, slow
test d_fails ... FAILED
test e_returns_err ... FAILED

failures:

---- d_fails stdout ----

thread 'd_fails' panicked at tests/x.rs:10:5:
assertion `left == right` failed
  left: 1
 right: 2
note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace

---- e_returns_err stdout ----
Error: \"boom\"


failures:
    d_fails
    e_returns_err

test result: FAILED. 2 passed; 2 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.01s

";

    #[test]
    fn libtest_results_in_order_with_reasons() {
        let log = parse_libtest(RUN);
        assert_eq!(
            log.results,
            vec![
                ("a_passes".to_string(), Reported::Passed),
                ("b_should_panic".to_string(), Reported::Passed),
                ("c_ignored".to_string(), Reported::Ignored),
                ("d_fails".to_string(), Reported::Failed("assertion `left == right` failed".to_string())),
                ("e_returns_err".to_string(), Reported::Failed(String::new())),
            ]
        );
        assert_eq!(log.running, None);
    }

    #[test]
    fn libtest_old_panic_format_keeps_the_message() {
        let out = "test t ... FAILED\n\nfailures:\n\n---- t stdout ----\n\
                   thread 't' panicked at 'oops', tests/x.rs:1:1\n\nfailures:\n    t\n";
        let log = parse_libtest(out);
        assert_eq!(log.results, vec![("t".to_string(), Reported::Failed("'oops', tests/x.rs:1:1".to_string()))]);
    }

    #[test]
    fn libtest_cut_off_output_names_the_running_test() {
        let log = parse_libtest("\nrunning 3 tests\ntest a ... ok\ntest b ... ");
        assert_eq!(log.results, vec![("a".to_string(), Reported::Passed)]);
        assert_eq!(log.running.as_deref(), Some("b"));
        // Nothing started yet.
        assert_eq!(parse_libtest("\nrunning 3 tests\n"), TestLog::default());
    }

    #[test]
    fn libtest_stray_output_between_name_and_result() {
        // A test that prints straight to the process's stdout (another thread, no capture)
        // splits its line; the result still belongs to it.
        let log = parse_libtest("test a ... hello from a thread\nok\ntest b ... noise FAILED\ntest c ... x\n");
        assert_eq!(
            log.results,
            vec![("a".to_string(), Reported::Passed), ("b".to_string(), Reported::Failed(String::new()))]
        );
        assert_eq!(log.running.as_deref(), Some("c"));
    }

    #[test]
    fn list_output() {
        let out = "a::b: test\nc: test\nd: bench\n\n2 tests, 1 benchmark\n";
        assert_eq!(parse_list(out), vec!["a::b".to_string(), "c".to_string()]);
        assert!(parse_list("0 tests, 0 benchmarks\n").is_empty());
    }

    /// `cargo test --no-run --message-format=json` output (cargo 1.95), trimmed to the
    /// fields read: a dependency artifact, a warning, two errors, rustc's closing error,
    /// and a status line that is not JSON.
    const FAILED_BUILD: &str = r#"{"reason":"compiler-artifact","profile":{"test":false},"target":{"kind":["lib"],"name":"futures"},"executable":null}
{"reason":"compiler-message","message":{"level":"warning","message":"unused import","code":null,"spans":[]}}
{"reason":"compiler-message","message":{"level":"error","message":"unresolved import `tokio::sync::Barrier`\nsecond line","code":{"code":"E0432"},"spans":[{"file_name":"tests/sync_barrier.rs","line_start":12,"is_primary":false},{"file_name":"tests/sync_barrier.rs","line_start":7,"column_start":21,"is_primary":true}]}}
{"reason":"compiler-message","message":{"level":"error","message":"cannot find macro `pin` in this scope","code":null,"spans":[{"file_name":"tests/sync_barrier.rs","line_start":30,"is_primary":true}]}}
{"reason":"compiler-message","message":{"level":"error","message":"aborting due to 2 previous errors","code":null,"spans":[]}}
   Compiling not json
{"reason":"build-finished","success":false}
"#;

    #[test]
    fn build_errors_first_one_on_one_line() {
        let b = parse_build(FAILED_BUILD);
        assert_eq!(b.executable, None);
        assert_eq!(b.errors, 2);
        assert_eq!(
            b.first_error.as_deref(),
            Some("error[E0432]: unresolved import `tokio::sync::Barrier` (sync_barrier.rs:7)")
        );
        assert_eq!(
            b.located,
            vec![
                ("tests/sync_barrier.rs".to_string(), 7, 21, b.first_error.clone().unwrap()),
                (
                    "tests/sync_barrier.rs".to_string(),
                    30,
                    1,
                    "error: cannot find macro `pin` in this scope (sync_barrier.rs:30)".to_string()
                ),
            ]
        );
        let no_code = r#"{"reason":"compiler-message","message":{"level":"error","message":"no spans here","code":null,"spans":[]}}"#;
        assert_eq!(parse_build(no_code).first_error.as_deref(), Some("error: no spans here"));
    }

    #[test]
    fn errors_in_macro_expansions_are_placed_at_the_test_files_call_site() {
        // The error is inside sim-tokio's macro code, expanded from `tokio::select!` at line
        // 40 of the test file, itself expanded from a macro call at line 39: the outermost
        // site in tests/ wins (an item holding line 39 holds line 40 too).
        let out = r#"{"reason":"compiler-message","message":{"level":"error","message":"mismatched types","code":{"code":"E0308"},"spans":[{"file_name":"/repo/sim-tokio/src/sim/macros.rs","line_start":12,"is_primary":true,"expansion":{"span":{"file_name":"tests/macros_select.rs","line_start":40,"is_primary":false,"expansion":{"span":{"file_name":"tests/macros_select.rs","line_start":39,"column_start":5,"is_primary":false,"expansion":null}}}}}]}}
{"reason":"compiler-message","message":{"level":"error","message":"in a dependency","code":null,"spans":[{"file_name":"/repo/sim-tokio/src/lib.rs","line_start":3,"is_primary":true,"expansion":null}]}}"#;
        let b = parse_build(out);
        assert_eq!(b.errors, 2);
        assert_eq!(
            b.located,
            vec![(
                "tests/macros_select.rs".to_string(),
                39,
                5,
                "error[E0308]: mismatched types (macros.rs:12)".to_string()
            )]
        );
    }

    #[test]
    fn build_success_gives_the_test_binary() {
        let out = r#"{"reason":"compiler-artifact","profile":{"test":false},"target":{"kind":["bin"]},"executable":"/t/debug/tool"}
{"reason":"compiler-artifact","profile":{"test":true},"target":{"kind":["test"],"name":"sync_mpsc"},"executable":"/t/debug/deps/sync_mpsc-0123"}
{"reason":"build-finished","success":true}"#;
        let b = parse_build(out);
        assert_eq!(b.executable, Some(PathBuf::from("/t/debug/deps/sync_mpsc-0123")));
        assert_eq!((b.errors, b.first_error, b.located), (0, None, vec![]));
    }

    #[test]
    fn cargo_stderr_error_line() {
        let stderr = "    Updating crates.io index\nerror: no matching package named `tokio-tset` found\n\
                      location searched: crates.io index\nerror: could not compile `x`\n";
        assert_eq!(first_cargo_error(stderr).as_deref(), Some("error: no matching package named `tokio-tset` found"));
        assert_eq!(first_cargo_error("error: could not compile `x` (test)\n"), None);
        assert_eq!(first_cargo_error("   Compiling x\n"), None);
    }

    const LOCK: &str = r#"version = 4

[[package]]
name = "sim-tokio"
version = "0.1.0"

[[package]]
name = "tokio"
version = "1.54.1"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "b52f"

[[package]]
name = "tokio-test"
version = "0.4.6"
source = "registry+https://github.com/rust-lang/crates.io-index"
"#;

    #[test]
    fn lock_file_versions() {
        assert_eq!(locked_version(LOCK, "tokio"), Ok("1.54.1".to_string()));
        assert_eq!(locked_version(LOCK, "tokio-test"), Ok("0.4.6".to_string()));
        // A path package is not a registry package.
        assert_eq!(locked_version(LOCK, "sim-tokio"), Err(LookupError::NotLocked("sim-tokio".to_string())));
        let two = format!("{LOCK}\n[[package]]\nname = \"tokio\"\nversion = \"0.2.25\"\nsource = \"registry+x\"\n");
        assert_eq!(
            locked_version(&two, "tokio"),
            Err(LookupError::SeveralVersions("tokio".to_string(), vec!["1.54.1".to_string(), "0.2.25".to_string()]))
        );
    }

    #[test]
    fn metadata_locates_the_package() {
        let meta = r#"{"packages":[
 {"name":"tokio","version":"1.0.0","manifest_path":"/old/Cargo.toml","features":{},"dependencies":[]},
 {"name":"tokio","version":"1.54.1","manifest_path":"/reg/tokio-1.54.1/Cargo.toml",
  "features":{"default":[],"rt":[],"sync":[],"full":["rt","sync","dep:mio","mio/net"],"net":["libc"]},
  "dependencies":[
   {"name":"futures","req":"^0.3.0","kind":"dev"},
   {"name":"libc","req":"^0.2","kind":null},
   {"name":"tokio-test","req":"^0.4.0","kind":"dev"}]}]}"#;
        let pkg = registry_package(meta, "tokio", "1.54.1").expect("found");
        assert_eq!(pkg.dir, PathBuf::from("/reg/tokio-1.54.1"));
        assert_eq!(pkg.features["full"], vec!["rt".to_string(), "sync".to_string()]);
        assert!(pkg.features["net"].is_empty(), "`libc` is a dependency, not a feature");
        assert_eq!(pkg.dev_deps.len(), 2);
        assert_eq!(pkg.dev_deps["futures"], "^0.3.0");
        assert!(matches!(registry_package(meta, "tokio", "9.9.9"), Err(LookupError::Metadata(_))));
        assert!(matches!(registry_package("not json", "tokio", "1"), Err(LookupError::Metadata(_))));
        assert!(matches!(registry_package("{}", "tokio", "1"), Err(LookupError::Metadata(_))));
    }
}
