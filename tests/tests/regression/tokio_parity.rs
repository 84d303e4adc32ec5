//! The catalogue's fixed processors, run on real tokio with paused time, emit what
//! the simulator's canonical (FIFO) order emits for the same input timeline.

use std::fmt::Display;
use std::time::Duration;

use futures::{Stream, StreamExt};
use processors::{timeline, Batcher, Debounce, Logic, Throttle, TokioClock, TumblingWindow};
use scenarios::races::{size_latency, tick_loss, two_phase};
use scenarios::registry;
use scenarios::world::list;
use sim_core::Instant;

/// Runs `f` on a current-thread tokio runtime with paused (auto-advancing) time.
fn paused<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap().block_on(f)
}

/// Collects a processor's output stamped with emission times, written as the
/// scenarios' output timelines are (`[100ms [1, 2], …]`).
async fn stamped<S: Stream>(stream: S, show: impl Fn(&S::Item) -> String) -> String {
    let out: Vec<(Duration, S::Item)> = timeline::stamped(TokioClock, stream).collect().await;
    let items: Vec<String> = out.iter().map(|(t, v)| format!("{} {}", Instant::ZERO + *t, show(v))).collect();
    format!("[{}]", items.join(", "))
}

fn canonical(name: &str) -> String {
    registry::get(name).unwrap().canonical().expect("the canonical order passes").to_string()
}

fn show<T: Display>(v: &T) -> String {
    v.to_string()
}

#[test]
fn the_debounce_on_paused_tokio_emits_the_simulators_canonical_output() {
    let got = paused(async {
        let input = timeline::timed(TokioClock, two_phase::debounce_input()).close_at(two_phase::DEBOUNCE_CLOSE);
        stamped(Debounce::new(two_phase::QUIET).process_ok(TokioClock, input), show).await
    });
    assert_eq!(got, canonical("two-phase-debounce/fixed"));
}

#[test]
fn the_batchers_on_paused_tokio_emit_the_simulators_canonical_output() {
    let got = paused(async {
        let input = timeline::timed(TokioClock, two_phase::batcher_input()).close_at(two_phase::BATCHER_CLOSE);
        let batcher = Batcher::new(two_phase::MAX_SIZE, Some(two_phase::LATENCY)).unwrap();
        stamped(batcher.process_ok(TokioClock, input), |b| list(b)).await
    });
    assert_eq!(got, canonical("two-phase-batcher/fixed"));
    let got = paused(async {
        let input = timeline::timed(TokioClock, size_latency::input()).close_at(size_latency::CLOSE);
        let batcher = Batcher::new(size_latency::MAX_SIZE, Some(size_latency::LATENCY)).unwrap();
        stamped(batcher.process_ok(TokioClock, input), |b| list(b)).await
    });
    assert_eq!(got, canonical("size-vs-latency/fixed"));
}

#[test]
fn the_throttle_on_paused_tokio_passes_what_the_simulator_passes() {
    let got = paused(async {
        let input = timeline::timed(TokioClock, [(Duration::ZERO, 1u32), (Duration::from_millis(50), 6)]);
        let throttle = Throttle::new(scenarios::races::throttle_hang::PERIOD);
        stamped(throttle.process_ok(TokioClock, input), show).await
    });
    assert_eq!(got, canonical("throttle-hang/fixed"));
}

#[test]
fn the_tumbling_window_on_paused_tokio_forms_the_simulators_windows() {
    // The simulated consumer is slow, so only the windows (not their emission times) compare.
    let got = paused(async {
        let input = timeline::timed(TokioClock, tick_loss::input()).close_at(tick_loss::CLOSE);
        let windows = TumblingWindow::new(tick_loss::SIZE).unwrap().process_ok(TokioClock, input);
        windows.map(|w| tick_loss::show(&w)).collect::<Vec<_>>().await
    });
    let simulated = registry::get("tick-loss/fixed").unwrap().canonical().unwrap();
    let windows: Vec<String> = simulated.0.iter().map(|e| e.value.clone()).collect();
    assert_eq!(got, windows);
}
