//! `tokio::task::coop` under simulation: there is no budget.
//!
//! tokio gives each task a budget of operations per poll and makes a resource
//! return `Pending` once it is spent, so that a task looping on ready resources
//! still yields. Under simulation every task runs until it returns `Pending` by
//! itself: [`poll_proceed`] always proceeds, [`consume_budget`] never yields, and
//! [`unconstrained`] / [`cooperative`] change nothing. Code that relies on the
//! budget alone to let other tasks run (a loop over an always-ready resource that
//! never returns `Pending`) never returns from its poll here, which the poll
//! watchdog reports (task, seed, replay), where tokio would have interleaved it.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

/// What [`poll_proceed`] returns: tokio restores the budget unit on drop unless
/// [`made_progress`](RestoreOnPending::made_progress) was called; here there is no
/// budget to restore.
#[derive(Debug)]
pub struct RestoreOnPending(PhantomData<*mut ()>);

impl RestoreOnPending {
    /// Marks that the operation made progress (nothing to record under simulation).
    pub fn made_progress(&self) {}
}

/// Whether the task may go on: always `Ready` under simulation.
pub fn poll_proceed(_cx: &mut Context<'_>) -> Poll<RestoreOnPending> {
    Poll::Ready(RestoreOnPending(PhantomData))
}

/// Consumes one unit of budget: returns at once under simulation (never yields).
pub async fn consume_budget() {}

/// Whether the task has budget left: always `true` under simulation.
pub fn has_budget_remaining() -> bool {
    true
}

pin_project_lite::pin_project! {
    /// The future of [`unconstrained`]: `inner`, unchanged.
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
        self.project().inner.poll(cx)
    }
}

/// Runs `inner` outside the budget: unchanged under simulation.
pub fn unconstrained<F>(inner: F) -> Unconstrained<F> {
    Unconstrained { inner }
}

pin_project_lite::pin_project! {
    /// The future of [`cooperative`]: `inner`, unchanged.
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
        self.project().inner.poll(cx)
    }
}

/// Makes `fut` take part in the budget: unchanged under simulation.
pub fn cooperative<F: Future>(fut: F) -> Coop<F> {
    Coop { inner: fut }
}
