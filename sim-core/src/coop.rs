//! Cooperative scheduling: tokio's per-task budget, deterministic.
//!
//! tokio gives a task a budget of 128 operations each time it is polled; a resource
//! (here, as in tokio: the receives of `mpsc`, `oneshot`, `broadcast` and `watch`,
//! `watch`'s `wait_for` and `closed`, `oneshot::Sender::closed`, the semaphore's
//! acquires and so the locks; and sim-tokio's `select!`, timers, `JoinHandle` and
//! `JoinSet`)
//! spends one unit when it is ready, and once the budget is spent it returns
//! `Pending` after waking its task, so a task looping over an always-ready resource
//! still lets the others run. The simulator does the same: every task poll (spawned
//! tasks and `block_on`'s main alike) starts with a fresh budget of 128 units (tokio's). The
//! budget depends only on what the task did in that poll, so it changes nothing in
//! determinism: the yield it forces is an ordinary wake-up of the task by itself.
//!
//! Outside a task poll (a future polled by hand on a plain thread) there is no budget:
//! everything proceeds, as under tokio without a runtime.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The budget each task poll starts with (tokio's).
pub(crate) const BUDGET: u8 = 128;

thread_local! {
    /// `None`: unconstrained (outside a task poll, or inside [`unconstrained`]).
    static CURRENT: Cell<Option<u8>> = const { Cell::new(None) };
}

/// Runs `f` (a task's poll) with a fresh budget, restoring the outer one after.
pub(crate) fn with_budget<R>(f: impl FnOnce() -> R) -> R {
    let outer = CURRENT.replace(Some(BUDGET));
    let _restore = Reset(outer);
    f()
}

struct Reset(Option<u8>);

impl Drop for Reset {
    fn drop(&mut self) {
        CURRENT.set(self.0);
    }
}

/// What [`poll_proceed`] returns: the unit spent is given back when this is dropped
/// unless [`made_progress`](RestoreOnPending::made_progress) was called (the resource
/// then returned `Pending` and did no work).
#[derive(Debug)]
pub struct RestoreOnPending {
    before: Cell<Option<u8>>,
}

impl RestoreOnPending {
    /// Marks that the operation made progress: the unit stays spent.
    pub fn made_progress(&self) {
        self.before.set(None);
    }
}

impl Drop for RestoreOnPending {
    fn drop(&mut self) {
        if let Some(before) = self.before.get() {
            CURRENT.set(Some(before));
        }
    }
}

/// Spends one unit of the task's budget: `Ready` when there was one, else wakes the
/// task and returns `Pending` (so it runs again after the others had their turn).
pub fn poll_proceed(cx: &mut Context<'_>) -> Poll<RestoreOnPending> {
    match CURRENT.get() {
        None => Poll::Ready(RestoreOnPending { before: Cell::new(None) }),
        Some(0) => {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
        Some(n) => {
            CURRENT.set(Some(n - 1));
            Poll::Ready(RestoreOnPending { before: Cell::new(Some(n)) })
        }
    }
}

/// `Ready` while the task has budget left, else wakes it and returns `Pending`
/// (spends nothing).
pub fn poll_budget_available(cx: &mut Context<'_>) -> Poll<()> {
    if CURRENT.get() == Some(0) {
        cx.waker().wake_by_ref();
        Poll::Pending
    } else {
        Poll::Ready(())
    }
}

/// Whether the task has budget left (always `true` when unconstrained).
pub fn has_budget_remaining() -> bool {
    CURRENT.get() != Some(0)
}

/// Spends one unit of budget, yielding first when it is spent.
pub async fn consume_budget() {
    std::future::poll_fn(|cx| {
        let restore = std::task::ready!(poll_proceed(cx));
        restore.made_progress();
        Poll::Ready(())
    })
    .await;
}

pin_project_lite::pin_project! {
    /// The future of [`unconstrained`].
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    #[derive(Debug)]
    pub struct Unconstrained<F> {
        #[pin]
        inner: F,
    }
}

impl<F: Future> Future for Unconstrained<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let outer = CURRENT.replace(None);
        let _restore = Reset(outer);
        self.project().inner.poll(cx)
    }
}

/// Runs `inner` without a budget: its resources never yield for lack of one.
pub fn unconstrained<F>(inner: F) -> Unconstrained<F> {
    Unconstrained { inner }
}

pin_project_lite::pin_project! {
    /// The future of [`cooperative`].
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    #[derive(Debug)]
    pub struct Coop<F> {
        #[pin]
        inner: F,
    }
}

impl<F: Future> Future for Coop<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let restore = std::task::ready!(poll_proceed(cx));
        let out = self.project().inner.poll(cx);
        if out.is_ready() {
            restore.made_progress();
        }
        out
    }
}

/// Makes `fut` spend one unit of budget per poll that completes it, and yield when
/// the budget is spent.
pub fn cooperative<F: Future>(fut: F) -> Coop<F> {
    Coop { inner: fut }
}
