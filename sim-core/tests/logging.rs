//! Logging with virtual time. A separate test binary: tracing caches callsite interest
//! process-wide, and a test on another thread of the engine binary that polls a task
//! with no subscriber could cache the engine's task span as disabled before these
//! tests install theirs. Here every test installs a subscriber.

use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sim_core::log::{init_test_logging_at, VirtualTime};
use sim_core::time::sleep;
use sim_core::{Config, Sim};
use tracing::level_filters::LevelFilter;

/// A `MakeWriter` target: every writer appends to one shared buffer.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl io::Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Buffer {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

fn captured(run: impl FnOnce()) -> String {
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber =
        tracing_subscriber::fmt().with_timer(VirtualTime).with_ansi(false).with_writer(move || writer.clone()).finish();
    // Callsite interest is cached process-wide; a test on another thread may have
    // cached "never" for the engine's task span before this subscriber existed.
    tracing::subscriber::with_default(subscriber, || {
        tracing::callsite::rebuild_interest_cache();
        run();
    });
    buffer.text()
}

#[test]
fn a_log_line_inside_a_task_shows_the_virtual_time_and_the_task() {
    let out = captured(|| {
        let mut sim = Sim::new(Config::default());
        sim.spawn_named("worker", async {
            sleep(Duration::from_millis(50)).await;
            tracing::info!(item = 7, "emitted");
        });
        sim.run().unwrap();
    });
    let line = out.lines().find(|l| l.contains("emitted")).unwrap_or_else(|| panic!("no log line in {out:?}"));
    assert!(line.starts_with("t=50ms "), "{line}");
    assert!(line.contains("task{name=worker id=0}"), "{line}");
    assert!(line.contains("item=7"), "{line}");
}

#[test]
fn a_log_line_outside_any_simulation_says_so() {
    let out = captured(|| tracing::warn!("no simulation here"));
    assert!(out.starts_with("t=- "), "{out}");
}

#[test]
fn test_logging_installs_once() {
    init_test_logging_at(LevelFilter::OFF);
    assert!(!init_test_logging_at(LevelFilter::OFF), "a second global subscriber must be refused");
}
