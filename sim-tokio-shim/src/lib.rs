//! # sim-tokio-shim: sim-tokio under the name `tokio`, for a whole build graph
//!
//! Renaming one's own dependency (`tokio = { package = "sim-tokio", … }`) switches
//! one's own code; crates that import `tokio` themselves (tokio-stream, tokio-util)
//! still get tokio. Cargo's `[patch.crates-io]` replaces `tokio` for every crate in
//! the graph, but only with a package *named* `tokio` whose version matches their
//! requirements. This crate generates that package: a manifest named `tokio`, at the
//! version of tokio the user's lockfile holds, declaring tokio's feature names, whose
//! library is sim-tokio's own source (`[lib] path = ".../sim-tokio/src/lib.rs"`) with
//! sim-tokio's simulation dependencies. It copies no source, and it does not depend on
//! the `sim-tokio` package, whose `cfg(not(lockstep))` dependency on tokio would be a
//! cycle under the patch.
//!
//! ```text
//! cargo run --manifest-path <lockstep>/Cargo.toml -p sim-tokio-shim -- \
//!     --out <your workspace>/lockstep-tokio --lockfile <your workspace>/Cargo.lock
//! ```
//!
//! then, in the workspace's `Cargo.toml` and `.cargo/config.toml`:
//!
//! ```toml
//! [patch.crates-io]
//! tokio = { path = "lockstep-tokio" }
//!
//! [build]
//! rustflags = ["--cfg", "lockstep"]
//! ```
//!
//! The generated package builds only with `--cfg lockstep` (its build script says so
//! otherwise). See `docs/tokio.md`, "Crates that import tokio".
#![forbid(unsafe_code)]

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// What can go wrong, each with a one-line reason.
#[derive(Debug)]
pub enum Error {
    /// A bad command line.
    Usage(String),
    /// `cargo metadata` failed or said something unexpected.
    Metadata(String),
    /// A bad version (not tokio 1.x).
    Version(String),
    /// Reading or writing a file.
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        error: std::io::Error,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(m) => write!(f, "{m}"),
            Error::Metadata(m) => write!(f, "cargo metadata: {m}"),
            Error::Version(m) => write!(f, "{m}"),
            Error::Io { path, error } => write!(f, "{}: {error}", path.display()),
        }
    }
}

impl std::error::Error for Error {}

/// One dependency of the generated package.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dependency {
    /// The name the library uses (a rename, or the package's name).
    pub key: String,
    /// The package's name, when it differs from `key`.
    pub package: Option<String>,
    /// The version requirement (registry dependencies).
    pub req: Option<String>,
    /// The absolute path (path dependencies).
    pub path: Option<PathBuf>,
    /// Whether the dependency's default features are on.
    pub default_features: bool,
    /// Features asked of the dependency.
    pub features: Vec<String>,
    /// Whether it is optional.
    pub optional: bool,
}

/// The package to generate: sim-tokio's library under the name `tokio`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shim {
    /// The version it claims: the user's locked tokio version.
    pub version: String,
    /// sim-tokio's library root (`src/lib.rs`), absolute.
    pub lib_path: PathBuf,
    /// Feature names (tokio's), each with what it turns on inside the shim.
    pub features: Vec<(String, Vec<String>)>,
    /// sim-tokio's dependencies under `--cfg lockstep`.
    pub dependencies: Vec<Dependency>,
}

/// The Lockstep checkout this tool was built from (sim-tokio's source is there).
pub fn lockstep_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

/// `cargo metadata --no-deps` of the Lockstep workspace at `root`.
///
/// # Errors
/// When cargo cannot run or fails.
pub fn cargo_metadata(root: &Path) -> Result<String, Error> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--no-deps", "--format-version", "1", "--manifest-path"])
        .arg(root.join("Cargo.toml"))
        .output()
        .map_err(|e| Error::Metadata(format!("cannot run cargo: {e}")))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let line = stderr.lines().find(|l| l.starts_with("error")).unwrap_or("failed").to_string();
        return Err(Error::Metadata(line));
    }
    String::from_utf8(out.stdout).map_err(|e| Error::Metadata(e.to_string()))
}

/// tokio's version in a `Cargo.lock` (the 1.x one if there are several), if any.
pub fn locked_version(lock: &str, package: &str) -> Option<String> {
    let mut found = None;
    for block in lock.split("[[package]]").skip(1) {
        let field = |key: &str| {
            block.lines().find_map(|l| {
                let value = l.strip_prefix(key)?.trim_start().strip_prefix('=')?.trim();
                Some(value.trim_matches('"').to_string())
            })
        };
        if field("name").as_deref() == Some(package) {
            let version = field("version")?;
            if version.starts_with("1.") || found.is_none() {
                found = Some(version);
            }
        }
    }
    found
}

/// Checks that `version` is a tokio 1.x version (`1.54.1`, `1.54.1-alpha`).
///
/// # Errors
/// When it is not.
pub fn check_version(version: &str) -> Result<(), Error> {
    let core = version.split(['-', '+']).next().unwrap_or("");
    let parts: Vec<&str> = core.split('.').collect();
    let numeric = parts.len() == 3 && parts.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if !numeric {
        return Err(Error::Version(format!("`{version}` is not a version like 1.54.1")));
    }
    if parts[0] != "1" {
        return Err(Error::Version(format!("`{version}` is not tokio 1.x: sim-tokio has tokio 1's API")));
    }
    Ok(())
}

impl Shim {
    /// The shim for sim-tokio as `cargo metadata --no-deps` of the Lockstep workspace
    /// describes it, claiming `version`.
    ///
    /// # Errors
    /// When the metadata has no sim-tokio library, or `version` is not tokio 1.x.
    pub fn from_metadata(metadata: &str, version: &str) -> Result<Shim, Error> {
        check_version(version)?;
        let json: Value = serde_json::from_str(metadata).map_err(|e| Error::Metadata(e.to_string()))?;
        let package = json["packages"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["name"] == "sim-tokio"))
            .ok_or_else(|| Error::Metadata("no sim-tokio package in the workspace".into()))?;
        let lib_path = package["targets"]
            .as_array()
            .and_then(|ts| ts.iter().find(|t| t["kind"].as_array().is_some_and(|k| k.iter().any(|k| k == "lib"))))
            .and_then(|t| t["src_path"].as_str())
            .map(PathBuf::from)
            .ok_or_else(|| Error::Metadata("sim-tokio has no library".into()))?;

        // tokio's feature names, as sim-tokio declares them; what they forward to real
        // tokio (`tokio/…`) has no meaning in the shim, which is the simulator.
        let mut features = Vec::new();
        if let Some(map) = package["features"].as_object() {
            for (name, enables) in map {
                let enables = enables
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .filter(|e| !e.starts_with("tokio/") && !e.starts_with("tokio?/") && *e != "dep:tokio")
                    .map(str::to_string)
                    .collect();
                features.push((name.clone(), enables));
            }
        }
        if !features.iter().any(|(n, _)| n == "default") {
            features.push(("default".into(), Vec::new()));
        }
        features.sort();

        let mut dependencies = Vec::new();
        for dep in package["dependencies"].as_array().into_iter().flatten() {
            let normal = dep["kind"].is_null();
            let simulated = dep["target"].is_null() || dep["target"] == "cfg(lockstep)";
            let name = dep["name"].as_str().unwrap_or_default().to_string();
            if !normal || !simulated || name == "tokio" {
                continue;
            }
            let key = dep["rename"].as_str().map_or_else(|| name.clone(), str::to_string);
            let path = dep["path"].as_str().map(PathBuf::from);
            dependencies.push(Dependency {
                package: (key != name).then_some(name),
                key,
                req: if path.is_none() { dep["req"].as_str().map(str::to_string) } else { None },
                path,
                default_features: dep["uses_default_features"].as_bool().unwrap_or(true),
                features: dep["features"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect(),
                optional: dep["optional"].as_bool().unwrap_or(false),
            });
        }
        dependencies.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(Shim { version: version.to_string(), lib_path, features, dependencies })
    }

    /// The generated `Cargo.toml`.
    pub fn manifest(&self) -> String {
        let mut m = String::new();
        m.push_str("# Generated by sim-tokio-shim (Lockstep): do not edit, run it again instead.\n");
        m.push_str("# A package named `tokio` whose library is sim-tokio's source, for\n");
        m.push_str("# `[patch.crates-io] tokio = { path = \"…\" }`. Builds only with `--cfg lockstep`.\n");
        m.push_str("[package]\nname = \"tokio\"\n");
        m.push_str(&format!("version = {}\n", toml_str(&self.version)));
        m.push_str("edition = \"2021\"\npublish = false\nbuild = \"build.rs\"\n");
        m.push_str("autobins = false\nautoexamples = false\nautotests = false\nautobenches = false\n\n");
        m.push_str(&format!(
            "[lib]\nname = \"tokio\"\npath = {}\ndoctest = false\ntest = false\n\n",
            toml_path(&self.lib_path)
        ));
        m.push_str("[features]\n");
        for (name, enables) in &self.features {
            let list: Vec<String> = enables.iter().map(|e| toml_str(e)).collect();
            m.push_str(&format!("{} = [{}]\n", toml_key(name), list.join(", ")));
        }
        m.push_str("\n[dependencies]\n");
        for d in &self.dependencies {
            let mut fields = Vec::new();
            if let Some(p) = &d.package {
                fields.push(format!("package = {}", toml_str(p)));
            }
            if let Some(path) = &d.path {
                fields.push(format!("path = {}", toml_path(path)));
            }
            if let Some(req) = &d.req {
                fields.push(format!("version = {}", toml_str(req)));
            }
            if !d.default_features {
                fields.push("default-features = false".into());
            }
            if !d.features.is_empty() {
                let list: Vec<String> = d.features.iter().map(|f| toml_str(f)).collect();
                fields.push(format!("features = [{}]", list.join(", ")));
            }
            if d.optional {
                fields.push("optional = true".into());
            }
            m.push_str(&format!("{} = {{ {} }}\n", toml_key(&d.key), fields.join(", ")));
        }
        m.push_str("\n[lints.rust]\nunexpected_cfgs = { level = \"warn\", check-cfg = [\"cfg(lockstep)\"] }\n");
        // Its own workspace: never a member of the user's, wherever it is generated.
        m.push_str("\n[workspace]\n");
        m
    }

    /// Writes the package into `dir` (created if missing): `Cargo.toml`, `build.rs` and a
    /// `.gitignore` that keeps the generated files out of version control. A file whose
    /// content is already right is left alone (so cargo does not rebuild), and a file is
    /// replaced whole (written aside, then renamed). Returns whether anything changed.
    ///
    /// # Errors
    /// When a file cannot be written.
    pub fn write(&self, dir: &Path) -> Result<bool, Error> {
        fs::create_dir_all(dir).map_err(|error| Error::Io { path: dir.to_path_buf(), error })?;
        let mut changed = false;
        for (name, content) in
            [("Cargo.toml", self.manifest()), ("build.rs", BUILD_RS.to_string()), (".gitignore", "*\n".into())]
        {
            let path = dir.join(name);
            if fs::read_to_string(&path).ok().as_deref() == Some(content.as_str()) {
                continue;
            }
            // Through a temporary file and a rename, so that a cargo reading the package
            // meanwhile sees the old file or the new one, never half of one.
            let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
            fs::write(&temp, content).map_err(|error| Error::Io { path: temp.clone(), error })?;
            fs::rename(&temp, &path).map_err(|error| Error::Io { path: path.clone(), error })?;
            changed = true;
        }
        Ok(changed)
    }
}

/// The generated package's build script: a clear error instead of pages of
/// unresolved imports when `--cfg lockstep` is missing.
pub const BUILD_RS: &str = r#"// Generated by sim-tokio-shim (Lockstep).
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var_os("CARGO_CFG_LOCKSTEP").is_none() {
        eprintln!(
            "error: this `tokio` is Lockstep's simulator (sim-tokio, through [patch.crates-io]) and builds only \
             with `--cfg lockstep`: set `[build] rustflags = [\"--cfg\", \"lockstep\"]` in .cargo/config.toml \
             (or RUSTFLAGS), or remove the `tokio` patch to build with tokio"
        );
        std::process::exit(1);
    }
}
"#;

/// The lines a user adds to the workspace's `Cargo.toml` for a shim in `dir`
/// (`dir` as the user should write it: relative to the workspace root, or absolute).
pub fn patch_lines(dir: &str) -> String {
    format!("[patch.crates-io]\ntokio = {{ path = {} }}\n", toml_str(dir))
}

/// A TOML basic string.
fn toml_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn toml_path(path: &Path) -> String {
    toml_str(&path.to_string_lossy())
}

/// A bare TOML key when it is one, else a quoted one.
fn toml_key(key: &str) -> String {
    if !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        key.to_string()
    } else {
        toml_str(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const METADATA: &str = r#"{"packages": [
      {"name": "sim-core", "targets": [], "features": {}, "dependencies": []},
      {"name": "sim-tokio",
       "targets": [{"kind": ["lib"], "src_path": "/l/sim-tokio/src/lib.rs"}, {"kind": ["test"], "src_path": "/l/t.rs"}],
       "features": {"default": [], "full": ["tokio/full"], "rt": ["tokio/rt", "helper"], "helper": ["dep:extra"]},
       "dependencies": [
         {"name": "futures", "req": "^0.3", "kind": null, "rename": null, "optional": false, "uses_default_features": true, "features": [], "target": "cfg(lockstep)"},
         {"name": "sim-core", "req": "*", "kind": null, "rename": null, "optional": false, "uses_default_features": false, "features": [], "target": "cfg(lockstep)", "path": "/l/sim-core"},
         {"name": "tokio", "req": "^1", "kind": null, "rename": null, "optional": false, "uses_default_features": false, "features": [], "target": "cfg(not(lockstep))"},
         {"name": "extra-pkg", "req": "^2", "kind": null, "rename": "extra", "optional": true, "uses_default_features": true, "features": ["a\"b"], "target": null},
         {"name": "proptest", "req": "^1", "kind": "dev", "rename": null, "optional": false, "uses_default_features": true, "features": [], "target": null}
       ]}
    ]}"#;

    #[test]
    fn the_manifest_is_sim_tokio_under_tokio_s_name() {
        let shim = Shim::from_metadata(METADATA, "1.54.1").unwrap();
        assert_eq!(
            shim.manifest(),
            r#"# Generated by sim-tokio-shim (Lockstep): do not edit, run it again instead.
# A package named `tokio` whose library is sim-tokio's source, for
# `[patch.crates-io] tokio = { path = "…" }`. Builds only with `--cfg lockstep`.
[package]
name = "tokio"
version = "1.54.1"
edition = "2021"
publish = false
build = "build.rs"
autobins = false
autoexamples = false
autotests = false
autobenches = false

[lib]
name = "tokio"
path = "/l/sim-tokio/src/lib.rs"
doctest = false
test = false

[features]
default = []
full = []
helper = ["dep:extra"]
rt = ["helper"]

[dependencies]
extra = { package = "extra-pkg", version = "^2", features = ["a\"b"], optional = true }
futures = { version = "^0.3" }
sim-core = { path = "/l/sim-core", default-features = false }

[lints.rust]
unexpected_cfgs = { level = "warn", check-cfg = ["cfg(lockstep)"] }

[workspace]
"#
        );
    }

    #[test]
    fn bad_metadata_and_versions_are_errors() {
        let no_sim_tokio = r#"{"packages": [{"name": "x"}]}"#;
        assert_eq!(
            Shim::from_metadata(no_sim_tokio, "1.0.0").unwrap_err().to_string(),
            "cargo metadata: no sim-tokio package in the workspace"
        );
        assert!(matches!(Shim::from_metadata("not json", "1.0.0"), Err(Error::Metadata(_))));
        assert_eq!(
            Shim::from_metadata(METADATA, "0.2.25").unwrap_err().to_string(),
            "`0.2.25` is not tokio 1.x: sim-tokio has tokio 1's API"
        );
        for bad in ["1.54", "1.x.0", "", "1.54.1.2"] {
            assert!(check_version(bad).is_err(), "{bad}");
        }
        check_version("1.54.1-rc.1+build").unwrap();
    }

    #[test]
    fn the_locked_tokio_version() {
        let lock = "version = 4\n\n[[package]]\nname = \"tokio\"\nversion = \"0.2.25\"\n\n\
                    [[package]]\nname = \"tokio-stream\"\nversion = \"0.1.19\"\n\n\
                    [[package]]\nname = \"tokio\"\nversion = \"1.47.0\"\nsource = \"registry+…\"\n";
        assert_eq!(locked_version(lock, "tokio").as_deref(), Some("1.47.0"));
        assert_eq!(locked_version(lock, "tokio-stream").as_deref(), Some("0.1.19"));
        assert_eq!(locked_version(lock, "tokio-util"), None);
    }

    #[test]
    fn writing_twice_changes_nothing_the_second_time() {
        let dir = std::env::temp_dir().join(format!("sim-tokio-shim-unit-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let shim = Shim::from_metadata(METADATA, "1.54.1").unwrap();
        assert!(shim.write(&dir).unwrap());
        assert!(!shim.write(&dir).unwrap());
        assert_eq!(fs::read_to_string(dir.join(".gitignore")).unwrap(), "*\n");
        assert_eq!(fs::read_to_string(dir.join("build.rs")).unwrap(), BUILD_RS);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn patch_lines_quote_the_path() {
        assert_eq!(patch_lines("lockstep-tokio"), "[patch.crates-io]\ntokio = { path = \"lockstep-tokio\" }\n");
        assert_eq!(patch_lines(r"C:\x"), "[patch.crates-io]\ntokio = { path = \"C:\\\\x\" }\n");
    }
}
