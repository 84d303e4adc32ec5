//! Cutting what does not compile: a test file that does not build as a whole says nothing
//! about its other tests. The runner can blank out (in the generated copy only) every item
//! that holds a compiler error, rebuild, and repeat, so the rest of the file runs. The
//! file still counts as not built as is; each cut item is listed with its error.

use std::collections::BTreeMap;

use proc_macro2::Span;
use syn::spanned::Spanned;

/// One item of a test file: a function, a `use`, an `impl`… (items of inline modules are
/// listed one by one, the module itself is not).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    /// First line (1-based), attributes included.
    pub start: usize,
    /// Last line, inclusive.
    pub end: usize,
    /// The libtest name when the item is a test (`#[test]`, `#[tokio::test]`, `#[maybe_tokio_test]`).
    pub test: Option<String>,
    /// A short label: `fn name`, or the item's first line of code.
    pub label: String,
}

/// A compiler error's position in the test file (1-based line and column, as rustc
/// reports them) and its one-line text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct At {
    /// Line, 1-based.
    pub line: usize,
    /// Column, 1-based.
    pub column: usize,
    /// The error, on one line.
    pub message: String,
}

/// The items of `source`, in order.
pub fn items(source: &str) -> Result<Vec<Item>, String> {
    Ok(parse(source)?.into_iter().map(|(item, _)| item).collect())
}

fn parse(source: &str) -> Result<Vec<(Item, Option<syn::ItemUse>)>, String> {
    let file = syn::parse_file(source).map_err(|e| format!("cannot parse: {e}"))?;
    let lines: Vec<&str> = source.lines().collect();
    let mut out = Vec::new();
    collect(&file.items, "", &lines, &mut out);
    Ok(out)
}

fn collect(items: &[syn::Item], prefix: &str, lines: &[&str], out: &mut Vec<(Item, Option<syn::ItemUse>)>) {
    for item in items {
        if let syn::Item::Mod(m) = item {
            if let Some((_, inner)) = &m.content {
                collect(inner, &format!("{prefix}{}::", m.ident), lines, out);
                continue;
            }
        }
        let span: Span = item.span();
        let (start, end) = (span.start().line, span.end().line);
        let (test, label) = match item {
            syn::Item::Fn(f) => {
                let is_test = f.attrs.iter().any(|a| {
                    let last = a.path().segments.last().map(|s| s.ident.to_string());
                    matches!(last.as_deref(), Some("test" | "maybe_tokio_test"))
                });
                let name = format!("{prefix}{}", f.sig.ident);
                (is_test.then(|| name.clone()), format!("fn {name}"))
            }
            syn::Item::Mod(m) => (None, format!("mod {prefix}{}", m.ident)),
            _ => {
                // The first line that is not an attribute or a comment.
                let code = (start..=end)
                    .filter_map(|l| lines.get(l.wrapping_sub(1)))
                    .map(|l| l.trim())
                    .find(|l| !l.starts_with("#[") && !l.starts_with("//"))
                    .unwrap_or_default();
                (None, code.trim_end_matches('{').trim().to_string())
            }
        };
        let use_item = match item {
            syn::Item::Use(u) => Some(u.clone()),
            _ => None,
        };
        out.push((Item { start, end, test, label }, use_item));
    }
}

fn contains(span: Span, at: &At) -> bool {
    let (s, e) = (span.start(), span.end());
    let pos = (at.line, at.column.saturating_sub(1));
    (s.line, s.column) <= pos && pos < (e.line, e.column)
}

/// Removes from `tree` every name or path segment an error points at; `removed` collects
/// the names taken out. `None` when nothing is left.
fn prune(tree: &syn::UseTree, errors: &[&At], removed: &mut Vec<String>) -> Option<syn::UseTree> {
    use syn::UseTree;
    let hit = |span: Span| errors.iter().any(|at| contains(span, at));
    match tree {
        UseTree::Path(p) if hit(p.ident.span()) => {
            removed.push(p.ident.to_string());
            None
        }
        UseTree::Path(p) => {
            let inner = prune(&p.tree, errors, removed)?;
            let mut p = p.clone();
            *p.tree = inner;
            Some(UseTree::Path(p))
        }
        UseTree::Name(n) if hit(n.ident.span()) => {
            removed.push(n.ident.to_string());
            None
        }
        UseTree::Rename(r) if hit(r.span()) => {
            removed.push(r.ident.to_string());
            None
        }
        UseTree::Glob(g) if hit(g.star_token.span) => {
            removed.push("*".to_string());
            None
        }
        UseTree::Group(g) => {
            let mut g = g.clone();
            let kept: Vec<UseTree> = g.items.iter().filter_map(|t| prune(t, errors, removed)).collect();
            if kept.is_empty() {
                return None;
            }
            g.items = kept.into_iter().collect();
            Some(UseTree::Group(g))
        }
        other => Some(other.clone()),
    }
}

/// What [`cut`] took out of a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Removed {
    /// The item, whole, or the `use` it was taken from.
    pub item: Item,
    /// For a `use`: the names taken out of it (the rest of it stays).
    pub names: Vec<String>,
    /// The first error that fell in it.
    pub error: String,
}

/// Blanks out every item holding one of the `errors`, keeping the line count. In a `use`,
/// only the names the errors point at are taken out, so one missing name does not take
/// every test that uses its neighbours with it. An error in module `X` of tokio's `support/` folder
/// (`support_errors`: module name → error) cuts the item `mod …X`. `Err` when nothing
/// could be cut.
pub fn cut(
    source: &str,
    errors: &[At],
    support_errors: &BTreeMap<String, String>,
) -> Result<(String, Vec<Removed>), String> {
    let all = parse(source)?;
    let mut lines: Vec<String> = source.lines().map(str::to_string).collect();
    let mut removed = Vec::new();
    for (item, use_item) in all {
        let inside: Vec<&At> = errors.iter().filter(|at| (item.start..=item.end).contains(&at.line)).collect();
        let support = support_errors
            .iter()
            .find(|(module, _)| item.label == format!("mod {module}") || item.label.ends_with(&format!("::{module}")))
            .map(|(_, m)| m.clone());
        let Some(error) = inside.first().map(|at| at.message.clone()).or(support) else {
            continue;
        };
        let mut replacement = String::new();
        let mut names = Vec::new();
        if let Some(u) = &use_item {
            let mut taken = Vec::new();
            let all_placed = inside.iter().all(|at| {
                let mut probe = Vec::new();
                prune(&u.tree, &[*at], &mut probe);
                !probe.is_empty()
            });
            if all_placed {
                if let Some(tree) = prune(&u.tree, &inside, &mut taken) {
                    let mut kept = u.clone();
                    kept.tree = tree;
                    replacement = quote::ToTokens::to_token_stream(&kept).to_string();
                }
            }
            names = taken;
        }
        for (i, line) in lines.iter_mut().take(item.end).skip(item.start.saturating_sub(1)).enumerate() {
            *line = if i == 0 { std::mem::take(&mut replacement) } else { String::new() };
        }
        removed.push(Removed { item, names, error });
    }
    if removed.is_empty() {
        return Err("no error falls inside an item that can be cut".to_string());
    }
    Ok((lines.join("\n") + "\n", removed))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = r#"#![cfg(feature = "sync")]

use tokio::sync::Barrier;
use tokio_test::*;

trait AssertSend: Send {}
impl AssertSend for Barrier {}

#[test]
fn plain() {
    assert_eq!(1, 1);
}

/// Doc comment.
#[tokio::test]
#[cfg(not(target_family = "wasm"))]
async fn asynchronous() {
    let b = Barrier::new(1);
    b.wait().await;
}

fn helper() -> u8 { 1 }

mod nested {
    #[maybe_tokio_test]
    async fn inner() {}

    pub(crate) mod mpsc_stream;
}
"#;

    #[test]
    fn items_with_lines_and_test_names() {
        let found = items(SOURCE).unwrap();
        let summary: Vec<(usize, usize, Option<&str>, &str)> =
            found.iter().map(|i| (i.start, i.end, i.test.as_deref(), i.label.as_str())).collect();
        assert_eq!(
            summary,
            vec![
                (3, 3, None, "use tokio::sync::Barrier;"),
                (4, 4, None, "use tokio_test::*;"),
                (6, 6, None, "trait AssertSend: Send {}"),
                (7, 7, None, "impl AssertSend for Barrier {}"),
                (9, 12, Some("plain"), "fn plain"),
                (14, 20, Some("asynchronous"), "fn asynchronous"),
                (22, 22, None, "fn helper"),
                (25, 26, Some("nested::inner"), "fn nested::inner"),
                (28, 28, None, "mod nested::mpsc_stream"),
            ]
        );
    }

    fn at(line: usize, column: usize, message: &str) -> At {
        At { line, column, message: message.to_string() }
    }

    #[test]
    fn cutting_blanks_the_items_that_hold_errors() {
        let errors = [
            at(3, 5, "error[E0432]: unresolved import"),
            at(18, 13, "error[E0599]: no function `new`"),
            at(19, 7, "second error in the same item"),
        ];
        let support: BTreeMap<String, String> = [("mpsc_stream".to_string(), "error in support".to_string())].into();
        let (text, removed) = cut(SOURCE, &errors, &support).unwrap();
        let summary: Vec<(&str, Vec<String>, &str)> =
            removed.iter().map(|r| (r.item.label.as_str(), r.names.clone(), r.error.as_str())).collect();
        assert_eq!(
            summary,
            vec![
                // Column 5 of `use tokio::sync::Barrier;` is `tokio`: the whole path goes.
                ("use tokio::sync::Barrier;", vec!["tokio".to_string()], "error[E0432]: unresolved import"),
                ("fn asynchronous", vec![], "error[E0599]: no function `new`"),
                ("mod nested::mpsc_stream", vec![], "error in support"),
            ]
        );
        assert_eq!(text.lines().count(), SOURCE.lines().count());
        let remaining = items(&text).unwrap();
        let labels: Vec<&str> = remaining.iter().map(|i| i.label.as_str()).collect();
        assert_eq!(
            labels,
            vec![
                "use tokio_test::*;",
                "trait AssertSend: Send {}",
                "impl AssertSend for Barrier {}",
                "fn plain",
                "fn helper",
                "fn nested::inner"
            ]
        );
        // An error outside every item (the inner attribute) cuts nothing.
        assert!(cut(SOURCE, &[at(1, 1, "x")], &BTreeMap::new()).is_err());
    }

    #[test]
    fn a_missing_name_leaves_the_rest_of_its_use() {
        let source = "use tokio::time::{self, Duration, Instant};\nuse tokio::sync::{mpsc, Barrier as B};\n\
                      use std::sync::Arc;\nfn f() {}\n";
        // Column of `Instant` (1-based: `use tokio::time::{self, Duration, ` is 34 chars),
        // and of `Barrier` in the rename on line 2.
        let errors = [at(1, 35, "no `Instant`"), at(2, 25, "no `Barrier`")];
        let (text, removed) = cut(source, &errors, &BTreeMap::new()).unwrap();
        assert_eq!(
            text,
            "use tokio :: time :: { self , Duration } ;\nuse tokio :: sync :: { mpsc } ;\nuse std::sync::Arc;\nfn f() {}\n"
        );
        let names: Vec<Vec<String>> = removed.iter().map(|r| r.names.clone()).collect();
        assert_eq!(names, vec![vec!["Instant".to_string()], vec!["Barrier".to_string()]]);
        syn::parse_file(&text).expect("still Rust");
        // An error on the `use` keyword itself is not on a name: the whole item goes.
        let (text, removed) = cut(source, &[at(3, 1, "x")], &BTreeMap::new()).unwrap();
        assert_eq!(text.lines().nth(2), Some(""));
        assert!(removed[0].names.is_empty());
    }
}
