//! `select!`, `join!`, `try_join!` and `pin!` under simulation. The first three are
//! thin wrappers that hand `$crate` to the proc macros of `sim-tokio-macros`.

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
        _ if sim_core::task::current_task().is_none() => 0,
        _ => sim_core::choose(k),
    };
    (0..n).filter(enabled).nth(pick)
}
