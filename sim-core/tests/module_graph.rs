//! sim-core's layers: no import cycle among its top-level modules.
//!
//! Reads every file under `sim-core/src`, strips comments and string literals, and
//! collects each `crate::…` path (in `use` trees, in code, and `$crate::` in macros).
//! A path's first segment names the top-level module it reaches; a name that
//! `lib.rs` re-exports (`pub use crate::sim::{Config, Sim}`) counts as the module it
//! comes from, so a cycle cannot hide behind the crate root. `lib.rs` itself is the
//! facade over every module and is not a node. The graph of edges between top-level
//! modules must have no cycle; the test fails naming one, with a file and line for
//! each edge.
//!
//! Run it: `cargo test -p sim-core --test module_graph` (docs/design.md, "Layers").
//! `LOCKSTEP_MODULE_GRAPH=1` prints the graph (module → the modules it uses).

mod source;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use source::{code_of, matching_brace, rust_files};

/// One use of another module: where it is.
#[derive(Clone, Debug)]
struct Site {
    file: String,
    line: usize,
}

/// The graph: module → used module → the first place it is used.
type Graph = BTreeMap<String, BTreeMap<String, Site>>;

#[test]
fn sim_core_has_no_import_cycle_between_its_modules() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = build_graph(&src);
    if std::env::var_os("LOCKSTEP_MODULE_GRAPH").is_some() {
        for (from, tos) in &graph {
            let tos: Vec<&str> = tos.keys().map(String::as_str).collect();
            println!("{from} -> {}", tos.join(", "));
        }
    }
    assert!(graph.len() > 15, "too few modules found under {}: {:?}", src.display(), graph.keys());
    let cycles = cycles(&graph);
    assert!(cycles.is_empty(), "import cycles among sim-core's modules:\n{}", cycles.join("\n"));
    println!("{} modules, {} edges, no cycle", graph.len(), graph.values().map(BTreeMap::len).sum::<usize>());
}

/// The checker itself: a graph with a cycle hidden behind a re-export is caught, a
/// layered one passes, comments and strings are not code.
#[test]
fn the_checker_finds_a_cycle_behind_a_re_export_and_ignores_comments_and_strings() {
    let dir = std::env::temp_dir().join(format!("lockstep-module-graph-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(dir.join("b")).unwrap();
    let write = |path: &str, text: &str| fs::write(dir.join(path), text).unwrap();
    write("lib.rs", "mod a;\nmod b;\nmod c;\npub use crate::b::{Bee, Other as O};\n");
    write("a.rs", "use crate::O;\n// use crate::c::X;\nfn f() { let _ = \"crate::c::X\"; let _ = 'c'; }\n");
    write("b/mod.rs", "mod inner;\npub struct Bee;\npub struct Other;\n");
    write("b/inner.rs", "pub fn g() { crate::c::h(); }\n");
    write("c.rs", "/* crate::a */ pub fn h() {}\n");
    let graph = build_graph(&dir);
    let names = |m: &str| graph[m].keys().cloned().collect::<Vec<_>>();
    assert_eq!(names("a"), ["b"], "the re-exported name counts as b, the comment and the string not at all");
    assert_eq!(names("b"), ["c"], "a submodule's uses are its top-level module's");
    assert!(names("c").is_empty(), "{graph:?}");
    assert!(cycles(&graph).is_empty());
    write("c.rs", "pub fn h() { let _ = crate::Bee; }\n");
    let cycles = cycles(&build_graph(&dir));
    assert_eq!(cycles.len(), 1, "{cycles:?}");
    assert!(cycles[0].starts_with("b -> c (") && cycles[0].contains("c -> b ("), "{}", cycles[0]);
    fs::remove_dir_all(&dir).unwrap();
}

fn build_graph(src: &Path) -> Graph {
    let lib = code_of(&fs::read_to_string(src.join("lib.rs")).expect("lib.rs"));
    let declared = declared_modules(&lib);
    // A node per top-level file or directory: a module declared with `#[path]` inside
    // another (`tooling::identity` in `identity.rs`) is a node of its own.
    let modules: BTreeSet<String> = fs::read_dir(src)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir() || p.extension().is_some_and(|e| e == "rs"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .filter(|m| m != "lib")
        .collect();
    for m in &declared {
        assert!(modules.contains(m), "lib.rs declares `{m}` but there is no src/{m}.rs or src/{m}/");
    }
    let reexports = reexports(&lib, &modules);
    let mut graph: Graph = modules.iter().map(|m| (m.clone(), BTreeMap::new())).collect();
    for file in rust_files(src) {
        let rel = file.strip_prefix(src).unwrap();
        let first = rel.components().next().unwrap().as_os_str().to_string_lossy().into_owned();
        if first == "lib.rs" {
            continue;
        }
        let from = first.strip_suffix(".rs").unwrap_or(&first).to_string();
        assert!(modules.contains(&from), "{} belongs to no module declared in lib.rs", rel.display());
        let code = code_of(&fs::read_to_string(&file).unwrap());
        for (line, first_segment, second) in crate_paths(&code) {
            // `crate::tooling::identity::…`: a facade's path to a module that is a node.
            let to = if second.as_ref().is_some_and(|s| modules.contains(s) && *s != first_segment) {
                second.unwrap()
            } else if modules.contains(&first_segment) {
                first_segment
            } else if let Some(m) = reexports.get(&first_segment) {
                m.clone()
            } else {
                panic!(
                    "{}:{line}: `crate::{first_segment}` is neither a module nor a name lib.rs re-exports",
                    rel.display()
                )
            };
            if to != from {
                let site = Site { file: rel.display().to_string(), line };
                graph.get_mut(&from).unwrap().entry(to).or_insert(site);
            }
        }
    }
    graph
}

/// The modules `lib.rs` declares (`mod x;`, `pub mod x;`, `pub(crate) mod x;`).
fn declared_modules(lib: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in lib.lines() {
        let line = line.trim();
        let rest = line.strip_prefix("pub ").or_else(|| line.strip_prefix("pub(crate) ")).unwrap_or(line);
        if let Some(name) = rest.strip_prefix("mod ").and_then(|r| r.strip_suffix(';')) {
            out.insert(name.trim().to_string());
        }
    }
    out
}

/// The names `lib.rs` re-exports from a module (`pub use crate::m::{A, B as C}` or
/// `pub use m::A`): the name users write after `crate::` → the module.
fn reexports(lib: &str, modules: &BTreeSet<String>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for stmt in lib.split(';') {
        let stmt = stmt.trim();
        let Some(tree) = stmt.strip_prefix("pub use ").or_else(|| stmt.strip_prefix("use ")) else { continue };
        let tree = tree.trim().trim_start_matches("crate::");
        let Some((module, rest)) = tree.split_once("::") else { continue };
        if !modules.contains(module) {
            continue;
        }
        let rest = rest.trim().trim_start_matches('{').trim_end_matches('}');
        for item in rest.split(',') {
            let item = item.split_whitespace().collect::<Vec<_>>().join(" ");
            if item.is_empty() {
                continue;
            }
            let name = match item.split_once(" as ") {
                Some((_, alias)) => alias.trim(),
                None => item.rsplit("::").next().unwrap().trim(),
            };
            // `use crate::tooling::{coop}` where `coop` is a node: the name is that node.
            let origin = item.split("::").next().unwrap().trim();
            let target = if modules.contains(origin) && origin == name { origin } else { module };
            out.insert(name.to_string(), target.to_string());
        }
    }
    out
}

/// Each `crate::` path's first segment (and second, when there is one), with its line;
/// `use crate::{a::X, b}` gives `a` and `b`.
fn crate_paths(code: &str) -> Vec<(usize, String, Option<String>)> {
    let mut out = Vec::new();
    let bytes = code.as_bytes();
    let mut i = 0;
    while let Some(pos) = code[i..].find("crate::") {
        let start = i + pos;
        i = start + "crate::".len();
        let before = start.checked_sub(1).map(|p| bytes[p]);
        if before.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_') {
            continue; // `sim_crate::` or similar
        }
        let line = code[..start].matches('\n').count() + 1;
        let rest = &code[i..];
        if rest.starts_with('{') {
            let close = matching_brace(rest).unwrap_or_else(|| panic!("line {line}: unclosed `crate::{{`"));
            for segment in top_level_segments(&rest[1..close]) {
                out.push((line, segment, None));
            }
        } else {
            let ident: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            let second = rest[ident.len()..]
                .strip_prefix("::")
                .map(|r| r.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect::<String>());
            if !ident.is_empty() {
                out.push((line, ident, second.filter(|s| !s.is_empty())));
            }
        }
    }
    out
}

/// The first segment of each comma-separated item of a use group, nested groups skipped.
fn top_level_segments(group: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0;
    let mut item = String::new();
    for c in group.chars().chain(std::iter::once(',')) {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                let name: String = item.trim().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                if !name.is_empty() && name != "self" {
                    out.push(name);
                }
                item.clear();
                continue;
            }
            _ => {}
        }
        if depth == 0 {
            item.push(c);
        }
    }
    out
}

/// Every cycle found by a depth-first search (one per back edge), as
/// `a -> b (file:line) -> … -> a (file:line)`.
fn cycles(graph: &Graph) -> Vec<String> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    fn visit(
        node: &str,
        graph: &Graph,
        marks: &mut BTreeMap<String, Mark>,
        path: &mut Vec<String>,
        out: &mut Vec<String>,
    ) {
        marks.insert(node.to_string(), Mark::Open);
        path.push(node.to_string());
        for next in graph.get(node).map(|m| m.keys().cloned().collect::<Vec<_>>()).unwrap_or_default() {
            match marks.get(&next).copied().unwrap_or(Mark::New) {
                Mark::New => visit(&next, graph, marks, path, out),
                Mark::Open => {
                    let start = path.iter().position(|p| *p == next).unwrap();
                    let mut ring: Vec<&str> = path[start..].iter().map(String::as_str).collect();
                    ring.push(&next);
                    let text = ring
                        .windows(2)
                        .map(|w| {
                            let site = &graph[w[0]][w[1]];
                            format!("{} -> {} ({}:{})", w[0], w[1], site.file, site.line)
                        })
                        .collect::<Vec<_>>()
                        .join(", ");
                    out.push(text);
                }
                Mark::Done => {}
            }
        }
        path.pop();
        marks.insert(node.to_string(), Mark::Done);
    }
    let mut marks = BTreeMap::new();
    let mut out = Vec::new();
    for node in graph.keys() {
        if marks.get(node).copied().unwrap_or(Mark::New) == Mark::New {
            visit(node, graph, &mut marks, &mut Vec::new(), &mut out);
        }
    }
    out
}
