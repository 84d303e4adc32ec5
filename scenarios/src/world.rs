//! The plumbing every scenario's world is built from: named tasks, the message
//! ledger (conservation), the output recorder and the harness that checks a run.
//!
//! A world is a few named tasks (producers, a processor, a consumer, a driver)
//! joined by named channels. Each scenario spawns them on the current simulation
//! and hands back a [`World`]: the *harness* future, which runs as the task `main`,
//! joins every task of the world and then checks the run's properties, and an
//! [`Observer`] that tells, after the run, what the world emitted and whether every
//! message is accounted for.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use futures::future::LocalBoxFuture;
use sim_core::time::Instant;
use sim_core::JoinHandle;

/// One output of a world: what was emitted, and when (virtual time).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Emission {
    /// When the consumer received it.
    pub at: Instant,
    /// What it was, as text (`6`, `[1, 2]`, `[0s, 100ms): [1, 2]`).
    pub value: String,
}

impl fmt::Display for Emission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.at, self.value)
    }
}

/// The output timeline of a run: every emission in the order received.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Timeline(pub Vec<Emission>);

impl Timeline {
    /// Where this timeline first differs from `other`, described for a report, or
    /// `None` when they are equal.
    pub fn first_difference(&self, other: &Timeline) -> Option<String> {
        let index = (0..self.0.len().max(other.0.len())).find(|&i| self.0.get(i) != other.0.get(i))?;
        let show = |e: Option<&Emission>| e.map_or_else(|| "nothing".to_string(), |e| format!("`{e}`"));
        Some(format!(
            "output #{} is {}, the canonical order's is {}",
            index + 1,
            show(self.0.get(index)),
            show(other.0.get(index))
        ))
    }
}

impl fmt::Display for Timeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{e}")?;
        }
        f.write_str("]")
    }
}

/// What a world's builder gets: what the canonical order produced, to compare with.
#[derive(Clone, Debug, Default)]
pub struct Ctx {
    /// The output timeline of the canonical (FIFO) order, for scenarios whose output
    /// must not depend on the order of same-instant events; `None` to skip the check.
    pub canonical: Option<Arc<Timeline>>,
}

/// Counts of one flow of messages (usually one channel).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Flow {
    /// Messages whose send completed.
    pub sent: u64,
    /// Messages taken by their reader.
    pub received: u64,
    /// Messages dropped on purpose, by reason (a throttle's drop, a lost tick).
    pub dropped: BTreeMap<&'static str, u64>,
}

impl Flow {
    fn dropped_total(&self) -> u64 {
        self.dropped.values().sum()
    }
}

/// The message ledger: for every flow, messages sent, received and dropped on
/// purpose. Its counts are only incremented while the world runs and read by the
/// harness once every task has ended, so increments in either order leave the same
/// state and need no [`touch`](sim_core::touch). Conservation holds when every message sent was received or dropped by
/// a counted cause; a message still sitting in a buffer when the run is over was
/// lost (no task will read it).
#[derive(Debug, Default)]
pub struct Ledger {
    flows: RefCell<BTreeMap<&'static str, Flow>>,
}

impl Ledger {
    fn with(&self, flow: &'static str, f: impl FnOnce(&mut Flow)) {
        f(self.flows.borrow_mut().entry(flow).or_default());
    }

    /// A message's send on `flow` completed.
    pub fn sent(&self, flow: &'static str) {
        self.with(flow, |f| f.sent += 1);
    }

    /// A message of `flow` was taken by its reader.
    pub fn received(&self, flow: &'static str) {
        self.with(flow, |f| f.received += 1);
    }

    /// A message of `flow` was dropped on purpose, for `reason`.
    pub fn dropped(&self, flow: &'static str, reason: &'static str) {
        self.with(flow, |f| *f.dropped.entry(reason).or_default() += 1);
    }

    /// The counts of `flow`.
    pub fn flow(&self, flow: &str) -> Flow {
        self.flows.borrow().get(flow).cloned().unwrap_or_default()
    }

    /// Every flow that does not balance, described; `stranded` says how many
    /// messages of a flow are still in a buffer no task will read.
    pub fn violations(&self, stranded: &BTreeMap<&'static str, usize>) -> Vec<String> {
        let flows = self.flows.borrow();
        let mut problems = Vec::new();
        for (name, flow) in flows.iter() {
            let accounted = flow.received + flow.dropped_total();
            let left = stranded.get(name).copied().unwrap_or(0) as u64;
            if flow.sent == accounted && left == 0 {
                continue;
            }
            let mut text = format!(
                "message conservation on `{name}`: {} sent, {} received, {} dropped on purpose",
                flow.sent,
                flow.received,
                flow.dropped_total()
            );
            if left > 0 {
                text.push_str(&format!(", {left} left in the buffer after its reader stopped (lost)"));
            }
            let missing = flow.sent.saturating_sub(accounted + left);
            if missing > 0 {
                text.push_str(&format!(", {missing} unaccounted for"));
            }
            problems.push(text);
        }
        problems
    }
}

/// A probe that reads how many messages a buffer still holds.
type BufferProbe = Box<dyn Fn() -> usize>;

/// Watches a world: its ledger, its output timeline, and buffers that outlive
/// their reader. Shared (`Rc`) by the world's tasks and the harness.
#[derive(Default)]
pub struct Observer {
    /// The message ledger.
    pub ledger: Ledger,
    output: RefCell<Vec<Emission>>,
    buffers: RefCell<Vec<(&'static str, BufferProbe)>>,
}

impl fmt::Debug for Observer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Observer").field("ledger", &self.ledger).field("output", &self.output).finish_non_exhaustive()
    }
}

impl Observer {
    /// A fresh observer.
    pub fn new() -> Rc<Observer> {
        Rc::new(Observer::default())
    }

    /// Records an output received now.
    pub fn emit(&self, value: impl fmt::Display) {
        // The output's order is what the checks compare: declared, so the reduced
        // enumeration orders emissions of different tasks.
        sim_core::touch("output");
        self.output.borrow_mut().push(Emission { at: Instant::now(), value: value.to_string() });
    }

    /// The output timeline so far.
    pub fn output(&self) -> Timeline {
        Timeline(self.output.borrow().clone())
    }

    /// Watches a buffer that stays alive after its reader stopped: whatever it
    /// holds at the end of the run counts as lost on `flow`.
    pub fn watch_buffer(&self, flow: &'static str, probe: impl Fn() -> usize + 'static) {
        self.buffers.borrow_mut().push((flow, Box::new(probe)));
    }

    /// Every conservation problem of the run so far.
    pub fn conservation(&self) -> Vec<String> {
        let stranded: BTreeMap<&'static str, usize> = self.buffers.borrow().iter().map(|(n, p)| (*n, p())).collect();
        self.ledger.violations(&stranded)
    }
}

/// A world built on a simulation, ready to run.
pub struct World {
    /// The harness: joins the world's tasks, then checks the run. Runs as `main`.
    pub harness: LocalBoxFuture<'static, ()>,
    /// Reads the world after the run.
    pub observer: Rc<Observer>,
}

impl fmt::Debug for World {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("World").field("observer", &self.observer).finish_non_exhaustive()
    }
}

/// Spawns a task named `name` on the current simulation.
///
/// # Panics
/// When no simulation is current.
pub fn spawn<F: Future<Output = ()> + 'static>(name: &str, future: F) -> JoinHandle<()> {
    sim_core::task::Builder::new().name(name).spawn(future)
}

/// The instant `at` after the origin.
pub fn at(at: Duration) -> Instant {
    Instant::ZERO + at
}

/// Builds the world whose tasks are `tasks` (joined in this order) and whose run is
/// checked by `checks` once every task has ended: conservation, then `checks`, then
/// (with `ctx.canonical`) the output against the canonical order's. Every problem
/// found fails the run with [`sim_core::fail`], all in one message.
pub fn world(
    ctx: &Ctx,
    observer: Rc<Observer>,
    tasks: Vec<JoinHandle<()>>,
    checks: impl FnOnce(&Observer) -> Vec<String> + 'static,
) -> World {
    let canonical = ctx.canonical.clone();
    let watched = observer.clone();
    let harness = Box::pin(async move {
        for task in tasks {
            if task.await.is_err() {
                return; // aborted: the run has already failed
            }
        }
        let mut problems = watched.conservation();
        problems.extend(checks(&watched));
        if let Some(canonical) = canonical {
            if let Some(diff) = watched.output().first_difference(&canonical) {
                problems.push(format!("schedule dependence: {diff}"));
            }
        }
        if !problems.is_empty() {
            sim_core::fail(problems.join("; "));
        }
    });
    World { harness, observer }
}

/// Formats a list of items as `[1, 2, 3]`.
pub fn list<T: fmt::Display>(items: &[T]) -> String {
    let parts: Vec<String> = items.iter().map(T::to_string).collect();
    format!("[{}]", parts.join(", "))
}
