//! `JoinSet`, `LocalSet` and `task_local!` by tokio's names: deadlock reports naming
//! the set and the wait, an exact count of orders, determinism, tokio's semantics.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;
use std::time::Duration;

use sim_core::tooling::strategy::explore_all;
use sim_core::tooling::trace::RecordKind;
use sim_core::TraceMode;
use sim_core::{Config, FailureKind, Sim};
use tokio::lockstep;
use tokio::sync::oneshot;
use tokio::task::{self, JoinSet, LocalSet};

use crate::support::{run, twice};

const MS: Duration = Duration::from_millis(1);

fn blocked<F, Fut>(f: F) -> Vec<String>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let (result, _) = run(Config::default(), f);
    let failure = result.unwrap_err();
    let FailureKind::Deadlock { blocked } = &failure.kind else { panic!("expected a deadlock, got {failure}") };
    blocked.iter().map(ToString::to_string).collect()
}

// ---- deadlock reports ----

#[test]
fn a_join_set_deadlock_names_the_set_and_the_wait() {
    let line = line!() + 2;
    let got = blocked(|| async {
        let mut set = JoinSet::new();
        let (_tx, rx) = lockstep::named("never", oneshot::channel::<u32>);
        set.spawn(async move { rx.await.unwrap() });
        set.join_next().await;
    });
    let task = line + 2;
    assert_eq!(
        got,
        [format!("main (join_next on `set@task_sets.rs:{line}`)"), format!("task_sets.rs:{task} (recv on `never`)")]
    );
    // An explicit name wins.
    let got = blocked(|| async {
        let mut set = lockstep::named("workers", JoinSet::<()>::new);
        let (_tx, rx) = lockstep::named("never", oneshot::channel::<()>);
        lockstep::named("worker", || set.spawn(async move { rx.await.unwrap() }));
        set.join_next().await;
    });
    assert_eq!(got, ["main (join_next on `workers`)", "worker (recv on `never`)"]);
}

#[test]
fn a_local_set_deadlock_names_the_set_and_the_wait() {
    let line = line!() + 2;
    let got = blocked(|| async {
        let local = LocalSet::new();
        let (_tx, rx) = lockstep::named("never", oneshot::channel::<u32>);
        local.spawn_local(async move { rx.await.unwrap() });
        local.await;
    });
    let task = line + 2;
    assert_eq!(
        got,
        [format!("main (notified on `local@task_sets.rs:{line}`)"), format!("task_sets.rs:{task} (recv on `never`)")]
    );
}

// ---- an exact count of orders ----

/// Task `m` spawns `a` and `b` into a `JoinSet` (each returns its name at once) and
/// joins twice, noting the order. Step 1 polls `m`: it spawns both and waits. Then
/// `a` and `b` are due: 2 orders of the first. Say `a` ends first: it wakes `m`, so
/// `b` and `m` are due: `b` first (then `m` joins `a`, then `b`) or `m` first (it
/// joins `a` and waits; `b` ends and wakes it): 2 orders. `b` first: 2 more. Total
/// 4, each with its own trace, and the joins come out in the order the tasks ended:
/// [a, b] in two orders, [b, a] in the other two.
#[test]
fn a_join_set_program_has_exactly_four_orders() {
    let mut fingerprints = BTreeSet::new();
    let mut outcomes = BTreeSet::new();
    let mut joined_in = Vec::new();
    let e = explore_all(1_000, |prefix| {
        let mut sim = Sim::new(Config::replay(prefix.clone()));
        let log = Rc::new(RefCell::new(Vec::new()));
        let out = log.clone();
        sim.enter(|| {
            lockstep::named("m", || {
                tokio::spawn(async move {
                    let mut set = JoinSet::new();
                    lockstep::named("a", || set.spawn(async { "a" }));
                    lockstep::named("b", || set.spawn(async { "b" }));
                    while let Some(done) = set.join_next().await {
                        out.borrow_mut().push(done.unwrap());
                    }
                })
            })
        });
        sim.run().unwrap();
        let got = log.borrow().clone();
        joined_in.push(got.clone());
        outcomes.insert(got);
        fingerprints.insert(sim.fingerprint());
        sim.recorded_tape()
    });
    assert!(e.exhausted);
    assert_eq!((e.runs, fingerprints.len()), (4, 4));
    assert_eq!(outcomes, BTreeSet::from([vec!["a", "b"], vec!["b", "a"]]));
    assert_eq!(joined_in.iter().filter(|j| j[0] == "a").count(), 2);
}

// ---- determinism ----

tokio::task_local! {
    static REQUEST: u32;
}

#[test]
fn a_seed_run_twice_gives_the_same_fingerprint() {
    for seed in 0..20 {
        twice(seed, || async {
            let mut set = JoinSet::new();
            for i in 0..4u32 {
                set.spawn(REQUEST.scope(i, async move {
                    tokio::time::sleep(MS * (i % 2)).await;
                    task::yield_now().await;
                    REQUEST.get() * 10
                }));
            }
            let local = LocalSet::new();
            let seen = local
                .run_until(async {
                    let h = task::spawn_local(async { REQUEST.try_with(|r| *r).is_err() });
                    h.await.unwrap()
                })
                .await;
            let mut order = Vec::new();
            while let Some(r) = set.join_next().await {
                order.push(r.unwrap());
            }
            local.await;
            (order, seen)
        });
    }
}

// ---- JoinSet: tokio's semantics ----

#[test]
fn join_next_returns_tasks_in_the_order_they_end() {
    let got = twice(0, || async {
        let mut set = JoinSet::new();
        for i in [3u64, 1, 2] {
            set.spawn(async move {
                tokio::time::sleep(MS * i as u32).await;
                i
            });
        }
        assert_eq!(set.len(), 3);
        let mut order = Vec::new();
        while let Some(r) = set.join_next().await {
            order.push(r.unwrap());
        }
        assert!(set.is_empty() && set.join_next().await.is_none());
        order
    });
    assert_eq!(got, [1, 2, 3]);
}

#[test]
fn aborted_tasks_are_joined_as_cancelled_and_ids_match() {
    let got = twice(0, || async {
        let mut set = JoinSet::new();
        let mut ids = Vec::new();
        for i in 0..6u32 {
            let abort = set.spawn(async move {
                tokio::time::sleep(MS * (i + 1)).await;
                i
            });
            ids.push(abort.id());
            if i % 2 == 1 {
                abort.abort();
            }
        }
        let (mut done, mut cancelled, mut joined) = (Vec::new(), 0, BTreeSet::new());
        while let Some(r) = set.join_next_with_id().await {
            match r {
                Ok((id, v)) => {
                    joined.insert(id);
                    done.push(v);
                }
                Err(e) => {
                    assert!(e.is_cancelled());
                    joined.insert(e.id());
                    cancelled += 1;
                }
            }
        }
        assert_eq!(joined, ids.into_iter().collect::<BTreeSet<_>>());
        (done, cancelled)
    });
    assert_eq!(got, (vec![0, 2, 4], 3));
}

#[test]
fn abort_all_shutdown_detach_all_and_drop() {
    twice(0, || async {
        // abort_all: every task is joined, the pending ones as cancelled.
        let mut set = JoinSet::new();
        for i in 0..4u32 {
            set.spawn(async move {
                if i % 2 == 0 {
                    std::future::pending::<()>().await;
                }
            });
        }
        tokio::time::sleep(MS).await;
        set.abort_all();
        assert_eq!(set.len(), 4);
        let mut cancelled = 0;
        while let Some(r) = set.join_next().await {
            cancelled += usize::from(r.is_err_and(|e| e.is_cancelled()));
        }
        assert_eq!(cancelled, 2);

        // shutdown: the tasks' futures are dropped (their senders with them).
        let (tx, rx) = oneshot::channel::<()>();
        set.spawn(async move {
            std::future::pending::<()>().await;
            drop(tx);
        });
        set.shutdown().await;
        assert!(set.is_empty() && rx.await.is_err());

        // drop: aborts.
        let (tx, rx) = oneshot::channel::<()>();
        set.spawn(async move {
            std::future::pending::<()>().await;
            drop(tx);
        });
        drop(set);
        assert!(rx.await.is_err());

        // detach_all: the tasks run on.
        let mut set = JoinSet::new();
        let (tx, rx) = oneshot::channel::<u32>();
        set.spawn(async move {
            tokio::time::sleep(MS).await;
            tx.send(7).unwrap();
        });
        set.detach_all();
        assert!(set.is_empty() && set.join_next().await.is_none());
        drop(set);
        assert_eq!(rx.await, Ok(7));
    });
}

#[test]
fn try_join_next_join_all_collect_and_extend() {
    let got = twice(3, || async {
        let mut set: JoinSet<u32> = (0..3).map(|i| async move { i }).collect();
        assert!(set.try_join_next().is_none(), "no task has run yet");
        set.extend((3..5).map(|i| async move { i }));
        tokio::time::sleep(MS).await;
        let mut tried = Vec::new();
        while let Some(r) = set.try_join_next() {
            tried.push(r.unwrap());
        }
        let mut set = JoinSet::new();
        for i in 0..3u32 {
            set.spawn_local(async move { i * 2 });
        }
        let mut all = set.join_all().await;
        all.sort_unstable();
        (tried, all)
    });
    assert_eq!(got.0.len(), 5);
    assert_eq!(got.1, [0, 2, 4]);
}

#[test]
fn a_panicking_task_is_joined_as_a_panic_and_join_all_resumes_it() {
    twice(0, || async {
        let mut set = JoinSet::new();
        set.spawn(async { panic!("boom") });
        let err = set.join_next().await.unwrap().unwrap_err();
        assert!(err.is_panic());
        assert_eq!(err.into_panic().downcast_ref::<&str>(), Some(&"boom"));

        let mut set: JoinSet<()> = JoinSet::new();
        set.spawn(async { std::future::pending().await });
        set.spawn(async {
            tokio::time::sleep(MS).await;
            panic!("second");
        });
        let err = tokio::spawn(set.join_all()).await.unwrap_err();
        assert!(err.is_panic());
    });
}

#[test]
fn joins_are_traced_under_the_sets_name() {
    let mut sim = Sim::new(Config::default().trace(TraceMode::Full));
    let future = sim.enter(|| async {
        let mut set = lockstep::named("pool", JoinSet::new);
        set.spawn(async { 1 });
        set.join_next().await.unwrap().unwrap()
    });
    assert_eq!(sim.block_on_local(future).unwrap(), 1);
    let joins: Vec<(RecordKind, Option<String>)> = sim
        .trace()
        .lines
        .into_iter()
        .filter(|l| l.channel.as_deref() == Some("pool"))
        .map(|l| (l.kind, l.task))
        .collect();
    assert_eq!(joins, [(RecordKind::Join, Some("main".to_string()))]);
}

// ---- LocalSet ----

#[test]
fn a_local_set_groups_its_tasks() {
    let got = twice(0, || async {
        let local = LocalSet::new();
        let log = Rc::new(RefCell::new(Vec::new()));
        let l = log.clone();
        // spawn_local inside run_until (and inside the set's own tasks) adds to the set.
        let first = local
            .run_until(async move {
                let l2 = l.clone();
                task::spawn_local(async move {
                    tokio::time::sleep(MS).await;
                    let l3 = l2.clone();
                    task::spawn_local(async move {
                        tokio::time::sleep(MS).await;
                        l3.borrow_mut().push("grandchild");
                    });
                    l2.borrow_mut().push("child");
                });
                "ran"
            })
            .await;
        {
            let _guard = local.enter();
            let l = log.clone();
            task::spawn_local(async move { l.borrow_mut().push("entered") });
        }
        // Awaiting the set waits for all three.
        local.await;
        let out = log.borrow().clone();
        (first, out)
    });
    assert_eq!(got, ("ran", vec!["entered", "child", "grandchild"]));
}

#[test]
fn dropping_a_local_set_aborts_its_tasks() {
    twice(0, || async {
        let local = LocalSet::new();
        let (tx, rx) = oneshot::channel::<()>();
        let handle = local.spawn_local(async move {
            std::future::pending::<()>().await;
            drop(tx);
        });
        let mut set = JoinSet::new();
        let (tx2, rx2) = oneshot::channel::<()>();
        set.spawn_local_on(
            async move {
                std::future::pending::<()>().await;
                drop(tx2);
            },
            &local,
        );
        drop(local);
        assert!(rx.await.is_err() && rx2.await.is_err());
        assert!(handle.await.unwrap_err().is_cancelled());
        assert!(set.join_next().await.unwrap().unwrap_err().is_cancelled());
    });
}

#[test]
fn local_set_block_on_runs_on_a_runtime() {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let local = LocalSet::new();
    let got = local.block_on(&rt, async {
        let h = task::spawn_local(async { Rc::new(5) });
        *h.await.unwrap()
    });
    assert_eq!(got, 5);
}

// ---- task_local! ----

tokio::task_local! {
    static NAME: &'static str;
    pub(crate) static DEPTH: u32;
}

/// Two tasks with their own value interleave at every sleep; each sees its own value
/// at every poll, in every order.
#[test]
fn a_task_local_follows_its_task_across_polls_in_every_order() {
    let mut runs = 0;
    let e = explore_all(10_000, |prefix| {
        let mut sim = Sim::new(Config::replay(prefix.clone()));
        let seen = Rc::new(RefCell::new(Vec::new()));
        let s = seen.clone();
        sim.enter(|| {
            for name in ["x", "y"] {
                let s = s.clone();
                tokio::spawn(NAME.scope(name, async move {
                    for _ in 0..2 {
                        s.borrow_mut().push((name, NAME.get()));
                        task::yield_now().await;
                    }
                    let inner = DEPTH.scope(1, async { (NAME.get(), DEPTH.get()) }).await;
                    assert_eq!(inner, (name, 1));
                    assert!(DEPTH.try_with(|d| *d).is_err());
                }));
            }
        });
        sim.run().unwrap();
        assert!(seen.borrow().iter().all(|(name, got)| name == got));
        assert_eq!(seen.borrow().len(), 4);
        runs += 1;
        sim.recorded_tape()
    });
    assert!(e.exhausted && runs > 1);
}

#[test]
fn task_local_scope_sync_scope_with_and_errors() {
    assert!(NAME.try_with(|n| *n).is_err());
    assert_eq!(NAME.try_with(|n| *n).unwrap_err().to_string(), "task-local value not set");
    let got = NAME.sync_scope("outer", || {
        let inner = NAME.sync_scope("inner", || NAME.get());
        (inner, NAME.with(|n| n.len()))
    });
    assert_eq!(got, ("inner", 5));
    let missing = std::panic::catch_unwind(|| NAME.get()).unwrap_err();
    assert_eq!(
        missing.downcast_ref::<&str>(),
        Some(&"cannot access a task-local storage value without setting it first")
    );
    // The value is there while the scoped future is dropped, and can be taken out.
    struct SeesValue;
    impl Drop for SeesValue {
        fn drop(&mut self) {
            assert_eq!(DEPTH.get(), 9);
        }
    }
    let (result, _) = run(Config::default(), || async {
        let guard = SeesValue;
        let mut fut = Box::pin(DEPTH.scope(9, async move {
            let _guard = guard;
            std::future::pending::<()>().await;
        }));
        assert!(futures::poll!(fut.as_mut()).is_pending());
        drop(fut);
        let mut fut = Box::pin(DEPTH.scope(3, async {}));
        fut.as_mut().await;
        fut.as_mut().take_value()
    });
    assert_eq!(result.unwrap(), Some(3));
}

/// As tokio: `spawn_local` outside a `LocalSet` panics with tokio's text in a
/// `current_thread` or `multi_thread` runtime (here in `Runtime::block_on`), and works
/// inside a `LocalSet` on the same runtime.
#[test]
fn spawn_local_outside_a_local_set_panics_in_a_current_thread_or_multi_thread_runtime() {
    let expected = "`spawn_local` called from outside of a `task::LocalSet` or `runtime::LocalRuntime`";
    for multi in [false, true] {
        let rt = if multi {
            tokio::runtime::Builder::new_multi_thread().build().unwrap()
        } else {
            tokio::runtime::Builder::new_current_thread().build().unwrap()
        };
        let free = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            rt.block_on(async {
                drop(task::spawn_local(async {}));
            })
        }));
        let message = *free.unwrap_err().downcast::<String>().unwrap();
        assert!(message.contains(expected), "{message}");
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let in_set = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            rt.block_on(async {
                let mut set = JoinSet::new();
                set.spawn_local(async {});
            })
        }));
        let message = *in_set.unwrap_err().downcast::<String>().unwrap();
        assert!(message.contains(expected), "{message}");
        let local = LocalSet::new();
        assert_eq!(local.block_on(&rt, async { task::spawn_local(async { 7 }).await.unwrap() }), 7);
    }
}

/// `#[tokio::test(flavor = "multi_thread")]` remembers its flavor on every seed.
#[tokio::test(flavor = "multi_thread", seeds = 3)]
#[should_panic(expected = "`spawn_local` called from outside of a `task::LocalSet` or `runtime::LocalRuntime`")]
async fn spawn_local_panics_in_a_multi_thread_test() {
    drop(task::spawn_local(async {}));
}

/// `flavor = "local"` is tokio's `LocalRuntime`: `spawn_local` works without a `LocalSet`.
#[tokio::test(flavor = "local", seeds = 3)]
async fn spawn_local_works_in_a_local_runtime() {
    assert_eq!(task::spawn_local(async { 7 }).await.unwrap(), 7);
}

/// As tokio's, `join_next` spends the task's cooperative budget (128 units a poll):
/// 300 finished tasks joined with `now_or_never` give `None` (budget spent) at least
/// twice, never more than 128 results apart; each `yield_now` refills it. Without the
/// budget no `None` would come: every task has ended.
#[test]
fn join_next_spends_the_cooperative_budget() {
    use futures::FutureExt;
    let got = twice(0, || async {
        let mut set = JoinSet::new();
        for _ in 0..300 {
            set.spawn(async {});
        }
        tokio::time::sleep(MS).await;
        let (mut joined, mut spent) = (0, Vec::new());
        loop {
            match set.join_next().now_or_never() {
                Some(Some(result)) => {
                    result.unwrap();
                    joined += 1;
                }
                Some(None) => break,
                None => {
                    spent.push(joined);
                    tokio::task::yield_now().await;
                }
            }
        }
        (joined, spent)
    });
    let (joined, spent) = got;
    assert_eq!(joined, 300);
    assert!(spent.len() >= 2, "{spent:?}");
    let mut last = 0;
    for at in spent {
        assert!(at > last && at - last <= 128, "budget spent after {at} results");
        last = at;
    }
}

/// tokio's `join_set_coop`, shape for shape: a `static` semaphore that every run of
/// the test shares (each run leaves it with 1000 more permits than it found, as in
/// tokio, where a second runtime in the process would see them), 1000 tasks that
/// each add a permit, `acquire_many` for all of them, then `join_next` until the
/// budget says `None`. It used to end in an escape on the second run (the semaphore
/// stayed bound to the first seed's simulation).
#[tokio::test(flavor = "current_thread", seeds = 10)]
async fn join_set_coop_with_a_static_semaphore() {
    use futures::FutureExt;
    const TASK_NUM: u32 = 1000;
    static SEM: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(0);
    let mut set = JoinSet::new();
    for _ in 0..TASK_NUM {
        set.spawn(async {
            SEM.add_permits(1);
        });
    }
    let _ = SEM.acquire_many(TASK_NUM).await.unwrap();
    let (mut count, mut coop_count) = (0, 0);
    loop {
        match set.join_next().now_or_never() {
            Some(Some(Ok(()))) => {}
            Some(Some(Err(err))) => panic!("failed: {err}"),
            None => {
                coop_count += 1;
                tokio::task::yield_now().await;
                continue;
            }
            Some(None) => break,
        }
        count += 1;
    }
    assert!(coop_count >= 1);
    assert_eq!(count, TASK_NUM);
}
