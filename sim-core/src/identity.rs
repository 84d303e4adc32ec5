//! Event identities: which event a recorded choice picked, in terms that survive
//! harmless refactors.
//!
//! An identity names the kind of event, the task or channel it belongs to (by name,
//! plus an instance number when several share a name) and a per-name sequence
//! number: `poll:driver#3` is the fourth poll of the task `driver`,
//! `timer:throttle#0` the first timer the task `throttle` created,
//! `deliver:link#2` the third delivery on the channel `link`, `select:relay#5` the
//! sixth selection made by `relay`. Renaming a local variable or adding an event
//! elsewhere changes none of them, so a tape that carries identities replays by
//! identity rather than by position.

use std::fmt;
use std::str::FromStr;

use crate::{ChannelId, TaskId};

/// What kind of event or choice an identity names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IdentityKind {
    /// A poll of a task.
    Poll,
    /// A timer firing (named by the task that created the timer).
    Timer,
    /// A delivery on a channel with latency.
    Deliver,
    /// A selection among ready branches (named by the selecting task).
    Select,
    /// A value drawn with [`choose`](crate::choose) (named by the drawing task).
    User,
}

impl IdentityKind {
    fn label(self) -> &'static str {
        match self {
            IdentityKind::Poll => "poll",
            IdentityKind::Timer => "timer",
            IdentityKind::Deliver => "deliver",
            IdentityKind::Select => "select",
            IdentityKind::User => "user",
        }
    }
}

/// The identity of an event or a code-level choice. See the [module docs](self).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventIdentity {
    /// The kind.
    pub kind: IdentityKind,
    /// The task's or channel's name (`-` for timers created outside any task).
    pub name: String,
    /// Which of the tasks or channels with this name (0 for the first created).
    pub instance: u32,
    /// The per-name sequence number (from 0).
    pub seq: u32,
}

impl fmt::Display for EventIdentity {
    /// `kind:name#seq`, or `kind:name[instance]#seq` for a later namesake; characters
    /// outside `[A-Za-z0-9_.-/]` in the name are percent-encoded.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.kind.label())?;
        for b in self.name.bytes() {
            if b.is_ascii_alphanumeric() || b"_.-/".contains(&b) {
                write!(f, "{}", b as char)?;
            } else {
                write!(f, "%{b:02X}")?;
            }
        }
        if self.instance > 0 {
            write!(f, "[{}]", self.instance)?;
        }
        write!(f, "#{}", self.seq)
    }
}

/// An event's identity by ids: the key used to match events across re-executions
/// of one program (ids are stable for a fixed prefix of choices). Which events
/// commute is decided from what they touch when they run (see [`crate::tooling::footprint`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventKey {
    /// The kind of event.
    pub kind: IdentityKind,
    /// The task polled, or the task that created the timer.
    pub task: Option<TaskId>,
    /// The channel delivered on.
    pub channel: Option<ChannelId>,
    /// The per-task or per-channel sequence number.
    pub seq: u32,
    /// For a timer, the task that waits on it (whose wake-up its firing queues).
    pub waiter: Option<TaskId>,
}

/// Why an identity's text could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdentityParseError(pub &'static str);

impl fmt::Display for IdentityParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for IdentityParseError {}

impl FromStr for EventIdentity {
    type Err = IdentityParseError;

    fn from_str(text: &str) -> Result<EventIdentity, IdentityParseError> {
        let (kind, rest) = text.split_once(':').ok_or(IdentityParseError("expected `kind:name#seq`"))?;
        let kind = match kind {
            "poll" => IdentityKind::Poll,
            "timer" => IdentityKind::Timer,
            "deliver" => IdentityKind::Deliver,
            "select" => IdentityKind::Select,
            "user" => IdentityKind::User,
            _ => return Err(IdentityParseError("kind is not poll, timer, deliver, select or user")),
        };
        let (name, seq) = rest.rsplit_once('#').ok_or(IdentityParseError("expected `#seq` after the name"))?;
        let seq = seq.parse().map_err(|_| IdentityParseError("seq is not a number"))?;
        let (name, instance) = match name.strip_suffix(']').and_then(|n| n.rsplit_once('[')) {
            Some((n, i)) => (n, i.parse().map_err(|_| IdentityParseError("instance is not a number"))?),
            None => (name, 0),
        };
        Ok(EventIdentity { kind, name: decode(name)?, instance, seq })
    }
}

fn decode(text: &str) -> Result<String, IdentityParseError> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3).ok_or(IdentityParseError("truncated %-escape in a name"))?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| IdentityParseError("bad %-escape in a name"))?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| IdentityParseError("a name is not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_round_trip_through_text_with_odd_names() {
        for (kind, name, instance, seq) in [
            (IdentityKind::Poll, "driver", 0, 3),
            (IdentityKind::Timer, "a, b#c[1]:%", 2, 0),
            (IdentityKind::Deliver, "ünïcode link", 0, 7),
        ] {
            let id = EventIdentity { kind, name: name.to_string(), instance, seq };
            let text = id.to_string();
            assert!(!text[text.find(':').unwrap() + 1..].contains([',', ':']), "{text}");
            assert_eq!(text.parse::<EventIdentity>().unwrap(), id, "{text}");
        }
        assert_eq!(
            EventIdentity { kind: IdentityKind::Poll, name: "driver".into(), instance: 0, seq: 3 }.to_string(),
            "poll:driver#3"
        );
    }
}
