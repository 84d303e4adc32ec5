//! Scenarios by name: the catalogue ([`all`], [`get`], [`select`]) and [`Registry`],
//! a set of scenarios the `lockstep` tool runs, the catalogue's or a user's own.
//!
//! A user's crate registers its own scenarios in a [`Registry`] and hands it to
//! [`cli::main_with`](crate::cli::main_with) in a binary of its own: that binary is the
//! user's `lockstep`, with every command (`list`, `run`, `explore`, `replay`,
//! `check-determinism`, `run --record`) on those scenarios, the same exit statuses, and
//! replay commands that name the user's binary (`docs/scenarios.md`, "Your own scenarios").
//!
//! ```
//! use scenarios::{Expectation, Registry, Scenario};
//!
//! let registry = Registry::new("my-lockstep", "cargo run -p my-crate --bin my-lockstep --").register(
//!     Scenario::from_fn("ping/fixed", "a reply arrives", Expectation::Clean { seeds: 50 }, || async {
//!         let (tx, rx) = sim_core::sync::oneshot::channel();
//!         sim_core::spawn(async move { tx.send(1).unwrap() });
//!         assert_eq!(rx.await.unwrap(), 1);
//!     }),
//! );
//! assert!(registry.problems().is_empty());
//! assert_eq!(registry.get("ping/fixed").unwrap().command(), "cargo run -p my-crate --bin my-lockstep --");
//! ```

use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

use crate::races;
use crate::scenario::{Scenario, CATALOGUE_COMMAND};

/// A set of scenarios with the tool that runs them: its name (in messages), the
/// command that runs it (the start of every replay command printed for its
/// scenarios) and, optionally, the corpus file `run --record` appends to.
#[derive(Debug)]
pub struct Registry {
    tool: String,
    command: Arc<str>,
    corpus: Option<PathBuf>,
    scenarios: Vec<Scenario>,
    hidden: Vec<Scenario>,
    problems: Vec<String>,
}

impl Registry {
    /// An empty registry for the tool named `tool` (the word that starts its messages,
    /// as in `my-lockstep: no scenario named …`), run by `command`: what a user types
    /// before the tool's arguments, as in `cargo run -p my-crate --bin my-lockstep --`.
    /// Every replay command printed for its scenarios starts with it, and is run as
    /// printed from the workspace root.
    pub fn new(tool: impl Into<String>, command: impl Into<String>) -> Registry {
        let command: String = command.into();
        Registry {
            tool: tool.into(),
            command: Arc::from(command.trim()),
            corpus: None,
            scenarios: Vec::new(),
            hidden: Vec::new(),
            problems: Vec::new(),
        }
    }

    /// Adds a scenario (after the ones already added: `list` and `--all` keep this
    /// order). A name that is not one word of letters, digits and `-_./:`, or that is
    /// taken, is a [problem](Registry::problems): the tool then refuses to start.
    pub fn register(mut self, mut scenario: Scenario) -> Registry {
        self.check_name(scenario.name);
        scenario.set_command(self.command.clone());
        self.scenarios.push(scenario);
        self
    }

    /// Adds a scenario reachable by name only: in no `list` and no `--all`, but every
    /// command that names it runs it. For scenarios that go wrong on purpose, to show
    /// what the tool does then (the catalogue's `spin/buggy`, whose task never yields,
    /// ends the tool with the watchdog's status 3), without breaking `run --all`. Names
    /// are checked as [`register`](Registry::register)'s.
    pub fn register_hidden(mut self, mut scenario: Scenario) -> Registry {
        self.check_name(scenario.name);
        scenario.set_command(self.command.clone());
        self.hidden.push(scenario);
        self
    }

    /// The corpus file `run --record` appends to when no `--corpus` is given (without
    /// one, `--record` needs `--corpus FILE`). A relative path is taken from the
    /// directory the tool runs in: pass an absolute one, such as
    /// `concat!(env!("CARGO_MANIFEST_DIR"), "/corpus/failures.txt")`.
    pub fn corpus(mut self, path: impl Into<PathBuf>) -> Registry {
        self.corpus = Some(path.into());
        self
    }

    fn check_name(&mut self, name: &str) {
        let word = !name.is_empty()
            && !name.starts_with('-')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:".contains(c));
        if !word {
            self.problems.push(format!(
                "scenario name `{name}` is not one word of ASCII letters, digits and `-_./:` \
                 (not starting with `-`)"
            ));
        }
        if self.scenarios.iter().chain(&self.hidden).any(|s| s.name == name) {
            self.problems.push(format!("two scenarios are named `{name}`"));
        }
    }

    /// What is wrong with the registry (bad or duplicate names), one line each; the
    /// tool exits with status 2 naming the first one. Empty when all is well.
    pub fn problems(&self) -> &[String] {
        &self.problems
    }

    /// The tool's name.
    pub fn tool(&self) -> &str {
        &self.tool
    }

    /// The command that runs the tool (the start of its replay commands).
    pub fn command(&self) -> &str {
        &self.command
    }

    /// The corpus file `run --record` appends to by default, if any.
    pub fn corpus_path(&self) -> Option<&Path> {
        self.corpus.as_deref()
    }

    /// Every listed scenario, in the order added.
    pub fn all(&self) -> &[Scenario] {
        &self.scenarios
    }

    /// The scenario named exactly `name`, hidden ones included.
    pub fn get(&self, name: &str) -> Option<&Scenario> {
        self.scenarios.iter().chain(&self.hidden).find(|s| s.name == name)
    }

    /// The scenarios `pattern` selects: the one named exactly so, or every scenario
    /// of the family so named (`drain` selects `drain/buggy`, `drain/no-straggler` and
    /// `drain/fixed`). Empty when nothing matches.
    pub fn select(&self, pattern: &str) -> Vec<&Scenario> {
        match self.get(pattern) {
            Some(s) => vec![s],
            None => self.scenarios.iter().chain(&self.hidden).filter(|s| s.family == pattern).collect(),
        }
    }
}

static CATALOGUE: LazyLock<Registry> = LazyLock::new(|| {
    let mut all = Vec::new();
    all.extend(races::throttle_hang::scenarios());
    all.extend(races::plain_tokio::throttle_hang::scenarios());
    all.extend(races::two_phase::scenarios());
    all.extend(races::plain_tokio::two_phase::scenarios());
    all.extend(races::state_channel::scenarios());
    all.extend(races::tick_loss::scenarios());
    all.extend(races::drain::scenarios());
    all.extend(races::plain_tokio::drain::scenarios());
    all.extend(races::size_latency::scenarios());
    Registry {
        tool: "lockstep".to_string(),
        command: Arc::from(CATALOGUE_COMMAND),
        corpus: Some(crate::corpus::default_path()),
        scenarios: all,
        // Scenarios that are no race of the catalogue, reachable by name only (not in
        // `all`, `lockstep list` or `--all`): `spin/buggy`, a task that loops without
        // ever yielding, which shows the poll watchdog ending the tool.
        hidden: races::spin::scenarios(),
        problems: Vec::new(),
    }
});

/// The race catalogue as a registry: the built-in `lockstep` tool's.
pub fn catalogue() -> &'static Registry {
    &CATALOGUE
}

/// Every scenario of the catalogue, in catalogue order (race, then buggy before fixed).
pub fn all() -> &'static [Scenario] {
    CATALOGUE.all()
}

/// The catalogue's scenario named exactly `name` (as in `throttle-hang/buggy`), hidden ones included.
pub fn get(name: &str) -> Option<&'static Scenario> {
    CATALOGUE.get(name)
}

/// The catalogue's scenarios `pattern` selects: the one named exactly so, or every
/// variant of the family so named. Empty when nothing matches.
pub fn select(pattern: &str) -> Vec<&'static Scenario> {
    CATALOGUE.select(pattern)
}
