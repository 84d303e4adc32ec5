//! Where default names come from: the enclosing [`named`] scope, else the creation
//! site (`debounce.rs:42`); and how a wait reads in a report ("recv on `out`").

use std::cell::RefCell;

use super::Core;
use crate::Wait;

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

impl Core {
    /// Describes a wait for reports: "recv on `out`".
    pub(crate) fn describe_wait(&self, wait: &Wait) -> String {
        match *wait {
            Wait::Recv(c) => format!("recv on `{}`", self.channel_name(c)),
            Wait::Send(c) => format!("send on full `{}`", self.channel_name(c)),
            Wait::Timer { id, at } => match self.timers.name_of(id) {
                Some(name) => format!("timer {} `{name}` at {at}", id.0),
                None => format!("timer {} at {at}", id.0),
            },
            Wait::Join(t) => format!("join on `{}`", self.task_name(t)),
            Wait::Notified(c) => format!("notified on `{}`", self.channel_name(c)),
            Wait::Changed(c) => format!("changed on `{}`", self.channel_name(c)),
            Wait::Reserve(c) => format!("reserve on full `{}`", self.channel_name(c)),
            Wait::Closed(c) => format!("closed on `{}`", self.channel_name(c)),
            Wait::JoinNext(c) => format!("join_next on `{}`", self.channel_name(c)),
            Wait::Barrier(c) => format!("wait on barrier `{}`", self.channel_name(c)),
            Wait::Init(c) => format!("init on `{}`", self.channel_name(c)),
            Wait::Acquire(c, n) => format!("acquire {n} on `{}`", self.channel_name(c)),
            Wait::Lock(c) => format!("lock on `{}`", self.channel_name(c)),
            Wait::Read(c) => format!("read on `{}`", self.channel_name(c)),
            Wait::Write(c) => format!("write on `{}`", self.channel_name(c)),
        }
    }
}
