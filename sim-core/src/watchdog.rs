//! The poll watchdog: a task that never returns from `poll` (a loop without an
//! `.await`, a blocking call) would hang a simulation, and the check or tool running
//! it, silently. A poll cannot be preempted, so a watchdog thread, outside every
//! simulation, watches each armed run: when one poll has not returned within the
//! bound (wall clock), it prints the task's name, the run's seed (or tape) and its
//! replay command to standard error and **exits the process** with [`EXIT_CODE`].
//!
//! Runs are armed by [`Config::poll_timeout`](crate::Config::poll_timeout): the check
//! runner (every search) arms
//! every run with [`DEFAULT_BOUND`] unless the
//! configuration or `LOCKSTEP_POLL_TIMEOUT` ([`crate::env`]) says otherwise; a raw
//! [`Sim`](crate::Sim) is armed only when its configuration asks. The bound is wall-clock
//! time, so it never reaches a run's trace, tape or output: it only decides whether
//! the process goes on.
//!
//! What a run costs: one atomic store when a poll starts and one when it returns (a
//! poll counter, no clock read); the watchdog thread samples the counters a few times
//! per bound and reports a poll whose counter has not moved for longer than the bound.

use std::io::Write;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant as WallClock};

use crate::{Choice, Tape};

/// The process exit status after a hung poll was reported (0, 1 and 2 are the
/// `lockstep` tool's verdicts).
pub const EXIT_CODE: i32 = 3;

/// The bound a check arms its runs with when nothing else is configured: 60 s of
/// wall-clock time for one poll.
pub const DEFAULT_BOUND: Duration = Duration::from_secs(60);

/// One armed run, shared with the watchdog thread.
pub(crate) struct Stamp {
    /// Unique per armed run.
    id: u64,
    bound: Duration,
    /// `polls << 1 | in_poll`: the number of polls started, and whether one is running.
    state: AtomicU64,
    /// The task being polled.
    task: AtomicU32,
    /// Task names by id, filled in as tasks are first polled.
    names: Mutex<Vec<String>>,
    /// The choices the run has made so far, for a run that no seed replays
    /// (`None`: not recorded).
    choices: Option<Mutex<Vec<Choice>>>,
    /// Which run (`seed 3 of \`name\``) and the command that replays it, written
    /// only when a report is due, from the choices made so far when they are recorded.
    describe: Describe,
}

/// Writes which run a stamp watches and its replay command, given the tape of the
/// choices made so far when they are recorded.
pub(crate) type Describe = Box<dyn Fn(Option<&Tape>) -> (String, String) + Send + Sync>;

impl std::fmt::Debug for Stamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stamp").field("id", &self.id).field("bound", &self.bound).finish_non_exhaustive()
    }
}

impl Stamp {
    /// Arms a run: the watchdog thread watches it until the returned stamp is dropped.
    /// With `record_choices`, the run tells the stamp every choice it makes
    /// ([`Stamp::choice`]), and the report replays them.
    pub(crate) fn arm(bound: Duration, record_choices: bool, describe: Describe) -> Arc<Stamp> {
        static NEXT_ID: AtomicU64 = AtomicU64::new(0);
        let stamp = Arc::new(Stamp {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            bound,
            state: AtomicU64::new(0),
            task: AtomicU32::new(0),
            names: Mutex::new(Vec::new()),
            choices: record_choices.then(|| Mutex::new(Vec::new())),
            describe,
        });
        let watcher = watcher();
        let mut watched = watcher.watched.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if watched.len() >= 64 && watched.len().is_power_of_two() {
            watched.retain(|w| w.strong_count() > 0);
        }
        watched.push(Arc::downgrade(&stamp));
        watcher.tick_for(bound);
        stamp
    }

    /// Adds the names of the next tasks (by id, in order).
    pub(crate) fn add_names(&self, names: impl IntoIterator<Item = String>) {
        self.names.lock().unwrap_or_else(std::sync::PoisonError::into_inner).extend(names);
    }

    /// The run made `choice` (kept when the stamp records choices).
    pub(crate) fn choice(&self, choice: Choice) {
        if let Some(choices) = &self.choices {
            choices.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(choice);
        }
    }

    /// Whether the run should tell the stamp its choices.
    pub(crate) fn records_choices(&self) -> bool {
        self.choices.is_some()
    }

    /// A poll of `task` starts; it is the `polls`-th of the run (from 1).
    pub(crate) fn begin(&self, task: u32, polls: u64) {
        self.task.store(task, Ordering::Relaxed);
        self.state.store(polls << 1 | 1, Ordering::Release);
    }

    /// The poll returned.
    pub(crate) fn end(&self, polls: u64) {
        self.state.store(polls << 1, Ordering::Release);
    }

    fn report(&self) -> String {
        let task = self.task.load(Ordering::Relaxed) as usize;
        let names = self.names.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let name = names.get(task).map_or("?", String::as_str);
        let tape = self.choices.as_ref().map(|choices| {
            let choices = choices.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
            Tape::from_choices(choices).trimmed()
        });
        let (run, replay) = (self.describe)(tape.as_ref());
        format!(
            "lockstep: watchdog: a poll of task `{name}` has not returned after {:?} of wall-clock time ({}): \
             the task loops without an .await or blocks the thread, which hangs the simulation \
             (the bound is LOCKSTEP_POLL_TIMEOUT)\n  replay: {}",
            self.bound, run, replay
        )
    }
}

/// The watchdog thread's view.
struct Watcher {
    watched: Mutex<Vec<Weak<Stamp>>>,
    /// The sampling period in nanoseconds: a quarter of the smallest bound armed.
    tick_ns: AtomicU64,
}

impl Watcher {
    fn tick_for(&self, bound: Duration) {
        let quarter = u64::try_from((bound / 4).as_nanos()).unwrap_or(u64::MAX).clamp(1_000_000, 1_000_000_000);
        self.tick_ns.fetch_min(quarter, Ordering::Relaxed);
    }
}

/// The watcher, its thread started on first use.
fn watcher() -> &'static Watcher {
    static WATCHER: Watcher = Watcher { watched: Mutex::new(Vec::new()), tick_ns: AtomicU64::new(1_000_000_000) };
    static STARTED: OnceLock<()> = OnceLock::new();
    STARTED.get_or_init(|| {
        let spawned = std::thread::Builder::new().name("lockstep-watchdog".to_string()).spawn(|| watch(&WATCHER));
        if let Err(e) = spawned {
            eprintln!("lockstep: watchdog: could not start its thread ({e}); a hung poll will not be reported");
        }
    });
    &WATCHER
}

/// The watchdog thread: samples every armed run's poll counter; a counter seen in
/// the same poll for longer than the run's bound ends the process.
fn watch(watcher: &'static Watcher) {
    // Per watched run (by id): the state last seen and when it was first seen.
    let mut seen: Vec<(u64, u64, WallClock)> = Vec::new();
    loop {
        std::thread::sleep(Duration::from_nanos(watcher.tick_ns.load(Ordering::Relaxed)));
        let now = WallClock::now();
        let live: Vec<Arc<Stamp>> = {
            let mut watched = watcher.watched.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            watched.retain(|w| w.strong_count() > 0);
            watched.iter().filter_map(Weak::upgrade).collect()
        };
        let mut next = Vec::with_capacity(live.len());
        for stamp in &live {
            let key = stamp.id;
            let state = stamp.state.load(Ordering::Acquire);
            let since = match seen.iter().find(|(k, s, _)| *k == key && *s == state) {
                Some((_, _, since)) => *since,
                None => now,
            };
            if state & 1 == 1 && now.duration_since(since) > stamp.bound {
                // Straight to the process's standard error: `eprintln!` would go to the
                // output libtest captures for the test that started this thread, which
                // is lost when the process exits.
                let _ = writeln!(std::io::stderr().lock(), "{}", stamp.report());
                std::process::exit(EXIT_CODE);
            }
            next.push((key, state, since));
        }
        seen = next;
    }
}
