//! The crate docs list the whole public surface: the table under "The whole public
//! surface" in `src/lib.rs` names every public module and every item the crate root
//! re-exports, and nothing else, on one screen. Read from the source of `lib.rs`: its
//! `pub mod` and `pub use` lines are what the crate exports at its root (rustdoc's
//! `-D warnings` run in CI checks that every link in the table resolves).

use std::collections::BTreeSet;

const LIB: &str = include_str!("../src/lib.rs");

/// The heading of the table's section in the crate docs.
const HEADING: &str = "//! ## The whole public surface";

/// The names `lib.rs` makes public at the crate root: `pub mod name;` (cfg-gated ones
/// included) and the last segment of each name in `pub use path::{A, B as C};` (`C`).
fn exported(lib: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    // Join the lines of a `pub use` that rustfmt spread over several.
    let mut pending = String::new();
    for line in lib.lines().map(str::trim) {
        if !pending.is_empty() || line.starts_with("pub use ") {
            pending.push_str(line);
            pending.push(' ');
            if !line.ends_with(';') {
                continue;
            }
            let body = pending.trim().trim_start_matches("pub use ").trim_end_matches(';').to_string();
            pending.clear();
            let list = match body.split_once('{') {
                Some((_, rest)) => rest.trim_end_matches('}').to_string(),
                None => body.rsplit("::").next().unwrap().to_string(),
            };
            for item in list.split(',').map(str::trim).filter(|i| !i.is_empty()) {
                let name = item.rsplit(" as ").next().unwrap().rsplit("::").next().unwrap();
                assert_ne!(name, "*", "a glob re-export hides what the crate exports: name the items");
                assert_ne!(name, "self", "name the module with `pub mod`, not `pub use …::{{self}}`");
                names.insert(name.to_string());
            }
        } else if let Some(rest) = line.strip_prefix("pub mod ") {
            names.insert(rest.trim_end_matches(';').trim_end_matches(" {").to_string());
        }
    }
    names
}

/// The table's rows (the lines starting with `//! |` after the heading, header and
/// separator excluded).
fn rows(lib: &str) -> Vec<&str> {
    let start = lib.find(HEADING).expect("the crate docs have the surface table's heading");
    lib[start..]
        .lines()
        .skip_while(|l| !l.starts_with("//! |"))
        .take_while(|l| l.starts_with("//! |"))
        .skip(2)
        .collect()
}

/// The names a row lists in its first two columns (group, items): each intra-doc link's
/// text, `` [`name`] `` or `` [`name`](mod@name) ``, without path qualifiers; links to
/// a path (`Sim::run`, `explore::shrink_tape`) are examples, not entries.
fn listed(row: &str) -> Vec<String> {
    let columns: Vec<&str> = row.trim_start_matches("//! |").split('|').collect();
    let mut names = Vec::new();
    for column in &columns[..2.min(columns.len())] {
        let mut rest = *column;
        while let Some(start) = rest.find("[`") {
            let after = &rest[start + 2..];
            let end = after.find("`]").expect("a link's text ends with `]");
            let name = &after[..end];
            if !name.contains("::") {
                names.push(name.to_string());
            }
            rest = &after[end + 2..];
        }
    }
    names
}

#[test]
fn the_crate_docs_table_lists_exactly_the_public_surface() {
    let exported = exported(LIB);
    let rows = rows(LIB);
    let listed: Vec<String> = rows.iter().flat_map(|r| listed(r)).collect();
    let listed_set: BTreeSet<String> = listed.iter().cloned().collect();
    let missing: Vec<&String> = exported.difference(&listed_set).collect();
    let extra: Vec<&String> = listed_set.difference(&exported).collect();
    assert!(missing.is_empty(), "public but not in the crate docs' table: {missing:?}");
    assert!(extra.is_empty(), "in the crate docs' table but not public at the crate root: {extra:?}");
    let mut seen = BTreeSet::new();
    let twice: Vec<&String> = listed.iter().filter(|n| !seen.insert(*n)).collect();
    assert!(twice.is_empty(), "listed in more than one row: {twice:?}");
}

#[test]
fn the_table_fits_on_one_screen() {
    let rows = rows(LIB);
    assert!(rows.len() <= 20, "{} rows: the surface no longer fits on one screen", rows.len());
    assert!(rows.len() >= 10, "the table was not found whole: {} rows", rows.len());
}

/// The parsers see what they are for, on a small `lib.rs` made for the purpose.
#[test]
fn the_parsers_read_modules_re_exports_and_rows() {
    let lib = "//! ## The whole public surface\n//! text\n//!\n//! | group | items | what |\n\
               //! | --- | --- | --- |\n//! | run | [`Sim`], [`Sim::run`], [`env`](mod@env) | [`Trace`] here is prose |\n\
               //! | more | [`spawn`] | x |\n//!\n//! | not | [`Other`] | y |\n\
               mod private;\npub mod env;\n#[cfg(feature = \"x\")]\npub mod log;\n\
               pub use crate::sim::{Config as Cfg, Sim};\npub use crate::task::spawn;\n\
               pub use crate::long::{\n    A,\n    B,\n};\n";
    assert_eq!(exported(lib).into_iter().collect::<Vec<_>>(), ["A", "B", "Cfg", "Sim", "env", "log", "spawn"]);
    let rows = rows(lib);
    assert_eq!(rows.len(), 2);
    assert_eq!(listed(rows[0]), ["Sim", "env"]);
    assert_eq!(listed(rows[1]), ["spawn"]);
}
