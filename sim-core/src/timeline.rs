//! The timeline picture of a run: one self-contained HTML file.
//!
//! [`render_timeline`] draws a [`Trace`] (best taken with `TraceMode::Full`) as a chart
//! with a lane per task and a lane per channel. Virtual time runs left to right, but
//! not to scale: every trace record gets its own column, in record order, so events
//! that share an instant stay apart and keep the order the scheduler gave them.
//! Shaded bands mark the instants, labelled with their virtual time; thin rules mark
//! step boundaries. Each record is one marker (a poll is a bar over its step's
//! columns; a send or receive sits on the channel's lane and is tied to its task's
//! lane), with the full trace line as its hover title. Choice points are highlighted
//! with "choice i of n", and a failure is marked after the last record: its class and
//! message, and for a deadlock each blocked task's lane says what it waits on.
//!
//! The file needs no network: inline CSS and inline SVG, no script, no fonts. It is
//! deterministic (the same trace gives the same bytes) and every name is
//! HTML-escaped. Elements carry classes and data attributes that tests can count:
//! the root has `data-lanes`, `data-events`, `data-choices`, `data-failure` and
//! `data-values`; lanes are `class="lane"`, records `class="event"`, choice highlights
//! `class="choice"`, blocked-task marks `class="blocked"`.
//!
//! **Values.** A send or receive on a channel that shows its values
//! ([`show_values`](crate::sync::ShowValues::show_values)) has the value's `Debug`
//! text written under its marker (`class="value-text"`, as much as fits the column) and
//! in full in its hover title and the listing; `data-values` counts them. A channel that
//! only fingerprints its values shows their hashes in the hover titles.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

use crate::time::Instant;
use crate::trace::{RecordKind, TraceLine};
use crate::{Failure, FailureKind, Trace};

/// Narrowest and widest column for one record, in pixels.
const COL_RANGE: (i64, i64) = (18, 40);
/// The width that short traces spread their columns over.
const FIT_W: i64 = 820;
/// Space before the first column.
const PAD: i64 = 12;
/// Height of one lane.
const LANE_H: i64 = 32;
/// Height of the time and step rows above the lanes.
const AXIS_H: i64 = 54;
/// Height of the row of rotated "choice i of n" labels (only when there are choices).
const CHOICE_H: i64 = 92;
/// Space below the last lane.
const BOTTOM: i64 = 12;
/// Width of the lane-label column.
const LABEL_W: i64 = 210;
/// Approximate width of one character of 11px sans-serif text, for label spacing.
const CHAR_W: i64 = 7;
/// Longest name or message shown in full inside the chart (hover titles keep all).
const MAX_SHOWN: usize = 90;
/// Approximate width of one character of a value written under its marker (9px text).
const VALUE_CHAR_W: i64 = 6;

/// Renders a run's trace, and its failure if it failed, as one self-contained HTML page.
///
/// Lanes are the tasks (by id) and then the channels (by id) named in the trace, plus
/// any blocked task of a deadlock that the kept trace does not mention. Every trace
/// line is drawn as exactly one `class="event"` element.
pub fn render_timeline(trace: &Trace, failure: Option<&Failure>, title: &str) -> String {
    render_marked(trace, failure, title, &Marks::default())
}

/// What a timeline marks beyond the trace itself.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Marks {
    /// The critical pair, as indices into the trace's lines: the event the failing run
    /// took at the deciding choice point, and the event it overtook (which the nearest
    /// passing run took there instead).
    pub critical: Option<[usize; 2]>,
}

impl Marks {
    /// Marks the critical pair: `failing` overtook `overtaken` (indices into the trace's lines).
    pub fn critical(failing: usize, overtaken: usize) -> Marks {
        Marks { critical: Some([failing, overtaken]) }
    }
}

/// [`render_timeline`], with the events of `marks` marked (indices outside the trace
/// are ignored).
pub fn render_marked(trace: &Trace, failure: Option<&Failure>, title: &str, marks: &Marks) -> String {
    let mut chart = Chart::new(trace, failure);
    chart.critical = marks.critical.filter(|c| c.iter().all(|&i| i < trace.lines.len()) && c[0] != c[1]);
    let mut out = String::with_capacity(4096 + trace.lines.len() * 400);
    // Writing into a String cannot fail.
    let _ = chart.write_page(&mut out, title);
    out
}

/// What a lane shows, ordered tasks first, then channels, each by id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum LaneKey {
    Task(u32),
    Channel(u32),
}

impl fmt::Display for LaneKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LaneKey::Task(id) => write!(f, "task-{id}"),
            LaneKey::Channel(id) => write!(f, "channel-{id}"),
        }
    }
}

/// One lane: what it shows and its name.
struct Lane {
    key: LaneKey,
    name: String,
}

/// Everything needed to draw: the lines, the lanes and where things go.
struct Chart<'a> {
    trace: &'a Trace,
    failure: Option<&'a Failure>,
    lanes: Vec<Lane>,
    index: BTreeMap<LaneKey, usize>,
    /// For each line, the index of the last line of the same step.
    step_end: Vec<usize>,
    choices: usize,
    /// Width of one record's column: wider for short traces.
    col: i64,
    /// The critical pair: the failing run's event and the event it overtook.
    critical: Option<[usize; 2]>,
}

impl<'a> Chart<'a> {
    fn new(trace: &'a Trace, failure: Option<&'a Failure>) -> Chart<'a> {
        let mut named: BTreeMap<LaneKey, String> = BTreeMap::new();
        for line in &trace.lines {
            if let (Some(id), Some(name)) = (line.task_id, &line.task) {
                named.entry(LaneKey::Task(id)).or_insert_with(|| name.clone());
            }
            if let (Some(id), Some(name)) = (line.channel_id, &line.channel) {
                named.entry(LaneKey::Channel(id)).or_insert_with(|| name.clone());
            }
        }
        for b in blocked(failure) {
            named.entry(LaneKey::Task(b.id.as_u32())).or_insert_with(|| b.name.clone());
        }
        let lanes: Vec<Lane> = named.into_iter().map(|(key, name)| Lane { key, name }).collect();
        let index = lanes.iter().enumerate().map(|(i, l)| (l.key, i)).collect();
        let choices = trace.lines.iter().filter(|l| l.choice.is_some()).count();
        let col = (FIT_W / len_i64(trace.lines.len()).max(1)).clamp(COL_RANGE.0, COL_RANGE.1);
        Chart { trace, failure, lanes, index, step_end: step_ends(&trace.lines), choices, col, critical: None }
    }

    /// The centre of column `i`.
    fn col_x(&self, i: usize) -> i64 {
        self.col_left(i) + self.col / 2
    }

    /// The left edge of column `i`.
    fn col_left(&self, i: usize) -> i64 {
        PAD + len_i64(i) * self.col
    }

    fn lines(&self) -> &[TraceLine] {
        &self.trace.lines
    }

    fn tasks(&self) -> usize {
        self.lanes.iter().filter(|l| matches!(l.key, LaneKey::Task(_))).count()
    }

    fn choice_h(&self) -> i64 {
        if self.choices > 0 {
            CHOICE_H
        } else {
            0
        }
    }

    fn lanes_top(&self) -> i64 {
        AXIS_H + self.choice_h()
    }

    fn height(&self) -> i64 {
        self.lanes_top() + len_i64(self.lanes.len()) * LANE_H + BOTTOM
    }

    fn lane_y(&self, key: LaneKey) -> Option<i64> {
        self.index.get(&key).map(|&i| self.lanes_top() + len_i64(i) * LANE_H + LANE_H / 2)
    }

    fn task_y(&self, line: &TraceLine) -> Option<i64> {
        line.task_id.and_then(|id| self.lane_y(LaneKey::Task(id)))
    }

    fn channel_y(&self, line: &TraceLine) -> Option<i64> {
        line.channel_id.and_then(|id| self.lane_y(LaneKey::Channel(id)))
    }

    /// Where the failure line is drawn: one column after the last record.
    fn failure_x(&self) -> i64 {
        self.col_left(self.lines().len()) + self.col / 2
    }

    /// The chart's width: the columns, the failure line and its annotations.
    fn width(&self) -> i64 {
        let notes = self.failure_notes().iter().map(|(_, text)| text_w(text)).max().unwrap_or(0);
        let headline = self.failure.map_or(0, |f| text_w(&failure_headline(f)));
        self.failure_x() + 16 + notes.max(headline).max(40) + PAD
    }

    fn write_page(&self, out: &mut String, title: &str) -> fmt::Result {
        out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>");
        push_esc(out, title);
        out.push_str("</title>\n");
        out.push_str(STYLE);
        out.push_str("</head>\n<body>\n");
        out.push_str(DEFS);
        write!(
            out,
            "<main id=\"timeline\" data-lanes=\"{}\" data-tasks=\"{}\" data-channels=\"{}\" data-events=\"{}\" \
             data-choices=\"{}\" data-failure=\"{}\" data-critical-events=\"{}\" data-values=\"{}\">\n<h1>",
            self.lanes.len(),
            self.tasks(),
            self.lanes.len() - self.tasks(),
            self.lines().len(),
            self.choices,
            self.failure.map_or("none", |f| f.kind.class()),
            if self.critical.is_some() { 2 } else { 0 },
            self.lines().iter().filter(|l| l.value_text.is_some() && l.channel_id.is_some()).count(),
        )?;
        push_esc(out, title);
        out.push_str("</h1>\n");
        self.write_summary(out)?;
        if let Some(failure) = self.failure {
            write_failure_box(out, failure)?;
        }
        out.push_str(LEGEND);
        self.write_chart(out)?;
        self.write_listing(out);
        out.push_str("</main>\n</body>\n</html>\n");
        Ok(())
    }

    fn write_summary(&self, out: &mut String) -> fmt::Result {
        let lines = self.lines();
        let steps = lines.first().zip(lines.last()).map(|(a, b)| (a.step, b.step));
        let times = lines.first().zip(lines.last()).map(|(a, b)| (a.t_ns, b.t_ns));
        write!(
            out,
            "<p class=\"summary\">{} tasks · {} channels · {} records",
            self.tasks(),
            self.lanes.len() - self.tasks(),
            lines.len()
        )?;
        if let (Some((s0, s1)), Some((t0, t1))) = (steps, times) {
            write!(out, " · steps {s0}–{s1} · virtual time {}–{}", at(t0), at(t1))?;
        }
        if let Some(fingerprint) = self.trace.fingerprint {
            write!(out, " · fingerprint <code>{fingerprint}</code>")?;
        }
        out.push_str("</p>\n");
        if !self.trace.complete {
            out.push_str(
                "<p class=\"note\">Only the last records of this run were kept: \
                 take the trace with <code>TraceMode::Full</code> to see the whole run.</p>\n",
            );
        }
        if let Some([failing, overtaken]) = self.critical {
            let (a, b) = (&self.lines()[failing], &self.lines()[overtaken]);
            out.push_str("<p class=\"critical-note\">Critical pair (outlined in red): ");
            push_esc(out, &format!("{a}"));
            out.push_str(" <b>overtook</b> ");
            push_esc(out, &format!("{b}"));
            out.push_str("; in the same run with that one choice made canonically, the test passes.</p>\n");
        }
        out.push_str(
            "<p class=\"note\">One column per trace record, in order. Shaded bands are instants of \
             virtual time (labelled, not to scale); thin rules separate steps. Hover a marker for its \
             trace line.</p>\n",
        );
        Ok(())
    }

    fn write_chart(&self, out: &mut String) -> fmt::Result {
        out.push_str("<div class=\"chart\">\n");
        self.write_labels(out)?;
        writeln!(
            out,
            "<div class=\"scroll\"><svg class=\"events\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" \
             height=\"{h}\" viewBox=\"0 0 {w} {h}\">",
            w = self.width(),
            h = self.height()
        )?;
        self.write_lanes(out)?;
        self.write_instants(out)?;
        self.write_steps(out)?;
        self.write_choices(out)?;
        self.write_timer_links(out)?;
        for (i, line) in self.lines().iter().enumerate() {
            self.write_event(out, i, line)?;
        }
        self.write_failure(out)?;
        out.push_str("</svg></div>\n</div>\n");
        Ok(())
    }

    /// The fixed column of lane names to the left of the scrolling chart.
    fn write_labels(&self, out: &mut String) -> fmt::Result {
        write!(
            out,
            "<svg class=\"labels\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{LABEL_W}\" height=\"{h}\">\n\
             <text class=\"axis-name\" x=\"{x}\" y=\"16\">virtual time</text>\n\
             <text class=\"axis-name\" x=\"{x}\" y=\"48\">step</text>\n",
            h = self.height(),
            x = LABEL_W - 8
        )?;
        if self.choices > 0 {
            writeln!(
                out,
                "<text class=\"axis-name\" x=\"{}\" y=\"{}\">choice points</text>",
                LABEL_W - 8,
                AXIS_H + 50
            )?;
        }
        for lane in &self.lanes {
            let y = self.lane_y(lane.key).unwrap_or(0);
            let (tag, kind) = match lane.key {
                LaneKey::Task(id) => (format!("task {id}"), "task"),
                LaneKey::Channel(id) => (format!("chan {id}"), "channel"),
            };
            write!(out, "<g class=\"lane-label {kind}\"><title>{kind} ")?;
            push_esc(out, &lane.name);
            write!(out, " (id {})</title><text class=\"tag\" x=\"6\" y=\"{}\">{tag}</text>", lane_id(lane.key), y + 4)?;
            write!(out, "<text class=\"name\" x=\"58\" y=\"{}\">", y + 4)?;
            push_esc(out, &shorten(&lane.name, 20));
            out.push_str("</text></g>\n");
        }
        out.push_str("</svg>\n");
        Ok(())
    }

    fn write_lanes(&self, out: &mut String) -> fmt::Result {
        let w = self.width();
        for (i, lane) in self.lanes.iter().enumerate() {
            let top = self.lanes_top() + len_i64(i) * LANE_H;
            let kind = match lane.key {
                LaneKey::Task(_) => "task",
                LaneKey::Channel(_) => "channel",
            };
            write!(out, "<g class=\"lane\" data-lane=\"{}\" data-name=\"", lane.key)?;
            push_esc(out, &lane.name);
            writeln!(
                out,
                "\"><rect class=\"lane-bg {kind}{}\" x=\"0\" y=\"{top}\" width=\"{w}\" height=\"{LANE_H}\"/>\
                 <line class=\"lane-axis\" x1=\"0\" y1=\"{y}\" x2=\"{w}\" y2=\"{y}\"/></g>",
                if i % 2 == 1 { " odd" } else { "" },
                y = top + LANE_H / 2
            )?;
        }
        Ok(())
    }

    /// Shaded bands for the instants, with their virtual times in two staggered rows.
    fn write_instants(&self, out: &mut String) -> fmt::Result {
        let bottom = self.height() - BOTTOM;
        let mut row_end = [i64::MIN; 2];
        for (n, (first, last, t_ns)) in instants(self.lines()).into_iter().enumerate() {
            let x = self.col_left(first);
            let w = len_i64(last - first + 1) * self.col;
            let label = at(t_ns);
            write!(
                out,
                "<g class=\"instant\" data-t-ns=\"{t_ns}\"><title>virtual time {label}</title>\
                 <rect class=\"band{}\" x=\"{x}\" y=\"0\" width=\"{w}\" height=\"{bottom}\"/>\
                 <line class=\"instant-rule\" x1=\"{x}\" y1=\"0\" x2=\"{x}\" y2=\"{bottom}\"/>",
                if n % 2 == 1 { " odd" } else { "" }
            )?;
            if let Some(row) = (0..2).find(|&r| row_end[r] < x) {
                row_end[row] = x + 3 + text_w(&label);
                write!(out, "<text class=\"time\" x=\"{}\" y=\"{}\">{label}</text>", x + 3, 16 + 16 * len_i64(row))?;
            }
            out.push_str("</g>\n");
        }
        Ok(())
    }

    /// Thin rules at step boundaries, and step numbers where there is room.
    fn write_steps(&self, out: &mut String) -> fmt::Result {
        let (top, bottom) = (self.lanes_top(), self.height() - BOTTOM);
        let mut free_from = i64::MIN;
        for (i, line) in self.lines().iter().enumerate() {
            if i > 0 && self.lines()[i - 1].step == line.step {
                continue;
            }
            let x = self.col_left(i);
            write!(out, "<line class=\"step-rule\" x1=\"{x}\" y1=\"{top}\" x2=\"{x}\" y2=\"{bottom}\"/>")?;
            let label = format!("#{}", line.step);
            if x >= free_from {
                free_from = x + 2 + text_w(&label);
                write!(out, "<text class=\"step\" x=\"{}\" y=\"48\">{label}</text>", x + 2)?;
            }
        }
        out.push('\n');
        Ok(())
    }

    /// A highlighted column and a "choice i of n" label for every choice point.
    fn write_choices(&self, out: &mut String) -> fmt::Result {
        let bottom = self.height() - BOTTOM;
        for (i, line) in self.lines().iter().enumerate() {
            let Some([options, index]) = line.choice else { continue };
            let (x, cx, col) = (self.col_left(i), self.col_x(i), self.col);
            writeln!(
                out,
                "<g class=\"choice\" data-step=\"{}\"><title>choice {index} of {options} at step {}</title>\
                 <rect class=\"choice-col{}\" x=\"{x}\" y=\"{AXIS_H}\" width=\"{col}\" height=\"{}\"/>\
                 <text class=\"choice-label\" transform=\"translate({},{}) rotate(-90)\">choice {index} of {options}</text></g>",
                line.step,
                line.step,
                if index > 0 { " taken" } else { "" },
                bottom - AXIS_H,
                cx + 4,
                AXIS_H + CHOICE_H - 6,
            )?;
        }
        Ok(())
    }

    /// Dashed links from each timer's setting to its firing or cancelling.
    fn write_timer_links(&self, out: &mut String) -> fmt::Result {
        let mut set: BTreeMap<u64, (usize, i64)> = BTreeMap::new();
        for (i, line) in self.lines().iter().enumerate() {
            let (Some(timer), Some(y)) = (line.timer_id, self.task_y(line)) else { continue };
            match line.kind {
                RecordKind::TimerSet => {
                    set.insert(timer, (i, y));
                }
                RecordKind::TimerFire | RecordKind::TimerCancel => {
                    if let Some((from, y)) = set.remove(&timer) {
                        let class = if line.kind == RecordKind::TimerFire { "fired" } else { "cancelled" };
                        writeln!(
                            out,
                            "<line class=\"timer-link {class}\" x1=\"{}\" y1=\"{y0}\" x2=\"{}\" y2=\"{y0}\"/>",
                            self.col_x(from),
                            self.col_x(i),
                            y0 = y - 10
                        )?;
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// One trace line: one `class="event"` group with the line as its hover title.
    fn write_event(&self, out: &mut String, i: usize, line: &TraceLine) -> fmt::Result {
        let kind = kind_name(line.kind);
        let critical = match self.critical {
            Some([failing, _]) if failing == i => Some("failing"),
            Some([_, overtaken]) if overtaken == i => Some("overtaken"),
            _ => None,
        };
        match critical {
            Some(role) => write!(
                out,
                "<g class=\"event {kind} critical\" data-step=\"{}\" data-kind=\"{kind}\" data-critical=\"{role}\"><title>critical pair ({role}): ",
                line.step
            )?,
            None => write!(out, "<g class=\"event {kind}\" data-step=\"{}\" data-kind=\"{kind}\"><title>", line.step)?,
        }
        push_esc(out, &line.to_string());
        out.push_str("</title>");
        let x = self.col_x(i);
        if critical.is_some() {
            let (top, h) = (self.lanes_top(), len_i64(self.lanes.len()) * LANE_H);
            write!(
                out,
                "<rect class=\"critical-col\" x=\"{}\" y=\"{top}\" width=\"{}\" height=\"{h}\"/>",
                self.col_left(i) + 1,
                self.col - 2
            )?;
        }
        match (self.task_y(line), self.channel_y(line)) {
            (task_y, Some(cy)) => {
                if let Some(ty) = task_y {
                    write!(
                        out,
                        "<line class=\"link\" x1=\"{x}\" y1=\"{ty}\" x2=\"{x}\" y2=\"{cy}\"/>\
                         <circle class=\"dot\" cx=\"{x}\" cy=\"{ty}\" r=\"3\"/>"
                    )?;
                }
                use_marker(out, kind, x, cy)?;
                if let Some(text) = &line.value_text {
                    // As much of the value as fits the column; the title holds all of it.
                    let fits = usize::try_from((self.col - 2) / VALUE_CHAR_W).unwrap_or(0).max(2);
                    write!(out, "<text class=\"value-text\" x=\"{x}\" y=\"{}\">", cy + 13)?;
                    push_esc(out, &shorten(text, fits));
                    out.push_str("</text>");
                }
            }
            (Some(ty), None) if line.kind == RecordKind::Poll => {
                let end = self.col_x(self.step_end[i]);
                write!(
                    out,
                    "<rect class=\"bar\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"12\" rx=\"3\"/>",
                    x - 6,
                    ty - 6,
                    end - x + 12
                )?;
            }
            (Some(ty), None) => use_marker(out, kind, x, ty)?,
            (None, None) => use_marker(out, kind, x, self.lanes_top() - 8)?,
        }
        out.push_str("</g>\n");
        Ok(())
    }

    /// Annotations after the last record: (lane y, text) for each blocked or failing task.
    fn failure_notes(&self) -> Vec<(i64, String)> {
        let Some(failure) = self.failure else { return Vec::new() };
        match &failure.kind {
            FailureKind::Deadlock { blocked } => blocked
                .iter()
                .filter_map(|b| {
                    let y = self.lane_y(LaneKey::Task(b.id.as_u32()))?;
                    let waits = if b.waits.is_empty() {
                        "a future that is not a Lockstep primitive".to_string()
                    } else {
                        b.waits.join(", ")
                    };
                    Some((y, format!("blocked: waits on {waits}")))
                })
                .collect(),
            FailureKind::Panic { task, message } => self.named_task_note(task, "panic", message),
            FailureKind::Violation { task: Some(task), message } => self.named_task_note(task, "violation", message),
            _ => Vec::new(),
        }
    }

    fn named_task_note(&self, task: &str, class: &str, message: &str) -> Vec<(i64, String)> {
        self.task_lane_named(task)
            .and_then(|key| self.lane_y(key))
            .map(|y| vec![(y, format!("{class}: {}", shorten(message, MAX_SHOWN)))])
            .unwrap_or_default()
    }

    /// The lane of the task with this name: the last one polled, else the first lane so named.
    fn task_lane_named(&self, name: &str) -> Option<LaneKey> {
        let polled = self.lines().iter().rev().find(|l| l.kind == RecordKind::Poll && l.task.as_deref() == Some(name));
        polled
            .and_then(|l| l.task_id.map(LaneKey::Task))
            .or_else(|| self.lanes.iter().find(|l| matches!(l.key, LaneKey::Task(_)) && l.name == name).map(|l| l.key))
    }

    /// The failure line after the last record, its headline, and each blocked task's wait.
    fn write_failure(&self, out: &mut String) -> fmt::Result {
        let Some(failure) = self.failure else { return Ok(()) };
        let (x, bottom) = (self.failure_x(), self.height() - BOTTOM);
        write!(out, "<g class=\"failure\" data-kind=\"{}\"><title>", failure.kind.class())?;
        push_esc(out, &failure.kind.to_string());
        write!(
            out,
            "</title><line class=\"failure-rule\" x1=\"{x}\" y1=\"0\" x2=\"{x}\" y2=\"{bottom}\"/>\
             <text class=\"failure-label\" x=\"{}\" y=\"16\">",
            x + 6
        )?;
        push_esc(out, &failure_headline(failure));
        out.push_str("</text></g>\n");
        let deadlock = matches!(failure.kind, FailureKind::Deadlock { .. });
        for (y, text) in self.failure_notes() {
            let from = self.last_x_on_lane(y).unwrap_or(x);
            write!(out, "<g class=\"{}\"><title>", if deadlock { "blocked" } else { "failing-task" })?;
            push_esc(out, &text);
            write!(
                out,
                "</title><line class=\"blocked-rule\" x1=\"{from}\" y1=\"{y}\" x2=\"{x}\" y2=\"{y}\"/>\
                 <circle class=\"stop\" cx=\"{x}\" cy=\"{y}\" r=\"5\"/><text class=\"failure-note\" x=\"{}\" y=\"{}\">",
                x + 10,
                y + 4
            )?;
            push_esc(out, &text);
            out.push_str("</text></g>\n");
        }
        Ok(())
    }

    /// The x of the last record drawn on the task lane at height `y`.
    fn last_x_on_lane(&self, y: i64) -> Option<i64> {
        self.lines().iter().rposition(|l| self.task_y(l) == Some(y)).map(|i| self.col_x(i))
    }

    /// The whole trace as text, collapsed, for searching and copying.
    fn write_listing(&self, out: &mut String) {
        out.push_str("<details class=\"listing\"><summary>The trace as text</summary><pre>");
        for line in self.lines() {
            push_esc(out, &line.to_string());
            out.push('\n');
        }
        out.push_str("</pre></details>\n");
    }
}

/// The blocked tasks of a deadlock, if the run deadlocked.
fn blocked(failure: Option<&Failure>) -> &[crate::BlockedTask] {
    match failure.map(|f| &f.kind) {
        Some(FailureKind::Deadlock { blocked }) => blocked,
        _ => &[],
    }
}

/// "deadlock at 50ms after 9 steps".
fn failure_headline(failure: &Failure) -> String {
    format!("{} at {} after {} steps", failure.kind.class(), failure.time, failure.step)
}

fn write_failure_box(out: &mut String, failure: &Failure) -> fmt::Result {
    write!(out, "<section class=\"failure-box\" data-kind=\"{}\"><h2>", failure.kind.class())?;
    push_esc(out, &failure_headline(failure));
    out.push_str("</h2>\n<p class=\"message\">");
    push_esc(out, &failure.kind.to_string());
    out.push_str("</p>\n<dl>");
    let mut field = |name: &str, value: &str| {
        out.push_str("<dt>");
        out.push_str(name);
        out.push_str("</dt><dd><code>");
        push_esc(out, value);
        out.push_str("</code></dd>");
    };
    if let Some(name) = &failure.name {
        field("scenario", name);
    }
    if let Some(seed) = failure.seed {
        field("seed", &seed.to_string());
    }
    field("strategy", &failure.strategy);
    field("tape", &failure.tape.to_string());
    field("fingerprint", &failure.fingerprint.to_string());
    field("replay", &failure.replay);
    out.push_str("</dl></section>\n");
    Ok(())
}

/// For each line, the index of the last line in the same run of equal steps.
fn step_ends(lines: &[TraceLine]) -> Vec<usize> {
    let mut ends = vec![0; lines.len()];
    let mut end = lines.len().saturating_sub(1);
    for i in (0..lines.len()).rev() {
        if i + 1 < lines.len() && lines[i + 1].step != lines[i].step {
            end = i;
        }
        ends[i] = end;
    }
    ends
}

/// Runs of lines at the same virtual time: (first index, last index, time in ns).
fn instants(lines: &[TraceLine]) -> Vec<(usize, usize, u64)> {
    let mut runs: Vec<(usize, usize, u64)> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        match runs.last_mut() {
            Some((_, last, t)) if *t == line.t_ns => *last = i,
            _ => runs.push((i, i, line.t_ns)),
        }
    }
    runs
}

fn use_marker(out: &mut String, kind: &str, x: i64, y: i64) -> fmt::Result {
    write!(out, "<use href=\"#m-{kind}\" x=\"{x}\" y=\"{y}\"/>")
}

/// The record kind as it appears in JSON traces (`timer-fire`), used for classes and markers.
fn kind_name(kind: RecordKind) -> &'static str {
    kind.label()
}

fn lane_id(key: LaneKey) -> u32 {
    match key {
        LaneKey::Task(id) | LaneKey::Channel(id) => id,
    }
}

fn len_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX / 1024)
}

/// The approximate drawn width of a label.
fn text_w(text: &str) -> i64 {
    len_i64(text.chars().count()) * CHAR_W
}

fn at(t_ns: u64) -> String {
    Instant::from_nanos(t_ns).to_string()
}

/// At most `max` characters of `text`, with an ellipsis when cut.
fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// Appends `text` escaped for HTML text and attribute values.
fn push_esc(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

const STYLE: &str = r##"<style>
body { font: 13px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 16px; color: #222; background: #fff; }
h1 { font-size: 18px; margin: 0 0 4px; }
h2 { font-size: 15px; margin: 0 0 4px; }
code { font: 12px ui-monospace, "DejaVu Sans Mono", monospace; }
.summary { margin: 0 0 2px; }
.note { margin: 0 0 2px; color: #666; font-size: 12px; }
.failure-box { border: 2px solid #d62728; background: #fff3f3; padding: 8px 12px; margin: 8px 0; border-radius: 4px; }
.failure-box h2 { color: #b01c1c; }
.failure-box .message { margin: 0 0 4px; font-weight: 600; }
.failure-box dl { display: grid; grid-template-columns: max-content 1fr; gap: 0 12px; margin: 0; }
.failure-box dt { color: #666; }
.failure-box dd { margin: 0; word-break: break-all; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 16px; margin: 8px 0; padding: 6px 8px; background: #f6f8fa; border-radius: 4px; }
.legend span { display: inline-flex; align-items: center; gap: 4px; }
.legend svg { overflow: visible; }
.chart { display: flex; border: 1px solid #d0d7de; border-radius: 4px; }
.chart .labels { flex: none; border-right: 1px solid #d0d7de; background: #fff; }
.chart .scroll { overflow-x: auto; flex: 1; }
svg text { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; font-size: 11px; }
.axis-name { text-anchor: end; fill: #666; font-style: italic; }
.lane-label .tag { fill: #888; font-size: 10px; }
.lane-label.task .name { fill: #1a4d8f; font-weight: 600; }
.lane-label.channel .name { fill: #5a2d82; font-weight: 600; }
.lane-bg.task { fill: #fbfcff; }
.lane-bg.channel { fill: #fcf9ff; }
.lane-bg.odd { fill-opacity: 0.55; }
.lane-axis { stroke: #e1e4e8; }
.band { fill: #ffffff; fill-opacity: 0; }
.band.odd { fill: #8aa4c8; fill-opacity: 0.12; }
.instant-rule { stroke: #8aa4c8; stroke-width: 1; }
.time { fill: #234; font-weight: 600; }
.step { fill: #888; font-size: 9px; }
.step-rule { stroke: #eaeef2; }
.choice-col { fill: #ffd43b; fill-opacity: 0.25; }
.choice-col.taken { fill-opacity: 0.5; }
.choice-label { fill: #8a6d00; font-size: 10px; }
.timer-link { stroke: #ff7f0e; stroke-width: 1; stroke-dasharray: 3 3; fill: none; }
.timer-link.cancelled { stroke: #999; }
.link { stroke: #777; stroke-opacity: 0.45; }
.event.send .link, .event.send .dot { stroke: #1f77b4; fill: #1f77b4; }
.event.recv .link, .event.recv .dot { stroke: #9467bd; fill: #9467bd; }
.event.close .link, .event.close .dot, .event.deliver .link, .event.deliver .dot { stroke: #555; fill: #555; }
.bar { fill: #c9d7ee; stroke: #6b8cc7; }
.event { cursor: help; }
.event:hover use, .event:hover .bar { stroke: #000; stroke-width: 1.5; }
.failure-rule { stroke: #d62728; stroke-width: 2; stroke-dasharray: 6 3; }
.failure-label { fill: #b01c1c; font-weight: 700; font-size: 12px; }
.blocked-rule { stroke: #d62728; stroke-width: 2; stroke-dasharray: 2 3; }
.stop { fill: #d62728; }
.failure-note { fill: #b01c1c; font-weight: 600; }
.critical-note { margin: 4px 0; color: #b01c1c; }
.value-text { fill: #5a2d82; font-size: 9px; text-anchor: middle; }
.critical-col { fill: none; stroke: #d62728; stroke-width: 2.5; }
.listing { margin-top: 10px; }
.listing pre { max-height: 320px; overflow: auto; background: #f6f8fa; padding: 8px; }
</style>
"##;

/// The marker shapes, centred on the origin, shared by the chart and the legend.
const DEFS: &str = r##"<svg width="0" height="0" style="position:absolute" aria-hidden="true"><defs>
<path id="m-spawn" d="M-5,-6 L6,0 L-5,6 Z" fill="#2ca02c"/>
<rect id="m-task-end" x="-5" y="-5" width="10" height="10" fill="#333"/>
<rect id="m-task-abort" x="-5" y="-5" width="10" height="10" fill="#d62728"/>
<rect id="m-poll" x="-6" y="-6" width="12" height="12" rx="3" fill="#c9d7ee" stroke="#6b8cc7"/>
<circle id="m-timer-set" r="4.5" fill="#fff" stroke="#ff7f0e" stroke-width="2"/>
<path id="m-timer-fire" d="M0,-7 L7,0 L0,7 L-7,0 Z" fill="#ff7f0e"/>
<path id="m-timer-cancel" d="M-4,-4 L4,4 M4,-4 L-4,4" stroke="#888" stroke-width="2.5"/>
<path id="m-send" d="M-6,-6 L6,-6 L0,6 Z" fill="#1f77b4"/>
<path id="m-recv" d="M-6,6 L6,6 L0,-6 Z" fill="#9467bd"/>
<circle id="m-deliver" r="5" fill="#fff" stroke="#9467bd" stroke-width="2"/>
<rect id="m-close" x="-2" y="-8" width="4" height="16" fill="#555"/>
<path id="m-choose" d="M0,-7 L2,-2 L7,-2 L3,1 L5,7 L0,3 L-5,7 L-3,1 L-7,-2 L-2,-2 Z" fill="#e377c2"/>
<path id="m-violation" d="M-6,-6 L6,6 M6,-6 L-6,6" stroke="#d62728" stroke-width="3"/>
<g id="m-foreign-wake"><circle r="6" fill="#d62728"/><rect x="-1" y="-4" width="2" height="5" fill="#fff"/><rect x="-1" y="2.5" width="2" height="2" fill="#fff"/></g>
<circle id="m-other" r="4" fill="#888"/>
</defs></svg>
"##;

const LEGEND: &str = r##"<div class="legend">
<span><svg width="16" height="16"><use href="#m-spawn" x="8" y="8"/></svg>spawn</span>
<span><svg width="28" height="16"><rect x="2" y="2" width="24" height="12" rx="3" fill="#c9d7ee" stroke="#6b8cc7"/></svg>poll (the task runs for that step)</span>
<span><svg width="16" height="16"><use href="#m-task-end" x="8" y="8"/></svg>task end</span>
<span><svg width="16" height="16"><use href="#m-task-abort" x="8" y="8"/></svg>task abort</span>
<span><svg width="16" height="16"><use href="#m-timer-set" x="8" y="8"/></svg>timer set</span>
<span><svg width="16" height="16"><use href="#m-timer-fire" x="8" y="8"/></svg>timer fires</span>
<span><svg width="16" height="16"><use href="#m-timer-cancel" x="8" y="8"/></svg>timer cancelled</span>
<span><svg width="16" height="16"><use href="#m-send" x="8" y="8"/></svg>send (on the channel's lane)</span>
<span><svg width="16" height="16"><use href="#m-recv" x="8" y="8"/></svg>receive</span>
<span><svg width="16" height="16"><use href="#m-deliver" x="8" y="8"/></svg>delivery</span>
<span><svg width="16" height="16"><use href="#m-close" x="8" y="8"/></svg>close</span>
<span><svg width="16" height="16"><use href="#m-choose" x="8" y="8"/></svg>select / choose</span>
<span><svg width="16" height="16"><rect x="3" y="0" width="10" height="16" fill="#ffd43b" fill-opacity="0.5"/></svg>choice point: "choice i of n" (0 = canonical order)</span>
<span><svg width="16" height="16"><use href="#m-violation" x="8" y="8"/></svg>violation</span>
<span><svg width="12" height="16"><rect x="2" y="1" width="8" height="14" fill="none" stroke="#d62728" stroke-width="2"/></svg>critical pair (the two events whose order decides the outcome)</span>
<span><svg width="28" height="16"><line x1="2" y1="8" x2="20" y2="8" stroke="#d62728" stroke-width="2" stroke-dasharray="2 3"/><circle cx="22" cy="8" r="5" fill="#d62728"/></svg>blocked at the failure</span>
</div>
"##;

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::time::Duration;

    use crate::sync::{mpsc, ShowValues};
    use crate::time::sleep;
    use crate::{Config, Sim, TraceMode};

    use super::*;

    /// A sender and a receiver whose names need escaping; passes.
    fn ping(config: Config) -> Trace {
        let mut sim = Sim::new(config.trace(TraceMode::Full));
        let (tx, mut rx) = crate::named("<script>alert('ping')</script>", || mpsc::channel::<u8>(1));
        sim.spawn_named("send & \"quote\"", async move {
            sleep(Duration::from_millis(2)).await;
            tx.send(1).await.unwrap();
        });
        sim.spawn_named("<b>receiver</b>", async move {
            rx.recv().await;
        });
        sim.run().unwrap();
        sim.trace()
    }

    /// Two tasks that each wait for the other: `left` on `a`, `right` on `b`.
    fn deadlock() -> (Trace, Box<Failure>) {
        let mut sim = Sim::new(Config::default().trace(TraceMode::Full).name("timeline::deadlock"));
        let (a_tx, mut a_rx) = crate::named("a", || mpsc::channel::<u8>(1));
        let (b_tx, mut b_rx) = crate::named("b", || mpsc::channel::<u8>(1));
        sim.spawn_named("left", async move {
            sleep(Duration::from_millis(1)).await;
            b_tx.send(1).await.unwrap();
            a_rx.recv().await;
            drop(b_tx);
        });
        sim.spawn_named("right", async move {
            b_rx.recv().await;
            b_rx.recv().await;
            drop(a_tx);
        });
        let failure = sim.run().expect_err("the two tasks wait for each other");
        (sim.trace(), failure)
    }

    /// A channel that shows its values: a short one, one with markup, one too long for
    /// a trace record.
    fn values() -> Trace {
        let mut sim = Sim::new(Config::default().trace(TraceMode::Full));
        let (tx, mut rx) = crate::named("words", || mpsc::channel::<String>(4));
        tx.show_values();
        sim.spawn_named("writer", async move {
            for word in ["hi".to_string(), "<b>&</b>".to_string(), "x".repeat(500)] {
                tx.send(word).await.unwrap();
            }
        });
        sim.spawn_named("reader", async move { while rx.recv().await.is_some() {} });
        sim.run().unwrap();
        sim.trace()
    }

    #[test]
    fn values_are_written_under_their_markers_escaped_and_cut_and_in_full_in_the_titles() {
        let trace = values();
        let shown: Vec<&str> = trace.lines.iter().filter_map(|l| l.value_text.as_deref()).collect();
        let long = format!("\"{}…", "x".repeat(crate::trace::MAX_VALUE_TEXT - 1));
        // Three sends (the buffer holds 4: the writer never waits), then three receives.
        let words = ["\"hi\"", "\"<b>&</b>\"", &long];
        assert_eq!(shown, [words, words].concat(), "{trace}");
        let html = render_timeline(&trace, None, "values");
        assert_eq!(attr(&html, "data-values"), Some(6));
        assert_eq!(count(&html, "<text class=\"value-text\""), 6);
        assert!(html.contains("value &quot;&lt;b&gt;&amp;&lt;/b&gt;&quot;</title>"), "escaped in full in the title");
        assert!(!html.contains("<b>&"), "never unescaped");
        assert!(html.contains(&format!("value {}</title>", long.replace('"', "&quot;"))));
        // A channel that does not show its values writes none.
        assert_eq!(attr(&render_timeline(&ping(Config::default()), None, "ping"), "data-values"), Some(0));
    }

    fn count(html: &str, needle: &str) -> usize {
        html.matches(needle).count()
    }

    fn attr(html: &str, name: &str) -> Option<usize> {
        let start = html.find(&format!("{name}=\""))? + name.len() + 2;
        html[start..].split('"').next()?.parse().ok()
    }

    #[test]
    fn there_is_one_lane_per_task_and_per_channel() {
        let trace = ping(Config::default());
        let tasks: BTreeSet<u32> = trace.lines.iter().filter_map(|l| l.task_id).collect();
        let channels: BTreeSet<u32> = trace.lines.iter().filter_map(|l| l.channel_id).collect();
        let html = render_timeline(&trace, None, "ping");
        assert_eq!((tasks.len(), channels.len()), (2, 1));
        assert_eq!(count(&html, "class=\"lane\""), tasks.len() + channels.len());
        assert_eq!(attr(&html, "data-lanes"), Some(tasks.len() + channels.len()));
        assert_eq!(attr(&html, "data-tasks"), Some(2));
        assert_eq!(attr(&html, "data-channels"), Some(1));
    }

    #[test]
    fn every_trace_line_is_drawn_as_one_event_with_its_line_as_title() {
        let trace = ping(Config::random(4));
        let html = render_timeline(&trace, None, "ping");
        assert!(trace.lines.len() > 10, "{trace}");
        assert_eq!(count(&html, "<g class=\"event "), trace.lines.len());
        assert_eq!(attr(&html, "data-events"), Some(trace.lines.len()));
        for kind in ["poll", "spawn", "task-end", "timer-set", "timer-fire", "send", "recv", "close"] {
            let drawn = count(&html, &format!("data-kind=\"{kind}\""));
            let traced = trace.lines.iter().filter(|l| kind_name(l.kind) == kind).count();
            assert_eq!(drawn, traced, "{kind}");
        }
        for line in &trace.lines {
            let mut title = String::from("<title>");
            push_esc(&mut title, &line.to_string());
            title.push_str("</title>");
            assert!(html.contains(&title), "{title}");
        }
        assert!(html.contains("send task `send &amp; &quot;quote&quot;` channel `&lt;script&gt;"));
    }

    #[test]
    fn names_that_look_like_markup_are_escaped() {
        let html = render_timeline(&ping(Config::default()), None, "<script>title</script>");
        assert!(!html.contains("<script"), "a raw <script> tag got through");
        assert!(!html.contains("<b>receiver"));
        assert!(html.contains("&lt;script&gt;alert(&#39;ping&#39;)&lt;/script&gt;"));
        assert!(html.contains("send &amp; &quot;quote&quot;"));
        assert!(html.contains("<title>&lt;script&gt;title&lt;/script&gt;</title>"));
    }

    #[test]
    fn the_same_trace_renders_to_the_same_bytes() {
        let first = render_timeline(&ping(Config::random(9)), None, "ping");
        let second = render_timeline(&ping(Config::random(9)), None, "ping");
        assert_eq!(first, second);
        let (trace, failure) = deadlock();
        let (again, failure_again) = deadlock();
        assert_eq!(failure.fingerprint, failure_again.fingerprint);
        assert_eq!(render_timeline(&trace, Some(&failure), "d"), render_timeline(&again, Some(&failure_again), "d"));
    }

    #[test]
    fn choice_points_are_highlighted_with_their_index_and_count() {
        let trace = ping(Config::default());
        let choices: Vec<[u32; 2]> = trace.lines.iter().filter_map(|l| l.choice).collect();
        assert!(!choices.is_empty(), "{trace}");
        let html = render_timeline(&trace, None, "ping");
        assert_eq!(count(&html, "<g class=\"choice\""), choices.len());
        assert_eq!(attr(&html, "data-choices"), Some(choices.len()));
        for [options, index] in choices {
            assert!(html.contains(&format!(">choice {index} of {options}</text>")));
        }
    }

    #[test]
    fn a_deadlock_is_marked_with_what_each_blocked_task_waits_on() {
        let (trace, failure) = deadlock();
        let FailureKind::Deadlock { blocked } = &failure.kind else { panic!("{failure}") };
        assert_eq!(blocked.len(), 2, "{failure}");
        let html = render_timeline(&trace, Some(&failure), "deadlock");
        assert!(html.contains("data-failure=\"deadlock\""));
        assert_eq!(count(&html, "<g class=\"failure\""), 1);
        assert!(html.contains("deadlock at 1ms after"), "{html}");
        assert_eq!(count(&html, "<g class=\"blocked\""), 2);
        assert!(html.contains(">blocked: waits on recv on `a`</text>"));
        assert!(html.contains(">blocked: waits on recv on `b`</text>"));
        // The replay (a command, or Rust for a raw run, with quotes) appears escaped.
        let mut replay = String::new();
        push_esc(&mut replay, &failure.replay);
        assert!(html.contains(&replay), "{}", failure.replay);
        let passing = render_timeline(&ping(Config::default()), None, "ping");
        assert!(passing.contains("data-failure=\"none\"") && !passing.contains("class=\"failure\""));
    }

    #[test]
    fn a_tail_trace_still_gets_a_lane_for_each_blocked_task() {
        let (mut trace, failure) = deadlock();
        trace.lines.retain(|l| l.task.as_deref() != Some("right"));
        trace.complete = false;
        let html = render_timeline(&trace, Some(&failure), "tail");
        assert_eq!(attr(&html, "data-tasks"), Some(2));
        assert_eq!(count(&html, "<g class=\"blocked\""), 2);
        assert!(html.contains("Only the last records"));
    }

    #[test]
    fn instants_are_labelled_in_virtual_time() {
        let html = render_timeline(&ping(Config::default()), None, "ping");
        assert_eq!(count(&html, "<g class=\"instant\""), 2);
        assert!(html.contains(">0s</text>") && html.contains(">2ms</text>"));
    }

    #[test]
    fn long_names_are_shortened_on_character_boundaries() {
        assert_eq!(shorten("ééééé", 3), "éé…");
        assert_eq!(shorten("abc", 3), "abc");
    }
}
