//! The ids of one simulation's tasks, channels and timers, and what a blocked task
//! waits on: plain values every layer of the engine names things by.

use crate::instant::Instant;

/// Identifies a task within one simulation (assigned in spawn order from 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskId(pub(crate) u32);

/// Identifies a channel within one simulation (assigned in creation order from 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChannelId(pub(crate) u32);

/// Identifies a timer within one simulation (assigned in creation order from 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimerId(pub(crate) u64);

impl TaskId {
    /// The id as a number.
    pub fn as_u32(self) -> u32 {
        self.0
    }
}

impl ChannelId {
    /// The id as a number.
    pub fn as_u32(self) -> u32 {
        self.0
    }
}

impl TimerId {
    /// The id as a number.
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

impl Wait {
    /// The primitive waited on, if it is one.
    pub(crate) fn channel(&self) -> Option<ChannelId> {
        match *self {
            Wait::Timer { .. } | Wait::Join(_) => None,
            Wait::Recv(c)
            | Wait::Send(c)
            | Wait::Notified(c)
            | Wait::Changed(c)
            | Wait::Reserve(c)
            | Wait::Closed(c)
            | Wait::JoinNext(c)
            | Wait::Barrier(c)
            | Wait::Init(c)
            | Wait::Acquire(c, _)
            | Wait::Lock(c)
            | Wait::Read(c)
            | Wait::Write(c) => Some(c),
        }
    }
}

/// What a blocked task waits on, as recorded by the primitive it awaited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Wait {
    /// A receive on a channel.
    Recv(ChannelId),
    /// A send on a full channel.
    Send(ChannelId),
    /// A timer.
    Timer {
        /// The timer.
        id: TimerId,
        /// When it fires.
        at: Instant,
    },
    /// Another task's end.
    Join(TaskId),
    /// A notification from a `Notify`.
    Notified(ChannelId),
    /// A new value in a watch channel.
    Changed(ChannelId),
    /// A free slot to reserve in a full channel.
    Reserve(ChannelId),
    /// The other side of a channel going away (a sender's `closed()`).
    Closed(ChannelId),
    /// The next task of a `JoinSet` to end (`join_next`).
    JoinNext(ChannelId),
    /// The other tasks to reach a `Barrier`.
    Barrier(ChannelId),
    /// Another task's initialization of a `OnceCell` (`get_or_init`).
    Init(ChannelId),
    /// Permits of a semaphore (how many).
    Acquire(ChannelId, u32),
    /// A `Mutex`'s lock.
    Lock(ChannelId),
    /// A read lock of an `RwLock`.
    Read(ChannelId),
    /// The write lock of an `RwLock`.
    Write(ChannelId),
}
