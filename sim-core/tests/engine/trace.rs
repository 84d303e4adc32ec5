//! Traces: every step recorded with names, exported as JSON Lines.

use std::time::Duration;

use sim_core::sync::{mpsc, FingerprintValues, ShowValues};
use sim_core::time::sleep;
use sim_core::tooling::trace::RecordKind;
use sim_core::{Config, Sim, TraceMode};

fn ping(config: Config) -> Sim {
    let mut sim = Sim::new(config.trace(TraceMode::Full));
    let (tx, mut rx) = sim_core::named("ping", || mpsc::channel::<u8>(1));
    sim.spawn_named("sender", async move {
        sleep(Duration::from_millis(2)).await;
        tx.send(1).await.unwrap();
    });
    sim.spawn_named("receiver", async move {
        rx.recv().await;
    });
    sim.run().unwrap();
    sim
}

#[test]
fn a_full_trace_names_every_step_and_operation_in_order() {
    let sim = ping(Config::default());
    let trace = sim.trace();
    assert!(trace.complete);
    let text: Vec<String> = trace.lines.iter().map(ToString::to_string).collect();
    assert_eq!(
        text,
        [
            "#0 0s spawn task `sender`",
            "#0 0s spawn task `receiver`",
            "#1 0s poll task `sender` [choice 0 of 2]",
            "#1 0s timer-set task `sender` timer 0 `trace.rs:14` at 2ms",
            "#2 0s poll task `receiver`",
            "#3 2ms timer-fire task `sender` timer 0 `trace.rs:14` at 2ms",
            "#4 2ms poll task `sender`",
            "#4 2ms send task `sender` channel `ping`",
            "#4 2ms close task `sender` channel `ping`",
            "#4 2ms task-end task `sender`",
            "#5 2ms poll task `receiver`",
            "#5 2ms recv task `receiver` channel `ping`",
            "#5 2ms task-end task `receiver`",
        ]
    );
    assert_eq!(trace.fingerprint, Some(sim.fingerprint()));
}

#[test]
fn a_trace_exports_as_json_lines_that_parse_back() {
    let sim = ping(Config::random(4));
    let trace = sim.trace();
    let mut out = Vec::new();
    trace.write_jsonl(&mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), trace.lines.len());
    let send = lines.iter().find(|l| l["kind"] == "send").expect("a send record");
    assert_eq!(send["task"], "sender");
    assert_eq!(send["channel"], "ping");
    assert_eq!(send["t_ns"], 2_000_000);
    let fire = lines.iter().find(|l| l["kind"] == "timer-fire").expect("a timer record");
    assert_eq!(fire["deadline_ns"], 2_000_000);
    assert!(lines.iter().all(|l| l["step"].is_u64() && l["t_ns"].is_u64()));
}

/// `write_jsonl` writes JSON by hand (serde_json in a user's build graph breaks
/// their type inference, see `Trace::write_jsonl`): each line must be what serde_json
/// makes of the line's `Serialize`, on a real trace and on a line with every field
/// set, every record kind, and names that need escaping.
#[test]
fn json_lines_are_what_serde_json_writes() {
    use sim_core::tooling::trace::TraceLine;
    let mut trace = ping(Config::random(4)).trace();
    let kinds = [
        RecordKind::Poll,
        RecordKind::TimerFire,
        RecordKind::Deliver,
        RecordKind::Spawn,
        RecordKind::TaskEnd,
        RecordKind::TaskAbort,
        RecordKind::TimerSet,
        RecordKind::TimerCancel,
        RecordKind::Send,
        RecordKind::Recv,
        RecordKind::Close,
        RecordKind::Choose,
        RecordKind::Violation,
        RecordKind::ForeignWake,
        RecordKind::Notify,
        RecordKind::Notified,
        RecordKind::Read,
        RecordKind::Reserve,
        RecordKind::Join,
        RecordKind::Arrive,
        RecordKind::Init,
        RecordKind::Acquire,
        RecordKind::Release,
    ];
    for (i, kind) in kinds.into_iter().enumerate() {
        trace.lines.push(TraceLine {
            step: i as u64,
            t_ns: u64::MAX,
            kind,
            task_id: Some(u32::MAX),
            task: Some("a \"quoted\" \\ task\n\t\r\u{8}\u{c}\u{1}\u{7f} é 🦀".to_string()),
            channel_id: Some(0),
            channel: Some(String::new()),
            timer_id: Some(7),
            timer: Some("debounce.rs:42".to_string()),
            deadline_ns: Some(0),
            choice: Some([3, 2]),
            value: Some(0x0123_4567_89ab_cdef),
            value_text: Some("Item { id: 1 }".to_string()),
        });
    }
    let mut out = Vec::new();
    trace.write_jsonl(&mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let expected: Vec<String> = trace.lines.iter().map(|l| serde_json::to_string(l).unwrap()).collect();
    assert_eq!(text.lines().collect::<Vec<_>>(), expected);
}

#[test]
fn the_tail_mode_keeps_the_last_records_but_fingerprints_everything() {
    let full = ping(Config::random(4));
    let mut tail = Sim::new(Config::random(4).trace(TraceMode::Tail(3)));
    let (tx, mut rx) = sim_core::named("ping", || mpsc::channel::<u8>(1));
    tail.spawn_named("sender", async move {
        sleep(Duration::from_millis(2)).await;
        tx.send(1).await.unwrap();
    });
    tail.spawn_named("receiver", async move {
        rx.recv().await;
    });
    tail.run().unwrap();
    assert_eq!(tail.fingerprint(), full.fingerprint());
    let kept = tail.trace();
    assert!(!kept.complete);
    assert_eq!(kept.lines, full.trace().lines[full.trace().lines.len() - 3..]);
    assert_eq!(kept.lines.last().map(|l| l.kind), Some(RecordKind::TaskEnd));
}

/// A producer sends `0..n` on `numbers`, a consumer receives them; `show` and
/// `fingerprint` opt the channel in.
fn numbers(config: Config, n: u32, show: bool, fingerprint: bool) -> Sim {
    let mut sim = Sim::new(config);
    let (tx, mut rx) = sim_core::named("numbers", || mpsc::channel::<u32>(2));
    if show {
        tx.show_values();
    }
    if fingerprint {
        tx.fingerprint_values();
    }
    sim.spawn_named("producer", async move {
        for i in 0..n {
            tx.send(i).await.unwrap();
        }
    });
    sim.spawn_named("consumer", async move { while rx.recv().await.is_some() {} });
    sim.run().unwrap();
    sim
}

#[test]
fn shown_values_are_in_the_trace_lines_and_the_json_but_not_in_the_fingerprint() {
    for seed in 0..20 {
        let shown = numbers(Config::random(seed).trace(TraceMode::Full), 5, true, false);
        let plain = numbers(Config::random(seed).trace(TraceMode::Full), 5, false, false);
        // The same run: showing values changes no fingerprint, and the lines are equal
        // (the text is left out of equality).
        assert_eq!(shown.fingerprint(), plain.fingerprint(), "seed {seed}");
        let (shown, plain) = (shown.trace(), plain.trace());
        assert_eq!(shown.lines, plain.lines, "seed {seed}");
        // Each of the 5 values is sent once and received once, in order on each side.
        let texts = |kind: RecordKind| -> Vec<String> {
            shown.lines.iter().filter(|l| l.kind == kind).map(|l| l.value_text.clone().unwrap()).collect()
        };
        assert_eq!(texts(RecordKind::Send), ["0", "1", "2", "3", "4"], "seed {seed}");
        assert_eq!(texts(RecordKind::Recv), ["0", "1", "2", "3", "4"], "seed {seed}");
        assert!(plain.lines.iter().all(|l| l.value_text.is_none()));
        let send = shown.lines.iter().find(|l| l.kind == RecordKind::Send).unwrap();
        assert!(send.to_string().ends_with("send task `producer` channel `numbers` value 0"), "{send}");
        let mut out = Vec::new();
        shown.write_jsonl(&mut out).unwrap();
        let json: Vec<serde_json::Value> =
            String::from_utf8(out).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let sent: Vec<&str> =
            json.iter().filter(|l| l["kind"] == "send").map(|l| l["value_text"].as_str().unwrap()).collect();
        assert_eq!(sent, ["0", "1", "2", "3", "4"]);
        assert!(json
            .iter()
            .filter(|l| l["kind"] != "send" && l["kind"] != "recv")
            .all(|l| l.get("value_text").is_none()));
    }
}

#[test]
fn shown_and_fingerprinted_values_keep_the_hash_in_the_fingerprint_and_the_text_beside_it() {
    let both = numbers(Config::random(3).trace(TraceMode::Full), 4, true, true);
    let hashed = numbers(Config::random(3).trace(TraceMode::Full), 4, false, true);
    let plain = numbers(Config::random(3).trace(TraceMode::Full), 4, false, false);
    assert_eq!(both.fingerprint(), hashed.fingerprint(), "the text is never fingerprinted");
    assert_ne!(hashed.fingerprint(), plain.fingerprint(), "the hash is");
    let line = both.trace().lines.into_iter().find(|l| l.kind == RecordKind::Recv).unwrap();
    assert_eq!(
        (line.value, line.value_text.as_deref()),
        (Some(sim_core::tooling::trace::value_hash(&0u32)), Some("0"))
    );
}

#[test]
fn a_tail_keeps_the_texts_of_the_records_it_keeps() {
    // 50 values: the tail of 7 records holds the last ones, each with its own text.
    let full = numbers(Config::random(9).trace(TraceMode::Full), 50, true, false).trace();
    let tail = numbers(Config::random(9).trace(TraceMode::Tail(7)), 50, true, false).trace();
    let last = &full.lines[full.lines.len() - 7..];
    assert_eq!(tail.lines, last);
    let texts =
        |lines: &[sim_core::tooling::trace::TraceLine]| lines.iter().map(|l| l.value_text.clone()).collect::<Vec<_>>();
    assert_eq!(texts(&tail.lines), texts(last));
    assert!(texts(last).iter().any(Option::is_some), "{full}");
    // No record kept: no text either, and the run is the same.
    let none = numbers(Config::random(9).trace(TraceMode::Tail(0)), 50, true, false);
    assert!(none.trace().lines.is_empty());
}

#[test]
fn a_value_text_is_one_line_and_cut_at_its_bound() {
    use sim_core::tooling::trace::{value_text, MAX_VALUE_TEXT};
    assert_eq!(value_text(&"a\nb"), "\"a\\nb\"");
    struct Lines;
    impl std::fmt::Debug for Lines {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("one\ntwo\u{7}")
        }
    }
    assert_eq!(value_text(&Lines), "one\\ntwo\\u{7}", "control characters a Debug writes raw are escaped");
    let long = value_text(&vec![7u8; 1000]);
    assert_eq!(long.chars().count(), MAX_VALUE_TEXT + 1);
    assert!(long.starts_with("[7, 7, ") && long.ends_with('…'), "{long}");
    assert_eq!(value_text(&"x".repeat(MAX_VALUE_TEXT - 2)).chars().count(), MAX_VALUE_TEXT, "fits: not cut");
    // A Debug that never ends is cut, not formatted forever.
    struct Endless;
    impl std::fmt::Debug for Endless {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            loop {
                f.write_str("ab")?;
            }
        }
    }
    assert_eq!(value_text(&Endless).chars().count(), MAX_VALUE_TEXT + 1);
}

#[test]
fn oneshot_and_watch_senders_show_their_values_too() {
    use sim_core::sync::{oneshot, watch};
    let mut sim = Sim::new(Config::default().trace(TraceMode::Full));
    sim.block_on(async {
        let (tx, rx) = sim_core::named("reply", || oneshot::channel::<Option<&str>>());
        tx.show_values();
        tx.send(Some("done")).unwrap();
        assert_eq!(rx.await, Ok(Some("done")));
        let (state, _seen) = sim_core::named("state", || watch::channel(0u8));
        state.show_values();
        state.send(7).unwrap();
    })
    .unwrap();
    let shown: Vec<(RecordKind, String, String)> =
        sim.trace().lines.into_iter().filter_map(|l| Some((l.kind, l.channel?, l.value_text?))).collect();
    let reply = ("reply".to_string(), "Some(\"done\")".to_string());
    assert_eq!(
        shown,
        [
            (RecordKind::Send, reply.0.clone(), reply.1.clone()),
            (RecordKind::Recv, reply.0, reply.1),
            (RecordKind::Send, "state".to_string(), "7".to_string()),
        ]
    );
}

/// A broadcaster sends `0..3` on `prices` to two listeners, `a` and `b`; `show` and
/// `fingerprint` opt the channel in.
fn prices(seed: u64, values: [u32; 3], show: bool, fingerprint: bool) -> Sim {
    use sim_core::sync::broadcast;
    let mut sim = Sim::new(Config::random(seed).trace(TraceMode::Full));
    let (tx, rx) = sim_core::named("prices", || broadcast::channel::<u32>(4));
    if show {
        tx.show_values();
    }
    if fingerprint {
        tx.fingerprint_values();
    }
    for (name, mut rx) in [("a", rx.resubscribe()), ("b", rx)] {
        sim.spawn_named(name, async move { while rx.recv().await.is_ok() {} });
    }
    sim.spawn_named("broadcaster", async move {
        for v in values {
            tx.send(v).unwrap();
            sleep(Duration::from_millis(1)).await;
        }
    });
    sim.run().unwrap();
    sim
}

#[test]
fn broadcast_senders_show_their_values_without_changing_the_fingerprint() {
    for seed in 0..10 {
        let shown = prices(seed, [10, 20, 30], true, false);
        let plain = prices(seed, [10, 20, 30], false, false);
        assert_eq!(shown.fingerprint(), plain.fingerprint(), "seed {seed}: showing values changes no fingerprint");
        assert_eq!(shown.fingerprint(), prices(seed, [10, 20, 30], true, false).fingerprint(), "seed {seed} twice");
        let (shown, plain) = (shown.trace(), plain.trace());
        assert_eq!(shown.lines, plain.lines, "seed {seed}");
        assert!(plain.lines.iter().all(|l| l.value_text.is_none()));
        let sends: Vec<Option<&str>> =
            shown.lines.iter().filter(|l| l.kind == RecordKind::Send).map(|l| l.value_text.as_deref()).collect();
        // Three sends; each listener receives the three values in order. The closing
        // receive (an error, no value) shows none.
        assert_eq!(sends, [Some("10"), Some("20"), Some("30")], "seed {seed}");
        for task in ["a", "b"] {
            let values: Vec<Option<&str>> = shown
                .lines
                .iter()
                .filter(|l| l.kind == RecordKind::Recv && l.task.as_deref() == Some(task))
                .map(|l| l.value_text.as_deref())
                .collect();
            assert_eq!(values, [Some("10"), Some("20"), Some("30"), None], "seed {seed}, listener {task}");
        }
    }
    // Fingerprinted values: other values, another fingerprint; the same values, the same.
    let fp = |values, fingerprint| prices(3, values, false, fingerprint).fingerprint();
    assert_eq!(fp([10, 20, 30], false), fp([10, 20, 31], false), "values are not fingerprinted by default");
    assert_ne!(fp([10, 20, 30], true), fp([10, 20, 31], true), "fingerprinted values tell the runs apart");
    assert_eq!(fp([10, 20, 30], true), fp([10, 20, 30], true));
}

/// The names of the tasks a run spawned, in spawn order.
fn spawned(sim: &Sim) -> Vec<String> {
    sim.trace().lines.into_iter().filter(|l| l.kind == RecordKind::Spawn).filter_map(|l| l.task).collect()
}

#[test]
fn tasks_spawned_without_a_name_are_named_after_their_spawn_site() {
    let run = |seed: u64| {
        let mut sim = Sim::new(Config::random(seed).trace(TraceMode::Full));
        let first = line!() + 1;
        sim.spawn(async {
            sim_core::spawn(async {});
            sim_core::task::Builder::new().spawn(async {});
            sim_core::task::Builder::new().name("explicit").spawn(async {});
            sim_core::named("scoped", || sim_core::spawn(async {}));
            let mut set = sim_core::task::JoinSet::new();
            set.spawn(async {});
            sim_core::named("in-set", || set.spawn(async {}));
            while set.join_next().await.is_some() {}
        });
        sim.spawn_named("by-name", async {});
        sim.run().unwrap();
        (sim.fingerprint(), spawned(&sim), first)
    };
    let (fingerprint, names, first) = run(5);
    let at = |offset: u32| format!("trace.rs:{}", first + offset);
    assert_eq!(
        names,
        [at(0), "by-name".to_string(), at(1), at(2), "explicit".into(), "scoped".into(), at(6), "in-set".into()]
    );
    // The same seed runs the same, names and all.
    for _ in 0..2 {
        assert_eq!(run(5).0, fingerprint);
    }
}

#[test]
fn a_task_spawned_from_another_line_changes_the_fingerprint() {
    // Names are fingerprinted: the same run, its task spawned from another line.
    let run = |which: bool| {
        let mut sim = Sim::new(Config::default());
        if which {
            sim.spawn(async {});
        } else {
            sim.spawn(async {});
        }
        sim.run().unwrap();
        sim.fingerprint()
    };
    assert_eq!(run(true), run(true));
    assert_ne!(run(true), run(false));
}

/// A waker whose drop sends on a channel, as a user's waker may.
struct SendOnDrop(mpsc::UnboundedSender<u32>, u32);

impl std::task::Wake for SendOnDrop {
    fn wake(self: std::sync::Arc<Self>) {}
}

impl Drop for SendOnDrop {
    fn drop(&mut self) {
        let _ = self.0.send(self.1);
    }
}

/// Every way the engine lets go of a waker it kept: a timer polled again with another
/// waker drops the first (1), a timer dropped (cancelled) drops its waker (2), a
/// JoinHandle polled again with another waker drops the first (3), and the joiner's
/// waker is woken and dropped when the task ends (4). Each drop sends on `dropped`,
/// and each send is in the trace: the engine drops them after letting go of the
/// simulation's state (before, sends 1 to 3 ran while it held it and went unrecorded).
#[test]
fn a_send_from_a_waker_the_engine_drops_is_recorded() {
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::Arc;
    use std::task::{Context, Waker};

    let mut sim = Sim::new(Config::default().trace(TraceMode::Full));
    let (tx, mut rx) = sim_core::named("dropped", || mpsc::unbounded_channel::<u32>());
    sim.spawn_named("poller", async move {
        let waker = |n| Waker::from(Arc::new(SendOnDrop(tx.clone(), n)));
        let mut timer = Box::pin(sleep(Duration::from_millis(5)));
        assert!(timer.as_mut().poll(&mut Context::from_waker(&waker(1))).is_pending());
        assert!(timer.as_mut().poll(&mut Context::from_waker(&waker(2))).is_pending());
        drop(timer);
        let mut other = sim_core::task::Builder::new().name("other").spawn(sleep(Duration::from_millis(1)));
        assert!(Pin::new(&mut other).poll(&mut Context::from_waker(&waker(3))).is_pending());
        assert!(Pin::new(&mut other).poll(&mut Context::from_waker(&waker(4))).is_pending());
    });
    sim.run().unwrap();
    let mut received = Vec::new();
    while let Ok(v) = rx.try_recv() {
        received.push(v);
    }
    assert_eq!(received, [1, 2, 3, 4]);
    let sends: Vec<String> = sim
        .trace()
        .lines
        .iter()
        .filter(|l| l.kind == RecordKind::Send && l.channel.as_deref() == Some("dropped"))
        .map(ToString::to_string)
        .collect();
    assert_eq!(sends.len(), 4, "every send is recorded: {sends:#?}");
}
