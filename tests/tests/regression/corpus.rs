//! Every entry of `tests/corpus/failures.txt` still fails exactly as recorded.
//!
//! With `LOCKSTEP_REFRESH_CORPUS=1` the test re-records every entry from its seed
//! instead (and says what changed): the only way the file changes besides
//! `lockstep run --record`.

use scenarios::corpus::{self, Entry, REFRESH_COMMAND, REFRESH_VAR};
use scenarios::{registry, Variant};

fn refreshing() -> bool {
    std::env::var(REFRESH_VAR).is_ok_and(|v| !v.is_empty() && v != "0")
}

#[test]
fn every_corpus_entry_replays_to_its_recorded_outcome_and_fingerprint() {
    let path = corpus::default_path();
    if refreshing() {
        let changed = corpus::refresh(&path).expect("the corpus can be refreshed");
        println!("refreshed {}: {} entries changed", path.display(), changed.len());
        for line in changed {
            println!("  {line}");
        }
        return;
    }
    let entries = corpus::load(&path).unwrap_or_else(|e| panic!("cannot read the corpus {}: {e}", path.display()));
    assert!(!entries.is_empty(), "the corpus {} is empty", path.display());
    let problems: Vec<String> = entries
        .iter()
        .filter_map(|e| e.check().err().map(|p| format!("{}: {}", e.describe(&path), p.join("; "))))
        .collect();
    assert!(
        problems.is_empty(),
        "corpus entries no longer replay as recorded:\n  {}\nIf the change is on purpose, refresh the corpus with: {REFRESH_COMMAND}",
        problems.join("\n  ")
    );
}

#[test]
fn the_corpus_holds_a_failure_of_every_buggy_variant() {
    let entries = corpus::load(&corpus::default_path()).unwrap();
    for s in registry::all().iter().filter(|s| s.variant == Variant::Buggy) {
        assert!(entries.iter().any(|e| e.scenario == s.name), "no corpus entry for {}", s.name);
    }
}

#[test]
fn a_corpus_entry_that_no_longer_matches_names_itself_and_what_differs() {
    let entries = corpus::load(&corpus::default_path()).unwrap();
    let mut entry: Entry = entries[0].clone();
    entry.fingerprint = sim_core::Fingerprint(entry.fingerprint.0 ^ 1);
    let problems = entry.check().expect_err("a wrong fingerprint is caught");
    assert!(problems[0].starts_with("replayed from its tape"), "{problems:?}");
    assert!(problems[0].contains(&format!("expected {} with fingerprint {}", entry.outcome, entry.fingerprint)));
    let path = corpus::default_path();
    assert!(entry.describe(&path).contains(&format!("failures.txt:{} ({}", entry.line, entry.scenario)));
}

#[test]
fn corpus_entries_read_back_as_written() {
    for entry in corpus::load(&corpus::default_path()).unwrap() {
        let again = corpus::parse(&entry.to_string()).unwrap().remove(0);
        assert_eq!(Entry { line: entry.line, ..again }, entry);
    }
    let bad = corpus::parse("# a comment\n\nscenario=x variant=buggy seed=1 outcome=deadlock fingerprint=zz tape=t1:");
    assert_eq!(bad.unwrap_err().line, 3);
}
