//! The runner's time limits and restarts, on fake "test binaries": shell scripts that
//! print what libtest prints. One test function, so that no other thread of this process
//! forks while a script is being written (which could make exec fail with ETXTBSY).
#![cfg(unix)]

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio_suite::run::{run_file, Limits, Outcome};

/// Answers `--list` with `list`, and runs the tests named after `--exact --test-threads=1`
/// with `body` (a `case` on `$t`).
fn fake(dir: &Path, name: &str, list: &str, body: &str) -> PathBuf {
    let script = format!(
        "#!/bin/sh\nif [ \"$1\" = --list ]; then printf '{list}'; exit 0; fi\n\
         [ \"$1 $2\" = '--exact --test-threads=1' ] || exit 99\nshift 2\n\
         printf '\\nrunning %d tests\\n' $#\nfor t in \"$@\"; do\n{body}\ndone\n"
    );
    let path = dir.join(name);
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn outcomes(pairs: &[(&str, Outcome)]) -> BTreeMap<String, Outcome> {
    pairs.iter().map(|(n, o)| (n.to_string(), o.clone())).collect()
}

#[test]
fn hangs_crashes_failures_and_limits() {
    let dir = std::env::temp_dir().join(format!("tokio-suite-runner-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let generous = Limits { per_test: Duration::from_secs(5), per_file: Duration::from_secs(600) };

    // One of each: `a` passes only when the environment reached it; `b` hangs (killed at
    // the per-test limit, then the binary is restarted on c, d, e); `d` aborts the process
    // (restarted on e); `e` fails with a panic message.
    let mixed = fake(
        &dir,
        "mixed",
        "a: test\\nb_hangs: test\\nc: test\\nd_aborts: test\\ne_fails: test\\n\\n5 tests, 0 benchmarks\\n",
        "case $t in
  a) if [ \"$LOCKSTEP_SEEDS\" = 7 ]; then echo 'test a ... ok'; else echo 'test a ... FAILED'; fi;;
  b_hangs) printf 'test b_hangs ... '; exec sleep 600;;
  d_aborts) printf 'test d_aborts ... '; kill -ABRT $$;;
  e_fails) echo 'test e_fails ... FAILED';
     printf '\\nfailures:\\n\\n---- e_fails stdout ----\\n\\nthread x panicked at tests/x.rs:1:1:\\nexpected failure\\n\\nfailures:\\n    e_fails\\n';;
  *) echo \"test $t ... ok\";;
esac",
    );
    let env = vec![("LOCKSTEP_SEEDS".to_string(), "7".to_string())];
    assert_eq!(
        run_file(&mixed, &env, generous).unwrap(),
        outcomes(&[
            ("a", Outcome::Passed),
            ("b_hangs", Outcome::Hung),
            ("c", Outcome::Passed),
            ("d_aborts", Outcome::Crashed("killed by signal 6".to_string())),
            ("e_fails", Outcome::Failed("expected failure".to_string())),
        ])
    );

    // The file's own limit: the first test hangs past it, the second never runs.
    let stuck = fake(&dir, "stuck", "x: test\\ny: test\\n", "printf \"test $t ... \"; exec sleep 600");
    let tight = Limits { per_test: Duration::from_secs(600), per_file: Duration::from_secs(2) };
    assert_eq!(
        run_file(&stuck, &[], tight).unwrap(),
        outcomes(&[("x", Outcome::Hung), ("y", Outcome::NotRun("the file's 2 s limit ran out".to_string()))])
    );

    // A binary that exits without running what it listed: reported, not looped on.
    let quits = fake(&dir, "quits", "x: test\\n", "exit 0");
    assert_eq!(
        run_file(&quits, &[], generous).unwrap(),
        outcomes(&[("x", Outcome::NotRun("the binary exited before running it".to_string()))])
    );

    // A binary whose --list fails, and one that does not exist.
    let bad_list = dir.join("bad_list");
    std::fs::write(&bad_list, "#!/bin/sh\nexit 3\n").unwrap();
    std::fs::set_permissions(&bad_list, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert!(run_file(&bad_list, &[], generous).unwrap_err().contains("--list` did not finish cleanly"));
    assert!(run_file(&dir.join("absent"), &[], generous).unwrap_err().starts_with("cannot start"));

    std::fs::remove_dir_all(&dir).unwrap();
}
