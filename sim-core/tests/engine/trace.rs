//! Traces: every step recorded with names, exported as JSON Lines.

use std::time::Duration;

use sim_core::sync::mpsc;
use sim_core::time::sleep;
use sim_core::trace::RecordKind;
use sim_core::{Config, Sim, TraceMode};

fn ping(config: Config) -> Sim {
    let mut sim = Sim::new(config.trace(TraceMode::Full));
    let (tx, mut rx) = mpsc::channel_named::<u8>("ping", 1);
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

#[test]
fn the_tail_mode_keeps_the_last_records_but_fingerprints_everything() {
    let full = ping(Config::random(4));
    let mut tail = Sim::new(Config::random(4).trace(TraceMode::Tail(3)));
    let (tx, mut rx) = mpsc::channel_named::<u8>("ping", 1);
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
