//! Input timelines as data, and the world that runs them. This test binary is built
//! twice from one source: in the workspace (`--cfg lockstep`) the processors run on the
//! simulator, and a timeline runs as a simulation (a driver task sending on a
//! `sim_core::sync::mpsc` channel, virtual time advancing by itself) under FIFO and
//! random seeds; built without the flag (CI's stage "processors on real tokio":
//! `RUSTFLAGS= RUSTDOCFLAGS= cargo test -p processors --target-dir target/tokio-side`) they
//! run on real tokio with paused time (tokio-test's mock task, the test moving time with
//! `tokio::time::advance`). Both produce the same record: each output with the time it
//! was emitted, and the time the output ended; [`check_timeline`] compares it with the
//! record a test expects, so every timeline test states one expectation for both worlds.

use std::fmt::Debug;
use std::time::Duration;

use processors::Logic;

/// `n` milliseconds.
pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// An input event: a success or an error (identified by a number).
pub type Input<T> = Result<T, u32>;

/// An input timeline: events at times since the start, in order, then the end of
/// the input.
#[derive(Clone, Debug, PartialEq)]
pub struct Timeline<T> {
    /// `(time, event)`, times non-decreasing.
    pub events: Vec<(Duration, Input<T>)>,
    /// When the input ends (not before the last event).
    pub close_at: Duration,
}

impl<T> Timeline<T> {
    /// Successes `value@time_ms`, then the end at `close_ms`.
    pub fn oks(items: impl IntoIterator<Item = (u64, T)>, close_ms: u64) -> Timeline<T> {
        Timeline { events: items.into_iter().map(|(t, v)| (ms(t), Ok(v))).collect(), close_at: ms(close_ms) }
    }

    /// The same timeline without its errors.
    pub fn without_errors(&self) -> Timeline<T>
    where
        T: Clone,
    {
        Timeline { events: self.events.iter().filter(|(_, e)| e.is_ok()).cloned().collect(), close_at: self.close_at }
    }

    /// The successes with their times.
    pub fn successes(&self) -> Vec<(Duration, T)>
    where
        T: Clone,
    {
        self.events.iter().filter_map(|(t, e)| e.as_ref().ok().map(|v| (*t, v.clone()))).collect()
    }
}

/// What the consumer saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seen<O> {
    /// A success.
    Out(O),
    /// An error, passed through.
    Err(u32),
    /// The end of the output.
    End,
}

/// Everything the consumer saw, with the time (since the start) it saw it.
pub type Record<O> = Vec<(Duration, Seen<O>)>;

/// The successes of a record with their times.
pub fn outs<O: Clone>(record: &Record<O>) -> Vec<(Duration, O)> {
    record.iter().filter_map(|(t, s)| if let Seen::Out(o) = s { Some((*t, o.clone())) } else { None }).collect()
}

/// The record with its errors left out.
pub fn without_errors<O: Clone>(record: &Record<O>) -> Record<O> {
    record.iter().filter(|(_, s)| !matches!(s, Seen::Err(_))).cloned().collect()
}

pub(crate) fn seen<O>(item: Result<O, u32>) -> Seen<O> {
    match item {
        Ok(o) => Seen::Out(o),
        Err(e) => Seen::Err(e),
    }
}

/// The simulator's runners (`--cfg lockstep`).
#[cfg(lockstep)]
pub mod sim {
    use futures::StreamExt;
    use processors::Logic;
    use sim_core::time::Instant;
    use sim_core::{Config, Sim};

    use super::{seen, Input, Record, Seen, Timeline};

    /// Runs `timeline` through `logic` on the simulator configured by `config`. The
    /// simulation is returned too, for its fingerprint and tape.
    pub fn run_sim_with<T, L>(timeline: &Timeline<T>, config: Config, logic: L) -> (Record<L::Out>, Sim)
    where
        T: Clone + 'static,
        L: Logic<In = T> + 'static,
        L::Out: 'static,
    {
        let mut sim = Sim::new(config);
        let (tx, rx) = sim_core::named("input", || sim_core::sync::mpsc::unbounded_channel::<Input<T>>());
        let events = timeline.events.clone();
        let close_at = timeline.close_at;
        sim.spawn_named("driver", async move {
            for (at, event) in events {
                sim_core::time::sleep_until(Instant::ZERO + at).await;
                // The consumer may have stopped (a test that cancels): nothing to do.
                let _ = tx.send(event);
            }
            sim_core::time::sleep_until(Instant::ZERO + close_at).await;
            drop(tx);
        });
        let record = sim
            .block_on(async move {
                let mut processor = logic.process(rx);
                let mut record = Vec::new();
                while let Some(item) = processor.next().await {
                    record.push((Instant::now().since_origin(), seen(item)));
                }
                record.push((Instant::now().since_origin(), Seen::End));
                record
            })
            .unwrap_or_else(|failure| panic!("simulation failed: {failure}"));
        (record, sim)
    }

    /// Runs `timeline` through `logic` on the simulator with FIFO tie-breaking.
    pub fn run_sim<T, L>(timeline: &Timeline<T>, logic: L) -> Record<L::Out>
    where
        T: Clone + 'static,
        L: Logic<In = T> + 'static,
        L::Out: 'static,
    {
        run_sim_with(timeline, Config::default(), logic).0
    }
}

/// Real tokio's runners (built without `--cfg lockstep`).
#[cfg(not(lockstep))]
pub mod on_tokio {
    use std::task::Poll;

    use processors::Logic;

    use super::{seen, Input, Record, Seen, Timeline};

    /// Runs `timeline` through `logic` on tokio; must run inside a current-thread
    /// runtime with paused time. Time moves only by `tokio::time::advance`, to the next
    /// input or to the processor's next deadline; at a deadline with no input, the
    /// processor's own timer must have woken it (checked for whole-millisecond
    /// deadlines: tokio's timers tick in milliseconds).
    pub async fn run_tokio<T, L>(timeline: &Timeline<T>, logic: L) -> Record<L::Out>
    where
        T: Clone + Unpin,
        L: Logic<In = T> + Unpin,
        L::Out: Unpin,
    {
        let (tx, rx) = futures::channel::mpsc::unbounded::<Input<T>>();
        let mut tx = Some(tx);
        let origin = tokio::time::Instant::now();
        let mut processor = tokio_test::task::spawn(logic.process(rx));
        let mut events = timeline.events.iter().peekable();
        let mut record = Vec::new();
        loop {
            let now = tokio::time::Instant::now() - origin;
            while let Some((_, event)) = events.next_if(|(at, _)| *at <= now) {
                tx.as_ref().expect("input still open").unbounded_send(event.clone()).expect("processor alive");
            }
            if events.peek().is_none() && timeline.close_at <= now {
                tx = None;
            }
            loop {
                match processor.poll_next() {
                    Poll::Ready(Some(item)) => record.push((now, seen(item))),
                    Poll::Ready(None) => {
                        record.push((now, Seen::End));
                        return record;
                    }
                    Poll::Pending => break,
                }
            }
            let next_input = match events.peek() {
                Some((at, _)) => Some(*at),
                None => tx.is_some().then_some(timeline.close_at),
            };
            let deadline = processor.deadline();
            let next = match (next_input, deadline) {
                (Some(a), Some(b)) => a.min(b),
                (a, b) => a.or(b).expect("the processor waits for nothing although its input is closed"),
            };
            assert!(next > now, "the processor left its deadline {next:?} due at {now:?}");
            tokio::time::advance(next - now).await;
            let whole_ms = next.subsec_nanos() % 1_000_000 == 0;
            if deadline == Some(next) && next_input != Some(next) && whole_ms {
                assert!(processor.is_woken(), "the processor's timer did not wake it at its deadline {next:?}");
            }
        }
    }

    /// Runs `f` on a fresh current-thread tokio runtime with paused time.
    pub fn on_paused_tokio<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .expect("runtime")
            .block_on(f)
    }
}

/// Runs `timeline` through `logic` once in this build's world: a simulation with the
/// random tie-breaking of `seed`, or tokio with paused time (which has no seed).
pub fn run_once<T, L>(timeline: &Timeline<T>, seed: u64, logic: L) -> Record<L::Out>
where
    T: Clone + Unpin + 'static,
    L: Logic<In = T> + Unpin + 'static,
    L::Out: Unpin + 'static,
{
    #[cfg(lockstep)]
    {
        sim::run_sim_with(timeline, sim_core::Config::random(seed), logic).0
    }
    #[cfg(not(lockstep))]
    {
        let _ = seed;
        on_tokio::on_paused_tokio(on_tokio::run_tokio(timeline, logic))
    }
}

/// Runs `timeline` through `logic` in this build's world and checks every run against
/// `expected`: on the simulator under FIFO and `seeds` random seeds, on tokio with
/// paused time step by step (its timer must wake the processor at each deadline).
pub fn check_timeline<T, L>(timeline: &Timeline<T>, logic: impl Fn() -> L, expected: &Record<L::Out>, seeds: u64)
where
    T: Clone + Unpin + 'static,
    L: Logic<In = T> + Unpin + 'static,
    L::Out: Clone + Debug + PartialEq + Unpin + 'static,
{
    #[cfg(lockstep)]
    {
        assert_eq!(&sim::run_sim(timeline, logic()), expected, "simulator, FIFO");
        for seed in 0..seeds {
            let (record, _) = sim::run_sim_with(timeline, sim_core::Config::random(seed), logic());
            assert_eq!(&record, expected, "simulator, seed {seed}");
        }
    }
    #[cfg(not(lockstep))]
    {
        let _ = seeds;
        let record = on_tokio::on_paused_tokio(on_tokio::run_tokio(timeline, logic()));
        assert_eq!(&record, expected, "tokio with paused time");
    }
}
