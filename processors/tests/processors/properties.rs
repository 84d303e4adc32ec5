//! Property tests: every invariant of the semantics page, over generated input
//! timelines with many exact-boundary collisions (times are mostly multiples of 10 ms,
//! as are the processors' periods, plus a few 1 ns nudges). On the simulator each case
//! runs under a generated seed (random tie-breaking); on tokio (a build without
//! `--cfg lockstep`) with paused time, moved step by step. Each case is checked
//! against the processor's invariants; windows, sessions and debounce are also
//! compared with an independent model of their output. Errors are checked by
//! running the same timeline without them: the rest of the output must not change.
//!
//! Cases per processor: 1,000 by default; `PROPTEST_CASES` overrides.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::time::Duration;

use processors::{Batcher, Debounce, Logic, Session, SessionWindow, SlidingWindow, Throttle, TumblingWindow, Window};
use proptest::prelude::*;

use crate::support::{ms, outs, run_once, without_errors, Input, Record, Seen, Timeline};

/// The processors' periods and the timelines' gaps are multiples of this.
pub const UNIT: Duration = Duration::from_millis(10);

/// Cases per property: `PROPTEST_CASES` or `default`.
pub fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A gap between consecutive events: often none (same instant), often whole units
/// (so events land on deadlines and boundaries), sometimes 1 ns either side of a unit.
fn gap() -> impl Strategy<Value = Duration> {
    prop_oneof![
        4 => Just(Duration::ZERO),
        4 => (1u32..=3).prop_map(|n| UNIT * n),
        2 => (4u32..=15).prop_map(|n| UNIT * n),
        1 => Just(Duration::from_nanos(1)),
        1 => Just(UNIT - Duration::from_nanos(1)),
    ]
}

/// Timelines of up to `max` events, about one in eight an error; values are the
/// events' positions, so every value is unique.
pub fn timeline(max: usize) -> impl Strategy<Value = Timeline<u32>> {
    let event = (gap(), prop::bool::weighted(0.12));
    (prop::collection::vec(event, 0..=max), 0u32..=12).prop_map(|(events, tail)| {
        let mut t = Duration::ZERO;
        let events: Vec<(Duration, Input<u32>)> = events
            .into_iter()
            .enumerate()
            .map(|(i, (gap, is_err))| {
                t += gap;
                (t, if is_err { Err(i as u32) } else { Ok(i as u32) })
            })
            .collect();
        Timeline { events, close_at: t + UNIT * tail }
    })
}

/// A multiple of the unit in `lo..=hi` units.
pub fn units(lo: u32, hi: u32) -> impl Strategy<Value = Duration> {
    (lo..=hi).prop_map(|n| UNIT * n)
}

/// Runs `timeline` and the same timeline without errors under `seed`, checks what
/// every processor shares (errors pass through at their arrival time in order and
/// change nothing else; the output ends at close; times never go back), and hands
/// back the record.
fn run_checked<T, L>(timeline: &Timeline<T>, seed: u64, logic: impl Fn() -> L) -> Record<L::Out>
where
    T: Clone + Unpin + 'static,
    L: Logic<In = T> + Unpin + 'static,
    L::Out: Clone + Debug + PartialEq + Unpin + 'static,
{
    let record = run_once(timeline, seed, logic());
    let clean = run_once(&timeline.without_errors(), seed, logic());
    assert_eq!(without_errors(&record), clean, "errors changed the other outputs");
    let errors_in: Vec<(Duration, u32)> =
        timeline.events.iter().filter_map(|(t, e)| e.as_ref().err().map(|e| (*t, *e))).collect();
    let errors_out: Vec<(Duration, u32)> =
        record.iter().filter_map(|(t, s)| if let Seen::Err(e) = s { Some((*t, *e)) } else { None }).collect();
    assert_eq!(errors_out, errors_in, "errors pass through at once, in order");
    assert_eq!(record.last(), Some(&(timeline.close_at, Seen::End)), "the output ends when the input closes");
    assert!(record.windows(2).all(|w| w[0].0 <= w[1].0), "emission times never go back");
    record
}

fn check_throttle(timeline: &Timeline<u32>, period: Duration, emitted: &[(Duration, u32)]) {
    let inputs = timeline.successes();
    // Emitted items are inputs, in order, each at its arrival time.
    let mut rest = inputs.iter();
    for e in emitted {
        assert!(rest.any(|i| i == e), "{e:?} was emitted but is not a later input at that time");
    }
    if let Some(first) = inputs.first() {
        assert_eq!(emitted.first(), Some(first), "the first success passes");
    }
    for pair in emitted.windows(2) {
        assert!(pair[1].0 - pair[0].0 >= period, "emitted {pair:?} less than {period:?} apart");
    }
    for (t, v) in inputs.iter().filter(|i| !emitted.contains(i)) {
        let covered = emitted.iter().any(|(s, _)| *s <= *t && *t < s.saturating_add(period));
        assert!(covered, "{v} dropped at {t:?} with no emitted success in (t - {period:?}, t]");
    }
}

fn debounce_model(timeline: &Timeline<u32>, quiet: Duration) -> Vec<(Duration, u32)> {
    let inputs = timeline.successes();
    let mut expected = Vec::new();
    for (i, (t, v)) in inputs.iter().enumerate() {
        let due = t.saturating_add(quiet);
        // Emitted when no newer success came within `quiet` after it.
        if inputs.get(i + 1).is_none_or(|(next, _)| *next >= due) {
            expected.push((due.min(timeline.close_at), *v));
        }
    }
    expected
}

fn check_batches(timeline: &Timeline<u32>, size: usize, latency: Option<Duration>, batches: &[(Duration, Vec<u32>)]) {
    let inputs = timeline.successes();
    let arrival: BTreeMap<u32, Duration> = inputs.iter().map(|(t, v)| (*v, *t)).collect();
    let flat: Vec<u32> = batches.iter().flat_map(|(_, b)| b.iter().copied()).collect();
    let values: Vec<u32> = inputs.iter().map(|(_, v)| *v).collect();
    assert_eq!(flat, values, "the batches concatenate to the input, none lost or repeated");
    for (i, (at, batch)) in batches.iter().enumerate() {
        assert!(!batch.is_empty() && batch.len() <= size, "batch {batch:?} empty or above {size}");
        let first = arrival[&batch[0]];
        let last = arrival[batch.last().expect("non-empty")];
        assert!(*at >= last && *at <= timeline.close_at, "batch {batch:?} emitted at {at:?}");
        if let Some(latency) = latency {
            let due = first.saturating_add(latency);
            assert!(*at <= due, "batch {batch:?} emitted at {at:?}, after its deadline {due:?}");
            assert!(last < due || latency.is_zero(), "an item at the deadline {due:?} joined the old batch");
        }
        let expected_at = if batch.len() == size {
            last
        } else {
            latency.map_or(timeline.close_at, |l| first.saturating_add(l).min(timeline.close_at))
        };
        assert_eq!(*at, expected_at, "batch {batch:?} emitted at the wrong time");
        if let Some((_, next)) = batches.get(i + 1) {
            assert!(arrival[&next[0]] >= *at, "the next batch started before {batch:?} was emitted");
        }
    }
}

fn tumbling_model(timeline: &Timeline<u32>, size: Duration) -> Vec<(Duration, Window<u32>)> {
    let mut windows: BTreeMap<u128, Vec<u32>> = BTreeMap::new();
    for (t, v) in timeline.successes() {
        windows.entry(t.as_nanos() / size.as_nanos()).or_default().push(v);
    }
    windows
        .into_iter()
        .map(|(k, items)| {
            let start = size * k as u32;
            let end = start + size;
            (end.min(timeline.close_at), Window { start, end, items })
        })
        .collect()
}

fn sliding_model(timeline: &Timeline<u32>, size: Duration, slide: Duration) -> Vec<(Duration, Window<u32>)> {
    let mut windows: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for (t, v) in timeline.successes() {
        // Brute force: every window start up to t.
        for k in 0.. {
            let start = slide * k;
            if start > t {
                break;
            }
            if t < start + size {
                windows.entry(k).or_default().push(v);
            }
        }
    }
    windows
        .into_iter()
        .map(|(k, items)| {
            let start = slide * k;
            let end = start + size;
            (end.min(timeline.close_at), Window { start, end, items })
        })
        .collect()
}

type Keyed = (u8, u32);

fn session_model(timeline: &Timeline<Keyed>, gap: Duration) -> Vec<(Duration, Session<u8, Keyed>)> {
    let mut open: BTreeMap<u8, (Duration, Duration, Vec<Keyed>)> = BTreeMap::new();
    let mut done: Vec<Session<u8, Keyed>> = Vec::new();
    for (t, item) in timeline.successes() {
        let key = item.0;
        match open.get_mut(&key) {
            Some((_, last, items)) if t < *last + gap => {
                *last = t;
                items.push(item);
            }
            _ => {
                if let Some((start, last, items)) = open.insert(key, (t, t, vec![item])) {
                    done.push(Session { key, start, end: last + gap, items });
                }
            }
        }
    }
    done.extend(open.into_iter().map(|(key, (start, last, items))| Session { key, start, end: last + gap, items }));
    let close = timeline.close_at;
    // Expired sessions come out at their end, ordered by start then key; at close,
    // those expiring exactly then come first, then the flushed ones by start then key.
    done.sort_by_key(|s| (s.end.min(close), s.end > close, s.start, s.key));
    done.into_iter().map(|s| (s.end.min(close), s)).collect()
}

fn keyed(timeline: &Timeline<u32>, keys: &[u8]) -> Timeline<Keyed> {
    let events = timeline.events.iter().map(|(t, e)| (*t, e.map(|v| (keys[v as usize % keys.len()], v)))).collect();
    Timeline { events, close_at: timeline.close_at }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(1000), ..ProptestConfig::default() })]

    #[test]
    fn throttle_invariants_hold(tl in timeline(16), period in prop_oneof![Just(Duration::ZERO), units(1, 8)], seed: u64) {
        let record = run_checked(&tl, seed, || Throttle::new(period));
        check_throttle(&tl, period, &outs(&record));
    }

    #[test]
    fn debounce_emits_exactly_the_items_followed_by_quiet_or_close(
        tl in timeline(16),
        quiet in prop_oneof![1 => Just(Duration::ZERO), 6 => units(1, 8)],
        seed: u64,
    ) {
        let record = run_checked(&tl, seed, || Debounce::new(quiet));
        prop_assert_eq!(outs(&record), debounce_model(&tl, quiet));
    }

    #[test]
    fn batcher_invariants_hold(
        tl in timeline(16),
        size in 1usize..=4,
        latency in prop_oneof![1 => Just(None), 6 => units(0, 8).prop_map(Some)],
        seed: u64,
    ) {
        let record = run_checked(&tl, seed, || Batcher::new(size, latency).unwrap());
        check_batches(&tl, size, latency, &outs(&record));
    }

    #[test]
    fn tumbling_windows_hold_exactly_their_items_and_close_at_their_end(
        tl in timeline(16),
        size in units(1, 8),
        seed: u64,
    ) {
        let record = run_checked(&tl, seed, || TumblingWindow::new(size).unwrap());
        let windows = outs(&record);
        for (_, w) in &windows {
            prop_assert!(!w.items.is_empty(), "an empty window was emitted");
            prop_assert_eq!(w.end - w.start, size);
        }
        prop_assert_eq!(windows, tumbling_model(&tl, size));
    }

    #[test]
    fn sliding_windows_hold_exactly_their_items_and_close_at_their_end(
        tl in timeline(16),
        (size, slide) in (1u32..=8).prop_flat_map(|s| (Just(UNIT * s), units(1, s))),
        seed: u64,
    ) {
        let record = run_checked(&tl, seed, || SlidingWindow::new(size, slide).unwrap());
        let windows = outs(&record);
        for pair in windows.windows(2) {
            prop_assert!(pair[0].1.start < pair[1].1.start, "windows out of order of start");
        }
        prop_assert_eq!(windows, sliding_model(&tl, size, slide));
    }

    #[test]
    fn sessions_split_at_the_gap_per_key_and_expire_exactly(
        tl in timeline(16),
        keys in prop::collection::vec(0u8..3, 1..=4),
        gap in units(1, 8),
        seed: u64,
    ) {
        let tl = keyed(&tl, &keys);
        let record = run_checked(&tl, seed, || SessionWindow::new(gap, |item: &Keyed| item.0).unwrap());
        prop_assert_eq!(outs(&record), session_model(&tl, gap));
    }
}

#[test]
fn the_models_agree_with_the_issue_timelines() {
    // The checks above are only as good as their models: pin them to known answers.
    let debounce = Timeline::oks([(0, 1), (100, 2)], 1000);
    assert_eq!(debounce_model(&debounce, ms(100)), [(ms(100), 1), (ms(200), 2)]);
    let tumbling = Timeline::oks([(0, 0), (30, 1), (60, 2), (100, 3), (130, 4)], 1000);
    let w = |s, e, items| Window { start: ms(s), end: ms(e), items };
    assert_eq!(
        tumbling_model(&tumbling, ms(100)),
        [(ms(100), w(0, 100, vec![0, 1, 2])), (ms(200), w(100, 200, vec![3, 4]))]
    );
    let sliding = Timeline::oks([(0, 0), (30, 1), (60, 2)], 1000);
    assert_eq!(
        sliding_model(&sliding, ms(100), ms(50)),
        [(ms(100), w(0, 100, vec![0, 1, 2])), (ms(150), w(50, 150, vec![2]))]
    );
    let sessions = Timeline::oks([(0, (0, 0)), (20, (1, 1)), (50, (0, 2)), (150, (0, 3))], 1000);
    let ends: Vec<(Duration, u8)> = session_model(&sessions, ms(100)).iter().map(|(t, s)| (*t, s.key)).collect();
    assert_eq!(ends, [(ms(120), 1), (ms(150), 0), (ms(250), 0)]);
    let mut bad = vec![(ms(0), vec![1]), (ms(50), vec![2])];
    let batches = Timeline::oks([(0, 1), (50, 2)], 1000);
    let caught = std::panic::catch_unwind(|| check_batches(&batches, 3, Some(ms(100)), &bad)).is_err();
    assert!(caught, "a batch emitted before its deadline is caught");
    bad = vec![(ms(100), vec![1, 2])];
    check_batches(&batches, 3, Some(ms(100)), &bad);
}
