//! Traces: every step and every operation of a run, and the run's fingerprint
//! ([`Fingerprint`] says what it covers).
//!
//! Each record holds ids, not names, so recording costs no allocation; names are
//! resolved when a [`Trace`] is taken from the simulation.
//!
//! **Values as text.** A channel that opted in with `show_values` (for example
//! [`ShowValues`](crate::sync::ShowValues); it needs
//! `T: Debug`, the channel's other methods need nothing) records each message's `Debug`
//! text, at most [`MAX_VALUE_TEXT`] characters, in its send and receive records
//! ([`TraceLine::value_text`]): trace lines, JSON Lines traces and timelines show it.
//! The text is **not** fingerprinted (a `Debug` output may differ between runs that
//! are the same, a `HashMap`'s say), and two trace lines that differ only in it are
//! equal. Without `show_values`, a fingerprinted channel shows its values' hashes.

use std::collections::VecDeque;
use std::fmt;
use std::hash::{Hash, Hasher};

use crate::instant::Instant;
use crate::{ChannelId, Choice, TaskId, TimerId};

/// What a trace record is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "json", derive(serde::Serialize), serde(rename_all = "kebab-case"))]
#[non_exhaustive]
pub enum RecordKind {
    /// Step: a task was polled.
    Poll,
    /// Step: a timer fired.
    TimerFire,
    /// Step: a message in flight on a channel with latency was delivered.
    Deliver,
    /// A task was spawned.
    Spawn,
    /// A task finished.
    TaskEnd,
    /// A task was aborted.
    TaskAbort,
    /// A timer was set.
    TimerSet,
    /// A timer was dropped before it fired.
    TimerCancel,
    /// A message was sent on a channel.
    Send,
    /// A message was received from a channel.
    Recv,
    /// A channel closed (its last sender or its receiver went away).
    Close,
    /// A [`select`](crate::select::select) or [`choose`](crate::choose) made a choice.
    Choose,
    /// A task reported a property violation.
    Violation,
    /// A waker was invoked from a thread other than the simulation's: determinism leak.
    ForeignWake,
    /// A `Notify` was notified (`notify_one`, `notify_last` or `notify_waiters`).
    Notify,
    /// A task took a notification from a `Notify` (its `notified()` completed).
    Notified,
    /// A watch channel's value was read without being marked seen (`borrow`,
    /// `has_changed`).
    Read,
    /// A slot was reserved in a bounded channel (a `Permit`).
    Reserve,
    /// A `JoinSet` handed out the result of one of its tasks.
    Join,
    /// A task reached a `Barrier`.
    Arrive,
    /// A `OnceCell` was given its value.
    Init,
    /// Permits were taken from a semaphore, or a `Mutex` or `RwLock` was locked.
    Acquire,
    /// Permits were returned to a semaphore, or a lock's guard was dropped.
    Release,
}

impl RecordKind {
    fn code(self) -> u64 {
        self as u64
    }

    /// The kind's name as in JSON Lines traces and trace lines (`timer-fire`).
    pub fn label(self) -> &'static str {
        match self {
            RecordKind::Poll => "poll",
            RecordKind::TimerFire => "timer-fire",
            RecordKind::Deliver => "deliver",
            RecordKind::Spawn => "spawn",
            RecordKind::TaskEnd => "task-end",
            RecordKind::TaskAbort => "task-abort",
            RecordKind::TimerSet => "timer-set",
            RecordKind::TimerCancel => "timer-cancel",
            RecordKind::Send => "send",
            RecordKind::Recv => "recv",
            RecordKind::Close => "close",
            RecordKind::Choose => "choose",
            RecordKind::Violation => "violation",
            RecordKind::ForeignWake => "foreign-wake",
            RecordKind::Notify => "notify",
            RecordKind::Notified => "notified",
            RecordKind::Read => "read",
            RecordKind::Reserve => "reserve",
            RecordKind::Join => "join",
            RecordKind::Arrive => "arrive",
            RecordKind::Init => "init",
            RecordKind::Acquire => "acquire",
            RecordKind::Release => "release",
        }
    }
}

/// One record, by ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TraceRecord {
    /// The step during which this happened (steps count from 1).
    pub step: u64,
    /// Virtual time.
    pub time: Instant,
    /// What happened.
    pub kind: RecordKind,
    /// The task polled, spawned, ended, or owning the timer; or the task that did the operation.
    pub task: Option<TaskId>,
    /// The channel involved.
    pub channel: Option<ChannelId>,
    /// The timer involved, and its deadline.
    pub timer: Option<(TimerId, Instant)>,
    /// The choice made, when this record is a choice point.
    pub choice: Option<Choice>,
    /// The [`value_hash`] of the message sent or received, on a channel whose values
    /// are fingerprinted.
    pub value: Option<u64>,
    /// The timer's name, by index (resolved into [`TraceLine::timer`]); not
    /// fingerprinted: the timer's id, deadline and owning task are.
    pub timer_name: Option<u32>,
}

impl TraceRecord {
    pub(crate) fn new(step: u64, time: Instant, kind: RecordKind) -> TraceRecord {
        TraceRecord {
            step,
            time,
            kind,
            task: None,
            channel: None,
            timer: None,
            choice: None,
            value: None,
            timer_name: None,
        }
    }

    /// Folds the record into the running hash: packed words, with a flags byte
    /// saying which optional fields follow, so no two records hash the same words.
    #[inline]
    fn hash_into(&self, h: u64) -> u64 {
        let id = |x: Option<u32>| x.map_or(0, |v| u64::from(v) + 1);
        let flags = u64::from(self.timer.is_some())
            | u64::from(self.choice.is_some()) << 1
            | u64::from(self.value.is_some()) << 2;
        let mut h = mix(h, self.time.as_nanos());
        h = mix(h, self.step << 16 | flags << 8 | self.kind.code());
        h = mix(h, id(self.task.map(|t| t.0)) << 32 | id(self.channel.map(|c| c.0)));
        if let Some((timer, at)) = self.timer {
            h = mix(h, timer.0);
            h = mix(h, at.as_nanos());
        }
        if let Some(c) = self.choice {
            h = mix(h, u64::from(c.options) << 32 | u64::from(c.index));
        }
        if let Some(v) = self.value {
            h = mix(h, v);
        }
        h
    }
}

/// What a name folded into the fingerprint belongs to.
#[derive(Clone, Copy, Debug)]
pub(crate) enum NameOf {
    Task,
    Channel,
}

/// The hash of a message value, as fingerprinted and shown in traces: `T`'s [`Hash`]
/// fed to a fixed hasher built on the fingerprint's mixing step (no per-process
/// random key), so the same value hashes the same in every run and every process.
pub fn value_hash<T: Hash + ?Sized>(value: &T) -> u64 {
    let mut hasher = ValueHasher(0x9e37_79b9_7f4a_7c15);
    value.hash(&mut hasher);
    hasher.finish()
}

/// The longest value text a trace record keeps, in characters; a longer `Debug` output
/// is cut there, with `…` after the cut (and is never formatted past it).
pub const MAX_VALUE_TEXT: usize = 100;

/// What a channel records of each message's value: its [`value_hash`] (folded into the
/// fingerprint) once the channel fingerprints values, its `Debug` text (shown, never
/// fingerprinted) once it shows them. Chosen when the channel opts in, where `T`'s
/// `Hash` or `Debug` is known, so the channel's own methods need no bound on `T`.
pub(crate) struct ValueRecorder<T> {
    hash: Option<fn(&T) -> u64>,
    text: Option<fn(&T) -> String>,
}

impl<T> Default for ValueRecorder<T> {
    fn default() -> ValueRecorder<T> {
        ValueRecorder { hash: None, text: None }
    }
}

impl<T> Clone for ValueRecorder<T> {
    fn clone(&self) -> ValueRecorder<T> {
        *self
    }
}

impl<T> Copy for ValueRecorder<T> {}

impl<T> ValueRecorder<T> {
    /// From now on, hash values into the fingerprint.
    pub(crate) fn fingerprint(&mut self)
    where
        T: Hash,
    {
        self.hash = Some(value_hash::<T>);
    }

    /// From now on, record values' `Debug` text.
    pub(crate) fn show(&mut self)
    where
        T: fmt::Debug,
    {
        self.text = Some(value_text::<T>);
    }

    /// What a record of `value` holds.
    #[inline]
    pub(crate) fn of(&self, value: &T) -> MessageValue {
        MessageValue { hash: self.hash.map(|hash| hash(value)), text: self.text.map(|text| text(value)) }
    }
}

/// What a send or receive record holds of its message: see [`ValueRecorder`].
#[derive(Debug, Default)]
pub(crate) struct MessageValue {
    pub(crate) hash: Option<u64>,
    pub(crate) text: Option<String>,
}

/// `value`'s `Debug` text on one line (control characters escaped), as trace records
/// show it: at most [`MAX_VALUE_TEXT`] characters, a longer one cut there (and not
/// formatted further) with `…` after the cut.
pub fn value_text<T: fmt::Debug + ?Sized>(value: &T) -> String {
    struct Capped {
        out: String,
        chars: usize,
        cut: bool,
    }
    impl fmt::Write for Capped {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            for c in s.chars() {
                let escaped = c.is_control().then(|| c.escape_default());
                let n = escaped.clone().map_or(1, Iterator::count);
                if self.chars + n > MAX_VALUE_TEXT {
                    self.cut = true;
                    return Err(fmt::Error);
                }
                match escaped {
                    Some(e) => self.out.extend(e),
                    None => self.out.push(c),
                }
                self.chars += n;
            }
            Ok(())
        }
    }
    let mut w = Capped { out: String::new(), chars: 0, cut: false };
    // An error is the cut (or a `Debug` that failed): keep what was written.
    let _ = fmt::write(&mut w, format_args!("{value:?}"));
    if w.cut {
        w.out.push('…');
    }
    w.out
}

/// The fixed hasher behind [`value_hash`]: integers are written as little-endian
/// bytes, so a value hashes the same on every platform.
struct ValueHasher(u64);

impl Hasher for ValueHasher {
    fn finish(&self) -> u64 {
        mix(self.0, 0xff)
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0 = fold_bytes(self.0, bytes);
    }

    fn write_usize(&mut self, n: usize) {
        self.write(&(n as u64).to_le_bytes());
    }

    fn write_isize(&mut self, n: isize) {
        self.write(&(n as i64).to_le_bytes());
    }
}

/// Folds `bytes` into `h`, eight at a time, then their count.
fn fold_bytes(mut h: u64, bytes: &[u8]) -> u64 {
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        h = mix(h, u64::from_le_bytes(chunk.try_into().expect("8 bytes")));
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut last = [0u8; 8];
        last[..rest.len()].copy_from_slice(rest);
        h = mix(h, u64::from_le_bytes(last));
    }
    mix(h, bytes.len() as u64)
}

/// The fingerprint's mixing step: rotate, xor, multiply by an odd constant (the
/// FxHash step). Fixed forever: golden fingerprints depend on it.
fn mix(h: u64, x: u64) -> u64 {
    (h.rotate_left(5) ^ x).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95)
}

/// A run's fingerprint: a hash of its whole trace.
///
/// A running hash (its mixing step is defined in this crate so that it never changes
/// under us) over everything that can reach an output:
///
/// - every record's fields: step, virtual time, kind, task, channel, timer and its
///   deadline, choice;
/// - every task's and channel's **name**, folded in when the task is spawned or the
///   channel created;
/// - the **value** of every message sent or received on a channel that opted in with
///   `fingerprint_values` (for example
///   [`FingerprintValues`](crate::sync::FingerprintValues)):
///   values of any `T: Hash`, hashed with
///   [`value_hash`](crate::tooling::trace::value_hash), which is the same in every
///   process and on every platform (integers are hashed as little-endian bytes,
///   `usize` as 64 bits).
///
/// Two runs with equal fingerprints made the same steps in the same order at the same
/// virtual times with the same choices, named their tasks and channels the same, and
/// sent the same values on every fingerprinted channel.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "json", derive(serde::Serialize, serde::Deserialize))]
pub struct Fingerprint(pub u64);

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

/// How much of the trace a simulation keeps (the fingerprint always covers all of it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TraceMode {
    /// Keep only the last `n` records, for failure reports.
    Tail(usize),
    /// Keep every record (for export, timelines and determinism diffs).
    Full,
}

impl Default for TraceMode {
    fn default() -> TraceMode {
        TraceMode::Tail(32)
    }
}

pub(crate) struct TraceBuf {
    mode: TraceMode,
    records: VecDeque<TraceRecord>,
    /// The value texts of kept records, by the record's number in the run (from 0),
    /// oldest first: kept beside the records (which stay `Copy`) and never hashed.
    texts: VecDeque<(u64, Box<str>)>,
    hash: u64,
    count: u64,
}

impl TraceBuf {
    pub(crate) fn new(mode: TraceMode) -> TraceBuf {
        TraceBuf { mode, records: VecDeque::new(), texts: VecDeque::new(), hash: 0xcbf2_9ce4_8422_2325, count: 0 }
    }

    /// [`push_record`](TraceBuf::push_record), with the value text of the record's message (not
    /// fingerprinted), kept as long as the record is.
    pub(crate) fn push_with_text(&mut self, record: TraceRecord, text: Option<String>) {
        let number = self.count;
        self.push_record(record);
        // Kept unless the mode keeps no records at all.
        if let Some(text) = text.filter(|_| self.first_kept() <= number) {
            self.texts.push_back((number, text.into_boxed_str()));
        }
    }

    /// The number (from 0) of the oldest record kept.
    fn first_kept(&self) -> u64 {
        self.count - self.records.len() as u64
    }

    /// Appends a record (only `core/record.rs` does: `tests/trace_writer.rs`).
    #[inline]
    pub(crate) fn push_record(&mut self, record: TraceRecord) {
        self.hash = record.hash_into(self.hash);
        self.count += 1;
        match self.mode {
            TraceMode::Full => self.records.push_back(record),
            TraceMode::Tail(0) => {}
            TraceMode::Tail(n) => {
                if self.records.len() == n {
                    self.records.pop_front();
                }
                self.records.push_back(record);
            }
        }
        let first = self.first_kept();
        while self.texts.front().is_some_and(|(number, _)| *number < first) {
            self.texts.pop_front();
        }
    }

    /// Folds a task's or channel's name into the fingerprint (no record: the name
    /// is resolved into trace lines from the tables).
    pub(crate) fn fold_name(&mut self, of: NameOf, id: u32, name: &str) {
        let tag = match of {
            NameOf::Task => 1u64,
            NameOf::Channel => 2,
        };
        self.hash = fold_bytes(mix(self.hash, tag << 32 | u64::from(id)), name.as_bytes());
    }

    pub(crate) fn fingerprint(&self) -> Fingerprint {
        Fingerprint(mix(self.hash, self.count))
    }

    /// The kept records, oldest first, each with its value text if it has one.
    pub(crate) fn records(&self) -> impl Iterator<Item = (&TraceRecord, Option<&str>)> {
        let mut texts = self.texts.iter().peekable();
        (self.first_kept()..).zip(&self.records).map(move |(number, record)| {
            let text = texts.next_if(|(n, _)| *n == number).map(|(_, text)| &**text);
            (record, text)
        })
    }

    pub(crate) fn is_full(&self) -> bool {
        self.mode == TraceMode::Full
    }
}

/// One record with its names resolved.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "json", derive(serde::Serialize))]
pub struct TraceLine {
    /// The step (from 1).
    pub step: u64,
    /// Virtual time in nanoseconds.
    pub t_ns: u64,
    /// What happened.
    pub kind: RecordKind,
    /// Task id.
    #[cfg_attr(feature = "json", serde(skip_serializing_if = "Option::is_none"))]
    pub task_id: Option<u32>,
    /// Task name.
    #[cfg_attr(feature = "json", serde(skip_serializing_if = "Option::is_none"))]
    pub task: Option<String>,
    /// Channel id.
    #[cfg_attr(feature = "json", serde(skip_serializing_if = "Option::is_none"))]
    pub channel_id: Option<u32>,
    /// Channel name.
    #[cfg_attr(feature = "json", serde(skip_serializing_if = "Option::is_none"))]
    pub channel: Option<String>,
    /// Timer id.
    #[cfg_attr(feature = "json", serde(skip_serializing_if = "Option::is_none"))]
    pub timer_id: Option<u64>,
    /// The timer's name: where it was created (`debounce.rs:42`), or the enclosing
    /// [`named`](crate::named) scope's name.
    #[cfg_attr(feature = "json", serde(skip_serializing_if = "Option::is_none"))]
    pub timer: Option<String>,
    /// The timer's deadline in nanoseconds.
    #[cfg_attr(feature = "json", serde(skip_serializing_if = "Option::is_none"))]
    pub deadline_ns: Option<u64>,
    /// `[options, index]` when this was a choice point.
    #[cfg_attr(feature = "json", serde(skip_serializing_if = "Option::is_none"))]
    pub choice: Option<[u32; 2]>,
    /// The [`value_hash`] of the message sent or received, on a channel whose values
    /// are fingerprinted; in JSON, 16 hex digits (a JSON number cannot hold 64 bits).
    #[cfg_attr(feature = "json", serde(skip_serializing_if = "Option::is_none", serialize_with = "hex_value"))]
    pub value: Option<u64>,
    /// The message's `Debug` text, on a channel that shows its values (`show_values`),
    /// at most [`MAX_VALUE_TEXT`] characters. Not fingerprinted, and left out of
    /// equality: two lines that differ only here are equal.
    #[cfg_attr(feature = "json", serde(skip_serializing_if = "Option::is_none"))]
    pub value_text: Option<String>,
}

/// Equal when every field but [`value_text`](TraceLine::value_text) is: the text shows a
/// value, it is not part of the run (a `Debug` output may differ between equal runs).
impl PartialEq for TraceLine {
    fn eq(&self, other: &TraceLine) -> bool {
        let TraceLine {
            step,
            t_ns,
            kind,
            task_id,
            task,
            channel_id,
            channel,
            timer_id,
            timer,
            deadline_ns,
            choice,
            value,
            value_text: _,
        } = self;
        *step == other.step
            && *t_ns == other.t_ns
            && *kind == other.kind
            && *task_id == other.task_id
            && *task == other.task
            && *channel_id == other.channel_id
            && *channel == other.channel
            && *timer_id == other.timer_id
            && *timer == other.timer
            && *deadline_ns == other.deadline_ns
            && *choice == other.choice
            && *value == other.value
    }
}

impl Eq for TraceLine {}

#[cfg(feature = "json")]
impl TraceLine {
    /// The line as one JSON object, the fields in declaration order, `None`s left
    /// out (as its `Serialize` through `serde_json`).
    fn write_json(&self, out: &mut String) {
        use std::fmt::Write as _;
        let mut kind = String::new();
        for (i, c) in format!("{:?}", self.kind).chars().enumerate() {
            if c.is_ascii_uppercase() && i > 0 {
                kind.push('-');
            }
            kind.push(c.to_ascii_lowercase());
        }
        let _ = write!(out, "{{\"step\":{},\"t_ns\":{},\"kind\":", self.step, self.t_ns);
        json_string(out, &kind);
        let number = |out: &mut String, key: &str, v: Option<u64>| {
            if let Some(v) = v {
                let _ = write!(out, ",\"{key}\":{v}");
            }
        };
        let string = |out: &mut String, key: &str, v: &Option<String>| {
            if let Some(v) = v {
                let _ = write!(out, ",\"{key}\":");
                json_string(out, v);
            }
        };
        number(out, "task_id", self.task_id.map(u64::from));
        string(out, "task", &self.task);
        number(out, "channel_id", self.channel_id.map(u64::from));
        string(out, "channel", &self.channel);
        number(out, "timer_id", self.timer_id);
        string(out, "timer", &self.timer);
        number(out, "deadline_ns", self.deadline_ns);
        if let Some([options, index]) = self.choice {
            let _ = write!(out, ",\"choice\":[{options},{index}]");
        }
        string(out, "value", &self.value.map(|v| format!("{v:016x}")));
        string(out, "value_text", &self.value_text);
        out.push('}');
    }
}

/// `s` as a JSON string, escaped as `serde_json` escapes it.
#[cfg(feature = "json")]
fn json_string(out: &mut String, s: &str) {
    use std::fmt::Write as _;
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(feature = "json")]
fn hex_value<S: serde::Serializer>(value: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(v) => s.serialize_str(&format!("{v:016x}")),
        None => s.serialize_none(),
    }
}

impl fmt::Display for TraceLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{} {} {}", self.step, Instant::from_nanos(self.t_ns), self.kind.label())?;
        if let Some(task) = &self.task {
            write!(f, " task `{task}`")?;
        }
        if let Some(channel) = &self.channel {
            write!(f, " channel `{channel}`")?;
        }
        if let (Some(id), Some(at)) = (self.timer_id, self.deadline_ns) {
            write!(f, " timer {id}")?;
            if let Some(name) = &self.timer {
                write!(f, " `{name}`")?;
            }
            write!(f, " at {}", Instant::from_nanos(at))?;
        }
        match (&self.value_text, self.value) {
            (Some(text), _) => write!(f, " value {text}")?,
            // The top half of the hash is enough for a reader to tell values apart.
            (None, Some(value)) => write!(f, " value {:08x}", value >> 32)?,
            (None, None) => {}
        }
        if let Some([options, index]) = self.choice {
            write!(f, " [choice {index} of {options}]")?;
        }
        Ok(())
    }
}

/// A trace taken from a simulation: the kept records with names resolved.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Trace {
    /// The records, oldest first.
    pub lines: Vec<TraceLine>,
    /// The fingerprint of the whole run so far.
    pub fingerprint: Option<Fingerprint>,
    /// Whether `lines` is the whole run (false when only a tail was kept).
    pub complete: bool,
}

impl Trace {
    /// Writes the trace as JSON Lines, one record per line (feature `json`): each
    /// line is what `serde_json` makes of the [`TraceLine`]'s `Serialize`.
    ///
    /// Written here rather than by `serde_json`: a crate in a build graph brings its
    /// trait impls into every crate's type inference, and `serde_json`'s
    /// `PartialEq<Value>` for the integer types breaks code such as
    /// `assert_eq!(items, vec![])` with `items: Vec<u32>` (tokio's own tests do that)
    /// in any crate that depends on sim-tokio, which depends on this crate.
    ///
    /// # Errors
    /// Returns the writer's I/O error.
    #[cfg(feature = "json")]
    pub fn write_jsonl(&self, mut w: impl std::io::Write) -> std::io::Result<()> {
        let mut text = String::new();
        for line in &self.lines {
            text.clear();
            line.write_json(&mut text);
            text.push('\n');
            w.write_all(text.as_bytes())?;
        }
        Ok(())
    }
}

impl fmt::Display for Trace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for line in &self.lines {
            writeln!(f, "{line}")?;
        }
        Ok(())
    }
}
