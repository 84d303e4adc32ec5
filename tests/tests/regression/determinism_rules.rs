//! The determinism rules' grep (docs/determinism.md, "Checking your own code"): the
//! engine's, the processors' and the catalogue's sources, and every example (the
//! repository's `examples/` and each crate's `examples/`: the code users copy), name
//! no wall clock, no OS thread, no unseeded randomness and no hash map or set, except
//! where the allowlist below says why the use cannot reach a simulated run's trace or
//! output.

use std::fs;
use std::path::Path;

use crate::doc_links::line_comments;

/// The source folders searched, from the repository root; every `examples` folder is
/// searched too ([`examples_folders`]).
const SEARCHED: &[&str] = &["sim-core/src", "sim-tokio/src", "processors/src", "scenarios/src"];

/// Folders never walked in search of `examples` folders: build output and git's.
const NOT_WALKED: &[&str] = &["target", ".git"];

/// Every folder named `examples` in the repository (the top-level one of example crates,
/// and each crate's cargo examples), from the repository root, outermost only (a folder
/// inside one is searched with it), sorted.
fn examples_folders(root: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            let name = entry.file_name();
            if !path.is_dir() || NOT_WALKED.iter().any(|n| name == *n) {
                continue;
            }
            if name == "examples" {
                found.push(path.strip_prefix(root).unwrap().display().to_string());
            } else {
                stack.push(path);
            }
        }
    }
    found.sort();
    found
}

/// The folders searched: [`SEARCHED`] and every `examples` folder.
fn searched_folders(root: &Path) -> Vec<String> {
    let mut all: Vec<String> = SEARCHED.iter().map(|s| s.to_string()).collect();
    all.extend(examples_folders(root));
    all
}

/// What the rules forbid inside a simulation, as it appears in code.
const FORBIDDEN: &[&str] = &[
    "std::time::Instant",
    "SystemTime",
    "thread::spawn",
    "thread::Builder",
    "spawn_blocking",
    "thread_rng",
    "rand::random",
    "fastrand",
    "RandomState",
    "HashMap",
    "HashSet",
];

/// Uses that are fine, by file and pattern, each with the reason it cannot reach a
/// simulated run's trace or output.
const ALLOWED: &[(&str, &str, &str)] = &[
    (
        "scenarios/src/cli.rs",
        "std::time::Instant",
        "the tool's seeds/s column and progress bar time the whole run from outside any simulation",
    ),
    (
        "sim-core/src/watchdog.rs",
        "thread::Builder",
        "the poll watchdog's thread only samples atomic poll counters and may end the process; it never touches a simulation",
    ),
    (
        "sim-core/src/check/seeds.rs",
        "thread::Builder",
        "worker threads run seeds outside simulations; each simulation stays on one thread",
    ),
    (
        "sim-core/src/sim.rs",
        "std::time::Instant",
        "a deadlock with a task awaiting a foreign future waits a bounded real time for a wake from \
         another thread; the wall clock only chooses between two failure kinds (escape or deadlock)",
    ),
    (
        "sim-tokio/src/sim/runtime.rs",
        "spawn_blocking",
        "tokio's name for the API; under simulation it is reported as an escape, never run",
    ),
    (
        "sim-tokio/src/sim/task.rs",
        "spawn_blocking",
        "tokio's name for the API; under simulation it is reported as an escape, never run",
    ),
    (
        "sim-tokio/src/sim/task/join_set.rs",
        "spawn_blocking",
        "tokio's name for the API; under simulation it is reported as an escape, never run",
    ),
    (
        "sim-tokio/src/sim/time.rs",
        "std::time::Instant",
        "`Instant::into_std`/`from_std` map virtual time onto one process-wide anchor; the anchor \
         never reaches a trace, and only differences between instants are visible",
    ),
];

/// Every use of a forbidden name in the code (not the comments) of `source`, as
/// `(line, pattern)`.
fn uses(source: &str) -> Vec<(usize, &'static str)> {
    let comments: std::collections::BTreeMap<usize, String> = line_comments(source).into_iter().collect();
    let mut found = Vec::new();
    for (i, line) in source.lines().enumerate() {
        let code = match comments.get(&(i + 1)) {
            Some(comment) => &line[..line.len() - comment.len()],
            None => line,
        };
        for pattern in FORBIDDEN {
            if code.contains(pattern) {
                found.push((i + 1, *pattern));
            }
        }
    }
    found
}

fn rust_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

#[test]
fn simulated_code_names_no_wall_clock_thread_unseeded_randomness_or_hash_map() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut problems = Vec::new();
    let mut used_allowances = std::collections::BTreeSet::new();
    for dir in searched_folders(root) {
        let files = rust_files(&root.join(&dir));
        assert!(!files.is_empty(), "{dir} holds no Rust files: the search would pass vacuously");
        for file in files {
            let rel = file.strip_prefix(root).unwrap().display().to_string();
            for (line, pattern) in uses(&fs::read_to_string(&file).unwrap()) {
                match ALLOWED.iter().position(|(f, p, _)| *f == rel && *p == pattern) {
                    Some(k) => {
                        used_allowances.insert(k);
                    }
                    None => problems.push(format!("{rel}:{line}: `{pattern}`")),
                }
            }
        }
    }
    for (k, (file, pattern, _)) in ALLOWED.iter().enumerate() {
        if !used_allowances.contains(&k) {
            problems.push(format!("allowlist entry ({file}, `{pattern}`) matches nothing any more: remove it"));
        }
    }
    assert!(
        problems.is_empty(),
        "the determinism rules (docs/determinism.md) forbid these inside a simulation; where a use \
         cannot reach a simulated run's trace or output, add it to ALLOWED in \
         tests/tests/regression/determinism_rules.rs with the reason:\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn the_search_reads_code_and_not_comments() {
    let source = "use std::collections::HashMap; // a HashMap in a comment\n\
                  // std::time::Instant is named in a comment only\n\
                  let t = std::time::Instant::now(); let s = \"//\"; let r = rand::random::<u8>();\n\
                  let set: HashSet<u8> = HashSet::new();\n";
    assert_eq!(
        uses(source),
        [(1, "HashMap"), (3, "std::time::Instant"), (3, "rand::random"), (4, "HashSet")],
        "one hit per pattern per line"
    );
}

/// The examples are searched: the top-level `examples/` (the example crates, with their
/// tests and benches) and each crate's `examples/` (cargo examples), found by walking
/// the repository, so a crate that gains examples is searched without a change here.
#[test]
fn every_examples_folder_is_searched() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let searched = searched_folders(root);
    for expected in ["examples", "sim-core/examples", "scenarios/examples"] {
        assert!(searched.iter().any(|s| s == expected), "{expected} is not searched: {searched:?}");
    }
    // Nested `examples` folders (an example crate's own cargo examples) are inside the
    // top-level one, so they are searched with it.
    let nested = root.join("examples/tokio-user/on-tokio/examples");
    assert!(nested.is_dir(), "the nested examples folder this test relies on moved");
    assert!(
        rust_files(&root.join("examples")).iter().any(|f| f.starts_with(&nested)),
        "the walk does not reach the nested examples folder"
    );
}
