//! The invariant checks catch what they must (the tester tested).

use std::time::Duration;

use processors::Window;
use scenarios::props;
use sim_core::time::Instant;

fn at(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

const MS: fn(u64) -> Duration = Duration::from_millis;

#[test]
fn the_throttle_check_flags_a_lost_item_and_items_too_close() {
    let inputs = [(at(0), 1), (at(50), 6)];
    assert!(props::throttle(MS(50), &inputs, &[(at(0), 1), (at(50), 6)]).is_empty());
    let lost = props::throttle(MS(50), &inputs, &[(at(0), 1)]);
    assert_eq!(lost.len(), 1, "{lost:?}");
    assert!(lost[0].contains("6 sent at 50ms was dropped"), "{lost:?}");
    let close = props::throttle(MS(50), &[(at(0), 1), (at(10), 2)], &[(at(0), 1), (at(10), 2)]);
    assert!(close[0].contains("within the period"), "{close:?}");
}

#[test]
fn the_debounce_check_flags_an_item_replaced_at_its_deadline() {
    let inputs = [(at(0), 1), (at(100), 2)];
    assert!(props::debounce(MS(100), &inputs, at(300), &[(at(100), 1), (at(200), 2)]).is_empty());
    let lost = props::debounce(MS(100), &inputs, at(300), &[(at(200), 2)]);
    assert!(lost[0].contains("1 was followed by 100ms of silence"), "{lost:?}");
    let early = props::debounce(MS(100), &[(at(0), 1)], at(50), &[(at(50), 1)]);
    assert!(early.is_empty(), "close flushes at once: {early:?}");
}

#[test]
fn the_batcher_check_flags_an_item_at_the_deadline_joining_the_old_batch() {
    let inputs = [(at(0), 1), (at(100), 2)];
    assert!(props::batcher(3, MS(100), &inputs, &[(at(100), vec![1]), (at(200), vec![2])]).is_empty());
    let joined = props::batcher(3, MS(100), &inputs, &[(at(100), vec![1, 2])]);
    assert!(joined[0].contains("2 arrived at 100ms, at or after its batch's deadline"), "{joined:?}");
    let big = props::batcher(1, MS(100), &inputs, &[(at(0), vec![1, 2])]);
    assert!(big.iter().any(|p| p.contains("a batch of 2 items")), "{big:?}");
}

#[test]
fn the_window_check_flags_merged_windows_and_misplaced_items() {
    let w = |start: u64, end: u64, items: Vec<u32>| Window { start: MS(start), end: MS(end), items };
    let inputs = [(at(10), 1), (at(150), 2)];
    let good = [(at(100), w(0, 100, vec![1])), (at(200), w(100, 200, vec![2]))];
    assert!(props::tumbling(MS(100), &inputs, at(300), &good).is_empty());
    let merged = props::tumbling(MS(100), &inputs, at(300), &[(at(200), w(0, 200, vec![1, 2]))]);
    assert!(merged[0].contains("covers 200ms, not 100ms"), "{merged:?}");
}
