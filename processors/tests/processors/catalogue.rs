//! The race catalogue's fixed processors (`scenarios/src/races/`), on their scenarios'
//! input timelines: in both worlds the output is the record derived by hand below. The
//! `tests` crate checks that the catalogue's canonical run on the simulator emits the same
//! (`tests/tests/regression/tokio_parity.rs`), so the scenarios' outputs are tokio's with
//! paused time. The inputs are copied from the scenarios, which this crate cannot depend on.

use std::time::Duration;

use processors::{Batcher, Debounce, Throttle, TumblingWindow, Window};

use crate::support::{check_timeline, ms, Record, Seen, Timeline};

const SEEDS: u64 = 20;

fn out<O>(t: u64, o: O) -> (Duration, Seen<O>) {
    (ms(t), Seen::Out(o))
}

fn end<O>(t: u64) -> (Duration, Seen<O>) {
    (ms(t), Seen::End)
}

#[test]
fn two_phase_debounce() {
    // Quiet 100 ms. 1 is due at 100 when 2 arrives: 1 first, 2 pending until 200; 3 at
    // 150 replaces it (due 250); 4 arrives at 250: 3 first, 4 due at 350; 5 due at 500.
    let timeline = Timeline::oks([(0, 1), (100, 2), (150, 3), (250, 4), (400, 5)], 600);
    let expected: Record<u32> = vec![out(100, 1), out(250, 3), out(350, 4), out(500, 5), end(600)];
    check_timeline(&timeline, || Debounce::new(ms(100)), &expected, SEEDS);
}

#[test]
fn two_phase_batcher() {
    // At most 10, latency 100 ms: [1, 2] is due at 100 when 3 arrives; 3 starts the next
    // batch (due 200, when 5 arrives); 5's batch leaves at 300.
    let timeline = Timeline::oks([(0, 1), (50, 2), (100, 3), (150, 4), (200, 5)], 350);
    let expected: Record<Vec<u32>> = vec![out(100, vec![1, 2]), out(200, vec![3, 4]), out(300, vec![5]), end(350)];
    check_timeline(&timeline, || Batcher::new(10, Some(ms(100))).unwrap(), &expected, SEEDS);
}

#[test]
fn size_vs_latency() {
    // At most 3, latency 100 ms: 3 would fill [1, 2] but arrives at its deadline, so
    // [1, 2] leaves first; [3, 4, 5] is full at 140; 6's batch leaves at 300.
    let timeline = Timeline::oks([(0, 1), (40, 2), (100, 3), (120, 4), (140, 5), (200, 6)], 350);
    let expected: Record<Vec<u32>> = vec![out(100, vec![1, 2]), out(140, vec![3, 4, 5]), out(300, vec![6]), end(350)];
    check_timeline(&timeline, || Batcher::new(3, Some(ms(100))).unwrap(), &expected, SEEDS);
}

#[test]
fn throttle_hang() {
    // Period 50 ms: 6 arrives exactly one period after 1 and passes.
    let timeline = Timeline::oks([(0, 1), (50, 6)], 50);
    let expected: Record<u32> = vec![out(0, 1), out(50, 6), end(50)];
    check_timeline(&timeline, || Throttle::new(ms(50)), &expected, SEEDS);
}

#[test]
fn tick_loss() {
    // Tumbling windows of 100 ms; no items in [200, 400), so no windows there.
    let timeline = Timeline::oks([(10, 1), (110, 2), (420, 3), (450, 4), (530, 5)], 650);
    let window = |start, end, items| Window { start: ms(start), end: ms(end), items };
    let expected: Record<Window<u32>> = vec![
        out(100, window(0, 100, vec![1])),
        out(200, window(100, 200, vec![2])),
        out(500, window(400, 500, vec![3, 4])),
        out(600, window(500, 600, vec![5])),
        end(650),
    ];
    check_timeline(&timeline, || TumblingWindow::new(ms(100)).unwrap(), &expected, SEEDS);
}
