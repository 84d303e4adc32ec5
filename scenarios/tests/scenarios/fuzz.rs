//! The `lockstep` tool under hostile input: generated argument lists and tapes. Every
//! invocation must end (a hang guard fails the test) with status 0, 1 or 2, a status 2
//! must come with exactly one line of reason on standard error and nothing on
//! standard output, and nothing may panic. Bounded: a fixed number of invocations
//! from a seeded generator (no wall clock decides what runs), each cheap (the seed
//! counts are small and `--all` is left out: long valid runs are pinned by the CLI
//! tests instead).

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant as WallClock};

use sim_core::Tape;

/// SplitMix64: a small seeded generator, the same sequence on every machine.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    fn pick_args<'a>(&mut self, items: &[&'a [&'a str]]) -> &'a [&'a str] {
        items[self.below(items.len())]
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    /// A hostile tape text: known bad shapes, or characters from a tape's alphabet.
    fn tape(&mut self) -> String {
        match self.below(6) {
            0 => self.pick(SHAPES).to_string(),
            1 => format!("t1:{}", "2.1*16777216,".repeat(1 + self.below(50))),
            2 => format!("t2:{}", "3.1@poll:x#0,".repeat(1 + self.below(20))),
            _ => {
                let len = self.below(40);
                let alphabet: Vec<char> = "t12:.,*@#0123456789 \nabpolx-[]\u{e9}'".chars().collect();
                let mut text: String = if self.chance(70) { "t1:".into() } else { String::new() };
                text.extend((0..len).map(|_| alphabet[self.below(alphabet.len())]));
                text
            }
        }
    }
}

const SHAPES: &[&str] = &[
    "t1:97.96*5",
    "t2:2.1@poll:nobody#99",
    "t1:",
    "t2:",
    "t1:2.1*0",
    "t1:2.1*99999999999999999999",
    "t1:4294967295.4294967294",
    "t2:2.1@poll:driver#0",
    "t2:2.1@poll:#",
    "t9:zz",
    "",
    "t1:,,,,",
    "t1:2.1\n2.1",
];

/// Names: cheap scenarios, families, and names that are no scenario.
const NAMES: &[&str] = &[
    "throttle-hang/buggy",
    "throttle-hang/fixed",
    "tick-loss/buggy",
    "drain/no-straggler",
    "throttle-hang",
    "nope",
    "a\nb",
    "",
    "\u{fc}/\u{df}",
    "-x",
    "--",
    "throttle-hang/buggy\r",
    "../../etc/passwd",
];

/// Seed counts and seeds: small valid ones and every kind of invalid one.
const COUNTS: &[&str] = &["0", "1", "3", "2e0", "1e30", "-1", "x", "18446744073709551616", "", " 2", "0x10"];
const SEEDS: &[&str] = &["0", "2", "18446744073709551615", "18446744073709551616", "-1", "x", "", "1e3"];
const SHARDS: &[&str] = &["0/1", "1/2", "5/10", "1/0", "3/2", "x", "/", "0/18446744073709551615", ""];
const STRATEGIES: &[&str] = &["fifo", "random", "pct", "dfs", ""];
const SMALL: &[&str] = &["0", "1", "2", "64", "65", "5000", "-3", "x", "99999999999999999999"];

/// Valid invocations, each cheap, reaching statuses 0 and 1.
const VALID: &[&[&str]] = &[
    &["run", "throttle-hang/buggy", "--seeds", "3"],
    &["run", "throttle-hang/fixed", "--seeds", "2", "--jobs", "2"],
    &["run", "throttle-hang/buggy", "--strategy", "fifo"],
    &["run", "throttle-hang/buggy", "--seed", "0"],
    &["run", "throttle-hang/buggy", "--strategy", "pct", "--seeds", "3", "--depth", "2"],
    &["run", "throttle-hang/buggy", "--seeds", "3", "--shard", "1/2", "--keep-going"],
    &["replay", "throttle-hang/buggy", "--seed", "2"],
    &["replay", "throttle-hang/fixed", "--seed", "2", "--tail", "0"],
    &["replay", "throttle-hang/buggy", "--tape", "t1:"],
    &["explore", "tick-loss/fixed", "--max-runs", "3"],
    &["check-determinism", "drain/no-straggler", "--seeds", "2"],
    &["list"],
    &["corpus"],
];

/// A valid invocation, or one with a single hostile change.
fn mutated(g: &mut Gen, scratch: &std::path::Path) -> Vec<String> {
    let mut args: Vec<String> = g.pick_args(VALID).iter().map(|a| a.to_string()).collect();
    match g.below(4) {
        0 => {}
        1 => {
            // Replace one argument after the command by a hostile value.
            let at = 1 + g.below(args.len().max(2) - 1);
            let pool = [NAMES, COUNTS, SEEDS, SHARDS, SMALL][g.below(5)];
            let value = g.pick(pool).to_string();
            if at < args.len() {
                args[at] = value;
            } else {
                args.push(value);
            }
        }
        2 => {
            let (flag, value) = match g.below(5) {
                0 => ("--tape", g.tape()),
                1 => ("--trace", scratch.join("t.jsonl").display().to_string()),
                2 => ("--corpus", "/proc/x".to_string()),
                3 => ("--record", String::new()),
                _ => ("--tape-file", "/etc/hostname".to_string()),
            };
            args.push(flag.to_string());
            if !value.is_empty() {
                args.push(value);
            }
        }
        _ => {
            let at = g.below(args.len() + 1);
            args.insert(at, g.pick(&["--", "-", "--seed=1", "\u{1b}[2J", "--tape=t1:2.1", "%s%n", "-h"]).to_string());
        }
    }
    args
}

/// One generated argument list.
fn invocation(g: &mut Gen, scratch: &std::path::Path) -> Vec<String> {
    let mut args = generated(g, scratch);
    // Never the checkout's own corpus: `--record` writes to the scratch directory.
    if args.iter().any(|a| a == "--record") && !args.iter().any(|a| a == "--corpus") {
        args.extend(["--corpus".to_string(), scratch.join("corpus.txt").display().to_string()]);
    }
    args
}

fn generated(g: &mut Gen, scratch: &std::path::Path) -> Vec<String> {
    if g.chance(50) {
        return mutated(g, scratch);
    }
    let mut args: Vec<String> = Vec::new();
    let command =
        g.pick(&["run", "run", "run", "replay", "replay", "explore", "check-determinism", "corpus", "list", "zap", ""]);
    args.push(command.to_string());
    let file = |g: &mut Gen| -> String {
        let name = g.pick(&["a.txt", "b.jsonl", "c.html", "missing/dir/x", "."]);
        let p = match g.below(4) {
            0 => "/proc/x".to_string(),
            1 => "/nonexistent/x".to_string(),
            2 => "/dev/null".to_string(),
            _ => scratch.join(name).display().to_string(),
        };
        p
    };
    for _ in 0..=g.below(2) {
        args.push(g.pick(NAMES).to_string());
    }
    let mut counted = false;
    for _ in 0..g.below(6) {
        let flag = match command {
            "run" => g.pick(&[
                "--seeds",
                "--seed",
                "--shard",
                "--strategy",
                "--depth",
                "--pct-steps",
                "--jobs",
                "--keep-going",
                "--record",
                "--corpus",
                "--bogus",
            ]),
            "replay" => g.pick(&["--seed", "--tape", "--tape-file", "--trace", "--timeline", "--tail", "--bogus"]),
            "explore" => g.pick(&["--max-runs", "--every-order", "--bogus"]),
            "check-determinism" => g.pick(&["--seeds", "--bogus"]),
            "corpus" => g.pick(&["--file", "--bogus"]),
            _ => g.pick(&["--help", "--version", "-h", "--bogus"]),
        };
        args.push(flag.to_string());
        let value = match flag {
            "--seeds" if command == "check-determinism" => Some(g.pick(&["1", "2", "0", "x", "1e3"]).to_string()),
            "--seeds" => Some(g.pick(COUNTS).to_string()),
            "--seed" => Some(g.pick(SEEDS).to_string()),
            "--shard" => Some(g.pick(SHARDS).to_string()),
            "--strategy" => Some(g.pick(STRATEGIES).to_string()),
            "--depth" | "--pct-steps" | "--jobs" | "--tail" => Some(g.pick(SMALL).to_string()),
            "--max-runs" => Some(g.pick(&["0", "1", "5", "100000001", "x"]).to_string()),
            "--corpus" | "--file" | "--trace" | "--timeline" => Some(file(g)),
            "--tape" => Some(g.tape()),
            "--tape-file" => {
                let path = scratch.join(format!("tape-{}.txt", g.below(4)));
                std::fs::write(&path, g.tape()).unwrap();
                Some(if g.chance(80) { path.display().to_string() } else { file(g) })
            }
            _ => None,
        };
        counted |= matches!(flag, "--seeds" | "--seed");
        args.extend(value);
    }
    // Keep every valid run short: seeds are bounded unless a count was given (which
    // is small or invalid), and explore runs the small worlds only, few orders.
    if command == "run" && !counted {
        args.extend(["--seeds".to_string(), "2".to_string()]);
    }
    if command == "explore" && !args.iter().any(|a| a == "--max-runs") {
        args.extend(["--max-runs".to_string(), "3".to_string()]);
    }
    // A stray hostile token somewhere.
    if g.chance(30) {
        let at = g.below(args.len() + 1);
        let token = g.pick(&["--", "-", "--seed=1", "\u{0}", "\u{1b}[2J", "--tape=t1:2.1", "%s%n"]);
        args.insert(at, token.to_string());
    }
    args
}

fn run_guarded(args: &[String]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lockstep"))
        .args(args.iter().map(|a| a.replace('\u{0}', "")))
        .env("LOCKSTEP_POLL_TIMEOUT", "20s")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the lockstep binary runs");
    // A hang guard only: a generous bound, never a timing assertion.
    let deadline = WallClock::now() + Duration::from_secs(120);
    while child.try_wait().unwrap().is_none() {
        if WallClock::now() > deadline {
            child.kill().unwrap();
            panic!("lockstep {args:?} hung");
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn the_tool_survives_hostile_arguments_and_tapes() {
    let scratch = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("lockstep-fuzz");
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).unwrap();
    let mut g = Gen(0x10c4_57e9);
    let mut statuses = [0usize; 3];
    let corpus_before = std::fs::read_to_string(scenarios::corpus::default_path()).unwrap();
    for case in 0..150 {
        let args = invocation(&mut g, &scratch);
        let out = run_guarded(&args);
        assert_eq!(corpus_before, std::fs::read_to_string(scenarios::corpus::default_path()).unwrap());
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        let code = out.status.code();
        assert!(matches!(code, Some(0..=2)), "case {case}: {args:?} exited {code:?}\n{stdout}{stderr}");
        assert!(!stderr.contains("panicked"), "case {case}: {args:?} panicked:\n{stderr}");
        if code == Some(2) {
            assert_eq!(stderr.lines().count(), 1, "case {case}: {args:?}: not one line:\n{stderr}");
            assert!(stderr.starts_with("lockstep: "), "case {case}: {args:?}: {stderr}");
            assert!(stdout.is_empty(), "case {case}: {args:?}: output with bad input:\n{stdout}");
        }
        statuses[code.unwrap() as usize] += 1;
    }
    println!("statuses 0/1/2 over 150 invocations: {statuses:?}");
    // The generator reaches every verdict, not only bad input.
    assert!(statuses.iter().all(|&n| n > 0), "statuses 0/1/2: {statuses:?}");
}

#[test]
fn tape_text_is_parsed_or_refused_never_a_panic_or_a_huge_tape() {
    let mut g = Gen(7);
    for _ in 0..20_000 {
        let text = g.tape();
        if let Ok(tape) = text.parse::<Tape>() {
            assert!(tape.len() <= Tape::MAX_CHOICES, "{text:?}");
        }
    }
}
