//! Every entry of `tests/corpus/failures.txt` still fails exactly as recorded.
//!
//! With `LOCKSTEP_REFRESH_CORPUS=1` the test re-records every entry from its seed
//! instead (and says what changed): the only way the file changes besides
//! `lockstep run --record`. It refuses when an entry would turn from failing to
//! passing, unless the value is `allow-pass`.

use scenarios::corpus::{self, Entry, ALLOW_PASS, REFRESH_COMMAND, REFRESH_VAR};
use scenarios::{registry, Variant};

fn refreshing() -> bool {
    std::env::var(REFRESH_VAR).is_ok_and(|v| !v.is_empty() && v != "0")
}

fn allow_pass() -> bool {
    std::env::var(REFRESH_VAR).is_ok_and(|v| v == ALLOW_PASS)
}

/// A scratch corpus file for one test.
fn scratch_corpus(test: &str, text: &str) -> std::path::PathBuf {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("corpus").join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("failures.txt");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn every_corpus_entry_replays_to_its_recorded_outcome_and_fingerprint() {
    let path = corpus::default_path();
    if refreshing() {
        let changed = corpus::refresh(&path, allow_pass()).unwrap_or_else(|e| panic!("{e}"));
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

/// `throttle-hang/buggy`: seed 2 deadlocks, seed 0 passes (the first failing seed
/// of the README's table is 2).
fn throttle_entries() -> (Entry, Entry) {
    let scenario = registry::get("throttle-hang/buggy").unwrap();
    let failing = scenario.run_seed(2);
    let failure = failing.result.as_ref().expect_err("seed 2 deadlocks");
    let entry = Entry::from_failure(scenario, failure);
    assert!(scenario.run_seed(0).result.is_ok(), "seed 0 passes");
    // An entry that claims seed 0 failed the way seed 2 does.
    let stale = Entry { seed: Some(0), tape: sim_core::Tape::new(), ..entry.clone() };
    (entry, stale)
}

#[test]
fn the_corpus_check_fails_when_an_entry_expected_to_fail_passes() {
    let (_, stale) = throttle_entries();
    let problems = stale.check().expect_err("a passing replay is a problem");
    assert_eq!(problems.len(), 2, "from its tape and from its seed: {problems:?}");
    assert!(problems.iter().all(|p| p.contains("PASSED, but the entry expects it to fail (deadlock)")), "{problems:?}");
    // No file may say a corpus entry passes.
    let line = stale.to_string().replace("outcome=deadlock", "outcome=pass");
    let err = corpus::parse(&line).unwrap_err();
    assert!(err.reason.contains("`outcome=pass`"), "{err}");
}

#[test]
fn a_refresh_never_turns_a_failing_entry_into_a_passing_one_without_the_flag() {
    let (good, stale) = throttle_entries();
    let text = format!("{}# a comment\n{good}\n{stale}\n", corpus::HEADER);
    let path = scratch_corpus("refresh", &text);
    let err = corpus::refresh(&path, false).expect_err("an entry would pass");
    let message = err.to_string();
    assert!(message.contains("1 entry would turn from failing to passing (nothing was written)"), "{message}");
    assert!(message.contains("failures.txt:9 (throttle-hang/buggy seed 0): deadlock -> pass"), "{message}");
    assert!(message.contains(corpus::REFRESH_ALLOW_PASS_COMMAND), "{message}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text, "the file is unchanged");
    // With the flag: the entry is commented out, kept for review, and listed.
    let changed = corpus::refresh(&path, true).unwrap();
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert!(changed[0].contains("seed 0): deadlock -> pass"), "{changed:?}");
    let after = std::fs::read_to_string(&path).unwrap();
    assert_eq!(after, format!("{}# a comment\n{good}\n# now passes: {stale}\n", corpus::HEADER));
    assert_eq!(corpus::load(&path).unwrap().len(), 1);
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
