//! Failure artefacts: a failing check leaves its report, tape, trace and timeline in a
//! directory of its own, named in the report; writing them never changes a run.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Duration;

use sim_core::artefacts::Artefacts;
use sim_core::check::{Check, CheckSummary, Report};
use sim_core::time::sleep;
use sim_core::tooling::env::EnvOverrides;
use sim_core::{fail, named, spawn, Config, Sim, TraceMode};

/// Two tasks wake at 10 ms and log their names; the run fails when `b` logged first.
async fn b_before_a() {
    let order = Rc::new(RefCell::new(Vec::new()));
    let tasks: Vec<_> = ["a", "b"]
        .into_iter()
        .map(|name| {
            let order = order.clone();
            named(name, || {
                spawn(async move {
                    sleep(Duration::from_millis(10)).await;
                    order.borrow_mut().push(name);
                })
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    if order.borrow()[0] == "b" {
        fail("b logged first");
    }
}

/// A fresh, empty directory for one test.
fn fresh(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("artefacts").join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Seeds 0..64 of `b_before_a` on one thread, artefacts as given, environment ignored.
fn run(artefacts: Artefacts) -> CheckSummary {
    let sim = Config::default().artefacts(artefacts);
    let cfg = Check::random(64).name("artefacts::b_before_a").jobs(1).sim(sim);
    match cfg.run_with_env(&EnvOverrides::none(), b_before_a) {
        Report::Seeds(summary) => summary,
        other => panic!("{other}"),
    }
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file)).unwrap_or_else(|e| panic!("{}: {e}", dir.join(file).display()))
}

#[test]
fn a_failing_check_writes_report_tape_trace_and_a_timeline_with_the_critical_pair() {
    let root = fresh("four_files");
    let summary = run(Artefacts::Dir(root.clone()));
    let first = summary.first_failure().expect("a seed below 64 puts b first");
    let written = summary.artefacts.clone().expect("artefacts are on");
    assert_eq!(written.errors, Vec::<String>::new());
    let dir = written.dir.clone().unwrap();
    let seed = first.seed.unwrap();
    assert_eq!(dir, root.join(format!("artefacts.b_before_a-seed-{seed}")));
    assert_eq!(written.files, ["report.txt", "tape.txt", "trace.jsonl", "timeline.html"]);
    // The report names the directory and its files.
    let report = summary.to_string();
    assert!(report.ends_with(&format!("\n  artefacts: {written}")), "{report}");
    assert!(report.contains(&format!("{} (report.txt, tape.txt, trace.jsonl, timeline.html)", dir.display())));

    assert_eq!(read(&dir, "report.txt").trim_end(), first.failure.to_string());
    assert_eq!(read(&dir, "tape.txt").trim_end(), first.failure.tape.to_string());
    // The trace is the whole run of the tape: the same JSON Lines as a replay with the full trace.
    let mut sim =
        Sim::new(Config::replay(first.failure.tape.clone()).trace(TraceMode::Full).name("artefacts::b_before_a"));
    let future = sim.enter(b_before_a);
    let failure = sim.block_on(future).expect_err("the tape fails again");
    assert_eq!(failure.fingerprint, first.failure.fingerprint);
    let mut jsonl = Vec::new();
    sim.trace().write_jsonl(&mut jsonl).unwrap();
    assert_eq!(read(&dir, "trace.jsonl"), String::from_utf8(jsonl).unwrap());

    // The timeline marks two events: the timer of `b` firing first, overtaking `a`'s.
    let html = read(&dir, "timeline.html");
    assert_eq!(written.critical, 2);
    assert!(html.contains("data-critical-events=\"2\""));
    assert_eq!(html.matches("data-critical=\"").count(), 2, "{html}");
    let role = |role: &str| {
        let at = html.find(&format!("data-critical=\"{role}\"")).unwrap();
        html[at..].split("</title>").next().unwrap().to_string()
    };
    assert!(role("failing").contains("task `b`"), "{}", role("failing"));
    assert!(role("overtaken").contains("task `a`"), "{}", role("overtaken"));
}

/// `b_before_a` run as `printed` (a seed or a tape) under `env`-free overrides, artefacts
/// under `root`: what `sim_core::replay(b_before_a, printed)` runs.
fn replayed(root: &Path, seed: Option<u64>, tape: Option<sim_core::Tape>) -> CheckSummary {
    let mut env = EnvOverrides::none();
    (env.seed, env.tape) = (seed, tape);
    let sim = Config::default().artefacts(Artefacts::Dir(root.to_path_buf()));
    match Check::random(1).name("artefacts::b_before_a").sim(sim).run_with_env(&env, b_before_a) {
        Report::Seeds(summary) => summary,
        other => panic!("{other}"),
    }
}

fn entries(root: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(root).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().to_string()).collect();
    names.sort();
    names
}

#[test]
fn the_same_failing_run_again_rewrites_its_directory_and_another_failure_gets_a_new_one() {
    let root = fresh("unique");
    // The check run three times, and its failing seed replayed: one run, one directory.
    let dirs: Vec<PathBuf> =
        (0..3).map(|_| run(Artefacts::Dir(root.clone())).artefacts.unwrap().dir.unwrap()).collect();
    assert!(dirs.iter().all(|d| *d == dirs[0]), "{dirs:?}");
    let first = run(Artefacts::Off).first_failure().unwrap().clone();
    let seed = first.seed.unwrap();
    let again = replayed(&root, Some(seed), None);
    assert_eq!(again.artefacts.unwrap().dir.as_ref(), Some(&dirs[0]));
    assert_eq!(entries(&root), [format!("artefacts.b_before_a-seed-{seed}")]);
    assert_eq!(read(&dirs[0], "tape.txt").trim_end(), first.failure.tape.to_string());
    // A replay that passes (the canonical order: `a` first) writes nothing.
    let quiet = replayed(&root, None, Some(sim_core::Tape::new()));
    assert!(quiet.is_ok() && quiet.artefacts.is_none(), "{quiet}");
    assert_eq!(entries(&root).len(), 1);

    // A directory of that name holding another run (another tape): the failure never
    // overwrites it, and takes `-2`.
    let other = root.join("elsewhere");
    let by_tape = replayed(&other, None, Some(first.failure.tape.clone()));
    let name = by_tape.artefacts.unwrap().dir.unwrap().file_name().unwrap().to_string_lossy().to_string();
    std::fs::write(other.join(&name).join("tape.txt"), "t2:2.0@poll:a#0\n").unwrap();
    let next = replayed(&other, None, Some(first.failure.tape.clone())).artefacts.unwrap().dir.unwrap();
    assert_eq!(next, other.join(format!("{name}-2")));
    assert_eq!(read(&other.join(&name), "tape.txt"), "t2:2.0@poll:a#0\n", "the other run's files are kept");
    assert!(next.join("timeline.html").is_file());
}

#[test]
fn artefacts_turned_off_write_nothing_and_the_report_says_nothing() {
    let summary = run(Artefacts::Off);
    assert!(summary.first_failure().is_some());
    assert_eq!(summary.artefacts, None);
    assert!(!summary.to_string().contains("\n  artefacts: "), "{summary}");
}

#[test]
fn a_directory_that_cannot_be_made_is_reported_and_the_check_fails_as_before() {
    let root = fresh("unwritable");
    let file = root.join("a-file");
    std::fs::write(&file, "not a directory").unwrap();
    let summary = run(Artefacts::Dir(file.clone()));
    let written = summary.artefacts.clone().unwrap();
    assert_eq!(written.dir, None);
    assert!(written.errors[0].starts_with(&format!("cannot make a directory under {}", file.display())), "{written}");
    assert!(summary.to_string().contains("\n  artefacts: not written; cannot make a directory under"), "{summary}");
    // The same failure as with artefacts written, and as with none: artefacts change no run.
    let off = run(Artefacts::Off);
    let on = run(Artefacts::Dir(root.join("on")));
    let key = |s: &CheckSummary| {
        let f = &s.first_failure().unwrap().failure;
        (f.seed, f.fingerprint, f.tape.to_string(), f.to_string())
    };
    assert_eq!(key(&summary), key(&off));
    assert_eq!(key(&on), key(&off));
}

#[test]
fn an_exhaustive_check_writes_the_shrunk_order_with_its_critical_pair() {
    let root = fresh("exhaustive");
    let cfg = Check::exhaustive()
        .name("artefacts::exhaustive")
        .every_order(true)
        .sim(Config::default().artefacts(Artefacts::Dir(root.clone())));
    let Report::Exhaustive(summary) = cfg.run_with_env(&EnvOverrides::none(), b_before_a) else { panic!() };
    let found = summary.first_failing.as_ref().expect("b first fails");
    let written = summary.artefacts.clone().unwrap();
    let dir = written.dir.clone().unwrap();
    assert_eq!(dir, root.join(format!("artefacts.exhaustive-tape-{}", found.failure.fingerprint)));
    assert_eq!(read(&dir, "tape.txt").trim_end(), found.failure.tape.to_string());
    assert_eq!(written.critical, 2, "{summary}");
    assert!(summary.to_string().contains(&format!("  artefacts: {written}\n")), "{summary}");
}

#[test]
fn the_default_place_is_lockstep_under_the_workspace_target_directory() {
    // Cargo runs this test with CARGO_MANIFEST_DIR = sim-core, whose parent is the workspace.
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let expected = match std::env::var_os("CARGO_TARGET_DIR").filter(|v| !v.is_empty()) {
        Some(dir) => workspace.join(dir),
        None => workspace.join("target"),
    };
    assert_eq!(Artefacts::Target.root(), Some(expected.join("lockstep")));
    assert_eq!(Artefacts::Off.root(), None);
    assert_eq!(Config::default().artefacts, Artefacts::Target);
}
