//! The printed tables: one row per file, a total, and every test that did not pass.

use std::collections::BTreeMap;

use crate::run::Outcome;

/// One file's results on one side.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Row {
    /// The file's name, without `.rs`.
    pub file: String,
    /// Why it did not build (or could not be started), when it did not.
    pub build_error: Option<String>,
    /// How many tests the file holds (real tokio's count), when known; otherwise the
    /// number of outcomes.
    pub tests: Option<usize>,
    /// Each test's outcome, by name.
    pub outcomes: BTreeMap<String, Outcome>,
    /// Whether a test binary ran: as is, or after cutting what did not compile.
    pub ran: bool,
    /// The items cut from the file so that the rest builds, with the error in each.
    pub cut: Vec<Cut>,
}

/// An item cut from a test file because it did not compile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cut {
    /// Its libtest name, when it is a test.
    pub test: Option<String>,
    /// What was cut, as printed: `` `fn name` ``, `` `impl …` ``, or
    /// `` `Name` from `use …` `` when only names of a `use` were taken out.
    pub label: String,
    /// The first compiler error in it.
    pub error: String,
}

/// A row's counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Tests in the file.
    pub tests: usize,
    /// Passed.
    pub passed: usize,
    /// Failed, or crashed the process.
    pub failed: usize,
    /// Hung (killed at a time limit).
    pub hung: usize,
    /// Cut: they did not compile.
    pub cut: usize,
    /// Ignored by libtest.
    pub ignored: usize,
    /// Not run: the file did not build, or a limit stopped the file first.
    pub not_run: usize,
}

impl Row {
    /// This row's counts. Tests the file holds but the run did not report are "not run".
    pub fn counts(&self) -> Counts {
        let mut c = Counts { tests: self.tests.unwrap_or(self.outcomes.len()), ..Counts::default() };
        for outcome in self.outcomes.values() {
            match outcome {
                Outcome::Passed => c.passed += 1,
                Outcome::Failed(_) | Outcome::Crashed(_) => c.failed += 1,
                Outcome::Hung => c.hung += 1,
                Outcome::Ignored => c.ignored += 1,
                Outcome::NotRun(_) => c.not_run += 1,
            }
        }
        c.cut = self.cut.iter().filter(|cut| cut.test.is_some()).count();
        let reported = c.passed + c.failed + c.hung + c.ignored + c.not_run + c.cut;
        c.not_run += c.tests.saturating_sub(reported);
        c
    }
}

/// The table, in Markdown, with a total row and a closing line giving the percentage of
/// the files' tests that passed. `built` is `yes` when the file builds as is, `no, N cut`
/// when it builds once N items that do not compile are cut (the `cut` column counts the
/// tests among them), `no` when it does not build at all.
pub fn table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| file | built | tests | passed | failed | hung | cut | not run | first error |\n\
         |---|---|--:|--:|--:|--:|--:|--:|---|\n",
    );
    let mut total = Counts::default();
    let mut built = 0;
    let mut unknown = 0;
    for row in rows {
        let c = row.counts();
        total.tests += c.tests;
        total.passed += c.passed;
        total.failed += c.failed;
        total.hung += c.hung;
        total.cut += c.cut;
        total.ignored += c.ignored;
        total.not_run += c.not_run;
        let tests = match row.tests {
            None if row.build_error.is_some() => {
                unknown += 1;
                "?".to_string()
            }
            _ => c.tests.to_string(),
        };
        let mut note = row.build_error.as_deref().unwrap_or_default().replace('|', "\\|");
        if c.ignored > 0 {
            note = format!("({} ignored) {note}", c.ignored).trim_end().to_string();
        }
        let yes = match (&row.build_error, row.ran) {
            (None, _) => {
                built += 1;
                "yes".to_string()
            }
            (Some(_), true) => format!("no, {} cut", row.cut.len()),
            (Some(_), false) => "no".to_string(),
        };
        out += &format!(
            "| {} | {yes} | {tests} | {} | {} | {} | {} | {} | {note} |\n",
            row.file, c.passed, c.failed, c.hung, c.cut, c.not_run
        );
    }
    out += &format!(
        "| **total** | {built}/{} | {} | {} | {} | {} | {} | {} | |\n",
        rows.len(),
        total.tests,
        total.passed,
        total.failed,
        total.hung,
        total.cut,
        total.not_run
    );
    let counted = total.tests - total.ignored;
    let percent = if counted == 0 { 0.0 } else { 100.0 * total.passed as f64 / counted as f64 };
    out += &format!("\npassed {} of {counted} tests ({percent:.1}%)", total.passed);
    if total.ignored > 0 {
        out += &format!(", {} ignored", total.ignored);
    }
    if unknown > 0 {
        out += &format!("; {unknown} file(s) with an unknown test count (not built on either side)");
    }
    out += "\n";
    out
}

/// Every test that did not pass, one line each, with its reason; a file that did not
/// build is one line.
pub fn not_passing(rows: &[Row]) -> String {
    let mut out = String::new();
    for row in rows {
        if let (Some(e), false) = (&row.build_error, row.ran) {
            let tests = row.tests.map(|t| format!(" ({t} tests)")).unwrap_or_default();
            out += &format!("{}: not built{tests}: {e}\n", row.file);
            continue;
        }
        for cut in &row.cut {
            match &cut.test {
                Some(test) => out += &format!("{}::{test}: cut: {}\n", row.file, cut.error),
                None => out += &format!("{}: cut {} (not a test): {}\n", row.file, cut.label, cut.error),
            }
        }
        for (test, outcome) in &row.outcomes {
            let why = match outcome {
                Outcome::Passed | Outcome::Ignored => continue,
                Outcome::Failed(why) if why.is_empty() => "failed".to_string(),
                Outcome::Failed(why) => format!("failed: {why}"),
                Outcome::Hung => "hung".to_string(),
                Outcome::Crashed(why) => format!("crashed: {why}"),
                Outcome::NotRun(why) => format!("not run: {why}"),
            };
            out += &format!("{}::{test}: {why}\n", row.file);
        }
    }
    if out.is_empty() {
        out += "every test passed\n";
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(file: &str, error: Option<&str>, tests: Option<usize>, outcomes: &[(&str, Outcome)]) -> Row {
        Row {
            file: file.to_string(),
            build_error: error.map(str::to_string),
            tests,
            outcomes: outcomes.iter().map(|(n, o)| (n.to_string(), o.clone())).collect(),
            ran: error.is_none(),
            cut: Vec::new(),
        }
    }

    /// A file that builds once one test and one static assertion are cut: 4 tests, 2 run
    /// and pass, 1 cut, 1 not reported.
    fn cut_row() -> Row {
        let mut r = row(
            "sync_mpsc",
            Some("error[E0277]: `Rc<()>` cannot be sent (sync_mpsc.rs:30)"),
            Some(4),
            &[("x", Outcome::Passed), ("y", Outcome::Passed)],
        );
        r.ran = true;
        r.cut = vec![
            Cut {
                test: None,
                label: "`impl AssertSend for mpsc::Sender<i32> {}`".to_string(),
                error: "error[E0277]: a (sync_mpsc.rs:30)".to_string(),
            },
            Cut {
                test: Some("blocking".to_string()),
                label: "`fn blocking`".to_string(),
                error: "error[E0599]: b (sync_mpsc.rs:90)".to_string(),
            },
        ];
        r
    }

    fn rows() -> Vec<Row> {
        vec![
            row(
                "time_sleep",
                None,
                Some(6),
                &[
                    ("a", Outcome::Passed),
                    ("b", Outcome::Failed("assertion failed: x".to_string())),
                    ("c", Outcome::Hung),
                    ("d", Outcome::Crashed("killed by signal 6".to_string())),
                    ("e", Outcome::Ignored),
                ],
            ),
            row(
                "sync_barrier",
                Some("error[E0432]: unresolved import `tokio::sync::Barrier` (sync_barrier.rs:7)"),
                Some(5),
                &[],
            ),
            row("nowhere", Some("error: a|b"), None, &[]),
            cut_row(),
        ]
    }

    #[test]
    fn counts_fill_unreported_tests_as_not_run() {
        let r = rows();
        // 6 tests, 5 reported: the sixth did not run (the file's limit, say).
        assert_eq!(r[0].counts(), Counts { tests: 6, passed: 1, failed: 2, hung: 1, cut: 0, ignored: 1, not_run: 1 });
        assert_eq!(r[1].counts(), Counts { tests: 5, not_run: 5, ..Counts::default() });
        assert_eq!(r[2].counts(), Counts::default());
        assert_eq!(r[3].counts(), Counts { tests: 4, passed: 2, cut: 1, not_run: 1, ..Counts::default() });
    }

    #[test]
    fn table_as_printed() {
        let expected = "\
| file | built | tests | passed | failed | hung | cut | not run | first error |
|---|---|--:|--:|--:|--:|--:|--:|---|
| time_sleep | yes | 6 | 1 | 2 | 1 | 0 | 1 | (1 ignored) |
| sync_barrier | no | 5 | 0 | 0 | 0 | 0 | 5 | error[E0432]: unresolved import `tokio::sync::Barrier` (sync_barrier.rs:7) |
| nowhere | no | ? | 0 | 0 | 0 | 0 | 0 | error: a\\|b |
| sync_mpsc | no, 2 cut | 4 | 2 | 0 | 0 | 1 | 1 | error[E0277]: `Rc<()>` cannot be sent (sync_mpsc.rs:30) |
| **total** | 1/4 | 15 | 3 | 2 | 1 | 1 | 7 | |

passed 3 of 14 tests (21.4%), 1 ignored; 1 file(s) with an unknown test count (not built on either side)
";
        assert_eq!(table(&rows()), expected);
    }

    #[test]
    fn not_passing_lists_each_test_and_each_unbuilt_file() {
        let expected = "\
time_sleep::b: failed: assertion failed: x
time_sleep::c: hung
time_sleep::d: crashed: killed by signal 6
sync_barrier: not built (5 tests): error[E0432]: unresolved import `tokio::sync::Barrier` (sync_barrier.rs:7)
nowhere: not built: error: a|b
sync_mpsc: cut `impl AssertSend for mpsc::Sender<i32> {}` (not a test): error[E0277]: a (sync_mpsc.rs:30)
sync_mpsc::blocking: cut: error[E0599]: b (sync_mpsc.rs:90)
";
        assert_eq!(not_passing(&rows()), expected);
        let all_pass = vec![row("x", None, Some(1), &[("a", Outcome::Passed)])];
        assert_eq!(not_passing(&all_pass), "every test passed\n");
        assert!(table(&all_pass).ends_with("passed 1 of 1 tests (100.0%)\n"));
    }
}
