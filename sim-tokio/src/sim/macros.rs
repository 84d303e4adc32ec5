//! `select!`, `join!`, `try_join!` and `pin!` under simulation. The first three are
//! thin wrappers that hand `$crate` to the proc macros of `sim-tokio-macros`.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::task::{Context, Poll};

/// Waits on several futures at once and runs the handler of the first to complete
/// whose value matches its pattern (tokio's syntax: `pattern = future, if condition
/// => handler`, `else => handler`, `biased;`).
///
/// Without `biased;`, the branch polled first is a recorded choice point among the
/// `k` branches still enabled (made only when `k > 1`): the seed or tape decides it,
/// and replay repeats it. tokio's own macro draws it from a thread-local generator
/// no seed controls. With `biased;`, branches are polled in order.
#[macro_export]
macro_rules! select {
    ($($tokens:tt)*) => {
        $crate::__private::select_impl! { ($crate) $($tokens)* }
    };
}

/// Awaits several futures concurrently and returns all their outputs as a tuple.
/// Each poll polls every unfinished future, in the order written.
#[macro_export]
macro_rules! join {
    ($($tokens:tt)*) => {
        $crate::__private::join_impl! { ($crate) $($tokens)* }
    };
}

/// Awaits several `Result` futures concurrently: `Ok` with every output, or the
/// first `Err` (the others are dropped).
#[macro_export]
macro_rules! try_join {
    ($($tokens:tt)*) => {
        $crate::__private::try_join_impl! { ($crate) $($tokens)* }
    };
}

/// Pins values on the stack: `pin!(a, b)` shadows each with a `Pin<&mut _>` to it;
/// `pin! { let x = expr; }` binds and pins.
#[macro_export]
macro_rules! pin {
    ($($x:ident),* $(,)?) => {
        $( let mut $x = ::core::pin::pin!($x); )*
    };
    ($( let $x:ident = $init:expr; )*) => {
        $(
            let $x = $init;
            $crate::pin!($x);
        )*
    };
}

/// Which branch a `select!` polls first: `None` when every branch is disabled; the
/// first enabled one when `biased` or only one is enabled; else a recorded choice
/// among the enabled ones.
pub fn select_start(n: usize, disabled: u64, biased: bool) -> Option<usize> {
    let enabled = |i: &usize| disabled & (1u64 << i) == 0;
    let k = (0..n).filter(enabled).count();
    let pick = match k {
        0 => return None,
        1 => 0,
        _ if biased => 0,
        // Outside a simulated task (no simulation to record the choice) the pick is the first.
        _ if sim_core::tooling::task::current_task().is_none() => 0,
        _ => sim_core::choose(k),
    };
    (0..n).filter(enabled).nth(pick)
}

pin_project_lite::pin_project! {
    /// The futures of one `select!`, `join!` or `try_join!`, stored in place as a
    /// list (`Cons { head: f0, tail: Cons { head: f1, tail: Nil } }`) and pinned once:
    /// the macro reaches branch `i` through `i` calls of [`Cons::tail`] and one of
    /// [`Cons::head`]. As tokio's tuple, it keeps the expansion as small as tokio's
    /// (one place per future and one pointer to them all), without `unsafe`.
    #[allow(missing_docs)]
    pub struct Cons<H, T> {
        #[pin]
        pub head: H,
        #[pin]
        pub tail: T,
    }
}

impl<H, T> Cons<H, T> {
    /// The first future, pinned.
    pub fn head(self: Pin<&mut Self>) -> Pin<&mut H> {
        self.project().head
    }

    /// The rest of the list, pinned.
    pub fn tail(self: Pin<&mut Self>) -> Pin<&mut T> {
        self.project().tail
    }
}

/// The end of a [`Cons`] list.
pub struct Nil;

/// Which future `join!` polls first on its next poll: tokio starts one further on
/// each poll (`0, 1, …, n - 1, 0, …`), so no future is starved by those before it.
/// It counts polls of the `join!` itself, so it is the same on every run.
pub fn join_start(next: &mut u32, n: u32) -> u32 {
    let start = *next;
    *next = if start + 1 >= n { 0 } else { start + 1 };
    start
}

pin_project_lite::pin_project! {
    /// A future of `join!` / `try_join!` and, once it finished, its output.
    ///
    /// `repr(C)` as tokio's own: it rules out packing the discriminant into the
    /// future's spare bits, so a `join!` takes exactly as many bytes as under tokio
    /// (tokio's tests assert the size).
    #[project = MaybeDoneProj]
    #[project_replace = MaybeDoneReplace]
    #[repr(C)]
    #[allow(missing_docs)]
    pub enum MaybeDone<F: Future> {
        /// Not finished yet.
        Future { #[pin] future: F },
        /// Finished; the output waits to be taken.
        Done { output: F::Output },
        /// The output was taken.
        Gone,
    }
}

/// Wraps `future` for `join!`.
pub fn maybe_done<F: IntoFuture>(future: F) -> MaybeDone<F::IntoFuture> {
    MaybeDone::Future { future: future.into_future() }
}

impl<F: Future> MaybeDone<F> {
    /// The output, if the future finished and it was not taken.
    pub fn output_mut(self: Pin<&mut Self>) -> Option<&mut F::Output> {
        match self.project() {
            MaybeDoneProj::Done { output } => Some(output),
            MaybeDoneProj::Future { .. } | MaybeDoneProj::Gone => None,
        }
    }

    /// Takes the output, if the future finished and it was not taken yet.
    pub fn take_output(self: Pin<&mut Self>) -> Option<F::Output> {
        if !matches!(*self, MaybeDone::Done { .. }) {
            return None;
        }
        match self.project_replace(MaybeDone::Gone) {
            MaybeDoneReplace::Done { output } => Some(output),
            MaybeDoneReplace::Future { .. } | MaybeDoneReplace::Gone => None,
        }
    }
}

impl<F: Future> Future for MaybeDone<F> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let output = match self.as_mut().project() {
            MaybeDoneProj::Future { future } => std::task::ready!(future.poll(cx)),
            MaybeDoneProj::Done { .. } => return Poll::Ready(()),
            MaybeDoneProj::Gone => panic!("join!: a future polled after its output was taken"),
        };
        self.set(MaybeDone::Done { output });
        Poll::Ready(())
    }
}
