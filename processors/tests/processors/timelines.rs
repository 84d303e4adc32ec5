//! The concrete timelines of the processors issue, each run on tokio with paused
//! time and on the simulator (FIFO and random tie-breaking) with identical outputs
//! and emission times. Times are milliseconds after the start.

use std::time::Duration;

use processors::{Batcher, Debounce, Logic, Session, SessionWindow, SlidingWindow, Throttle, TumblingWindow, Window};

use crate::support::{check_timeline, ms, Record, Seen, Timeline};

/// Random seeds per timeline, on top of FIFO.
const SEEDS: u64 = 20;

fn out<O>(t: u64, o: O) -> (Duration, Seen<O>) {
    (ms(t), Seen::Out(o))
}

fn end<O>(t: u64) -> (Duration, Seen<O>) {
    (ms(t), Seen::End)
}

fn window<T>(start: u64, end: u64, items: Vec<T>) -> Window<T> {
    Window { start: ms(start), end: ms(end), items }
}

#[test]
fn throttle_50_passes_an_item_exactly_one_period_after_the_last() {
    let timeline = Timeline::oks([(0, 1), (50, 6)], 100);
    let expected: Record<u32> = vec![out(0, 1), out(50, 6), end(100)];
    check_timeline(&timeline, || Throttle::new(ms(50)), &expected, SEEDS);
}

#[test]
fn throttle_100_drops_a_second_item_at_the_same_instant() {
    let timeline = Timeline::oks([(0, 'a'), (0, 'b'), (100, 'c')], 200);
    let expected: Record<char> = vec![out(0, 'a'), out(100, 'c'), end(200)];
    check_timeline(&timeline, || Throttle::new(ms(100)), &expected, SEEDS);
}

#[test]
fn throttle_1000_passes_only_the_first_and_the_item_exactly_one_period_later() {
    let mut events = vec![(Duration::ZERO, Ok(0))];
    events.extend((1..=10).map(|n| (Duration::from_nanos(n), Ok(n as u32))));
    events.push((ms(1000), Ok(11)));
    let timeline = Timeline { events, close_at: ms(2000) };
    let expected: Record<u32> = vec![out(0, 0), out(1000, 11), end(2000)];
    check_timeline(&timeline, || Throttle::new(ms(1000)), &expected, SEEDS);
}

#[test]
fn debounce_100_emits_only_the_last_of_two_close_items_after_the_quiet_period() {
    let timeline = Timeline::oks([(0, 1), (50, 2)], 1000);
    let expected: Record<u32> = vec![out(150, 2), end(1000)];
    check_timeline(&timeline, || Debounce::new(ms(100)), &expected, SEEDS);
}

#[test]
fn debounce_100_emits_the_pending_item_before_an_input_at_exactly_its_deadline() {
    let timeline = Timeline::oks([(0, 1), (100, 2)], 1000);
    let expected: Record<u32> = vec![out(100, 1), out(200, 2), end(1000)];
    check_timeline(&timeline, || Debounce::new(ms(100)), &expected, SEEDS);
}

#[test]
fn debounce_passes_an_error_at_once_ahead_of_the_pending_item() {
    let timeline = Timeline { events: vec![(ms(0), Ok(1)), (ms(20), Err(9))], close_at: ms(1000) };
    let expected: Record<u32> = vec![(ms(20), Seen::Err(9)), out(100, 1), end(1000)];
    check_timeline(&timeline, || Debounce::new(ms(100)), &expected, SEEDS);
}

#[test]
fn batcher_emits_at_the_latency_deadline_and_items_at_the_deadline_start_the_next_batch() {
    let timeline = Timeline::oks([(0, 1), (0, 2), (100, 3), (100, 4)], 1000);
    let expected: Record<Vec<u32>> = vec![out(100, vec![1, 2]), out(200, vec![3, 4]), end(1000)];
    check_timeline(&timeline, || Batcher::new(10, Some(ms(100))).unwrap(), &expected, SEEDS);
}

#[test]
fn batcher_emits_a_full_batch_at_once_and_the_rest_at_the_deadline() {
    let timeline = Timeline::oks([(0, 1), (0, 2), (0, 3), (0, 4), (0, 5)], 1000);
    let expected: Record<Vec<u32>> = vec![out(0, vec![1, 2, 3]), out(100, vec![4, 5]), end(1000)];
    check_timeline(&timeline, || Batcher::new(3, Some(ms(100))).unwrap(), &expected, SEEDS);
}

#[test]
fn batcher_does_not_restart_the_deadline_for_later_items() {
    let timeline = Timeline::oks([(0, 1), (50, 2), (100, 3)], 1000);
    let expected: Record<Vec<u32>> = vec![out(100, vec![1, 2]), out(200, vec![3]), end(1000)];
    check_timeline(&timeline, || Batcher::new(3, Some(ms(100))).unwrap(), &expected, SEEDS);
}

#[test]
fn tumbling_100_puts_an_item_at_a_boundary_in_the_next_window() {
    let timeline = Timeline::oks([(0, 0), (30, 30), (60, 60), (100, 100), (130, 130)], 1000);
    let expected: Record<Window<u32>> =
        vec![out(100, window(0, 100, vec![0, 30, 60])), out(200, window(100, 200, vec![100, 130])), end(1000)];
    check_timeline(&timeline, || TumblingWindow::new(ms(100)).unwrap(), &expected, SEEDS);
}

#[test]
fn sliding_100_by_50_emits_each_window_at_its_end_in_order_of_start() {
    let timeline = Timeline::oks([(0, 0), (30, 30), (60, 60)], 1000);
    let expected: Record<Window<u32>> =
        vec![out(100, window(0, 100, vec![0, 30, 60])), out(150, window(50, 150, vec![60])), end(1000)];
    let sliding = || SlidingWindow::builder().size(ms(100)).slide(ms(50)).build().unwrap();
    check_timeline(&timeline, sliding, &expected, SEEDS);
}

#[test]
fn session_100_expires_at_the_last_item_plus_the_gap_and_an_item_then_starts_a_new_session() {
    let timeline = Timeline::oks([(0, ('a', 0)), (20, ('b', 20)), (50, ('a', 50)), (150, ('a', 150))], 1000);
    let session = |key, start, end, items| Session { key, start: ms(start), end: ms(end), items };
    let expected: Record<Session<char, (char, u32)>> = vec![
        out(120, session('b', 20, 120, vec![('b', 20)])),
        out(150, session('a', 0, 150, vec![('a', 0), ('a', 50)])),
        out(250, session('a', 150, 250, vec![('a', 150)])),
        end(1000),
    ];
    let sessions = || SessionWindow::new(ms(100), |item: &(char, u32)| item.0).unwrap();
    check_timeline(&timeline, sessions, &expected, SEEDS);
}

#[tokio::test(start_paused = true)]
async fn throttle_50_step_by_step_with_tokio_test_assertions() {
    use tokio_test::{assert_pending, assert_ready_eq};
    // The driver of the Go library's flaky test: send 1, receive 1, wait one period,
    // send 6, receive 6. Its first throttle armed a cooldown timer after emitting
    // and dropped the 6; a timestamp throttle cannot.
    let (tx, rx) = futures::channel::mpsc::unbounded::<Result<u32, ()>>();
    let mut throttled = tokio_test::task::spawn(Throttle::new(ms(50)).process(rx));
    assert_pending!(throttled.poll_next());
    tx.unbounded_send(Ok(1)).unwrap();
    assert!(throttled.is_woken());
    assert_ready_eq!(throttled.poll_next(), Some(Ok(1)));
    assert_pending!(throttled.poll_next());
    tokio::time::advance(ms(50)).await;
    assert!(!throttled.is_woken(), "a throttle sets no timer");
    tx.unbounded_send(Ok(6)).unwrap();
    assert_ready_eq!(throttled.poll_next(), Some(Ok(6)));
    drop(tx);
    assert_ready_eq!(throttled.poll_next(), None);
}

/// A processor tested the way a tokio user tests one: a spawned producer, a tokio channel,
/// paused time. On real tokio this is a `#[tokio::test]`; under `--cfg lockstep` it is
/// sim-tokio's, a simulation over many seeds (`LOCKSTEP_SEEDS`, default 1,000).
#[tokio::test(start_paused = true)]
async fn a_debounce_fed_by_a_spawned_producer_over_a_tokio_channel() {
    use futures::StreamExt;
    // Quiet 100 ms: 1 and 2 are replaced before their quiet ends, 3 is emitted at
    // 100 + 100; 4 is pending when the producer ends (and the channel closes) at 300,
    // and the close flushes it then.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<u32>(8);
    let start = tokio::time::Instant::now();
    let producer = tokio::spawn(async move {
        for (at, v) in [(0, 1), (50, 2), (100, 3), (300, 4)] {
            tokio::time::sleep_until(start + ms(at)).await;
            tx.send(v).await.unwrap();
        }
    });
    let input = futures::stream::poll_fn(move |cx| rx.poll_recv(cx));
    let debounced = Debounce::new(ms(100)).process_ok(input);
    let out: Vec<(Duration, u32)> = processors::timeline::stamped(debounced).collect().await;
    producer.await.unwrap();
    assert_eq!(out, [(ms(200), 3), (ms(300), 4)]);
}
