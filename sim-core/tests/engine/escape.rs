//! Escapes: what leaves the simulation is reported as [`FailureKind::Escape`] naming
//! the task, never a wrong result or a false deadlock.

use std::future::{poll_fn, Future};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use futures::future::{select, Either};
use sim_core::sync::mpsc;
use sim_core::time::sleep;
use sim_core::{Config, Failure, FailureKind, Sim};

const MS: Duration = Duration::from_millis(1);

/// A future that hands its waker to `wake_from` once and is ready when woken.
fn woken_by(wake_from: impl FnOnce(Waker) + 'static) -> impl Future<Output = ()> {
    let mut wake_from = Some(wake_from);
    let mut polled = false;
    poll_fn(move |cx: &mut Context<'_>| {
        if polled {
            return Poll::Ready(());
        }
        polled = true;
        if let Some(f) = wake_from.take() {
            f(cx.waker().clone());
        }
        Poll::Pending
    })
}

fn escape_of(failure: &Failure) -> (&str, &str) {
    match &failure.kind {
        FailureKind::Escape { task, cause } => (task.as_str(), cause.as_str()),
        _ => panic!("expected an escape: {failure}"),
    }
}

fn run_main(config: Config, future: impl Future<Output = ()> + 'static) -> Box<Failure> {
    let mut sim = Sim::new(config);
    sim.block_on(future).expect_err("the run escapes")
}

/// Another thread wakes the task: an escape naming it, whether the wake arrives
/// while the run is still stepping or during the deadlock's grace period.
#[test]
fn a_wake_from_another_thread_is_an_escape_naming_the_task() {
    for delay in [Duration::ZERO, 5 * MS] {
        let mut sim = Sim::new(Config::default());
        sim.spawn_named(
            "waiter",
            woken_by(move |waker| {
                std::thread::spawn(move || {
                    std::thread::sleep(delay);
                    waker.wake();
                });
            }),
        );
        let failure = sim.run().expect_err("the run escapes");
        let (task, cause) = escape_of(&failure);
        assert_eq!(task, "waiter");
        assert!(cause.starts_with("woken from another OS thread"), "{cause}");
        assert!(failure.to_string().starts_with("lockstep: escape in `simulation`"), "{failure}");
    }
}

/// The old flag marked a thread "simulation thread" forever once it had run one:
/// a wake from such a thread was not seen as foreign. Judged by thread id, it is.
#[test]
fn a_wake_from_a_thread_that_once_ran_a_simulation_is_still_foreign() {
    let failure = run_main(
        Config::default(),
        woken_by(|waker| {
            std::thread::spawn(move || {
                let mut own = Sim::new(Config::default());
                own.block_on(sleep(MS)).expect("the thread's own simulation passes");
                drop(own);
                waker.wake();
            });
        }),
    );
    assert_eq!(escape_of(&failure).0, "main");
}

/// A wake from the simulation's own thread outside any step is not foreign.
#[test]
fn a_wake_from_the_simulation_thread_between_steps_is_not_an_escape() {
    let slot = std::rc::Rc::new(std::cell::RefCell::new(None::<Waker>));
    let keep = slot.clone();
    let mut sim = Sim::new(Config::default());
    sim.spawn_named("waiter", woken_by(move |w| *keep.borrow_mut() = Some(w)));
    sim.run_until_idle().unwrap();
    slot.borrow_mut().take().unwrap().wake();
    sim.run().expect("woken on the simulation's thread: the run ends normally");
}

/// Nobody outside holds the waker: a deadlock at once, with no grace wait. A waker
/// held by a thread that never wakes within the grace period: still a deadlock.
#[test]
fn without_a_foreign_wake_a_deadlock_stays_a_deadlock() {
    let failure = run_main(Config::default(), std::future::pending());
    assert!(matches!(failure.kind, FailureKind::Deadlock { .. }), "{failure}");
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let failure = run_main(
        Config::default().foreign_wake_grace(10 * MS),
        woken_by(move |waker| {
            std::thread::spawn(move || {
                let _ = rx.recv();
                drop(waker);
            });
        }),
    );
    drop(tx);
    assert!(matches!(failure.kind, FailureKind::Deadlock { .. }), "{failure}");
}

/// A real tokio timer polled inside: tokio's "no reactor" panic becomes an escape.
#[test]
fn a_real_tokio_timer_polled_inside_is_an_escape() {
    let mut sim = Sim::new(Config::default());
    sim.spawn_named("ticker", async {
        tokio::time::sleep(MS).await;
    });
    let failure = sim.run().expect_err("the run escapes");
    let (task, cause) = escape_of(&failure);
    assert_eq!(task, "ticker");
    assert!(cause.contains("a real tokio timer or I/O resource was polled inside the simulation"), "{cause}");
}

/// A batcher built on futures-timer (its own timer thread): batches of up to 3
/// items, flushed 10 ms (real time) after a batch's first item.
async fn batcher(mut input: mpsc::Receiver<u32>, output: mpsc::Sender<Vec<u32>>) {
    while let Some(first) = input.recv().await {
        let mut batch = vec![first];
        let mut flush = futures_timer::Delay::new(10 * MS);
        while batch.len() < 3 {
            match select(Box::pin(input.recv()), &mut flush).await {
                Either::Left((Some(item), _)) => batch.push(item),
                Either::Left((None, _)) | Either::Right(((), _)) => break,
            }
        }
        if output.send(batch).await.is_err() {
            return;
        }
    }
}

/// The producer sends 1, then 2 at 20 ms (virtual), and wants two batches: [1]
/// flushed at 10 ms, then [2]. Under the simulator the 10 ms are real time, so
/// without escape detection item 2 would join the first batch (a wrong result)
/// and then the run would wait on a timer it cannot see (a false deadlock).
/// Instead the timer thread's wake-up ends the run as an escape naming the batcher.
#[test]
fn a_futures_timer_batcher_is_reported_as_an_escape() {
    for seed in 0..3 {
        let mut sim = Sim::new(Config::random(seed));
        let (in_tx, in_rx) = sim_core::named("items", || mpsc::channel(8));
        let (out_tx, mut out_rx) = sim_core::named("batches", || mpsc::channel(8));
        sim.spawn_named("batcher", batcher(in_rx, out_tx));
        let failure = sim
            .block_on(async move {
                in_tx.send(1).await.unwrap();
                sleep(20 * MS).await;
                in_tx.send(2).await.unwrap();
                let batches = [out_rx.recv().await, out_rx.recv().await];
                assert_eq!(batches, [Some(vec![1]), Some(vec![2])]);
            })
            .expect_err("the run escapes");
        let (task, cause) = escape_of(&failure);
        assert_eq!(task, "batcher", "seed {seed}");
        assert!(cause.starts_with("woken from another OS thread"), "{cause}");
    }
}

/// tokio's `sync_mpsc::blocking_send`: a channel created outside the simulation, its
/// sender on a `std::thread` that sends with `blocking_send` once the simulated `recv`
/// waits. The simulation has nothing left to do then: it used to report a deadlock at
/// once (the receiver's waker is kept by the channel, a Lockstep primitive). Since a
/// thread outside may hold the other end of a primitive created outside, it first
/// waits the grace period for that thread, whose wake is an escape saying so. Here
/// the thread sends only once the `recv` is pending, whatever the timing.
#[test]
fn a_blocking_send_from_a_thread_after_the_simulated_recv_waits_is_an_escape() {
    let (tx, mut rx) = mpsc::channel::<u8>(1);
    let (waiting, wait_seen) = std::sync::mpsc::channel::<()>();
    let thread = std::thread::spawn(move || {
        wait_seen.recv().unwrap();
        tx.blocking_send(10).unwrap();
    });
    let failure = run_main(Config::default().foreign_wake_grace(Duration::from_secs(60)), async move {
        let mut recv = Box::pin(rx.recv());
        let got = poll_fn(|cx| {
            let poll = recv.as_mut().poll(cx);
            if poll.is_pending() {
                let _ = waiting.send(());
            }
            poll
        })
        .await;
        assert_eq!(got, Some(10));
    });
    thread.join().unwrap();
    // The thread sends once `recv` is pending: usually after the simulation ran out of
    // events (the grace wait sees it, and names the wait), else while it still steps
    // (a foreign wake, seen at once). An escape either way, never a deadlock.
    let (task, cause) = escape_of(&failure);
    assert_eq!(task, "main");
    assert!(cause.starts_with("woken from another OS thread"), "{cause}");
    assert!(cause.contains("a `std::thread` calling `blocking_send`"), "{cause}");
    if cause.contains("after the simulation had run out of events") {
        assert!(cause.contains("(it waited: recv on `escape.rs:"), "{cause}");
    }
}

/// The same channel, with the thread's send done before the simulation runs: the
/// value is there when `recv` looks, and the run passes (tokio's test passes this
/// way when the thread wins the race; which one wins is up to the OS scheduler).
#[test]
fn a_blocking_send_from_a_thread_before_the_simulation_runs_is_received() {
    let (tx, mut rx) = mpsc::channel::<u8>(1);
    std::thread::spawn(move || tx.blocking_send(10).unwrap()).join().unwrap();
    let mut sim = Sim::new(Config::default());
    assert_eq!(sim.block_on(async move { rx.recv().await }).unwrap(), Some(10));
}

/// tokio's `task_abort::remote_abort_local_set_3929`: a task blocked on a future that
/// is not a Lockstep primitive, its `AbortHandle` on another thread, which aborts it
/// later. When the abort comes after the simulation ran out of events it is an
/// escape saying why (it used to be a deadlock at once); when it comes before, the
/// abort lands where the simulation runs out of events and the run passes. Which
/// one depends on the thread's timing: the test accepts only those two, and retries
/// with a longer delay until it has seen the escape.
#[test]
fn an_abort_from_another_thread_after_the_simulation_ran_out_of_events_is_an_escape() {
    let mut escaped = None;
    for delay in [10 * MS, 50 * MS, 200 * MS, Duration::from_secs(1)] {
        let mut sim = Sim::new(Config::default().foreign_wake_grace(Duration::from_secs(60)));
        let stuck = sim.spawn_named("stuck", std::future::pending::<()>());
        let abort = stuck.abort_handle();
        let thread = std::thread::spawn(move || {
            std::thread::sleep(delay);
            abort.abort();
        });
        let outcome = sim.block_on(async move { stuck.await.is_err() });
        thread.join().unwrap();
        match outcome {
            Ok(aborted) => assert!(aborted, "the abort landed: the join sees it"),
            Err(failure) => {
                let (task, cause) = escape_of(&failure);
                assert_eq!(task, "stuck");
                escaped = Some(cause.to_string());
                break;
            }
        }
    }
    let cause = escaped.expect("the thread aborted after the simulation ran out of events at least once");
    assert!(cause.starts_with("aborted from another OS thread after the simulation had run out of events"), "{cause}");
}

/// A task blocked on a future that is not a Lockstep primitive, with no handle left:
/// nothing can end it: a deadlock at once (a grace wait would take 60 s here).
#[test]
fn a_stuck_task_without_a_handle_is_a_deadlock() {
    let mut sim = Sim::new(Config::default().foreign_wake_grace(Duration::from_secs(60)));
    drop(sim.spawn_named("stuck", std::future::pending::<()>()));
    let failure = sim.run().unwrap_err();
    assert!(matches!(failure.kind, FailureKind::Deadlock { .. }), "{failure}");
}
