//! One spelling for one word across the tool's output, the docs and the code comments:
//! "nondeterminism" / "nondeterministic" (closed up, as `FailureKind::Nondeterministic`
//! and the class name `nondeterminism` are), and `NONDETERMINISTIC` for the status
//! label the tool prints beside `NOT CAUGHT` and `FAILED`.

use std::fs;
use std::path::{Path, PathBuf};

/// Folders never searched: build output and git's.
const NOT_WALKED: &[&str] = &["target", ".git"];

/// The hyphenated spelling, built here so that this file does not match itself.
fn hyphenated() -> String {
    ["non", "-", "determinis"].concat()
}

/// Every Rust, Markdown, TOML and shell file of the repository (the CI script too).
fn text_files(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                if !NOT_WALKED.iter().any(|n| entry.file_name() == *n) {
                    stack.push(path);
                }
            } else if path.extension().is_some_and(|e| ["rs", "md", "toml", "sh"].iter().any(|x| e == *x))
                || path.file_name().is_some_and(|n| n == "run")
            {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

#[test]
fn nondeterminism_is_spelled_one_way() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let files = text_files(root);
    assert!(files.iter().any(|f| f.ends_with("sim-core/src/report.rs")), "the walk missed the sources");
    let wrong = hyphenated();
    let mut found = Vec::new();
    for file in files {
        let Ok(text) = fs::read_to_string(&file) else { continue };
        for (i, line) in text.lines().enumerate() {
            if line.to_lowercase().contains(&wrong) {
                found.push(format!("{}:{}: {}", file.strip_prefix(root).unwrap().display(), i + 1, line.trim()));
            }
        }
    }
    assert!(found.is_empty(), "spell it \"nondeterminism\" / \"nondeterministic\":\n  {}", found.join("\n  "));
}
