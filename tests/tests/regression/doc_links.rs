//! The documents stand alone: every relative link in the repository's Markdown (README.md,
//! docs/*.md and the rest) and in the crates' doc comments resolves to a file of the
//! repository, with `#anchors` matching a heading of the target; and no document or
//! source comment names a file that is not in the repository (a `*.md` name, or a path
//! under one of the workspace's folders).
//!
//! Markdown is parsed with pulldown-cmark, so links are what a renderer sees (not text in
//! code spans or fences) and anchors are computed from headings the way GitHub does.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Component, Path, PathBuf};

use pulldown_cmark::{Event, Parser, Tag, TagEnd};

/// The workspace root (this crate is `tests/`).
fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf()
}

/// Every file under `dir` ending in one of `exts`, sorted; skips `target` and hidden
/// folders (`.git`, `.cargo`, `.ci` hold no Markdown or Rust).
fn files_with(dir: &Path, exts: &[&str]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = fs::read_dir(&d) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                if name != "target" && !name.starts_with('.') {
                    stack.push(path);
                }
            } else if exts.iter().any(|e| name.ends_with(&format!(".{e}"))) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// GitHub's anchor for a heading: lower case, spaces to `-`, punctuation other than `-`
/// and `_` dropped.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            '-' | '_' => Some(c),
            c if c.is_alphanumeric() => Some(c),
            _ => None,
        })
        .flat_map(char::to_lowercase)
        .collect()
}

/// The links of a Markdown text and the anchors of its headings (a repeated heading gets
/// `-1`, `-2`… as on GitHub).
fn parse(markdown: &str) -> (Vec<String>, BTreeSet<String>) {
    let mut links = Vec::new();
    let mut anchors = BTreeSet::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut heading: Option<String> = None;
    for event in Parser::new(markdown) {
        match event {
            Event::Start(Tag::Link { dest_url, .. }) | Event::Start(Tag::Image { dest_url, .. }) => {
                links.push(dest_url.to_string())
            }
            Event::Start(Tag::Heading { .. }) => heading = Some(String::new()),
            Event::Text(t) | Event::Code(t) => {
                if let Some(h) = heading.as_mut() {
                    h.push_str(&t);
                }
            }
            Event::End(TagEnd::Heading(_)) => {
                let base = slug(&heading.take().unwrap_or_default());
                let n = seen.entry(base.clone()).or_insert(0);
                anchors.insert(if *n == 0 { base.clone() } else { format!("{base}-{n}") });
                *n += 1;
            }
            _ => {}
        }
    }
    (links, anchors)
}

/// `path` with `.` and `..` resolved lexically; `None` when it climbs out of `root`.
fn normalize(root: &Path, path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out.starts_with(root).then_some(out)
}

/// Whether a link target is a URL (`https:`, `mailto:`…) rather than a path.
fn has_scheme(dest: &str) -> bool {
    let Some((scheme, _)) = dest.split_once(':') else { return false };
    !scheme.is_empty() && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c))
}

/// The nearest folder at or above `file` holding a `Cargo.toml` (its crate), or `root`.
fn crate_dir(root: &Path, file: &Path) -> PathBuf {
    let mut dir = file.parent();
    while let Some(d) = dir {
        if d.join("Cargo.toml").is_file() || d == root {
            return d.to_path_buf();
        }
        dir = d.parent();
    }
    root.to_path_buf()
}

/// Checks one link `dest` found in `file`; `bases` are the folders a relative path may
/// be taken from. Returns what is wrong with it.
fn check_link(root: &Path, file: &Path, bases: &[PathBuf], dest: &str) -> Option<String> {
    let (path, anchor) = match dest.split_once('#') {
        Some((p, a)) => (p, Some(a)),
        None => (dest, None),
    };
    let target = if path.is_empty() {
        file.to_path_buf()
    } else {
        let Some(target) =
            bases.iter().filter_map(|base| normalize(root, &base.join(path))).find(|candidate| candidate.exists())
        else {
            return Some(format!("`{dest}`: no such file in the repository"));
        };
        target
    };
    let anchor = anchor.filter(|a| !a.is_empty())?;
    if target.extension().is_none_or(|e| e != "md") {
        return None; // anchors into source files are line numbers or rustdoc's: not checked
    }
    let text = fs::read_to_string(&target).ok()?;
    let (_, anchors) = parse(&text);
    (!anchors.contains(anchor)).then(|| {
        format!("`{dest}`: no heading with anchor `#{anchor}` in {}", target.strip_prefix(root).unwrap().display())
    })
}

/// The doc-comment blocks (`//!` and `///` lines, prefixes stripped) of a Rust file, each
/// with its first line number.
fn doc_blocks(source: &str) -> Vec<(usize, String)> {
    let mut blocks: Vec<(usize, String)> = Vec::new();
    let mut open = false;
    for (i, line) in source.lines().enumerate() {
        let t = line.trim_start();
        let body = t.strip_prefix("//!").or_else(|| t.strip_prefix("///"));
        match body {
            Some(body) => {
                if !open {
                    blocks.push((i + 1, String::new()));
                    open = true;
                }
                let block = &mut blocks.last_mut().unwrap().1;
                block.push_str(body.strip_prefix(' ').unwrap_or(body));
                block.push('\n');
            }
            None => open = false,
        }
    }
    blocks
}

/// Every broken relative link under `root`: in Markdown files (relative to the file), and
/// in doc comments of Rust files where the target is a path (not an intra-doc link).
fn broken_links(root: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    for file in files_with(root, &["md"]) {
        let text = fs::read_to_string(&file).unwrap();
        let bases = [file.parent().unwrap().to_path_buf()];
        for dest in parse(&text).0 {
            if dest.starts_with("file:") {
                problems.push(format!(
                    "{}: `{dest}`: points outside the repository",
                    file.strip_prefix(root).unwrap().display()
                ));
                continue;
            }
            if has_scheme(&dest) {
                continue;
            }
            if let Some(p) = check_link(root, &file, &bases, &dest) {
                problems.push(format!("{}: {p}", file.strip_prefix(root).unwrap().display()));
            }
        }
    }
    for file in files_with(root, &["rs"]) {
        let text = fs::read_to_string(&file).unwrap();
        // A doc comment's file link is read on GitHub (relative to the file) or from the
        // crate or the repository root: accept any of them.
        let bases = [file.parent().unwrap().to_path_buf(), crate_dir(root, &file), root.to_path_buf()];
        for (line, block) in doc_blocks(&text) {
            for dest in parse(&block).0 {
                let path = dest.split('#').next().unwrap_or("");
                let is_file = path.contains('/') || path.ends_with(".md");
                if has_scheme(&dest) || dest.contains("::") || !is_file {
                    continue; // a URL or an intra-doc link
                }
                if let Some(p) = check_link(root, &file, &bases, &dest) {
                    problems.push(format!("{}:{line}: {p}", file.strip_prefix(root).unwrap().display()));
                }
            }
        }
    }
    problems
}

/// The folders a path in prose must start with to be checked: the repository's top
/// folders (`docs`, the crates, `.ci`, `.cargo`), and `..`. A path such as `src/f.rs`
/// (an example in a comment, or relative to some crate) is not taken for a reference.
fn top_folders(root: &Path) -> BTreeSet<String> {
    let mut folders: BTreeSet<String> = fs::read_dir(root)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.path().is_dir())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|name| name != "target" && name != ".git")
                .collect()
        })
        .unwrap_or_default();
    folders.insert("..".to_string());
    folders
}

/// File kinds a mention may name.
const MENTIONED: &[&str] = &["md", "rs", "toml", "txt", "jsonl", "html", "sh"];

/// The words of `text` that name a file: a `*.md` name, or a path under one of
/// `folders` with an extension of [`MENTIONED`].
fn mentions(text: &str, folders: &BTreeSet<String>) -> Vec<String> {
    let is_path_char = |c: char| c.is_ascii_alphanumeric() || "_./-".contains(c);
    text.split(|c: char| !is_path_char(c))
        .map(|w| w.trim_end_matches('.'))
        .filter(|w| !w.starts_with('/'))
        .filter(|w| {
            let ext_ok = w.rsplit_once('.').is_some_and(|(stem, ext)| !stem.is_empty() && MENTIONED.contains(&ext));
            let first = w.split('/').next().unwrap_or("");
            ext_ok && (w.ends_with(".md") || (w.contains('/') && folders.contains(first)))
        })
        .map(str::to_string)
        .collect()
}

/// The `//` comments of a Rust source (doc comments included), with their line numbers:
/// the text from `//` to the end of the line, where the `//` is not inside a string or
/// character literal.
pub(crate) fn line_comments(source: &str) -> Vec<(usize, String)> {
    let mut comments = Vec::new();
    let mut in_string = false;
    for (i, line) in source.lines().enumerate() {
        let chars: Vec<char> = line.chars().collect();
        let mut j = 0;
        while j < chars.len() {
            let c = chars[j];
            if in_string {
                match c {
                    '\\' => j += 1, // skip the escaped character
                    '"' => in_string = false,
                    _ => {}
                }
            } else {
                match c {
                    '"' => in_string = true,
                    // A character literal ('"', '\'', 'x'); a lifetime ('a) has no closing quote.
                    '\'' if chars.get(j + 1) == Some(&'\\') => {
                        j += 2;
                        while j < chars.len() && chars[j] != '\'' {
                            j += 1;
                        }
                    }
                    '\'' if chars.get(j + 2) == Some(&'\'') => j += 2,
                    '/' if chars.get(j + 1) == Some(&'/') => {
                        comments.push((i + 1, chars[j..].iter().collect()));
                        break;
                    }
                    _ => {}
                }
            }
            j += 1;
        }
    }
    comments
}

/// Every mention of a file that is not in the repository: in Markdown files (all of the
/// text) and in Rust comments. A name resolves from the mentioning file's folder, its
/// crate, the repository root, or (a bare `*.md` name) `docs/`.
fn missing_mentions(root: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    let folders = top_folders(root);
    for file in files_with(root, &["md", "rs"]) {
        let text = fs::read_to_string(&file).unwrap();
        let rust = file.extension().is_some_and(|e| e == "rs");
        let bases =
            [file.parent().unwrap().to_path_buf(), crate_dir(root, &file), root.to_path_buf(), root.join("docs")];
        let lines: Vec<(usize, String)> = if rust {
            line_comments(&text)
        } else {
            text.lines().enumerate().map(|(i, l)| (i + 1, l.to_string())).collect()
        };
        for (line, prose) in lines {
            for name in mentions(&prose, &folders) {
                let found = bases.iter().filter_map(|b| normalize(root, &b.join(&name))).any(|p| p.exists());
                if !found {
                    let at = file.strip_prefix(root).unwrap().display();
                    problems.push(format!("{at}:{line}: `{name}` is not a file of the repository"));
                }
            }
        }
    }
    problems
}

#[test]
fn every_relative_link_in_the_docs_and_crate_docs_resolves() {
    let root = repo_root();
    let problems = broken_links(&root);
    assert!(problems.is_empty(), "broken links:\n  {}", problems.join("\n  "));
}

#[test]
fn no_document_or_source_comment_names_a_file_outside_the_repository() {
    let root = repo_root();
    let problems = missing_mentions(&root);
    assert!(problems.is_empty(), "names of files that are not in the repository:\n  {}", problems.join("\n  "));
}

#[test]
fn the_readme_and_every_doc_are_checked() {
    // The walk must reach the files the checks are about, or they pass vacuously.
    let root = repo_root();
    let md: Vec<String> =
        files_with(&root, &["md"]).iter().map(|p| p.strip_prefix(&root).unwrap().display().to_string()).collect();
    for expected in ["README.md", "docs/architecture.md", "docs/design.md", "docs/processors.md", "docs/scenarios.md"] {
        assert!(md.iter().any(|m| m == expected), "{expected} not found among {md:?}");
    }
    assert!(files_with(&root, &["rs"]).iter().any(|p| p.ends_with("sim-core/src/lib.rs")));
    // Every crate's README and crate docs (`src/lib.rs`) are among the files walked.
    let rs = files_with(&root, &["rs"]);
    let all_md = files_with(&root, &["md"]);
    for manifest in files_with(&root, &["toml"]).iter().filter(|p| p.ends_with("Cargo.toml")) {
        let dir = manifest.parent().unwrap();
        for (file, walked) in [(dir.join("src/lib.rs"), &rs), (dir.join("README.md"), &all_md)] {
            if file.is_file() {
                assert!(walked.contains(&file), "{} is not checked", file.display());
            }
        }
    }
    for doc in fs::read_dir(root.join("docs")).unwrap().flatten().map(|e| e.path()) {
        assert!(doc.extension().is_none_or(|e| e != "md") || all_md.contains(&doc), "{} is not checked", doc.display());
    }
}

/// The checks find what they are for, in a small repository made for the purpose.
#[test]
fn broken_links_anchors_and_mentions_are_reported() {
    let root = std::env::temp_dir().join(format!("lockstep-doc-links-{}", std::process::id()));
    let _ = fs::remove_dir_all(&root);
    fs::create_dir_all(root.join("docs")).unwrap();
    fs::create_dir_all(root.join("sim-core/src")).unwrap();
    fs::write(root.join("sim-core/Cargo.toml"), "").unwrap();
    fs::write(
        root.join("README.md"),
        "# Lockstep\n\n## The `lockstep` tool\n\n[ok](docs/b.md#semantics-at-a-glance) [ok](#the-lockstep-tool) \
         [ok](https://example.invalid/x.md) `[not a link](nope.md)`\n",
    )
    .unwrap();
    fs::write(
        root.join("docs/b.md"),
        "# Semantics, at a glance\n\n[bad anchor](../README.md#nowhere) [bad file](missing.md) \
         [outside](../../elsewhere.md) [dir](../sim-core) [abs](file:///work/shared/a.md)\n\nSee `race-catalog.md` and `sim-core/src/lib.rs`, \
         not `run.jsonl`.\n",
    )
    .unwrap();
    fs::write(
        root.join("sim-core/src/lib.rs"),
        "//! [`Sim`](crate::Sim), [design](docs/b.md), [gone](docs/gone.md#x)\n// from ../shared/architecture.md; panicked at src/f.rs:1:2\nfn f() {}\n",
    )
    .unwrap();
    let root = root.canonicalize().unwrap();

    let links = broken_links(&root);
    assert_eq!(
        links,
        [
            "docs/b.md: `../README.md#nowhere`: no heading with anchor `#nowhere` in README.md",
            "docs/b.md: `missing.md`: no such file in the repository",
            "docs/b.md: `../../elsewhere.md`: no such file in the repository",
            "docs/b.md: `file:///work/shared/a.md`: points outside the repository",
            "sim-core/src/lib.rs:1: `docs/gone.md#x`: no such file in the repository",
        ]
    );
    let mentions = missing_mentions(&root);
    assert_eq!(
        mentions,
        [
            "README.md:5: `nope.md` is not a file of the repository",
            "docs/b.md:3: `missing.md` is not a file of the repository",
            "docs/b.md:3: `../../elsewhere.md` is not a file of the repository",
            "docs/b.md:5: `race-catalog.md` is not a file of the repository",
            "sim-core/src/lib.rs:1: `docs/gone.md` is not a file of the repository",
            "sim-core/src/lib.rs:2: `../shared/architecture.md` is not a file of the repository",
        ]
    );
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn comments_are_told_from_strings() {
    let source =
        "let url = \"https://x/a.md\"; // see docs/a.md\nlet q = '\"'; // b.md\nlet s = \"two\n// lines.md\";\n";
    assert_eq!(line_comments(source), [(1, "// see docs/a.md".to_string()), (2, "// b.md".to_string())]);
}

#[test]
fn anchors_follow_githubs_rules() {
    assert_eq!(slug("The `lockstep` tool"), "the-lockstep-tool");
    assert_eq!(
        slug("1. Throttle hang: the cooldown timer armed after the hand-off"),
        "1-throttle-hang-the-cooldown-timer-armed-after-the-hand-off"
    );
    assert_eq!(slug("Layers and features"), "layers-and-features");
    let (_, anchors) = parse("# A\n## A\n```\n# not a heading\n```\n### B, c!\n");
    assert_eq!(anchors.into_iter().collect::<Vec<_>>(), ["a", "a-1", "b-c"]);
}
