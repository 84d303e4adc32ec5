//! `sim-tokio-shim --out DIR [--lockfile PATH | --version X.Y.Z]`: writes the package
//! `tokio` (sim-tokio's library) into DIR and prints the `[patch.crates-io]` lines.
//! Exits 2 with a one-line reason on bad input.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use sim_tokio_shim::{cargo_metadata, locked_version, lockstep_root, patch_lines, Error, Shim};

const USAGE: &str = "usage: sim-tokio-shim --out DIR [--lockfile PATH | --version X.Y.Z]";

const HELP: &str = "\
Writes a package named `tokio` whose library is sim-tokio (Lockstep's simulator) into DIR,
for `[patch.crates-io] tokio = { path = \"DIR\" }`: every crate in the build graph that
imports tokio (tokio-stream, tokio-util, ...) then runs under the simulator.

  --out DIR        where to write it (created if missing; holds generated files only)
  --lockfile PATH  claim the tokio version locked there (your workspace's Cargo.lock)
  --version X.Y.Z  claim this tokio version
Without --lockfile or --version it claims the tokio version Lockstep itself locks.
Build the patched workspace with `--cfg lockstep`. See docs/tokio.md.";

struct Args {
    out: PathBuf,
    lockfile: Option<PathBuf>,
    version: Option<String>,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Option<Args>, Error> {
    let (mut out, mut lockfile, mut version) = (None, None, None);
    while let Some(arg) = args.next() {
        let mut value = |flag: &str| args.next().ok_or_else(|| Error::Usage(format!("{flag} needs a value; {USAGE}")));
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--out" => out = Some(PathBuf::from(value("--out")?)),
            "--lockfile" => lockfile = Some(PathBuf::from(value("--lockfile")?)),
            "--version" => version = Some(value("--version")?),
            other => return Err(Error::Usage(format!("unknown argument `{other}`; {USAGE}"))),
        }
    }
    if lockfile.is_some() && version.is_some() {
        return Err(Error::Usage(format!("--lockfile and --version are exclusive; {USAGE}")));
    }
    let out = out.ok_or_else(|| Error::Usage(format!("--out is required; {USAGE}")))?;
    Ok(Some(Args { out, lockfile, version }))
}

fn run() -> Result<(), Error> {
    let Some(args) = parse(std::env::args().skip(1))? else {
        println!("{HELP}");
        return Ok(());
    };
    let root = lockstep_root();
    let read = |path: &PathBuf| std::fs::read_to_string(path).map_err(|error| Error::Io { path: path.clone(), error });
    let own = || {
        let lock = read(&root.join("Cargo.lock"))?;
        locked_version(&lock, "tokio").ok_or_else(|| Error::Version("Lockstep's Cargo.lock has no tokio".into()))
    };
    let (version, from) = match (&args.version, &args.lockfile) {
        (Some(v), _) => (v.clone(), "--version".to_string()),
        (None, Some(path)) => match locked_version(&read(path)?, "tokio") {
            Some(v) => (v, format!("locked in {}", path.display())),
            None => (own()?, format!("no tokio in {}: Lockstep's own", path.display())),
        },
        (None, None) => (own()?, "Lockstep's own; --lockfile matches yours".to_string()),
    };
    let shim = Shim::from_metadata(&cargo_metadata(&root)?, &version)?;
    let changed = shim.write(&args.out)?;
    let dir = std::path::absolute(&args.out).unwrap_or_else(|_| args.out.clone());
    println!(
        "{} {}: package tokio {version} ({from}) = sim-tokio ({})",
        if changed { "wrote" } else { "up to date:" },
        dir.display(),
        shim.lib_path.display()
    );
    println!("\nAdd to your workspace's Cargo.toml:\n\n{}", patch_lines(&dir.to_string_lossy()));
    println!("and build with `--cfg lockstep` (in .cargo/config.toml: [build] rustflags = [\"--cfg\", \"lockstep\"]).");
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sim-tokio-shim: {e}");
            ExitCode::from(2)
        }
    }
}
