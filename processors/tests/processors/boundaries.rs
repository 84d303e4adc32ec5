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
    Batcher, Clock, ConfigError, Debounce, Logic, Session, SessionWindow, SimClock, SlidingWindow, Throttle,
    TumblingWindow, Window,
};
use sim_core::{Config, Instant, Sim};

use crate::support::{ms, on_both, Record, Seen, Timeline};

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

// ---- a clock whose timers never fire: the processor must check deadlines itself ----

/// Time set by hand; its timers never complete.
#[derive(Clone, Default)]
struct ManualClock(Rc<Cell<Duration>>);

impl ManualClock {
    fn set(&self, t: Duration) {
        self.0.set(t);
    }
}

impl Clock for ManualClock {
    type Instant = Duration;
    type Sleep = std::future::Pending<()>;

    fn now(&self) -> Duration {
        self.0.get()
    }
    fn since(&self, origin: Duration, now: Duration) -> Duration {
        now.saturating_sub(origin)
    }
    fn after(&self, origin: Duration, d: Duration) -> Option<Duration> {
        origin.checked_add(d)
    }
    fn sleep_until(&self, _deadline: Duration) -> Self::Sleep {
        std::future::pending()
    }
    fn reset(&self, _sleep: &mut Self::Sleep, _deadline: Duration) {}
}

fn poll<S: Stream + Unpin>(stream: &mut S) -> Poll<Option<S::Item>> {
    let mut cx = Context::from_waker(futures::task::noop_waker_ref());
    Pin::new(stream).poll_next(&mut cx)
}

/// Feeds `items` at their times (ms) to `logic` under a clock whose timers never
/// fire, polling after each instant; returns what came out at each instant.
fn by_hand<L>(logic: L, items: &[(u64, u32)], close_ms: u64) -> Vec<(u64, L::Out)>
where
    L: Logic<In = u32> + Unpin,
    L::Out: Unpin,
{
    let clock = ManualClock::default();
    let (tx, rx) = futures::channel::mpsc::unbounded::<Result<u32, ()>>();
    let mut tx = Some(tx);
    let mut processor = logic.process(clock.clone(), rx);
    let mut seen = Vec::new();
    let mut times: Vec<u64> = items.iter().map(|(t, _)| *t).chain([close_ms]).collect();
    times.dedup();
    for t in times {
        clock.set(ms(t));
        for (_, v) in items.iter().filter(|(at, _)| *at == t) {
            tx.as_ref().unwrap().unbounded_send(Ok(*v)).unwrap();
        }
        if t == close_ms {
            tx = None;
        }
        while let Poll::Ready(Some(item)) = poll(&mut processor) {
            seen.push((t, item.unwrap()));
        }
    }
    assert!(matches!(poll(&mut processor), Poll::Ready(None)), "the output ends after close");
    seen
}

#[test]
fn debounce_fires_its_deadline_before_an_input_at_that_instant_even_if_its_timer_never_fired() {
    let seen = by_hand(Debounce::new(ms(100)), &[(0, 1), (100, 2)], 150);
    assert_eq!(seen, [(100, 1), (150, 2)]);
}

#[test]
fn batcher_starts_a_new_batch_with_an_input_at_the_deadline_even_if_its_timer_never_fired() {
    let seen = by_hand(Batcher::new(3, Some(ms(100))).unwrap(), &[(0, 1), (50, 2), (100, 3)], 150);
    assert_eq!(seen, [(100, vec![1, 2]), (150, vec![3])]);
}

#[test]
fn tumbling_window_closes_before_an_input_at_its_end_even_if_its_timer_never_fired() {
    let seen = by_hand(TumblingWindow::new(ms(100)).unwrap(), &[(0, 1), (100, 2)], 150);
    assert_eq!(seen, [(100, window(0, 100, vec![1])), (150, window(100, 200, vec![2]))]);
}

#[test]
fn sliding_windows_close_before_an_input_at_their_end_even_if_the_timer_never_fired() {
    let sliding = SlidingWindow::new(ms(100), ms(50)).unwrap();
    let seen = by_hand(sliding, &[(0, 1), (100, 2)], 120);
    assert_eq!(
        seen,
        [
            (100, window(0, 100, vec![1])),
            // The item at 0 belongs to the window starting at 0 only.
            (120, window(50, 150, vec![2])),
            (120, window(100, 200, vec![2])),
        ]
    );
}

/// A [`ManualClock`] that counts the timers it arms (created or reset).
#[derive(Clone, Default)]
struct CountingClock {
    clock: ManualClock,
    arms: Rc<Cell<u32>>,
}

impl Clock for CountingClock {
    type Instant = Duration;
    type Sleep = std::future::Pending<()>;

    fn now(&self) -> Duration {
        self.clock.now()
    }
    fn since(&self, origin: Duration, now: Duration) -> Duration {
        self.clock.since(origin, now)
    }
    fn after(&self, origin: Duration, d: Duration) -> Option<Duration> {
        self.clock.after(origin, d)
    }
    fn sleep_until(&self, deadline: Duration) -> Self::Sleep {
        self.arms.set(self.arms.get() + 1);
        self.clock.sleep_until(deadline)
    }
    fn reset(&self, sleep: &mut Self::Sleep, deadline: Duration) {
        self.arms.set(self.arms.get() + 1);
        self.clock.reset(sleep, deadline);
    }
}

/// docs/processors.md, "State before hand-off": the logic sets its next deadline
/// together with an output, the driver hands the output on first and arms the timer
/// only when it next waits, and that order cannot change the output.
#[test]
fn the_driver_hands_an_output_on_before_arming_the_timer_for_the_deadline_set_with_it() {
    // Sliding windows of 100 ms every 50 ms; one item at 60 ms belongs to [0, 100) and
    // [50, 150). The timers never fire: only the driver's own check of `now` closes windows.
    let clock = CountingClock::default();
    let (tx, rx) = futures::channel::mpsc::unbounded::<Result<u32, ()>>();
    let mut windows = SlidingWindow::new(ms(100), ms(50)).unwrap().process(clock.clone(), rx);
    clock.clock.set(ms(60));
    tx.unbounded_send(Ok(7)).unwrap();
    assert!(poll(&mut windows).is_pending());
    assert_eq!(clock.arms.get(), 1, "armed for 100 ms, the end of [0, 100)");
    // At 100 ms the deadline closes [0, 100) and sets the next one, 150 ms, in one step.
    clock.clock.set(ms(100));
    assert_eq!(poll(&mut windows), Poll::Ready(Some(Ok(window(0, 100, vec![7])))));
    assert_eq!(windows.deadline(), Some(ms(150)), "the state changed before the hand-off");
    assert_eq!(clock.arms.get(), 1, "the timer is not re-armed before the output is handed on");
    assert!(poll(&mut windows).is_pending());
    assert_eq!(clock.arms.get(), 2, "re-armed for 150 ms when the driver waits");
    clock.clock.set(ms(150));
    assert_eq!(poll(&mut windows), Poll::Ready(Some(Ok(window(50, 150, vec![7])))));
    drop(tx);
    assert_eq!(poll(&mut windows), Poll::Ready(None));
}

#[test]
fn session_expires_before_an_input_at_its_expiry_even_if_its_timer_never_fired() {
    let sessions = SessionWindow::new(ms(100), |_: &u32| ()).unwrap();
    let seen = by_hand(sessions, &[(0, 1), (100, 2)], 150);
    let session = |start, end, items| Session { key: (), start: ms(start), end: ms(end), items };
    assert_eq!(seen, [(100, session(0, 100, vec![1])), (150, session(100, 200, vec![2]))]);
}

#[test]
fn an_error_at_exactly_a_deadline_comes_after_the_deadlines_output() {
    let clock = ManualClock::default();
    let (tx, rx) = futures::channel::mpsc::unbounded::<Result<u32, &str>>();
    let mut debounced = Debounce::new(ms(100)).process(clock.clone(), rx);
    tx.unbounded_send(Ok(1)).unwrap();
    assert!(poll(&mut debounced).is_pending());
    clock.set(ms(100));
    tx.unbounded_send(Err("boom")).unwrap();
    assert_eq!(poll(&mut debounced), Poll::Ready(Some(Ok(1))));
    assert_eq!(poll(&mut debounced), Poll::Ready(Some(Err("boom"))));
    assert!(poll(&mut debounced).is_pending());
}

#[test]
fn the_output_stays_ended_after_it_ended() {
    let clock = ManualClock::default();
    let (tx, rx) = futures::channel::mpsc::unbounded::<Result<u32, ()>>();
    let mut batches = Batcher::new(2, None).unwrap().process(clock, rx);
    tx.unbounded_send(Ok(1)).unwrap();
    drop(tx);
    assert_eq!(poll(&mut batches), Poll::Ready(Some(Ok(vec![1]))));
    for _ in 0..3 {
        assert_eq!(poll(&mut batches), Poll::Ready(None));
    }
    assert!(futures::stream::FusedStream::is_terminated(&batches));
}

// ---- zero periods, on both backends ----

#[tokio::test(start_paused = true)]
async fn throttle_with_period_zero_passes_every_item_even_at_one_instant() {
    let timeline = Timeline::oks([(0, 1), (0, 2), (10, 3), (10, 4)], 20);
    let expected: Record<u32> = vec![out(0, 1), out(0, 2), out(10, 3), out(10, 4), end(20)];
    on_both(&timeline, || Throttle::new(Duration::ZERO), &expected, SEEDS).await;
}

#[tokio::test(start_paused = true)]
async fn debounce_with_quiet_zero_emits_every_item_when_it_arrives() {
    let timeline = Timeline::oks([(0, 1), (0, 2), (10, 3)], 20);
    let expected: Record<u32> = vec![out(0, 1), out(0, 2), out(10, 3), end(20)];
    on_both(&timeline, || Debounce::new(Duration::ZERO), &expected, SEEDS).await;
}

#[tokio::test(start_paused = true)]
async fn batcher_with_latency_zero_emits_each_item_alone() {
    let timeline = Timeline::oks([(0, 1), (0, 2), (10, 3)], 20);
    let expected: Record<Vec<u32>> = vec![out(0, vec![1]), out(0, vec![2]), out(10, vec![3]), end(20)];
    on_both(&timeline, || Batcher::new(5, Some(Duration::ZERO)).unwrap(), &expected, SEEDS).await;
}

#[tokio::test(start_paused = true)]
async fn a_deadline_between_tokio_timer_ticks_is_still_handled_before_an_input_at_it() {
    // Tokio's timers tick in milliseconds: the deadline at 100.5 ms fires on tokio
    // at 101 ms, after the input at 100.5 ms has already arrived.
    let quiet = ms(100) + Duration::from_micros(500);
    let timeline = Timeline { events: vec![(ms(0), Ok(1)), (quiet, Ok(2))], close_at: ms(1000) };
    let expected: Record<u32> = vec![(quiet, Seen::Out(1)), (quiet * 2, Seen::Out(2)), end(1000)];
    on_both(&timeline, || Debounce::new(quiet), &expected, SEEDS).await;
}

// ---- close with held items ----

#[tokio::test(start_paused = true)]
async fn debounce_close_emits_the_pending_item_at_once() {
    let timeline = Timeline::oks([(0, 1), (10, 2)], 30);
    let expected: Record<u32> = vec![out(30, 2), end(30)];
    on_both(&timeline, || Debounce::new(ms(100)), &expected, SEEDS).await;
}

#[tokio::test(start_paused = true)]
async fn debounce_close_at_exactly_the_deadline_emits_the_item_once() {
    let timeline = Timeline::oks([(0, 1)], 100);
    let expected: Record<u32> = vec![out(100, 1), end(100)];
    on_both(&timeline, || Debounce::new(ms(100)), &expected, SEEDS).await;
}

#[tokio::test(start_paused = true)]
async fn batcher_close_emits_the_partial_batch() {
    let timeline = Timeline::oks([(0, 1), (0, 2), (5, 3)], 30);
    let expected: Record<Vec<u32>> = vec![out(0, vec![1, 2]), out(30, vec![3]), end(30)];
    on_both(&timeline, || Batcher::new(2, None).unwrap(), &expected, SEEDS).await;
}

#[tokio::test(start_paused = true)]
async fn tumbling_close_emits_the_current_window_with_its_nominal_end() {
    let timeline = Timeline::oks([(10, 1), (120, 2)], 150);
    let expected: Record<Window<u32>> =
        vec![out(100, window(0, 100, vec![1])), out(150, window(100, 200, vec![2])), end(150)];
    on_both(&timeline, || TumblingWindow::new(ms(100)).unwrap(), &expected, SEEDS).await;
}

#[tokio::test(start_paused = true)]
async fn sliding_close_emits_every_open_window_holding_items_in_order_of_start() {
    let timeline = Timeline::oks([(10, 1), (60, 2)], 70);
    let expected: Record<Window<u32>> =
        vec![out(70, window(0, 100, vec![1, 2])), out(70, window(50, 150, vec![2])), end(70)];
    let sliding = || SlidingWindow::new(ms(100), ms(50)).unwrap();
    on_both(&timeline, sliding, &expected, SEEDS).await;
}

#[tokio::test(start_paused = true)]
async fn session_close_emits_open_sessions_by_start_then_key() {
    let timeline = Timeline::oks([(0, ('c', 1)), (0, ('a', 2)), (10, ('b', 3)), (20, ('c', 4))], 50);
    let session = |key, start, end, items| Session { key, start: ms(start), end: ms(end), items };
    let expected: Record<Session<char, (char, u32)>> = vec![
        out(50, session('a', 0, 100, vec![('a', 2)])),
        out(50, session('c', 0, 120, vec![('c', 1), ('c', 4)])),
        out(50, session('b', 10, 110, vec![('b', 3)])),
        end(50),
    ];
    let sessions = || SessionWindow::new(ms(100), |item: &(char, u32)| item.0).unwrap();
    on_both(&timeline, sessions, &expected, SEEDS).await;
}

#[tokio::test(start_paused = true)]
async fn throttle_close_emits_nothing_more() {
    let timeline = Timeline::oks([(0, 1), (10, 2)], 20);
    let expected: Record<u32> = vec![out(0, 1), end(20)];
    on_both(&timeline, || Throttle::new(ms(100)), &expected, SEEDS).await;
}

// ---- errors overtake held items and touch no state ----

#[tokio::test(start_paused = true)]
async fn batcher_passes_errors_at_once_without_touching_the_batch() {
    let timeline = Timeline {
        events: vec![(ms(0), Ok(1)), (ms(10), Err(7)), (ms(20), Ok(2)), (ms(20), Ok(3))],
        close_at: ms(500),
    };
    let expected: Record<Vec<u32>> = vec![err(10, 7), out(20, vec![1, 2]), out(120, vec![3]), end(500)];
    on_both(&timeline, || Batcher::new(2, Some(ms(100))).unwrap(), &expected, SEEDS).await;
}

#[tokio::test(start_paused = true)]
async fn throttle_errors_pass_and_do_not_start_a_period() {
    let timeline = Timeline {
        events: vec![(ms(0), Err(1)), (ms(10), Ok(2)), (ms(20), Err(3)), (ms(30), Ok(4))],
        close_at: ms(500),
    };
    let expected: Record<u32> = vec![err(0, 1), out(10, 2), err(20, 3), end(500)];
    on_both(&timeline, || Throttle::new(ms(100)), &expected, SEEDS).await;
}

#[tokio::test(start_paused = true)]
async fn debounce_errors_do_not_restart_the_quiet_period() {
    let timeline = Timeline { events: vec![(ms(0), Ok(1)), (ms(90), Err(2))], close_at: ms(500) };
    let expected: Record<u32> = vec![err(90, 2), out(100, 1), end(500)];
    on_both(&timeline, || Debounce::new(ms(100)), &expected, SEEDS).await;
}

#[tokio::test(start_paused = true)]
async fn window_errors_overtake_the_open_windows() {
    let timeline = Timeline { events: vec![(ms(10), Ok(1)), (ms(60), Err(9))], close_at: ms(500) };
    let tumbling: Record<Window<u32>> = vec![err(60, 9), out(100, window(0, 100, vec![1])), end(500)];
    on_both(&timeline, || TumblingWindow::new(ms(100)).unwrap(), &tumbling, SEEDS).await;
    let sliding: Record<Window<u32>> = vec![err(60, 9), out(100, window(0, 100, vec![1])), end(500)];
    on_both(&timeline, || SlidingWindow::new(ms(100), ms(100)).unwrap(), &sliding, SEEDS).await;
    let session = Session { key: (), start: ms(10), end: ms(110), items: vec![1] };
    let sessions: Record<Session<(), u32>> = vec![err(60, 9), out(110, session), end(500)];
    on_both(&timeline, || SessionWindow::new(ms(100), |_: &u32| ()).unwrap(), &sessions, SEEDS).await;
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

#[test]
fn dropping_the_output_drops_held_items_and_emits_nothing_more() {
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
            let mut batches = Batcher::new(10, Some(ms(100))).unwrap().process(SimClock, rx);
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
async fn dropping_the_output_on_tokio_drops_held_items() {
    let alive = Rc::new(Cell::new(0));
    let (tx, rx) = futures::channel::mpsc::unbounded::<Result<Tracked, ()>>();
    let mut debounced = tokio_test::task::spawn(Debounce::new(ms(100)).process(processors::TokioClock, rx));
    tx.unbounded_send(Ok(Tracked::new(&alive))).unwrap();
    tokio_test::assert_pending!(debounced.poll_next());
    assert_eq!(alive.get(), 1, "the debounce holds the item");
    drop(debounced);
    assert_eq!(alive.get(), 0, "cancelling dropped it");
    assert!(tx.unbounded_send(Err(())).is_err(), "the input is closed for the producer");
}

#[test]
fn stopping_with_take_until_emits_nothing_held() {
    let mut sim = Sim::new(Config::default());
    let out = sim
        .block_on(async {
            let input = processors::timeline::timed(SimClock, [(ms(0), 1), (ms(10), 2)]).close_at(ms(500));
            let debounced = Debounce::new(ms(100)).process_ok(SimClock, input);
            let stop = sim_core::time::sleep(ms(50));
            let out: Vec<u32> = debounced.take_until(stop).collect().await;
            (out, Instant::now())
        })
        .unwrap();
    assert_eq!(out, (vec![], Instant::from_millis(50)));
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

#[test]
fn a_logic_that_leaves_its_deadline_due_is_reported_instead_of_spinning() {
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
    let mut stuck = Stuck.process(ManualClock::default(), futures::stream::pending::<Result<(), ()>>());
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| poll(&mut stuck))).unwrap_err();
    let message = panic.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(message.contains("left the deadline"), "{message}");
}

// ---- production: real tokio time, Send ----

#[test]
fn processors_on_tokio_are_send_so_they_can_be_spawned() {
    fn assert_send<T: Send>(_: &T) {}
    let input = || futures::stream::empty::<Result<u32, std::io::Error>>();
    let clock = processors::TokioClock;
    assert_send(&Throttle::new(ms(1)).process(clock, input()));
    assert_send(&Debounce::new(ms(1)).process(clock, input()));
    assert_send(&Batcher::new(1, None).unwrap().process(clock, input()));
    assert_send(&TumblingWindow::new(ms(1)).unwrap().process(clock, input()));
    assert_send(&SlidingWindow::new(ms(1), ms(1)).unwrap().process(clock, input()));
    assert_send(&SessionWindow::new(ms(1), |v: &u32| *v).unwrap().process(clock, input()));
}

#[test]
fn a_batcher_on_real_tokio_time_waits_for_its_latency() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    let (batches, waited) = runtime.block_on(async {
        let start = std::time::Instant::now();
        let input = futures::stream::iter([1, 2, 3]).chain(futures::stream::pending());
        let batcher = Batcher::new(2, Some(ms(20))).unwrap();
        let batches: Vec<Vec<u32>> = batcher.process_ok(processors::TokioClock, input).take(2).collect().await;
        (batches, start.elapsed())
    });
    assert_eq!(batches, [vec![1, 2], vec![3]]);
    assert!(waited >= ms(20), "the second batch left after {waited:?}, before its latency");
}
