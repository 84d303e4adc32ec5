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
    assert_eq!(t, tokio::time::Instant::from(sim_core::time::Instant::from_millis(3)));
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

#[test]
fn a_handle_is_send_and_sync_like_tokios() {
    // tokio-util's `LocalPoolHandle` keeps a `Handle` in a value sent to a thread.
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Handle>();
    let rt = Runtime::new().unwrap();
    let handle = rt.handle().clone();
    // On a thread with no simulation it finds none, as tokio's `Handle::current` would.
    let back = std::thread::spawn(move || {
        assert!(Handle::try_current().is_err());
        handle.clone()
    })
    .join()
    .unwrap();
    // Back on the runtime's thread, it spawns there.
    assert_eq!(rt.block_on(async move { back.spawn(async { 5 }).await.unwrap() }), 5);
}

#[test]
fn a_local_runtime_runs_tasks_that_are_not_send() {
    use std::rc::Rc;
    use tokio::runtime::{LocalOptions, LocalRuntime};
    let rt = LocalRuntime::new().unwrap();
    let shared = Rc::new(std::cell::Cell::new(0));
    let s = shared.clone();
    let spawned = rt.spawn_local(async move {
        tokio::time::sleep(2 * MS).await;
        s.set(s.get() + 1);
    });
    let n = rt.block_on(async {
        // spawn_local works outside a LocalSet in a LocalRuntime, as tokio's.
        let s = shared.clone();
        tokio::task::spawn_local(async move { s.set(s.get() + 10) }).await.unwrap();
        spawned.await.unwrap();
        shared.get()
    });
    assert_eq!(n, 11);
    let built = Builder::new_current_thread().build_local(LocalOptions::default()).unwrap();
    assert_eq!(built.block_on(async { 7 }), 7);
}

#[test]
#[should_panic(expected = "multi_thread is not supported for LocalRuntime")]
fn a_local_runtime_refuses_the_multi_thread_builder_like_tokio() {
    let _ = Builder::new_multi_thread().build_local(tokio::runtime::LocalOptions::default());
}
