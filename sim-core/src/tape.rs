//! Tapes: the list of choices a run made, in a compact text form that replays it.
//!
//! A choice is `(options, index)`: at a choice point with `options` candidates the
//! run took the one at `index`, where index 0 is always the canonical order (the
//! oldest event first, the first ready branch of a selection). The text form is
//! `t1:` followed by comma-separated `options.index` items; a run of identical
//! items is written once with `*count`. Trailing canonical choices are left out,
//! because a tape shorter than the run continues canonically:
//!
//!
//! A tape can also carry, for each choice, the [identity](crate::identity) of the
//! event or choice it picked; it then prints as `t2:` with items
//! `options.index@identity` (`t2:2.1@timer:driver#0,2.0@poll:driver#2`) and replays
//! by identity, so it survives harmless refactors (see [`Replay`](crate::strategy::Replay)).
//!
//! ```
//! use sim_core::{Choice, Tape};
//! let tape: Tape = "t1:2.1,3.0*4,2.1".parse().unwrap();
//! assert_eq!(tape.len(), 6);
//! assert_eq!(tape.choices()[0], Choice { options: 2, index: 1 });
//! assert_eq!(tape.to_string(), "t1:2.1,3.0*4,2.1");
//! ```

use std::fmt;
use std::str::FromStr;

use crate::identity::EventIdentity;

/// One recorded choice: `index` was taken among `options` candidates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "json", derive(serde::Serialize, serde::Deserialize))]
pub struct Choice {
    /// How many candidates there were (at least 2).
    pub options: u32,
    /// Which one was taken; 0 is the canonical order.
    pub index: u32,
}

impl Choice {
    /// Whether this choice departs from the canonical order.
    pub(crate) fn is_departure(self) -> bool {
        self.index != 0
    }
}

/// The sequence of choices of one run. Its text form is `t1:` then `options.index` items
/// separated by commas, a run of equal items written once with `*count`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Tape {
    choices: Vec<Choice>,
    /// Empty, or one identity per choice.
    ids: Vec<EventIdentity>,
}

const PREFIX: &str = "t1:";
const PREFIX_IDS: &str = "t2:";

impl Tape {
    /// The most choices a tape's text may expand to (`*count` included): 2^20. A
    /// longer text is a [`TapeParseError`], never a huge allocation.
    pub const MAX_CHOICES: usize = 1 << 20;

    /// The longest tape text accepted, in bytes: 16 MiB.
    pub const MAX_TEXT: usize = 16 << 20;

    /// An empty tape: every choice canonical.
    pub fn new() -> Tape {
        Tape::default()
    }

    /// A tape holding `choices`.
    pub(crate) fn from_choices(choices: Vec<Choice>) -> Tape {
        Tape { choices, ids: Vec::new() }
    }

    /// A tape holding `choices`, each with the identity of what it picked.
    ///
    /// # Panics
    /// Panics when the two lists differ in length.
    #[track_caller]
    pub(crate) fn with_identities(choices: Vec<Choice>, ids: Vec<EventIdentity>) -> Tape {
        assert_eq!(choices.len(), ids.len(), "one identity per choice");
        Tape { choices, ids }
    }

    /// The identities of what each choice picked, when the tape carries them.
    pub(crate) fn identities(&self) -> Option<&[EventIdentity]> {
        (!self.ids.is_empty()).then_some(&self.ids[..])
    }

    /// The choices, in the order they were made.
    pub fn choices(&self) -> &[Choice] {
        &self.choices
    }

    /// Number of choices recorded.
    pub fn len(&self) -> usize {
        self.choices.len()
    }

    /// Whether no choice was recorded.
    pub fn is_empty(&self) -> bool {
        self.choices.is_empty()
    }

    /// Number of choices that depart from the canonical order.
    pub fn departures(&self) -> usize {
        self.choices.iter().filter(|c| c.is_departure()).count()
    }

    /// The same tape without its trailing canonical choices (it replays identically).
    pub(crate) fn trimmed(&self) -> Tape {
        let end = self.choices.iter().rposition(|c| c.is_departure()).map_or(0, |i| i + 1);
        let ids = if self.ids.is_empty() { Vec::new() } else { self.ids[..end].to_vec() };
        Tape { choices: self.choices[..end].to_vec(), ids }
    }
}

impl fmt::Display for Tape {
    /// The compact text form, trailing canonical choices left out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let trimmed = self.trimmed();
        if !self.ids.is_empty() {
            f.write_str(PREFIX_IDS)?;
            for (i, (c, id)) in trimmed.choices.iter().zip(&trimmed.ids).enumerate() {
                let sep = if i == 0 { "" } else { "," };
                write!(f, "{sep}{}.{}@{id}", c.options, c.index)?;
            }
            return Ok(());
        }
        f.write_str(PREFIX)?;
        let mut items = trimmed.choices.iter().peekable();
        let mut first = true;
        while let Some(c) = items.next() {
            let mut count = 1;
            while items.peek() == Some(&c) {
                items.next();
                count += 1;
            }
            if !first {
                f.write_str(",")?;
            }
            first = false;
            write!(f, "{}.{}", c.options, c.index)?;
            if count > 1 {
                write!(f, "*{count}")?;
            }
        }
        Ok(())
    }
}

/// Why a tape's text could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TapeParseError {
    /// The item (or prefix) that is wrong.
    pub item: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl fmt::Display for TapeParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad tape item `{}`: {}", self.item, self.reason)
    }
}

impl std::error::Error for TapeParseError {}

impl FromStr for Tape {
    type Err = TapeParseError;

    /// Parses the text form. Bounded: a text longer than [`Tape::MAX_TEXT`] bytes, or
    /// one that expands to more than [`Tape::MAX_CHOICES`] choices, is an error.
    fn from_str(text: &str) -> Result<Tape, TapeParseError> {
        let err = |item: &str, reason| TapeParseError { item: shorten(item), reason };
        if text.len() > Tape::MAX_TEXT {
            return Err(err(text, "the tape text is longer than 16 MiB"));
        }
        let text = text.trim();
        let (body, with_ids) = match (text.strip_prefix(PREFIX), text.strip_prefix(PREFIX_IDS)) {
            (Some(body), _) => (body, false),
            (None, Some(body)) => (body, true),
            (None, None) => return Err(err(text, "a tape starts with `t1:` or `t2:`")),
        };
        let mut choices = Vec::new();
        let mut ids = Vec::new();
        for item in body.split(',').filter(|s| !s.is_empty()) {
            let (choice, identity) = match (with_ids, item.split_once('@')) {
                (true, Some((c, id))) => (c, Some(id)),
                (true, None) => return Err(err(item, "a `t2:` item is `options.index@identity`")),
                (false, _) => (item, None),
            };
            let (choice, count) = match choice.split_once('*') {
                Some(_) if with_ids => return Err(err(item, "a `t2:` item has no `*count`")),
                Some((c, n)) => (c, n.parse::<usize>().map_err(|_| err(item, "count after `*` is not a number"))?),
                None => (choice, 1),
            };
            let (options, index) = choice.split_once('.').ok_or_else(|| err(item, "expected `options.index`"))?;
            let options: u32 = options.parse().map_err(|_| err(item, "options is not a number"))?;
            let index: u32 = index.parse().map_err(|_| err(item, "index is not a number"))?;
            if options < 2 {
                return Err(err(item, "a choice has at least 2 options"));
            }
            if index >= options {
                return Err(err(item, "index must be below options"));
            }
            if count == 0 {
                return Err(err(item, "count must be at least 1"));
            }
            if count > Tape::MAX_CHOICES - choices.len() {
                return Err(err(item, "the tape expands to more than 1048576 choices"));
            }
            if let Some(id) = identity {
                ids.push(id.parse::<EventIdentity>().map_err(|e| err(item, e.0))?);
            }
            choices.extend(std::iter::repeat_n(Choice { options, index }, count));
        }
        Ok(Tape { choices, ids })
    }
}

/// `item`, cut to its first 64 characters for an error message.
fn shorten(item: &str) -> String {
    match item.char_indices().nth(64) {
        Some((end, _)) => format!("{}…", &item[..end]),
        None => item.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(options: u32, index: u32) -> Choice {
        Choice { options, index }
    }

    #[test]
    fn text_form_round_trips() {
        let tape = Tape::from_choices(vec![c(2, 1), c(3, 0), c(3, 0), c(3, 0), c(2, 1), c(2, 0)]);
        let text = tape.to_string();
        assert_eq!(text, "t1:2.1,3.0*3,2.1");
        let back: Tape = text.parse().unwrap();
        assert_eq!(back, tape.trimmed());
    }

    #[test]
    fn a_tape_with_identities_round_trips() {
        let id = |text: &str| text.parse::<EventIdentity>().unwrap();
        let tape = Tape::with_identities(
            vec![c(2, 1), c(3, 0), c(2, 1), c(2, 0)],
            vec![id("timer:driver#0"), id("poll:w[1]#2"), id("select:relay#0"), id("poll:a#0")],
        );
        let text = tape.to_string();
        assert_eq!(text, "t2:2.1@timer:driver#0,3.0@poll:w[1]#2,2.1@select:relay#0");
        assert_eq!(text.parse::<Tape>().unwrap(), tape.trimmed());
    }

    #[test]
    fn canonical_tape_prints_empty() {
        let tape = Tape::from_choices(vec![c(2, 0), c(5, 0)]);
        assert_eq!(tape.to_string(), "t1:");
        assert!("t1:".parse::<Tape>().unwrap().is_empty());
    }

    #[test]
    fn bad_tapes_are_typed_errors() {
        assert_eq!("2.1".parse::<Tape>().unwrap_err().reason, "a tape starts with `t1:` or `t2:`");
        assert_eq!("t2:2.1".parse::<Tape>().unwrap_err().reason, "a `t2:` item is `options.index@identity`");
        assert_eq!("t2:2.1@poll:x".parse::<Tape>().unwrap_err().reason, "expected `#seq` after the name");
        assert_eq!("t1:2.2".parse::<Tape>().unwrap_err().reason, "index must be below options");
        assert_eq!("t1:1.0".parse::<Tape>().unwrap_err().reason, "a choice has at least 2 options");
        assert_eq!("t1:x".parse::<Tape>().unwrap_err().reason, "expected `options.index`");
        assert_eq!("t1:2.1*0".parse::<Tape>().unwrap_err().reason, "count must be at least 1");
    }

    #[test]
    fn a_tape_is_capped_in_text_and_in_expansion() {
        // The 522-byte shape of the report: many items of 2^24 each.
        let text = format!("t1:{}", vec!["2.1*16777216"; 40].join(","));
        let e = text.parse::<Tape>().unwrap_err();
        assert_eq!(e.reason, "the tape expands to more than 1048576 choices");
        assert!(e.item.chars().count() <= 65, "{}", e.item);
        // Exactly at the cap is fine; one more is not, even split over items.
        let at_cap: Tape = format!("t1:2.1*{}", Tape::MAX_CHOICES).parse().unwrap();
        assert_eq!(at_cap.len(), Tape::MAX_CHOICES);
        let over = format!("t1:2.1*{},3.1", Tape::MAX_CHOICES);
        assert_eq!(over.parse::<Tape>().unwrap_err().item, "3.1");
        let count_overflow = "t1:2.1*99999999999999999999999";
        assert_eq!(count_overflow.parse::<Tape>().unwrap_err().reason, "count after `*` is not a number");
        // A text over 16 MiB is refused before it is read, and the error quotes 64 characters.
        let long = format!("t1:{}", "2.1,".repeat(Tape::MAX_TEXT / 4));
        let e = long.parse::<Tape>().unwrap_err();
        assert_eq!(e.reason, "the tape text is longer than 16 MiB");
        assert_eq!(e.item.chars().count(), 65);
    }
}
