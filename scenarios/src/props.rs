//! The processors' invariants (`docs/processors.md`), checked on the input and
//! output timelines of a run. Each check returns every problem it finds, described.
//!
//! Times are virtual [`Instant`]s: when an input was consumed (for these worlds,
//! channels without latency, the instant it was sent) and when an output was
//! received.

use std::fmt::Debug;
use std::time::Duration;

use processors::Window;
use sim_core::time::Instant;

/// Throttle: consecutive emitted successes are at least `period` apart; every
/// dropped success has an emitted success in `(now - period, now]`; every output
/// was an input, emitted when it came in.
pub fn throttle<T: PartialEq + Debug>(
    period: Duration,
    inputs: &[(Instant, T)],
    outputs: &[(Instant, T)],
) -> Vec<String> {
    let mut problems = Vec::new();
    for pair in outputs.windows(2) {
        if pair[1].0 < pair[0].0 + period {
            problems.push(format!(
                "throttle: {:?} at {} and {:?} at {} were both emitted within the period {period:?}",
                pair[0].1, pair[0].0, pair[1].1, pair[1].0
            ));
        }
    }
    for (t, item) in inputs {
        if outputs.iter().any(|(at, out)| out == item && at == t) {
            continue;
        }
        let covered = outputs.iter().any(|(at, _)| *at <= *t && *t < *at + period);
        if !covered {
            problems.push(format!(
                "throttle: {item:?} sent at {t} was dropped, but nothing was emitted in the period before it"
            ));
        }
    }
    for (at, out) in outputs {
        if !inputs.iter().any(|(t, item)| item == out && t == at) {
            problems.push(format!("throttle: {out:?} emitted at {at} was not an input at that instant"));
        }
    }
    problems
}

/// Debounce: every input followed by `quiet` of silence (or by the close, at
/// `closed_at`) is emitted exactly once, at its deadline (or at the close); no
/// other input is emitted; output order is input order.
pub fn debounce<T: PartialEq + Debug>(
    quiet: Duration,
    inputs: &[(Instant, T)],
    closed_at: Instant,
    outputs: &[(Instant, T)],
) -> Vec<String> {
    let mut expected = Vec::new();
    for (i, (t, item)) in inputs.iter().enumerate() {
        let deadline = *t + quiet;
        match inputs.get(i + 1) {
            Some((next, _)) if *next < deadline => {} // replaced: a newer input came within `quiet`
            Some(_) => expected.push((deadline, item)),
            None => expected.push((deadline.min(closed_at), item)),
        }
    }
    let mut problems = Vec::new();
    for (at, item) in &expected {
        let found = outputs.iter().filter(|(_, out)| out == *item).count();
        if found != 1 {
            problems.push(format!(
                "debounce: {item:?} was followed by {quiet:?} of silence, so it must be emitted once at {at}, but it was emitted {found} times"
            ));
        } else if !outputs.iter().any(|(t, out)| out == *item && t == at) {
            problems.push(format!("debounce: {item:?} must be emitted at {at}"));
        }
    }
    for (at, out) in outputs {
        if !expected.iter().any(|(_, item)| *item == out) {
            problems.push(format!("debounce: {out:?} emitted at {at} had a newer input within {quiet:?}"));
        }
    }
    let order: Vec<usize> =
        outputs.iter().filter_map(|(_, out)| inputs.iter().position(|(_, item)| item == out)).collect();
    if order.windows(2).any(|w| w[0] >= w[1]) {
        problems.push("debounce: the output is not in input order".to_string());
    }
    problems
}

/// Batcher: no batch is empty or larger than `max_size`; every batch is emitted no
/// later than its first item's arrival plus `latency`; an item arriving at or
/// after that deadline starts the next batch; the batches concatenated are the
/// inputs in order, none lost or repeated.
pub fn batcher<T: PartialEq + Debug>(
    max_size: usize,
    latency: Duration,
    inputs: &[(Instant, T)],
    outputs: &[(Instant, Vec<T>)],
) -> Vec<String> {
    let mut problems = Vec::new();
    let mut next = 0;
    for (at, batch) in outputs {
        if batch.is_empty() || batch.len() > max_size {
            problems
                .push(format!("batcher: a batch of {} items emitted at {at} (allowed: 1 to {max_size})", batch.len()));
        }
        let Some(first) = inputs.get(next) else {
            problems.push(format!("batcher: batch {batch:?} emitted at {at} holds items never sent"));
            break;
        };
        let deadline = first.0 + latency;
        if *at > deadline {
            problems.push(format!("batcher: batch {batch:?} emitted at {at}, after its deadline {deadline}"));
        }
        for item in batch {
            match inputs.get(next) {
                Some((t, input)) if input == item => {
                    if *t >= deadline {
                        problems.push(format!(
                            "batcher: {item:?} arrived at {t}, at or after its batch's deadline {deadline}, so it must start the next batch, but it joined {batch:?}"
                        ));
                    }
                    next += 1;
                }
                _ => {
                    problems
                        .push(format!("batcher: batch {batch:?} emitted at {at} is not the next items of the input"));
                    return problems;
                }
            }
        }
    }
    if next < inputs.len() {
        problems.push(format!("batcher: {} items were never emitted", inputs.len() - next));
    }
    problems
}

/// Tumbling window: every window covers exactly `size`, aligned to the origin;
/// windows are emitted in order, each no earlier than its end unless `closed_at`
/// came first; every item lies in its window; the windows' items concatenated are
/// the inputs in order.
pub fn tumbling<T: PartialEq + Debug>(
    size: Duration,
    inputs: &[(Instant, T)],
    closed_at: Instant,
    outputs: &[(Instant, Window<T>)],
) -> Vec<String> {
    let mut problems = Vec::new();
    let mut next = 0;
    let mut previous_end = Duration::ZERO;
    for (at, window) in outputs {
        let span = format!("[{:?}, {:?})", window.start, window.end);
        if window.end.saturating_sub(window.start) != size {
            problems.push(format!("window: {span} covers {:?}, not {size:?}", window.end.saturating_sub(window.start)));
        }
        if window.start.as_nanos() % size.as_nanos().max(1) != 0 {
            problems.push(format!("window: {span} is not aligned to the origin"));
        }
        if window.start < previous_end {
            problems.push(format!("window: {span} overlaps the window before it"));
        }
        previous_end = window.end;
        let end = Instant::ZERO + window.end;
        if *at < end && *at < closed_at {
            problems.push(format!("window: {span} emitted at {at}, before its end"));
        }
        for item in &window.items {
            match inputs.get(next) {
                Some((t, input)) if input == item => {
                    let offset = t.saturating_duration_since(Instant::ZERO);
                    if offset < window.start || offset >= window.end {
                        problems.push(format!("window: {item:?} sent at {t} landed in {span}"));
                    }
                    next += 1;
                }
                _ => {
                    problems.push(format!("window: {span} emitted at {at} does not hold the next items of the input"));
                    return problems;
                }
            }
        }
    }
    if next < inputs.len() {
        problems.push(format!("window: {} items were never emitted", inputs.len() - next));
    }
    problems
}
