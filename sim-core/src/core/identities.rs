//! Who is who in a run: its tasks and channels by id, with their names, their state,
//! and the per-name counters that event identities are made of ([`crate::identity`]);
//! and what the core does with them (spawning, ending and registering, each with its
//! trace record, which [`super::record`] writes).

use std::collections::BTreeMap;
use std::sync::{Arc, Weak};
use std::task::Waker;

use super::names::{location_name, scoped_name};
use super::wakes::TaskWakerHandle;
use super::{Core, Event};
use crate::access::Access;
use crate::identity::{EventIdentity, IdentityKind};
use crate::instant::Instant;
use crate::trace::NameOf;
use crate::{ChannelId, TaskId, Wait};

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

impl Core {
    // ---- tasks ----

    /// Spawns a task named `name`, else the enclosing [`crate::named`] scope's name,
    /// else `task-N`, and queues its first poll.
    pub(crate) fn register_task(&mut self, name: Option<String>) -> TaskId {
        let id = self.ids.next_task();
        let name = name.or_else(scoped_name).unwrap_or_else(|| format!("task-{}", id.0));
        self.trace.fold_name(NameOf::Task, id.0, &name);
        let id = self.ids.add_task(name, self.wakes.waker(id));
        self.touch(Access::Create);
        self.trace.spawn(self.here(), id);
        self.schedule(self.now(), Event::Wake(id));
        id
    }

    /// Marks a task ended (done or aborted) and hands back its joiner's waker.
    pub(crate) fn end_task(&mut self, id: TaskId, state: TaskState) -> Option<Waker> {
        self.touch(Access::Task(id));
        self.touch(Access::End);
        if !self.ids.end_task(id, state) {
            return None;
        }
        self.trace.task_end(self.here(), id, state == TaskState::Aborted);
        self.ids.take_join_waker(id)
    }

    pub(crate) fn task_name(&self, id: TaskId) -> &str {
        self.ids.task_name(id)
    }

    pub(crate) fn task_state(&self, id: TaskId) -> TaskState {
        self.ids.task_state(id)
    }

    /// How many tasks were spawned (ids `0..n`).
    pub(crate) fn task_count(&self) -> usize {
        self.ids.task_count()
    }

    /// How many tasks are still running.
    pub(crate) fn live_tasks(&self) -> usize {
        self.ids.live_tasks()
    }

    /// What task `id` waits on.
    pub(crate) fn waits(&self, id: TaskId) -> &[Wait] {
        self.ids.waits(id)
    }

    /// Sets the waker of the task awaiting `id`'s end; returns the one it replaces,
    /// for the caller to drop once it has let go of the core.
    #[must_use = "drop the replaced waker outside the core's borrow"]
    pub(crate) fn set_join_waker(&mut self, id: TaskId, waker: Waker) -> Option<Waker> {
        self.ids.set_join_waker(id, waker)
    }

    /// Records that the running task waits on `wait` (for deadlock reports).
    pub(crate) fn wait_on(&mut self, wait: Wait) {
        if let Some(t) = self.step.task {
            self.ids.wait_on(t, wait);
        }
    }

    /// How many wakers of task `id` exist beyond the one the engine keeps (clones
    /// held by primitives, or by something outside the simulation).
    pub(crate) fn waker_clones(&self, id: TaskId) -> usize {
        self.ids.waker_clones(id)
    }

    // ---- channels ----

    /// Registers a channel (or another primitive: a `Notify`, a watch) under `name`,
    /// else the name of the enclosing [`crate::named`] scope, else its creation site
    /// (`debounce.rs:42`).
    pub(crate) fn register_channel(
        &mut self,
        name: Option<String>,
        at: &'static std::panic::Location<'static>,
    ) -> ChannelId {
        let name = name.or_else(scoped_name).unwrap_or_else(|| location_name(at));
        let id = ChannelId(u32::try_from(self.ids.channel_count()).expect("too many channels"));
        self.trace.fold_name(NameOf::Channel, id.0, &name);
        self.touch(Access::Create);
        self.ids.add_channel(name)
    }

    pub(crate) fn set_deliver_target(&mut self, id: ChannelId, target: Weak<dyn Deliver>) {
        self.ids.set_deliver_target(id, target);
    }

    /// Schedules the delivery of a channel's oldest in-flight message at `at`.
    pub(crate) fn schedule_delivery(&mut self, id: ChannelId, at: Instant) {
        self.schedule(at, Event::Deliver(id));
    }

    pub(crate) fn deliver_target(&self, id: ChannelId) -> Option<Arc<dyn Deliver>> {
        self.ids.deliver_target(id)
    }

    /// Counts a delivery on `channel` (its identity's sequence number).
    pub(crate) fn count_delivery(&mut self, channel: ChannelId) {
        self.ids.count_delivery(channel);
    }

    pub(crate) fn channel_name(&self, id: ChannelId) -> &str {
        self.ids.channel_name(id)
    }

    /// How many channels (and other primitives) were registered (ids `0..n`).
    pub(crate) fn channel_count(&self) -> usize {
        self.ids.channel_count()
    }
}
