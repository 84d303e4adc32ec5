//! A run's trace is written in one place: `sim-core/src/core/record.rs`.
//!
//! Reads every file under `sim-core/src` (comments and literals left out) and checks:
//! - a trace record is built (`TraceRecord::new`, a `TraceRecord { … }` literal) and
//!   appended to a trace (`push_record`, `push_with_text`) only in `core/record.rs`
//!   (and in `trace.rs`, which defines them);
//! - in `core/record.rs`, each kind of record the engine writes (a step's, a task's, a
//!   timer's, a choice's, a violation, a foreign wake-up) is named exactly once, so it
//!   has one writer, and a step's own kinds (`Poll`, `TimerFire`, `Deliver`) only in
//!   `Recorder::step`.
//!
//! Primitives record their operations through `Core::record_channel`/`record_message`,
//! whose writer refuses the engine's kinds at run time (a unit test in `core/record.rs`).
//!
//! Run it: `cargo test -p sim-core --test trace_writer` (docs/design.md, "State").

mod source;

use std::fs;
use std::path::Path;

use source::{code_of, matching_brace, rust_files};

/// The kinds of record the engine writes itself.
const ENGINE_KINDS: [&str; 11] = [
    "Poll",
    "TimerFire",
    "Deliver",
    "Spawn",
    "TaskEnd",
    "TaskAbort",
    "TimerSet",
    "TimerCancel",
    "Choose",
    "Violation",
    "ForeignWake",
];

/// A step's own kinds: written by `Recorder::step` alone.
const STEP_KINDS: [&str; 3] = ["Poll", "TimerFire", "Deliver"];

/// What builds or appends a trace record.
const WRITES: [&str; 4] = ["TraceRecord::new", "TraceRecord {", ".push_record(", ".push_with_text("];

#[test]
fn every_trace_record_is_written_in_core_record_rs() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let files: Vec<(String, String)> = rust_files(&src)
        .into_iter()
        .map(|f| {
            let rel = f.strip_prefix(&src).unwrap().to_string_lossy().replace('\\', "/");
            (rel, code_of(&fs::read_to_string(&f).unwrap()))
        })
        .collect();
    assert!(files.len() > 40, "too few files under {}", src.display());
    assert!(files.iter().any(|(f, _)| f == "core/record.rs"), "no src/core/record.rs");
    let found = violations(&files);
    assert!(found.is_empty(), "trace records written outside core/record.rs's writers:\n{}", found.join("\n"));
}

/// The checker itself: a record built in a primitive, a step kind written outside
/// `Recorder::step`, and an engine kind with two writers are each caught; comments
/// and strings are not code.
#[test]
fn the_checker_catches_a_second_writer() {
    let good = "impl Recorder {\n\
        fn step(&mut self) { let k = [RecordKind::Poll, RecordKind::TimerFire, RecordKind::Deliver]; }\n\
        fn others(&mut self) { let k = [RecordKind::Spawn, RecordKind::TaskEnd, RecordKind::TaskAbort, \
        RecordKind::TimerSet, RecordKind::TimerCancel, RecordKind::Choose, RecordKind::Violation, \
        RecordKind::ForeignWake]; let r = TraceRecord::new(0, t, k[0]); self.trace.push_record(r); }\n\
        }\n";
    let code = |text: &str| code_of(text);
    let primitive = "// TraceRecord::new is not called here\nfn f() { let s = \"TraceRecord { }\"; }\n";
    let ok = [("core/record.rs".to_string(), code(good)), ("sync/x.rs".to_string(), code(primitive))];
    assert_eq!(violations(&ok), Vec::<String>::new());

    let built = "fn f(buf: &mut TraceBuf) {\n    buf.push_record(TraceRecord::new(1, t, RecordKind::Send));\n}\n";
    let bad = [("core/record.rs".to_string(), code(good)), ("sync/x.rs".to_string(), code(built))];
    let found = violations(&bad);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found[0].starts_with("sync/x.rs:2: "), "{found:?}");

    let twice = good.replace("fn step(&mut self) {", "fn step(&mut self) { let again = RecordKind::Spawn;");
    let found = violations(&[("core/record.rs".to_string(), code(&twice))]);
    assert_eq!(found, ["core/record.rs: `RecordKind::Spawn` is named 2 times in `impl Recorder` (one writer each)"]);

    let moved =
        good.replace("RecordKind::Poll, ", "").replace("RecordKind::Spawn,", "RecordKind::Spawn, RecordKind::Poll,");
    let found = violations(&[("core/record.rs".to_string(), code(&moved))]);
    assert_eq!(found, ["core/record.rs: `RecordKind::Poll` is written outside `Recorder::step`"]);
}

/// Where records are written other than by `core/record.rs`'s writers.
fn violations(files: &[(String, String)]) -> Vec<String> {
    let mut out = Vec::new();
    for (file, code) in files {
        if file == "trace.rs" || file == "core/record.rs" {
            continue;
        }
        for (n, line) in code.lines().enumerate() {
            for write in WRITES {
                if line.contains(write) {
                    out.push(format!("{file}:{}: `{}`", n + 1, write.trim_matches(|c| c == '.' || c == '(')));
                }
            }
        }
    }
    let Some((_, record)) = files.iter().find(|(f, _)| f == "core/record.rs") else {
        out.push("core/record.rs: missing".to_string());
        return out;
    };
    let Some(recorder) = block(record, "impl Recorder {") else {
        out.push("core/record.rs: no `impl Recorder`".to_string());
        return out;
    };
    let step = block(recorder, "fn step(").unwrap_or_default();
    for kind in ENGINE_KINDS {
        let name = format!("RecordKind::{kind}");
        let count = mentions(recorder, &name);
        if count != 1 {
            out.push(format!("core/record.rs: `{name}` is named {count} times in `impl Recorder` (one writer each)"));
        } else if STEP_KINDS.contains(&kind) && mentions(step, &name) != 1 {
            out.push(format!("core/record.rs: `{name}` is written outside `Recorder::step`"));
        }
    }
    out
}

/// How often `name` occurs in `code` as a whole path (`RecordKind::Poll`, not
/// `RecordKind::PollX`).
fn mentions(code: &str, name: &str) -> usize {
    code.match_indices(name)
        .filter(|(i, _)| !code[i + name.len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_'))
        .count()
}

/// The body of the first item that starts with `head` (up to its closing brace).
fn block<'a>(code: &'a str, head: &str) -> Option<&'a str> {
    let start = code.find(head)?;
    let open = start + code[start..].find('{')?;
    let close = open + matching_brace(&code[open..])?;
    Some(&code[open..=close])
}
