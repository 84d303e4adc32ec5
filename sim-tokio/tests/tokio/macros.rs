//! `join!`, `try_join!`, `pin!`, `#[tokio::test]` and `#[tokio::main]`.

use std::time::Duration;

use tokio::time::{sleep, Instant};

use crate::support::twice;

const MS: Duration = Duration::from_millis(1);

#[test]
fn join_awaits_all_concurrently() {
    let got = twice(0, || async {
        let start = Instant::now();
        let (a, b, ()) = tokio::join!(
            async { 1 },
            async {
                sleep(10 * MS).await;
                "b"
            },
            sleep(5 * MS)
        );
        (a, b, start.elapsed())
    });
    assert_eq!(got, (1, "b", 10 * MS));
}

#[test]
fn try_join_stops_at_the_first_error() {
    let got = twice(0, || async {
        let start = Instant::now();
        let ok: Result<(u8, u8), &str> = tokio::try_join!(async { Ok(1) }, async { Ok(2) });
        let err: Result<(u8, ()), &str> = tokio::try_join!(
            async {
                sleep(5 * MS).await;
                Err("first")
            },
            async {
                sleep(50 * MS).await;
                Ok(())
            }
        );
        (ok, err, start.elapsed())
    });
    assert_eq!(got, (Ok((1, 2)), Err("first"), 5 * MS));
}

#[test]
fn pin_pins_in_both_forms() {
    let got = twice(0, || async {
        let a = sleep(MS);
        tokio::pin!(a);
        (&mut a).await;
        tokio::pin! {
            let b = async { 2 };
        }
        (&mut b).await
    });
    assert_eq!(got, 2);
}

/// `#[tokio::test]` with tokio's arguments, over 50 seeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2, seeds = 50)]
async fn tokio_test_accepts_tokios_arguments() {
    let start = Instant::now();
    sleep(MS).await;
    assert_eq!(start.elapsed(), MS);
}

/// `start_paused = true` pauses the clock from the start, as tokio's (so
/// `time::advance` may move it).
#[tokio::test(flavor = "current_thread", start_paused = true, seeds = 5)]
async fn tokio_test_may_start_paused() {
    let start = Instant::now();
    tokio::time::advance(MS).await;
    assert_eq!(start.elapsed(), MS);
}

/// A multi-thread `#[tokio::test]` refuses `time::pause()` with tokio's panic.
#[tokio::test(flavor = "multi_thread", seeds = 1)]
#[should_panic(expected = "`time::pause()` requires the `current_thread` Tokio runtime")]
async fn a_multi_thread_tokio_test_refuses_to_pause_its_clock() {
    tokio::time::pause();
}

/// A body returning `Result` passes on `Ok`.
#[tokio::test(seeds = 10)]
async fn tokio_test_body_may_return_a_result() -> Result<(), std::num::ParseIntError> {
    let n: u32 = "12".parse()?;
    assert_eq!(n, 12);
    Ok(())
}

/// A body returning `Err` fails its run as every world of sim-core's check runner does
/// (one `Outcome` for both): a violation reported by `main` whose message is the
/// error's `Debug` form, with the lowest failing seed's report.
#[test]
fn tokio_test_body_returning_err_fails_its_run_with_the_error() {
    let entry = tokio::__private::Entry {
        module: module_path!(),
        name: "body_returns_err",
        package: "sim-tokio",
        integration: true,
        crate_name: "tokio",
        bin: None,
        seeds: Some(3),
        flavor: "current_thread",
        start_paused: false,
        strategy: "random",
        depth: None,
    };
    let body = || async { "twelve".parse::<u32>().map(drop) };
    let payload = std::panic::catch_unwind(|| tokio::__private::run_test(entry, body)).unwrap_err();
    let text = payload.downcast_ref::<String>().expect("the report");
    assert!(text.contains("seed 0 failed"), "{text}");
    let violated = "property violated (reported by `main`): Error: ParseIntError { kind: InvalidDigit }";
    assert!(text.contains(violated), "{text}");
}

/// `strategy = "pct"` with a depth, and `strategy = "exhaustive"`: the same body under
/// other searches of sim-core's one runner.
#[tokio::test(strategy = "pct", depth = 2, seeds = 20)]
async fn tokio_test_runs_pct_seeds() {
    let task = tokio::spawn(async { sleep(MS).await });
    sleep(MS).await;
    task.await.unwrap();
}

#[tokio::test(strategy = "exhaustive")]
async fn tokio_test_runs_every_class_of_orders() {
    let task = tokio::spawn(async { sleep(MS).await });
    sleep(MS).await;
    task.await.unwrap();
}

/// What `#[tokio::test]` calls, counted: the exhaustive search runs a world without a
/// choice point once and replays that first run (every check replays its first run):
/// 2 calls. PCT makes exactly 17 calls more than seeded random over the same seeds (both
/// replay the same seeds, picked by the seed): the canonical run and the 16 pilot PCT runs
/// that estimate its steps.
#[test]
fn tokio_test_strategies_run_through_the_one_runner() {
    use std::sync::atomic::{AtomicU64, Ordering};
    let calls = AtomicU64::new(0);
    let count = |strategy: &'static str, seeds: Option<u64>| {
        calls.store(0, Ordering::SeqCst);
        let entry = tokio::__private::Entry {
            module: module_path!(),
            name: "counted",
            package: env!("CARGO_PKG_NAME"),
            integration: true,
            crate_name: env!("CARGO_CRATE_NAME"),
            bin: None,
            seeds,
            flavor: "current_thread",
            start_paused: false,
            strategy,
            depth: None,
        };
        tokio::__private::run_test(entry, || {
            calls.fetch_add(1, Ordering::SeqCst);
            async { sleep(MS).await }
        });
        calls.load(Ordering::SeqCst)
    };
    assert_eq!(count("exhaustive", None), 2);
    let random = count("random", Some(30));
    assert!((31..=40).contains(&random), "30 seeds, seed 0 replayed, and the share's picks: {random}");
    assert_eq!(count("pct", Some(30)), random + 17);
}

/// `#[tokio::main]` on a helper: one simulation, canonical order.
#[tokio::main(flavor = "current_thread")]
async fn simulated_main(n: u64) -> Duration {
    let start = Instant::now();
    let handle = tokio::spawn(async move { sleep(Duration::from_millis(n)).await });
    handle.await.unwrap();
    start.elapsed()
}

#[test]
fn tokio_main_runs_the_body_as_one_simulation() {
    assert_eq!(simulated_main(7), 7 * MS);
}

/// `crate = "…"` names sim-tokio by another path (here its real name).
mod crate_argument {
    #[sim_tokio::test(crate = "sim_tokio", seeds = 3)]
    async fn the_crate_argument_names_the_facade() {
        sim_tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }

    #[sim_tokio::main(crate = "sim_tokio")]
    async fn main_with_crate() -> u32 {
        sim_tokio::spawn(async { 4 }).await.unwrap()
    }

    #[test]
    fn main_with_the_crate_argument() {
        assert_eq!(main_with_crate(), 4);
    }
}

/// `join!` polls a different future first on each poll, as tokio's: the start moves
/// on by one per poll of the `join!` (1 2 3, then 2 3 1, then 3 1 2, then 1 2 3), the
/// same under every seed. Each future records itself, then yields, four times.
#[test]
fn join_starts_one_further_on_each_poll_and_biased_keeps_the_order() {
    async fn record(x: u8, log: std::rc::Rc<std::cell::RefCell<Vec<u8>>>) {
        for _ in 0..4 {
            log.borrow_mut().push(x);
            tokio::task::yield_now().await;
        }
    }
    for seed in [0, 1, 2] {
        let got = twice(seed, || async {
            let log = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
            tokio::join!(record(1, log.clone()), record(2, log.clone()), record(3, log.clone()));
            let fair = std::mem::take(&mut *log.borrow_mut());
            tokio::join!(biased; record(1, log.clone()), record(2, log.clone()), record(3, log.clone()));
            let biased = std::mem::take(&mut *log.borrow_mut());
            let both: Result<(u8, u8), ()> = tokio::try_join!(
                async {
                    record(1, log.clone()).await;
                    Ok(1)
                },
                async {
                    record(2, log.clone()).await;
                    Ok(2)
                }
            );
            assert_eq!(both, Ok((1, 2)));
            let try_fair = std::mem::take(&mut *log.borrow_mut());
            (fair, biased, try_fair)
        });
        assert_eq!(got.0, [1, 2, 3, 2, 3, 1, 3, 1, 2, 1, 2, 3]);
        assert_eq!(got.1, [1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3]);
        assert_eq!(got.2, [1, 2, 2, 1, 1, 2, 2, 1]);
    }
}

/// A `join!` or `select!` future is exactly as large as tokio's (the figures tokio's
/// `join_size`, `join_size_biased` and `struct_size_*` tests assert, 64-bit targets):
/// the futures are stored once, in tokio's `MaybeDone` layout, the `select!` mask is
/// a `u8` up to 8 branches, and nothing else is kept across the `.await`.
#[cfg(target_pointer_width = "64")]
#[test]
fn join_and_select_futures_are_as_large_as_tokios() {
    use futures::future::ready;
    use std::mem::size_of_val;
    let join1 = async {
        let a = ready(0i32);
        tokio::join!(a)
    };
    let join2 = async {
        let (a, b) = (ready(0i32), ready(0i32));
        tokio::join!(a, b)
    };
    let biased1 = async {
        let a = ready(0i32);
        tokio::join!(biased; a)
    };
    let biased2 = async {
        let (a, b) = (ready(0i32), ready(0i32));
        tokio::join!(biased; a, b)
    };
    assert_eq!([size_of_val(&join1), size_of_val(&join2)], [32, 48]);
    assert_eq!([size_of_val(&biased1), size_of_val(&biased2)], [24, 40]);
    let select1 = async {
        let a = ready(0i32);
        tokio::select! { _ = a => {} }
    };
    let select2 = async {
        let (a, b) = (ready(0i32), ready(0i32));
        tokio::select! { _ = a => {}, _ = b => {} }
    };
    let select3 = async {
        let (a, b, c) = (ready(0i32), ready(0i32), ready(0i32));
        tokio::select! { _ = a => {}, _ = b => {}, _ = c => {} }
    };
    assert_eq!([size_of_val(&select1), size_of_val(&select2), size_of_val(&select3)], [32, 40, 48]);
}
