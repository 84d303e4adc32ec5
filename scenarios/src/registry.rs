//! The catalogue: every scenario, in catalogue order, and lookup by name.

use std::sync::LazyLock;

use crate::races;
use crate::scenario::Scenario;

static CATALOGUE: LazyLock<Vec<Scenario>> = LazyLock::new(|| {
    let mut all = Vec::new();
    all.extend(races::throttle_hang::scenarios());
    all.extend(races::two_phase::scenarios());
    all.extend(races::state_channel::scenarios());
    all.extend(races::tick_loss::scenarios());
    all.extend(races::drain::scenarios());
    all.extend(races::size_latency::scenarios());
    all
});

/// Scenarios that are no race of the catalogue, reachable by name only (not in
/// [`all`], `lockstep list` or `--all`): `spin/buggy`, a task that loops without
/// ever yielding, which shows the poll watchdog ending the tool.
static HIDDEN: LazyLock<Vec<Scenario>> = LazyLock::new(races::spin::scenarios);

/// Every scenario of the catalogue, in catalogue order (race, then buggy before fixed).
pub fn all() -> &'static [Scenario] {
    &CATALOGUE
}

/// The scenario named exactly `name` (as in `throttle-hang/buggy`), hidden ones included.
pub fn get(name: &str) -> Option<&'static Scenario> {
    all().iter().chain(HIDDEN.iter()).find(|s| s.name == name)
}

/// The scenarios `pattern` selects: the one named exactly so, or every variant of
/// the family so named (`drain` selects `drain/buggy`, `drain/no-straggler` and
/// `drain/fixed`). Empty when nothing matches.
pub fn select(pattern: &str) -> Vec<&'static Scenario> {
    match get(pattern) {
        Some(s) => vec![s],
        None => all().iter().chain(HIDDEN.iter()).filter(|s| s.family == pattern).collect(),
    }
}
