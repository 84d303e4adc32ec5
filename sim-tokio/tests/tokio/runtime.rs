//! `tokio::runtime`: Builder, Runtime, Handle.

use std::time::Duration;

use tokio::runtime::{Builder, Handle, Runtime};

const MS: Duration = Duration::from_millis(1);

#[test]
fn block_on_may_borrow_and_continues_one_simulation() {
    let rt = Builder::new_current_thread().enable_all().start_paused(true).build().unwrap();
    let words = String::from("ab");
    let spawned = rt.spawn(async { tokio::time::sleep(3 * MS).await });
    let n = rt.block_on(async {
        tokio::time::sleep(2 * MS).await;
        words.len()
    });
    assert_eq!(n, 2);
    // The second call continues at 2 ms: the spawned task ends at 3 ms.
    let t = rt.block_on(async move {
        spawned.await.unwrap();
        tokio::time::Instant::now()
    });
    assert_eq!(t, tokio::time::Instant::from(sim_core::Instant::from_millis(3)));
}

#[test]
fn handle_current_spawns_inside_and_is_absent_outside() {
    assert!(Handle::try_current().is_err());
    let rt = Runtime::new().unwrap();
    let got = rt.block_on(async {
        let handle = Handle::current();
        handle.spawn(async { 5 }).await.unwrap()
    });
    assert_eq!(got, 5);
    let handle = rt.handle().clone();
    let _guard = handle.enter();
}

#[test]
#[should_panic(expected = "lockstep: deadlock")]
fn a_failed_run_panics_with_the_report() {
    let rt = Runtime::new().unwrap();
    rt.block_on(std::future::pending::<()>());
}

/// tokio's multi-thread runtime cannot pause its clock: building one with
/// `start_paused(true)` panics with tokio's message, as does `time::pause()` in it.
#[test]
fn a_multi_thread_runtime_refuses_a_paused_clock_like_tokio() {
    const REFUSED: &str = "`time::pause()` requires the `current_thread` Tokio runtime";
    let built = std::panic::catch_unwind(|| Builder::new_multi_thread().start_paused(true).build().map(drop));
    let payload = built.expect_err("a paused multi-thread runtime was built");
    assert!(payload.downcast_ref::<String>().is_some_and(|m| m.contains(REFUSED)));
    let rt = Runtime::new().unwrap();
    let paused = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| rt.block_on(async { tokio::time::pause() })));
    let payload = paused.expect_err("a multi-thread runtime paused its clock");
    assert!(payload.downcast_ref::<String>().is_some_and(|m| m.contains(REFUSED)));
    // The current-thread runtime may pause, and `advance` then moves its clock.
    let rt = Builder::new_current_thread().build().unwrap();
    let elapsed = rt.block_on(async {
        let start = tokio::time::Instant::now();
        tokio::time::pause();
        tokio::time::advance(MS).await;
        start.elapsed()
    });
    assert_eq!(elapsed, MS);
}
