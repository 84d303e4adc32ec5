//! `tokio::task`: spawn, join, abort, panics, names.

use std::time::Duration;

use sim_core::{Config, FailureKind};
use tokio::task::{self, JoinError};

use crate::support::{run, twice};

const MS: Duration = Duration::from_millis(1);

#[test]
fn spawned_tasks_join_with_their_output() {
    let got = twice(1, || async {
        let a = tokio::spawn(async { 1 });
        let b = task::spawn_local(async {
            tokio::time::sleep(MS).await;
            2
        });
        assert!(!b.is_finished());
        let (a, b) = (a.await.unwrap(), b.await.unwrap());
        task::yield_now().await;
        a + b
    });
    assert_eq!(got, 3);
}

#[test]
fn a_panic_reaches_the_join_handle_like_tokio() {
    let got = twice(0, || async {
        let handle = tokio::spawn(async {
            panic!("boom");
        });
        let id = handle.id();
        let err: JoinError = handle.await.unwrap_err();
        assert!(err.is_panic() && !err.is_cancelled());
        assert_eq!(err.id(), id);
        let shown = (err.to_string(), format!("{err:?}"));
        let payload = err.into_panic();
        (shown, payload.downcast_ref::<&str>().copied(), id.to_string())
    });
    let id = got.2;
    assert_eq!(got.0 .0, format!("task {id} panicked with message \"boom\""));
    assert_eq!(got.0 .1, format!("JoinError::Panic(Id({id}), \"boom\", ...)"));
    assert_eq!(got.1, Some("boom"));
}

#[test]
fn abort_cancels_and_the_abort_handle_reaches_the_task() {
    let got = twice(0, || async {
        let sleeper = tokio::spawn(tokio::time::sleep(10 * MS));
        let other = tokio::spawn(tokio::time::sleep(10 * MS));
        let abort = other.abort_handle();
        assert_eq!(abort.id(), other.id());
        sleeper.abort();
        abort.abort();
        assert!(abort.is_finished());
        let err = sleeper.await.unwrap_err();
        let other = other.await.unwrap_err();
        (err.is_cancelled(), err.to_string().ends_with("was cancelled"), other.is_cancelled())
    });
    assert_eq!(got, (true, true, true));
}

#[test]
fn a_detached_task_panic_fails_the_run_naming_its_spawn_site() {
    let line = line!() + 2;
    let (result, _) = run(Config::default(), || async {
        drop(tokio::spawn(async { panic!("lost") }));
        tokio::time::sleep(MS).await;
    });
    let failure = result.unwrap_err();
    let FailureKind::Panic { task, message } = &failure.kind else { panic!("{failure}") };
    assert_eq!((task.as_str(), message.as_str()), (format!("task.rs:{line}").as_str(), "lost"));
}

#[test]
fn named_sets_the_task_name() {
    let (result, _) = run(Config::default(), || async {
        let h = tokio::lockstep::named("worker", || tokio::spawn(async { panic!("x") }));
        drop(h);
        tokio::time::sleep(MS).await;
    });
    let failure = result.unwrap_err();
    assert!(matches!(&failure.kind, FailureKind::Panic { task, .. } if task == "worker"), "{failure}");
}

#[test]
fn spawn_blocking_is_reported_as_an_escape_naming_the_task() {
    let (result, _) = run(Config::default(), || async {
        let h = tokio::lockstep::named("loader", || tokio::spawn(async { task::spawn_blocking(|| 1).await.unwrap() }));
        h.await.unwrap()
    });
    let failure = result.unwrap_err();
    let FailureKind::Escape { task, cause } = &failure.kind else { panic!("{failure}") };
    assert_eq!(task, "loader");
    assert!(cause.starts_with("spawn_blocking"), "{cause}");
    assert!(failure.to_string().starts_with("lockstep: escape in"), "{failure}");
}

#[test]
fn block_in_place_is_reported_as_an_escape() {
    let (result, _) = run(Config::default(), || async { task::block_in_place(|| 7) });
    let failure = result.unwrap_err();
    assert!(matches!(&failure.kind, FailureKind::Escape { task, .. } if task == "main"), "{failure}");
}

/// Panics in its destructor.
struct PanicOnDrop;

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        panic!("dropped");
    }
}

/// A task whose future panics when the abort drops it: as tokio, the panic is caught,
/// the aborting task goes on, and the handle reports it as a panic (not a
/// cancellation); dropping the handle instead fails nothing. A `JoinSet` reports it
/// the same way.
#[test]
fn a_destructor_panic_at_an_abort_is_contained_and_reported_by_the_handle() {
    let got = twice(0, || async {
        let spawn_pending = || {
            tokio::spawn(async {
                let _guard = PanicOnDrop;
                std::future::pending::<()>().await
            })
        };
        let returned = spawn_pending();
        tokio::time::sleep(MS).await;
        returned.abort();
        let err = returned.await.unwrap_err();
        let text = err.to_string();
        let dropped = spawn_pending();
        tokio::time::sleep(MS).await;
        dropped.abort();
        drop(dropped);
        let mut set = tokio::task::JoinSet::new();
        set.spawn(async {
            let _guard = PanicOnDrop;
            std::future::pending::<()>().await
        });
        tokio::time::sleep(MS).await;
        set.abort_all();
        let in_set = set.join_next().await.unwrap().unwrap_err();
        (err.is_panic(), text.ends_with("panicked with message \"dropped\""), in_set.is_panic())
    });
    assert_eq!(got, (true, true, true));
}

/// As tokio: handles outlive their runtime. Once it is dropped, a task that had
/// finished still gives its output, one that had not is cancelled (it was dropped with
/// the runtime), `is_finished` is true and `abort` does nothing, even while another
/// simulation is current; a `JoinSet` polled in another runtime joins it as cancelled.
#[test]
fn handles_work_after_their_runtime_is_gone() {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let done = rt.spawn(async { 1 });
    let pending = rt.spawn(std::future::pending::<()>());
    let mut set = tokio::task::JoinSet::new();
    rt.block_on(async {
        set.spawn(std::future::pending::<u8>());
        tokio::task::yield_now().await;
    });
    let abort = pending.abort_handle();
    assert!(!abort.is_finished());
    drop(rt);
    assert!(done.is_finished() && pending.is_finished() && abort.is_finished());
    abort.abort();
    let other = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let (done, pending, joined) = other.block_on(async { (done.await, pending.await, set.join_next().await) });
    assert_eq!(done.unwrap(), 1);
    assert!(pending.unwrap_err().is_cancelled());
    assert!(joined.unwrap().unwrap_err().is_cancelled());
}

/// As tokio, a task may be aborted from another OS thread while its simulation runs.
/// The abort lands where the simulation has nothing else to do (here: `main` waits
/// on the handle), whenever the thread asked, so a seed runs the same twice; the
/// task's future is dropped on the simulation's thread, and the handle is cancelled.
#[test]
fn an_abort_from_another_thread_lands_when_the_simulation_runs_out_of_events() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    struct Flag(Arc<AtomicBool>, std::thread::ThreadId);
    impl Drop for Flag {
        fn drop(&mut self) {
            assert_eq!(std::thread::current().id(), self.1, "dropped on another thread");
            self.0.store(true, Ordering::SeqCst);
        }
    }
    let got = twice(3, || async {
        let dropped = Arc::new(AtomicBool::new(false));
        let flag = Flag(dropped.clone(), std::thread::current().id());
        let handle = tokio::spawn(async move {
            let _flag = flag;
            std::future::pending::<()>().await
        });
        let ticker = tokio::spawn(async {
            for _ in 0..3 {
                tokio::time::sleep(MS).await;
            }
        });
        let handle = std::thread::spawn(move || {
            handle.abort();
            assert!(!handle.is_finished());
            handle
        })
        .join()
        .unwrap();
        let start = tokio::time::Instant::now();
        let before = dropped.load(Ordering::SeqCst);
        let result = handle.await;
        let at = start.elapsed();
        ticker.await.unwrap();
        (before, result.unwrap_err().is_cancelled(), dropped.load(Ordering::SeqCst), at)
    });
    // The ticker's three sleeps came first: the abort waited until the simulation ran
    // out of events, 3 ms in.
    assert_eq!(got, (false, true, true, 3 * MS));
}
