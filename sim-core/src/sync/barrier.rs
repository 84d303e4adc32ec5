//! [`Barrier`]: tasks wait until `n` of them have arrived.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use parking_lot::Mutex;

use crate::sync::bind::Binding;
use crate::trace::RecordKind;
use crate::Wait;

/// Lets `n` tasks wait for each other, shaped like `tokio::sync::Barrier`.
///
/// The first `n - 1` calls of [`wait`](Barrier::wait) wait; the `n`-th releases them
/// all and is the *leader* ([`BarrierWaitResult::is_leader`]); the barrier then starts
/// over for the next `n`. An arrival counts from the first poll of `wait`, even if
/// the future is dropped before it completes (as tokio). `Barrier::new(0)` behaves as
/// `Barrier::new(1)`.
///
/// Named in traces and deadlock reports after its creation site (`worker.rs:17`), or by
/// an enclosing [`named`](crate::named) scope: a task
/// waiting is reported as "wait on barrier `name`". Each arrival is traced as
/// `arrive`, and every operation is part of the step's footprint.
///
/// ```
/// use std::sync::Arc;
/// use sim_core::sync::Barrier;
/// use sim_core::{spawn, Config, Sim};
///
/// let mut sim = Sim::new(Config::default());
/// let leaders = sim
///     .block_on(async {
///         let barrier = Arc::new(Barrier::new(3));
///         let tasks: Vec<_> = (0..3)
///             .map(|_| {
///                 let b = barrier.clone();
///                 spawn(async move { b.wait().await.is_leader() })
///             })
///             .collect();
///         let mut leaders = 0;
///         for t in tasks {
///             leaders += usize::from(t.await.unwrap());
///         }
///         leaders
///     })
///     .unwrap();
/// assert_eq!(leaders, 1);
/// ```
pub struct Barrier {
    bind: Binding,
    n: usize,
    state: Mutex<State>,
}

struct State {
    arrived: usize,
    /// Completed rounds: a waiter of round `g` is released once this passes `g`.
    generation: u64,
    waiters: Vec<(u64, Waker)>,
    next_key: u64,
}

/// Whether a task was the one that released the others ([`Barrier::wait`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BarrierWaitResult(bool);

impl BarrierWaitResult {
    /// Whether this task's arrival released the others (one per round).
    pub fn is_leader(&self) -> bool {
        self.0
    }
}

impl Barrier {
    /// A barrier for `n` tasks, named after its creation site.
    #[track_caller]
    pub fn new(n: usize) -> Barrier {
        Barrier::make(None, n)
    }

    #[track_caller]
    fn make(name: Option<String>, n: usize) -> Barrier {
        Barrier {
            bind: Binding::new(name),
            n: n.max(1),
            state: Mutex::new(State { arrived: 0, generation: 0, waiters: Vec::new(), next_key: 0 }),
        }
    }

    /// Arrives and waits until `n` tasks have arrived in this round.
    pub fn wait(&self) -> BarrierWait<'_> {
        BarrierWait { barrier: self, stage: Stage::Init }
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Barrier").field("id", &self.bind).field("n", &self.n).finish_non_exhaustive()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    Init,
    /// Arrived in round `generation`, waiting under `key`.
    Waiting {
        generation: u64,
        key: u64,
    },
    Done,
}

/// The future of [`Barrier::wait`].
#[must_use = "futures do nothing unless awaited"]
pub struct BarrierWait<'a> {
    barrier: &'a Barrier,
    stage: Stage,
}

impl Future for BarrierWait<'_> {
    type Output = BarrierWaitResult;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<BarrierWaitResult> {
        let this = self.get_mut();
        let barrier = this.barrier;
        barrier.bind.touch();
        match this.stage {
            Stage::Done => panic!("`BarrierWait` polled after completion"),
            Stage::Init => {
                let released = {
                    let mut st = barrier.state.lock();
                    st.arrived += 1;
                    if st.arrived == barrier.n {
                        st.arrived = 0;
                        st.generation += 1;
                        Some(std::mem::take(&mut st.waiters))
                    } else {
                        let key = st.next_key;
                        st.next_key += 1;
                        st.waiters.push((key, cx.waker().clone()));
                        this.stage = Stage::Waiting { generation: st.generation, key };
                        None
                    }
                };
                barrier.bind.record(RecordKind::Arrive);
                match released {
                    Some(waiters) => {
                        this.stage = Stage::Done;
                        for (_, w) in waiters {
                            w.wake();
                        }
                        Poll::Ready(BarrierWaitResult(true))
                    }
                    None => {
                        barrier.bind.wait_on(Wait::Barrier);
                        Poll::Pending
                    }
                }
            }
            Stage::Waiting { generation, key } => {
                let mut st = barrier.state.lock();
                if st.generation != generation {
                    drop(st);
                    this.stage = Stage::Done;
                    return Poll::Ready(BarrierWaitResult(false));
                }
                // The waker replaced is dropped after the lock: its drop may use the barrier.
                let replaced = match st.waiters.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, w)) if !w.will_wake(cx.waker()) => Some(std::mem::replace(w, cx.waker().clone())),
                    _ => None,
                };
                drop(st);
                drop(replaced);
                barrier.bind.wait_on(Wait::Barrier);
                Poll::Pending
            }
        }
    }
}

impl Drop for BarrierWait<'_> {
    fn drop(&mut self) {
        // The arrival stays counted; only the waker goes.
        if let Stage::Waiting { key, .. } = self.stage {
            let waker = {
                let mut st = self.barrier.state.lock();
                st.waiters.iter().position(|(k, _)| *k == key).map(|pos| st.waiters.remove(pos))
            };
            drop(waker);
        }
    }
}

impl fmt::Debug for BarrierWait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BarrierWait").field("barrier", &self.barrier.bind).finish_non_exhaustive()
    }
}
