//! The catalogue's fixed processors emit, in the simulator's canonical (FIFO) order, what
//! they emit on real tokio with paused time for the same input timeline.
//!
//! The processors are written once in plain tokio, and in this workspace (`--cfg lockstep`)
//! they run on the simulator only; their tests run on real tokio in CI's stage
//! "processors on real tokio". So the comparison goes through one record per scenario,
//! derived by hand: `processors/tests/processors/catalogue.rs` checks that the processor
//! emits it on both worlds (tokio with paused time, and the simulator under FIFO and
//! seeds), and this file that the catalogue's scenario, with its channels and consumer,
//! emits it in its canonical order.

use scenarios::registry;

fn canonical(name: &str) -> String {
    registry::get(name).unwrap().canonical().expect("the canonical order passes").to_string()
}

#[test]
fn the_debounce_emits_in_the_canonical_order_what_it_emits_on_paused_tokio() {
    assert_eq!(canonical("two-phase-debounce/fixed"), "[100ms 1, 250ms 3, 350ms 4, 500ms 5]");
}

#[test]
fn the_batchers_emit_in_the_canonical_order_what_they_emit_on_paused_tokio() {
    assert_eq!(canonical("two-phase-batcher/fixed"), "[100ms [1, 2], 200ms [3, 4], 300ms [5]]");
    assert_eq!(canonical("size-vs-latency/fixed"), "[100ms [1, 2], 140ms [3, 4, 5], 300ms [6]]");
}

#[test]
fn the_throttle_passes_in_the_canonical_order_what_it_passes_on_paused_tokio() {
    assert_eq!(canonical("throttle-hang/fixed"), "[0s 1, 50ms 6]");
}

#[test]
fn the_tumbling_window_forms_in_the_canonical_order_the_windows_it_forms_on_paused_tokio() {
    // The simulated consumer is slow, so only the windows (not their emission times) compare.
    let simulated = registry::get("tick-loss/fixed").unwrap().canonical().unwrap();
    let windows: Vec<String> = simulated.0.iter().map(|e| e.value.clone()).collect();
    let expected = [(0, 100, "[1]"), (100, 200, "[2]"), (400, 500, "[3, 4]"), (500, 600, "[5]")];
    let expected: Vec<String> = expected
        .iter()
        .map(|&(start, end, items)| {
            let ms = std::time::Duration::from_millis;
            format!("[{:?}, {:?}): {items}", ms(start), ms(end))
        })
        .collect();
    assert_eq!(windows, expected);
}
