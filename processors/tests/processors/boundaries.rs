//! Every boundary of the semantics page, through the full driver: inputs at exactly
//! a deadline (also when the timer has not fired), `period`/`quiet` zero, close with
//! held items, cancel with held items, errors overtaking held items.

use std::cell::Cell;
use std::collections::VecDeque;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::{Stream, StreamExt};
use processors::{
    Batcher, ConfigError, Debounce, Logic, Session, SessionWindow, SlidingWindow, Throttle, TumblingWindow, Window,
};

use crate::support::{check_timeline, ms, Record, Seen, Timeline};

const SEEDS: u64 = 10;

fn out<O>(t: u64, o: O) -> (Duration, Seen<O>) {
    (ms(t), Seen::Out(o))
}

fn err<O>(t: u64, e: u32) -> (Duration, Seen<O>) {
    (ms(t), Seen::Err(e))
}

fn end<O>(t: u64) -> (Duration, Seen<O>) {
    (ms(t), Seen::End)
}

fn window<T>(start: u64, end: u64, items: Vec<T>) -> Window<T> {
    Window { start: ms(start), end: ms(end), items }
}

// ---- a deadline handled before an input at it, although its timer has not fired ----

/// `n` ms and a half: a deadline there falls between two of tokio's millisecond timer
/// ticks, so on tokio its timer fires at `n + 1` ms, after an input at exactly `n.5` ms
/// has been consumed: the driver must fire the deadline itself. On the simulator the
/// timer's firing and the input's wake-up fall on one instant and the seeds order them
/// both ways.
fn off_tick(n: u64) -> Duration {
    ms(n) + Duration::from_micros(500)
}

fn poll<S: Stream + Unpin>(stream: &mut S) -> Poll<Option<S::Item>> {
    let mut cx = Context::from_waker(futures::task::noop_waker_ref());
    Pin::new(stream).poll_next(&mut cx)
}

fn window_at<T>(start: Duration, end: Duration, items: Vec<T>) -> Window<T> {
    Window { start, end, items }
}

#[test]
fn debounce_fires_its_deadline_before_an_input_at_that_instant_even_if_its_timer_has_not_fired() {
    let timeline = Timeline { events: vec![(ms(0), Ok(1)), (off_tick(100), Ok(2))], close_at: ms(150) };
    let expected: Record<u32> = vec![(off_tick(100), Seen::Out(1)), out(150, 2), end(150)];
    check_timeline(&timeline, || Debounce::new(off_tick(100)), &expected, SEEDS);
}

#[test]
fn batcher_starts_a_new_batch_with_an_input_at_the_deadline_even_if_its_timer_has_not_fired() {
    let timeline =
        Timeline { events: vec![(ms(0), Ok(1)), (ms(50), Ok(2)), (off_tick(100), Ok(3))], close_at: ms(150) };
    let expected: Record<Vec<u32>> = vec![(off_tick(100), Seen::Out(vec![1, 2])), out(150, vec![3]), end(150)];
    check_timeline(&timeline, || Batcher::new(3, Some(off_tick(100))).unwrap(), &expected, SEEDS);
}

#[test]
fn tumbling_window_closes_before_an_input_at_its_end_even_if_its_timer_has_not_fired() {
    let size = off_tick(100);
    let timeline = Timeline { events: vec![(ms(0), Ok(1)), (size, Ok(2))], close_at: ms(150) };
    let expected: Record<Window<u32>> = vec![
        (size, Seen::Out(window_at(ms(0), size, vec![1]))),
        (ms(150), Seen::Out(window_at(size, size * 2, vec![2]))),
        end(150),
    ];
    check_timeline(&timeline, || TumblingWindow::new(size).unwrap(), &expected, SEEDS);
}

#[test]
fn sliding_windows_close_before_an_input_at_their_end_even_if_the_timer_has_not_fired() {
    let (size, slide) = (off_tick(100), off_tick(100) / 2);
    let timeline = Timeline { events: vec![(ms(0), Ok(1)), (size, Ok(2))], close_at: ms(120) };
    let expected: Record<Window<u32>> = vec![
        (size, Seen::Out(window_at(ms(0), size, vec![1]))),
        // The item at 0 belongs to the window starting at 0 only.
        (ms(120), Seen::Out(window_at(slide, slide + size, vec![2]))),
        (ms(120), Seen::Out(window_at(size, size * 2, vec![2]))),
        end(120),
    ];
    check_timeline(&timeline, || SlidingWindow::new(size, slide).unwrap(), &expected, SEEDS);
}

#[test]
fn session_expires_before_an_input_at_its_expiry_even_if_its_timer_has_not_fired() {
    let gap = off_tick(100);
    let timeline = Timeline { events: vec![(ms(0), Ok(1)), (gap, Ok(2))], close_at: ms(150) };
    let session = |start, end, items| Session { key: (), start, end, items };
    let expected: Record<Session<(), u32>> = vec![
        (gap, Seen::Out(session(ms(0), gap, vec![1]))),
        (ms(150), Seen::Out(session(gap, gap * 2, vec![2]))),
        end(150),
    ];
    check_timeline(&timeline, || SessionWindow::new(gap, |_: &u32| ()).unwrap(), &expected, SEEDS);
}

#[test]
fn an_error_at_exactly_a_deadline_comes_after_the_deadlines_output() {
    let timeline = Timeline { events: vec![(ms(0), Ok(1)), (off_tick(100), Err(9))], close_at: ms(1000) };
    let expected: Record<u32> = vec![(off_tick(100), Seen::Out(1)), (off_tick(100), Seen::Err(9)), end(1000)];
    check_timeline(&timeline, || Debounce::new(off_tick(100)), &expected, SEEDS);
}

/// docs/processors.md, "State before hand-off": the logic sets its next deadline
/// together with an output, and the driver re-arms its timer for that deadline before
/// it hands the output on. A consumer that takes the output and lets time pass without
/// polling again is woken at the deadline (the Go library's throttle armed its timer
/// after the hand-off, and a test that moved its fake clock right after receiving hung).
#[tokio::test(start_paused = true)]
async fn the_driver_rearms_its_timer_before_handing_on_an_output_that_set_a_deadline() {
    use tokio_test::{assert_pending, assert_ready_eq};
    // Sliding windows of 100 ms every 50 ms; one item at 60 ms belongs to [0, 100) and
    // [50, 150).
    let (tx, rx) = futures::channel::mpsc::unbounded::<Result<u32, ()>>();
    let mut windows = tokio_test::task::spawn(SlidingWindow::new(ms(100), ms(50)).unwrap().process(rx));
    tokio::time::advance(ms(60)).await;
    tx.unbounded_send(Ok(7)).unwrap();
    assert_pending!(windows.poll_next());
    // To 110 ms: the timer armed for 100 ms has fired.
    tokio::time::advance(ms(50)).await;
    assert!(windows.is_woken(), "the timer for 100 ms woke the processor");
    // The deadline closes [0, 100) and sets the next one, 150 ms, in one step.
    assert_ready_eq!(windows.poll_next(), Some(Ok(window(0, 100, vec![7]))));
    assert_eq!(windows.deadline(), Some(ms(150)), "the state changed before the hand-off");
    // Not polled again: past 150 ms (to 160 ms, so that on the simulator the processor's
    // timer fires before this task's, in every order).
    tokio::time::advance(ms(50)).await;
    assert!(windows.is_woken(), "the timer for 150 ms was armed before [0, 100) was handed on");
    assert_ready_eq!(windows.poll_next(), Some(Ok(window(50, 150, vec![7]))));
    drop(tx);
    assert_ready_eq!(windows.poll_next(), None);
}

#[tokio::test(start_paused = true)]
async fn the_output_stays_ended_after_it_ended() {
    use tokio_test::assert_ready_eq;
    let (tx, rx) = futures::channel::mpsc::unbounded::<Result<u32, ()>>();
    let mut batches = tokio_test::task::spawn(Batcher::new(2, None).unwrap().process(rx));
    tx.unbounded_send(Ok(1)).unwrap();
    drop(tx);
    assert_ready_eq!(batches.poll_next(), Some(Ok(vec![1])));
    for _ in 0..3 {
        assert_ready_eq!(batches.poll_next(), None);
    }
    assert!(futures::stream::FusedStream::is_terminated(&*batches));
}

// ---- zero periods, on both backends ----

#[test]
fn throttle_with_period_zero_passes_every_item_even_at_one_instant() {
    let timeline = Timeline::oks([(0, 1), (0, 2), (10, 3), (10, 4)], 20);
    let expected: Record<u32> = vec![out(0, 1), out(0, 2), out(10, 3), out(10, 4), end(20)];
    check_timeline(&timeline, || Throttle::new(Duration::ZERO), &expected, SEEDS);
}

#[test]
fn debounce_with_quiet_zero_emits_every_item_when_it_arrives() {
    let timeline = Timeline::oks([(0, 1), (0, 2), (10, 3)], 20);
    let expected: Record<u32> = vec![out(0, 1), out(0, 2), out(10, 3), end(20)];
    check_timeline(&timeline, || Debounce::new(Duration::ZERO), &expected, SEEDS);
}

#[test]
fn batcher_with_latency_zero_emits_each_item_alone() {
    let timeline = Timeline::oks([(0, 1), (0, 2), (10, 3)], 20);
    let expected: Record<Vec<u32>> = vec![out(0, vec![1]), out(0, vec![2]), out(10, vec![3]), end(20)];
    check_timeline(&timeline, || Batcher::new(5, Some(Duration::ZERO)).unwrap(), &expected, SEEDS);
}

#[test]
fn a_deadline_between_tokio_timer_ticks_is_still_handled_before_an_input_at_it() {
    // Tokio's timers tick in milliseconds: the deadline at 100.5 ms fires on tokio
    // at 101 ms, after the input at 100.5 ms has already arrived.
    let quiet = ms(100) + Duration::from_micros(500);
    let timeline = Timeline { events: vec![(ms(0), Ok(1)), (quiet, Ok(2))], close_at: ms(1000) };
    let expected: Record<u32> = vec![(quiet, Seen::Out(1)), (quiet * 2, Seen::Out(2)), end(1000)];
    check_timeline(&timeline, || Debounce::new(quiet), &expected, SEEDS);
}

// ---- close with held items ----

#[test]
fn debounce_close_emits_the_pending_item_at_once() {
    let timeline = Timeline::oks([(0, 1), (10, 2)], 30);
    let expected: Record<u32> = vec![out(30, 2), end(30)];
    check_timeline(&timeline, || Debounce::new(ms(100)), &expected, SEEDS);
}

#[test]
fn debounce_close_at_exactly_the_deadline_emits_the_item_once() {
    let timeline = Timeline::oks([(0, 1)], 100);
    let expected: Record<u32> = vec![out(100, 1), end(100)];
    check_timeline(&timeline, || Debounce::new(ms(100)), &expected, SEEDS);
}

#[test]
fn batcher_close_emits_the_partial_batch() {
    let timeline = Timeline::oks([(0, 1), (0, 2), (5, 3)], 30);
    let expected: Record<Vec<u32>> = vec![out(0, vec![1, 2]), out(30, vec![3]), end(30)];
    check_timeline(&timeline, || Batcher::new(2, None).unwrap(), &expected, SEEDS);
}

#[test]
fn tumbling_close_emits_the_current_window_with_its_nominal_end() {
    let timeline = Timeline::oks([(10, 1), (120, 2)], 150);
    let expected: Record<Window<u32>> =
        vec![out(100, window(0, 100, vec![1])), out(150, window(100, 200, vec![2])), end(150)];
    check_timeline(&timeline, || TumblingWindow::new(ms(100)).unwrap(), &expected, SEEDS);
}

#[test]
fn sliding_close_emits_every_open_window_holding_items_in_order_of_start() {
    let timeline = Timeline::oks([(10, 1), (60, 2)], 70);
    let expected: Record<Window<u32>> =
        vec![out(70, window(0, 100, vec![1, 2])), out(70, window(50, 150, vec![2])), end(70)];
    let sliding = || SlidingWindow::new(ms(100), ms(50)).unwrap();
    check_timeline(&timeline, sliding, &expected, SEEDS);
}

#[test]
fn session_close_emits_open_sessions_by_start_then_key() {
    let timeline = Timeline::oks([(0, ('c', 1)), (0, ('a', 2)), (10, ('b', 3)), (20, ('c', 4))], 50);
    let session = |key, start, end, items| Session { key, start: ms(start), end: ms(end), items };
    let expected: Record<Session<char, (char, u32)>> = vec![
        out(50, session('a', 0, 100, vec![('a', 2)])),
        out(50, session('c', 0, 120, vec![('c', 1), ('c', 4)])),
        out(50, session('b', 10, 110, vec![('b', 3)])),
        end(50),
    ];
    let sessions = || SessionWindow::new(ms(100), |item: &(char, u32)| item.0).unwrap();
    check_timeline(&timeline, sessions, &expected, SEEDS);
}

#[test]
fn throttle_close_emits_nothing_more() {
    let timeline = Timeline::oks([(0, 1), (10, 2)], 20);
    let expected: Record<u32> = vec![out(0, 1), end(20)];
    check_timeline(&timeline, || Throttle::new(ms(100)), &expected, SEEDS);
}

// ---- errors overtake held items and touch no state ----

#[test]
fn batcher_passes_errors_at_once_without_touching_the_batch() {
    let timeline = Timeline {
        events: vec![(ms(0), Ok(1)), (ms(10), Err(7)), (ms(20), Ok(2)), (ms(20), Ok(3))],
        close_at: ms(500),
    };
    let expected: Record<Vec<u32>> = vec![err(10, 7), out(20, vec![1, 2]), out(120, vec![3]), end(500)];
    check_timeline(&timeline, || Batcher::new(2, Some(ms(100))).unwrap(), &expected, SEEDS);
}

#[test]
fn throttle_errors_pass_and_do_not_start_a_period() {
    let timeline = Timeline {
        events: vec![(ms(0), Err(1)), (ms(10), Ok(2)), (ms(20), Err(3)), (ms(30), Ok(4))],
        close_at: ms(500),
    };
    let expected: Record<u32> = vec![err(0, 1), out(10, 2), err(20, 3), end(500)];
    check_timeline(&timeline, || Throttle::new(ms(100)), &expected, SEEDS);
}

#[test]
fn debounce_errors_do_not_restart_the_quiet_period() {
    let timeline = Timeline { events: vec![(ms(0), Ok(1)), (ms(90), Err(2))], close_at: ms(500) };
    let expected: Record<u32> = vec![err(90, 2), out(100, 1), end(500)];
    check_timeline(&timeline, || Debounce::new(ms(100)), &expected, SEEDS);
}

#[test]
fn window_errors_overtake_the_open_windows() {
    let timeline = Timeline { events: vec![(ms(10), Ok(1)), (ms(60), Err(9))], close_at: ms(500) };
    let tumbling: Record<Window<u32>> = vec![err(60, 9), out(100, window(0, 100, vec![1])), end(500)];
    check_timeline(&timeline, || TumblingWindow::new(ms(100)).unwrap(), &tumbling, SEEDS);
    let sliding: Record<Window<u32>> = vec![err(60, 9), out(100, window(0, 100, vec![1])), end(500)];
    check_timeline(&timeline, || SlidingWindow::new(ms(100), ms(100)).unwrap(), &sliding, SEEDS);
    let session = Session { key: (), start: ms(10), end: ms(110), items: vec![1] };
    let sessions: Record<Session<(), u32>> = vec![err(60, 9), out(110, session), end(500)];
    check_timeline(&timeline, || SessionWindow::new(ms(100), |_: &u32| ()).unwrap(), &sessions, SEEDS);
}

// ---- cancel ----

/// Items that count how many of them are alive.
#[derive(Debug)]
struct Tracked(Rc<Cell<usize>>);

impl Tracked {
    fn new(alive: &Rc<Cell<usize>>) -> Tracked {
        alive.set(alive.get() + 1);
        Tracked(alive.clone())
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.0.set(self.0.get() - 1);
    }
}

/// On the simulator, with its own channel: the producer sees the input closed.
#[cfg(lockstep)]
#[test]
fn dropping_the_output_drops_held_items_and_emits_nothing_more() {
    use sim_core::{Config, Sim};
    let alive = Rc::new(Cell::new(0));
    let mut sim = Sim::new(Config::default());
    let (tx, rx) = sim.enter(sim_core::sync::mpsc::unbounded_channel::<Result<Tracked, ()>>);
    let items: Vec<Tracked> = (0..3).map(|_| Tracked::new(&alive)).collect();
    let driver = sim.spawn(async move {
        for item in items {
            tx.send(Ok(item)).unwrap();
        }
        sim_core::time::sleep(ms(50)).await;
        // The consumer has cancelled: the channel is closed.
        tx.send(Err(())).is_err()
    });
    let held = alive.clone();
    let after_cancel = sim
        .block_on(async move {
            let mut batches = Batcher::new(10, Some(ms(100))).unwrap().process(rx);
            let first = sim_core::time::timeout(ms(20), batches.next()).await;
            assert!(first.is_err(), "nothing is emitted before the deadline");
            assert_eq!(held.get(), 3, "the batcher holds three items");
            drop(batches);
            held.get()
        })
        .unwrap();
    assert_eq!(after_cancel, 0, "cancelling dropped the held items");
    assert!(sim.block_on(driver).unwrap().unwrap(), "a send after cancel fails");
    sim.run().unwrap();
    assert_eq!(alive.get(), 0);
}

#[tokio::test(start_paused = true)]
async fn dropping_the_output_drops_held_items() {
    let alive = Rc::new(Cell::new(0));
    let (tx, rx) = futures::channel::mpsc::unbounded::<Result<Tracked, ()>>();
    let mut debounced = tokio_test::task::spawn(Debounce::new(ms(100)).process(rx));
    tx.unbounded_send(Ok(Tracked::new(&alive))).unwrap();
    tokio_test::assert_pending!(debounced.poll_next());
    assert_eq!(alive.get(), 1, "the debounce holds the item");
    drop(debounced);
    assert_eq!(alive.get(), 0, "cancelling dropped it");
    assert!(tx.unbounded_send(Err(())).is_err(), "the input is closed for the producer");
}

#[tokio::test(start_paused = true)]
async fn stopping_with_take_until_emits_nothing_held() {
    let start = tokio::time::Instant::now();
    let input = processors::timeline::timed([(ms(0), 1), (ms(10), 2)]).close_at(ms(500));
    let debounced = Debounce::new(ms(100)).process_ok(input);
    let out: Vec<u32> = debounced.take_until(tokio::time::sleep(ms(50))).collect().await;
    assert_eq!((out, start.elapsed()), (vec![], ms(50)));
}

// ---- configuration ----

#[test]
fn every_impossible_configuration_is_a_typed_error() {
    assert_eq!(Batcher::<u8>::new(0, None).unwrap_err(), ConfigError::ZeroBatchSize);
    assert_eq!(TumblingWindow::<u8>::new(Duration::ZERO).unwrap_err(), ConfigError::ZeroWindowSize);
    assert_eq!(SlidingWindow::<u8>::new(Duration::ZERO, ms(1)).unwrap_err(), ConfigError::ZeroWindowSize);
    assert_eq!(SlidingWindow::<u8>::new(ms(1), Duration::ZERO).unwrap_err(), ConfigError::ZeroSlide);
    assert_eq!(
        SlidingWindow::builder().size(ms(1)).slide(ms(2)).build::<u8>().unwrap_err(),
        ConfigError::SlideLargerThanSize { slide: ms(2), size: ms(1) }
    );
    assert_eq!(SlidingWindow::builder().slide(ms(2)).build::<u8>().unwrap_err(), ConfigError::Missing("size"));
    let gap_zero = SessionWindow::<u8, u8, _>::new(Duration::ZERO, |v: &u8| *v);
    assert_eq!(gap_zero.unwrap_err(), ConfigError::ZeroSessionGap);
    let message = ConfigError::SlideLargerThanSize { slide: ms(2), size: ms(1) }.to_string();
    assert_eq!(message, "sliding window slide (2ms) must not be larger than its size (1ms)");
}

#[tokio::test(start_paused = true)]
async fn a_logic_that_leaves_its_deadline_due_is_reported_instead_of_spinning() {
    struct Stuck;
    impl Logic for Stuck {
        type In = ();
        type Out = ();
        fn deadline(&self) -> Option<Duration> {
            Some(Duration::ZERO)
        }
        fn on_deadline(&mut self, _now: Duration, _out: &mut VecDeque<()>) {}
        fn on_item(&mut self, _now: Duration, _item: (), _out: &mut VecDeque<()>) {}
        fn on_close(&mut self, _now: Duration, _out: &mut VecDeque<()>) {}
    }
    let mut stuck = Stuck.process(futures::stream::pending::<Result<(), ()>>());
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| poll(&mut stuck))).unwrap_err();
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(message.contains("left the deadline"), "{message}");
}

// ---- production: real tokio time, Send (built without `--cfg lockstep`) ----

/// On tokio a processor is `Send` (tokio's `Sleep` is); under the simulator, which runs on
/// one thread, `spawn` does not ask for it.
#[cfg(not(lockstep))]
#[test]
fn processors_on_tokio_are_send_so_they_can_be_spawned() {
    fn assert_send<T: Send>(_: &T) {}
    let input = || futures::stream::empty::<Result<u32, std::io::Error>>();
    assert_send(&Throttle::new(ms(1)).process(input()));
    assert_send(&Debounce::new(ms(1)).process(input()));
    assert_send(&Batcher::new(1, None).unwrap().process(input()));
    assert_send(&TumblingWindow::new(ms(1)).unwrap().process(input()));
    assert_send(&SlidingWindow::new(ms(1), ms(1)).unwrap().process(input()));
    assert_send(&SessionWindow::new(ms(1), |v: &u32| *v).unwrap().process(input()));
}

#[cfg(not(lockstep))]
#[test]
fn a_batcher_on_real_tokio_time_waits_for_its_latency() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    let (batches, waited) = runtime.block_on(async {
        let start = std::time::Instant::now();
        let input = futures::stream::iter([1, 2, 3]).chain(futures::stream::pending());
        let batcher = Batcher::new(2, Some(ms(20))).unwrap();
        let batches: Vec<Vec<u32>> = batcher.process_ok(input).take(2).collect().await;
        (batches, start.elapsed())
    });
    assert_eq!(batches, [vec![1, 2], vec![3]]);
    assert!(waited >= ms(20), "the second batch left after {waited:?}, before its latency");
}
