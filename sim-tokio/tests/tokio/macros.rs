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
#[tokio::test(flavor = "multi_thread", worker_threads = 2, start_paused = true, seeds = 50)]
async fn tokio_test_accepts_tokios_arguments() {
    let start = Instant::now();
    sleep(MS).await;
    assert_eq!(start.elapsed(), MS);
}

/// A body returning `Result` passes on `Ok`.
#[tokio::test(seeds = 10)]
async fn tokio_test_body_may_return_a_result() -> Result<(), std::num::ParseIntError> {
    let n: u32 = "12".parse()?;
    assert_eq!(n, 12);
    Ok(())
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
