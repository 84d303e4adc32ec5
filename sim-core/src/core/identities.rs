//! Who is who in a run: its tasks and channels by id, with their names, their state,
//! and the per-name counters that event identities are made of ([`crate::identity`]).
//! Also where default names come from: the enclosing [`named`] scope, else the
//! creation site (`debounce.rs:42`).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::{Arc, Weak};
use std::task::Waker;

use super::wakes::TaskWakerHandle;
use crate::identity::{EventIdentity, IdentityKind};
use crate::instant::Instant;
use crate::{ChannelId, TaskId, Wait};

thread_local! {
    /// The names of the enclosing [`named`] scopes, innermost last.
    static NAMES: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with `name` as the default name of every task, channel and other
/// primitive created inside it without an explicit name (one that would otherwise be
/// named after its creation site, like `debounce.rs:42`).
///
/// ```
/// use sim_core::sync::mpsc;
/// # let sim = sim_core::Sim::new(sim_core::Config::default());
/// let (tx, rx) = sim_core::named("in", || mpsc::channel::<u32>(8));
/// # drop((tx, rx));
/// ```
pub fn named<R>(name: impl Into<String>, f: impl FnOnce() -> R) -> R {
    struct Pop;
    impl Drop for Pop {
        fn drop(&mut self) {
            NAMES.with(|n| n.borrow_mut().pop());
        }
    }
    NAMES.with(|n| n.borrow_mut().push(name.into()));
    let _pop = Pop;
    f()
}

/// The name of the innermost [`named`] scope, if any.
pub(crate) fn scoped_name() -> Option<String> {
    NAMES.with(|n| n.borrow().last().cloned())
}

/// A creation site as a name: the file's last component and the line (`debounce.rs:42`).
pub(crate) fn location_name(at: &std::panic::Location<'_>) -> String {
    let file = at.file();
    let base = file.rsplit(['/', '\\']).next().unwrap_or(file);
    format!("{base}:{}", at.line())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TaskState {
    Running,
    Done,
    Aborted,
}

struct TaskMeta {
    name: String,
    state: TaskState,
    /// Whether a wake-up event of the task is queued.
    scheduled: bool,
    waits: Vec<Wait>,
    /// The task's waker, and a count of its clones (lent out during a poll).
    waker: TaskWakerHandle,
    join_waker: Option<Waker>,
    /// Which of the tasks with this name it is.
    instance: u32,
    /// Polls so far, timers created so far, code-level choices so far: the per-name
    /// sequence numbers of event identities.
    polls: u32,
    timers_created: u32,
    choices: u32,
}

struct ChannelMeta {
    name: String,
    deliver: Option<Weak<dyn Deliver>>,
    instance: u32,
    delivered: u32,
}

/// A channel with latency: applying a delivery event moves its oldest in-flight
/// message into the buffer and says when the next one is due.
pub(crate) trait Deliver {
    /// Delivers the oldest in-flight message; returns the next in-flight message's due time.
    fn deliver(&self) -> Option<Instant>;
}

/// The identity of an event or choice, by ids (names are resolved on demand).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RawIdentity {
    pub(super) kind: IdentityKind,
    pub(super) task: Option<TaskId>,
    pub(super) channel: Option<ChannelId>,
    pub(super) seq: u32,
}

/// The tasks and channels of a run.
pub(super) struct Identities {
    tasks: Vec<TaskMeta>,
    /// Tasks still running.
    live: usize,
    channels: Vec<ChannelMeta>,
    task_names: BTreeMap<String, u32>,
    channel_names: BTreeMap<String, u32>,
}

impl Identities {
    pub(super) fn new() -> Identities {
        Identities {
            tasks: Vec::new(),
            live: 0,
            channels: Vec::new(),
            task_names: BTreeMap::new(),
            channel_names: BTreeMap::new(),
        }
    }

    // ---- tasks ----

    /// The id the next task gets.
    pub(super) fn next_task(&self) -> TaskId {
        TaskId(u32::try_from(self.tasks.len()).expect("too many tasks"))
    }

    /// Adds a running task named `name` with `waker`, already scheduled for its first
    /// poll; its id is [`Identities::next_task`].
    pub(super) fn add_task(&mut self, name: String, waker: TaskWakerHandle) -> TaskId {
        let id = self.next_task();
        let instance = next_instance(&mut self.task_names, &name);
        self.tasks.push(TaskMeta {
            name,
            instance,
            polls: 0,
            timers_created: 0,
            choices: 0,
            state: TaskState::Running,
            scheduled: true,
            waits: Vec::new(),
            waker,
            join_waker: None,
        });
        self.live += 1;
        id
    }

    /// How many tasks were spawned.
    pub(super) fn task_count(&self) -> usize {
        self.tasks.len()
    }

    /// How many tasks are still running.
    pub(super) fn live_tasks(&self) -> usize {
        self.live
    }

    pub(super) fn task_name(&self, id: TaskId) -> &str {
        &self.tasks[id.0 as usize].name
    }

    pub(super) fn task_state(&self, id: TaskId) -> TaskState {
        self.tasks[id.0 as usize].state
    }

    /// Notes that a wake-up of `id` is to be queued: `Some(true)` when it was not
    /// queued yet (it is now marked queued), `Some(false)` when it already was,
    /// `None` when the task has ended.
    pub(super) fn schedule(&mut self, id: TaskId) -> Option<bool> {
        let meta = &mut self.tasks[id.0 as usize];
        if meta.state != TaskState::Running {
            return None;
        }
        Some(!std::mem::replace(&mut meta.scheduled, true))
    }

    /// Starts a poll of `id`: no longer scheduled, one more poll, waiting on nothing
    /// yet. Lends out its waker (no reference count touched).
    pub(super) fn begin_poll(&mut self, id: TaskId) -> Waker {
        let meta = &mut self.tasks[id.0 as usize];
        meta.scheduled = false;
        meta.polls += 1;
        meta.waits.clear();
        std::mem::replace(&mut meta.waker.waker, Waker::noop().clone())
    }

    /// Takes back the waker lent by [`Identities::begin_poll`].
    pub(super) fn end_poll(&mut self, id: TaskId, waker: Waker) {
        self.tasks[id.0 as usize].waker.waker = waker;
    }

    /// Ends a running task (done or aborted): `false` when it had already ended.
    pub(super) fn end_task(&mut self, id: TaskId, state: TaskState) -> bool {
        let meta = &mut self.tasks[id.0 as usize];
        if meta.state != TaskState::Running {
            return false;
        }
        meta.state = state;
        meta.waits.clear();
        self.live -= 1;
        true
    }

    /// Takes the waker of the task awaiting `id`'s end.
    pub(super) fn take_join_waker(&mut self, id: TaskId) -> Option<Waker> {
        self.tasks[id.0 as usize].join_waker.take()
    }

    /// Sets the waker of the task awaiting `id`'s end; returns the one it replaces.
    pub(super) fn set_join_waker(&mut self, id: TaskId, waker: Waker) -> Option<Waker> {
        self.tasks[id.0 as usize].join_waker.replace(waker)
    }

    /// Notes that `id` waits on `wait` (once).
    pub(super) fn wait_on(&mut self, id: TaskId, wait: Wait) {
        let waits = &mut self.tasks[id.0 as usize].waits;
        if !waits.contains(&wait) {
            waits.push(wait);
        }
    }

    /// What `id` waits on.
    pub(super) fn waits(&self, id: TaskId) -> &[Wait] {
        &self.tasks[id.0 as usize].waits
    }

    /// How many wakers of `id` exist beyond the one the engine keeps.
    pub(super) fn waker_clones(&self, id: TaskId) -> usize {
        self.tasks[id.0 as usize].waker.clones()
    }

    /// The ordinal of the next timer `id` creates.
    pub(super) fn next_timer_ordinal(&mut self, id: TaskId) -> u32 {
        let meta = &mut self.tasks[id.0 as usize];
        meta.timers_created += 1;
        meta.timers_created - 1
    }

    /// The sequence number of the next code-level choice `id` makes.
    pub(super) fn next_choice(&mut self, id: TaskId) -> u32 {
        let meta = &mut self.tasks[id.0 as usize];
        meta.choices += 1;
        meta.choices - 1
    }

    /// The identity of `id`'s next poll.
    pub(super) fn poll_identity(&self, id: TaskId) -> RawIdentity {
        RawIdentity { kind: IdentityKind::Poll, task: Some(id), channel: None, seq: self.tasks[id.0 as usize].polls }
    }

    // ---- channels ----

    /// Adds a channel named `name`.
    pub(super) fn add_channel(&mut self, name: String) -> ChannelId {
        let id = ChannelId(u32::try_from(self.channels.len()).expect("too many channels"));
        let instance = next_instance(&mut self.channel_names, &name);
        self.channels.push(ChannelMeta { name, deliver: None, instance, delivered: 0 });
        id
    }

    /// How many channels were registered.
    pub(super) fn channel_count(&self) -> usize {
        self.channels.len()
    }

    pub(super) fn channel_name(&self, id: ChannelId) -> &str {
        &self.channels[id.0 as usize].name
    }

    pub(super) fn set_deliver_target(&mut self, id: ChannelId, target: Weak<dyn Deliver>) {
        self.channels[id.0 as usize].deliver = Some(target);
    }

    pub(super) fn deliver_target(&self, id: ChannelId) -> Option<Arc<dyn Deliver>> {
        self.channels[id.0 as usize].deliver.as_ref()?.upgrade()
    }

    /// Counts a delivery on `id` (its identity's sequence number).
    pub(super) fn count_delivery(&mut self, id: ChannelId) {
        self.channels[id.0 as usize].delivered += 1;
    }

    /// The identity of the next delivery on `id`.
    pub(super) fn delivery_identity(&self, id: ChannelId) -> RawIdentity {
        let seq = self.channels[id.0 as usize].delivered;
        RawIdentity { kind: IdentityKind::Deliver, task: None, channel: Some(id), seq }
    }

    // ---- identities ----

    /// An identity by ids, with its task's or channel's name and instance.
    pub(super) fn resolve(&self, raw: RawIdentity) -> EventIdentity {
        let (name, instance) = match (raw.task, raw.channel) {
            (Some(t), _) => (self.task_name(t).to_string(), self.tasks[t.0 as usize].instance),
            (None, Some(c)) => (self.channel_name(c).to_string(), self.channels[c.0 as usize].instance),
            (None, None) => ("-".to_string(), 0),
        };
        EventIdentity { kind: raw.kind, name, instance, seq: raw.seq }
    }
}

/// Counts one more holder of `name`; returns how many came before.
fn next_instance(names: &mut BTreeMap<String, u32>, name: &str) -> u32 {
    match names.get_mut(name) {
        Some(n) => {
            *n += 1;
            *n - 1
        }
        None => {
            names.insert(name.to_string(), 1);
            0
        }
    }
}
