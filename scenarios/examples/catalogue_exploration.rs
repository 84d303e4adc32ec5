//! Prints, for every scenario of the catalogue, what each exploration strategy needs
//! to find its race (buggy variants) or to pass (fixed variants):
//! `cargo run --release -p scenarios --example catalogue_exploration`.
//!
//! Columns: the first failing seed of seeded random tie-breaking and of PCT (depth 2
//! and 3; "-" when none below the bound), exhaustive enumeration without and with
//! partial-order reduction (runs to the first failure / runs in all, "+" when the
//! bound cut it short), the share of the reduced enumeration's steps spent
//! re-executing prefixes, whether the reduced enumeration reached exactly the
//! outcomes of every order (when both were exhausted), and the proptest path (the
//! case that failed, the departures from the canonical order left after shrinking,
//! and what the shrunk tape replays to).

use scenarios::exploration::{
    first_failing_seed, outcomes_of_every_order, outcomes_of_reduced_orders, proptest_path, reduced, replay_class,
};
use scenarios::registry;
use sim_core::check::Search;

const SEEDS: u64 = 10_000;
const RUNS: usize = 20_000;
const CASES: u32 = 256;

fn seed(found: Option<u64>) -> String {
    found.map_or_else(|| "-".to_string(), |s| s.to_string())
}

fn main() {
    let jobs = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "| scenario | random | PCT d=2 | PCT d=3 | all orders | reduced | prefix steps | same outcomes | proptest: case, departures, replay |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for s in registry::all() {
        let random = seed(first_failing_seed(s, Search::Random, SEEDS, jobs));
        let pct2 = seed(first_failing_seed(s, Search::Pct { depth: 2, steps: Some(64) }, SEEDS, jobs));
        let pct3 = seed(first_failing_seed(s, Search::Pct { depth: 3, steps: Some(64) }, SEEDS, jobs));
        let all = s.explore(RUNS);
        let all_text = format!(
            "{}/{}{}",
            if all.failing > 0 { "found".to_string() } else { "-".to_string() },
            all.runs,
            if all.exhausted { "" } else { "+" }
        );
        let (red, prefix) = match reduced(s, RUNS) {
            Ok(r) => (
                format!(
                    "{}/{}{}",
                    r.first_failing_run.map_or_else(|| "-".to_string(), |n| n.to_string()),
                    r.runs,
                    if r.exhausted { "" } else { "+" }
                ),
                format!("{}%", (r.replayed_steps * 100).checked_div(r.steps).unwrap_or(0)),
            ),
            Err(e) => (format!("error: {e}"), String::new()),
        };
        let same = match (all.exhausted, outcomes_of_every_order(s, RUNS), outcomes_of_reduced_orders(s, RUNS)) {
            (true, Some(every), Ok(Some(one_per_class))) if every == one_per_class => {
                format!("yes ({})", every.len())
            }
            (true, Some(_), Ok(Some(_))) => "NO".to_string(),
            _ => "-".to_string(),
        };
        let prop = proptest_path(s, CASES);
        let prop_text = match &prop.counterexample {
            Some(c) => format!("{}, {}, {}", c.failing_case, c.tape.departures(), replay_class(s, &c.tape)),
            None => format!("- ({} cases)", prop.cases_run),
        };
        println!(
            "| `{}` | {random} | {pct2} | {pct3} | {all_text} | {red} | {prefix} | {same} | {prop_text} |",
            s.name
        );
    }
}
