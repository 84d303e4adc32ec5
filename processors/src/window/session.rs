//! Session windows.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::time::Duration;

use crate::error::ConfigError;
use crate::processor::Logic;

/// A session of one key: the items that came with gaps shorter than the session gap.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Session<K, T> {
    /// The key shared by the items.
    pub key: K,
    /// When the first item arrived (time since the processor's origin).
    pub start: Duration,
    /// When the session expires: the last item's arrival + the gap. A session closed
    /// early by the end of the input keeps this nominal end.
    pub end: Duration,
    /// The items, in arrival order.
    pub items: Vec<T>,
}

struct Open<T> {
    start: Duration,
    expiry: Duration,
    items: Vec<T>,
}

/// Per-key sessions: a key's session collects items until `gap` passes with no item
/// for that key, and is emitted at `last_item + gap` exactly.
///
/// - An item at exactly `last_item + gap` starts a new session (the old one is
///   emitted first).
/// - Sessions expiring at the same instant are emitted in order of start, then key.
/// - Close emits all open sessions, ordered by start then key. Cancel drops them.
///
/// ```
/// use std::time::Duration;
/// use futures::StreamExt;
/// use processors::{timeline, Logic, Session, SessionWindow};
///
/// let ms = Duration::from_millis;
/// // Paused time on tokio; one simulation in virtual time under `--cfg lockstep`.
/// let runtime = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
/// let out = runtime.block_on(async move {
///     let clicks = [(ms(0), ("a", 1)), (ms(20), ("b", 2)), (ms(50), ("a", 3)), (ms(150), ("a", 4))];
///     let input = timeline::timed(clicks).close_at(ms(1000));
///     let sessions = SessionWindow::new(ms(100), |click: &(&str, i32)| click.0).unwrap();
///     timeline::stamped(sessions.process_ok(input)).collect::<Vec<_>>().await
/// });
/// let at = |t, key, start, end, items| (ms(t), Session { key, start: ms(start), end: ms(end), items });
/// assert_eq!(
///     out,
///     [
///         at(120, "b", 20, 120, vec![("b", 2)]),
///         // a's session expires at 50 + 100; the item at exactly 150 starts the next one.
///         at(150, "a", 0, 150, vec![("a", 1), ("a", 3)]),
///         at(250, "a", 150, 250, vec![("a", 4)]),
///     ]
/// );
/// ```
pub struct SessionWindow<T, K, F> {
    gap: Duration,
    key_of: F,
    open: BTreeMap<K, Open<T>>,
    /// (expiry, start, key) of every open session: the due ones come first.
    expiries: BTreeSet<(Duration, Duration, K)>,
}

impl<T, K, F> SessionWindow<T, K, F>
where
    K: Ord + Clone,
    F: FnMut(&T) -> K,
{
    /// Sessions per `key_of(item)`, ending after `gap` with no item of their key.
    ///
    /// # Errors
    /// [`ConfigError::ZeroSessionGap`] when `gap` is zero.
    pub fn new(gap: Duration, key_of: F) -> Result<SessionWindow<T, K, F>, ConfigError> {
        if gap.is_zero() {
            return Err(ConfigError::ZeroSessionGap);
        }
        Ok(SessionWindow { gap, key_of, open: BTreeMap::new(), expiries: BTreeSet::new() })
    }

    /// The gap that ends a session.
    pub fn gap(&self) -> Duration {
        self.gap
    }

    /// How many sessions are open.
    pub fn open_sessions(&self) -> usize {
        self.open.len()
    }
}

impl<T, K, F> Logic for SessionWindow<T, K, F>
where
    K: Ord + Clone,
    F: FnMut(&T) -> K,
{
    type In = T;
    type Out = Session<K, T>;

    fn deadline(&self) -> Option<Duration> {
        self.expiries.first().map(|(expiry, _, _)| *expiry)
    }

    fn on_deadline(&mut self, now: Duration, out: &mut VecDeque<Session<K, T>>) {
        while self.expiries.first().is_some_and(|(expiry, _, _)| *expiry <= now) {
            let (end, start, key) = self.expiries.pop_first().expect("checked non-empty");
            let items = self.open.remove(&key).map(|s| s.items).unwrap_or_default();
            out.push_back(Session { key, start, end, items });
        }
    }

    fn on_item(&mut self, now: Duration, item: T, _out: &mut VecDeque<Session<K, T>>) {
        let key = (self.key_of)(&item);
        let expiry = now.saturating_add(self.gap);
        match self.open.get_mut(&key) {
            Some(session) => {
                self.expiries.remove(&(session.expiry, session.start, key.clone()));
                session.expiry = expiry;
                session.items.push(item);
                self.expiries.insert((expiry, session.start, key));
            }
            None => {
                self.expiries.insert((expiry, now, key.clone()));
                self.open.insert(key, Open { start: now, expiry, items: vec![item] });
            }
        }
    }

    fn on_close(&mut self, _now: Duration, out: &mut VecDeque<Session<K, T>>) {
        self.expiries.clear();
        let mut sessions: Vec<(K, Open<T>)> = std::mem::take(&mut self.open).into_iter().collect();
        // Keys are unique, so (start, key) is a total order.
        sessions.sort_by(|(ka, a), (kb, b)| a.start.cmp(&b.start).then_with(|| ka.cmp(kb)));
        out.extend(sessions.into_iter().map(|(key, s)| Session { key, start: s.start, end: s.expiry, items: s.items }));
    }
}

impl<T: fmt::Debug, K: fmt::Debug, F> fmt::Debug for SessionWindow<T, K, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionWindow")
            .field("gap", &self.gap)
            .field("open", &self.open.iter().map(|(k, s)| (k, s.start, s.expiry, &s.items)).collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn by_key(item: &(char, u32)) -> char {
        item.0
    }

    #[test]
    fn gap_zero_is_a_configuration_error() {
        let err = SessionWindow::<(char, u32), char, _>::new(Duration::ZERO, by_key).unwrap_err();
        assert_eq!(err, ConfigError::ZeroSessionGap);
    }

    #[test]
    fn each_item_extends_its_own_keys_session_only() {
        let mut w = SessionWindow::new(ms(100), by_key).unwrap();
        let mut out = VecDeque::new();
        w.on_item(ms(0), ('a', 1), &mut out);
        w.on_item(ms(10), ('b', 2), &mut out);
        w.on_item(ms(90), ('a', 3), &mut out);
        assert_eq!(w.deadline(), Some(ms(110)), "b expires first");
        w.on_deadline(ms(110), &mut out);
        assert_eq!(out.pop_front().map(|s| (s.key, s.end)), Some(('b', ms(110))));
        assert_eq!(w.deadline(), Some(ms(190)));
    }

    #[test]
    fn sessions_expiring_together_come_out_by_start_then_key() {
        let mut w = SessionWindow::new(ms(100), by_key).unwrap();
        let mut out = VecDeque::new();
        w.on_item(ms(0), ('z', 1), &mut out);
        w.on_item(ms(0), ('y', 2), &mut out);
        w.on_item(ms(20), ('x', 3), &mut out);
        w.on_item(ms(50), ('z', 4), &mut out);
        w.on_item(ms(50), ('y', 5), &mut out);
        w.on_item(ms(50), ('x', 6), &mut out);
        w.on_deadline(ms(150), &mut out);
        let keys: String = out.iter().map(|s| s.key).collect();
        assert_eq!(keys, "yzx");
    }

    #[test]
    fn close_emits_open_sessions_by_start_then_key() {
        let mut w = SessionWindow::new(ms(100), by_key).unwrap();
        let mut out = VecDeque::new();
        w.on_item(ms(30), ('a', 1), &mut out);
        w.on_item(ms(10), ('c', 2), &mut out);
        w.on_item(ms(10), ('b', 3), &mut out);
        w.on_close(ms(40), &mut out);
        let keys: String = out.iter().map(|s| s.key).collect();
        assert_eq!(keys, "bca");
        assert_eq!(w.deadline(), None);
        assert_eq!(w.open_sessions(), 0);
    }
}
