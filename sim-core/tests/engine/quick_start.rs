//! The README's quick start, run: its world is this file's `counter`, word for word,
//! and each of the four tests it shows fails, as the README says, with a report that
//! replays.

use sim_core::{spawn, yield_now};
use std::{cell::Cell, rc::Rc};

/// `n` tasks add 1 to a counter: reading, yielding, then writing back loses updates.
async fn counter(n: u32) -> Result<(), String> {
    let count = Rc::new(Cell::new(0));
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let count = count.clone();
            spawn(async move {
                let read = count.get();
                yield_now().await;
                count.set(read + 1);
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    match count.get() {
        sum if sum == n => Ok(()),
        sum => Err(format!("lost update: {sum} of {n}")),
    }
}

/// The panic message of `test`, which must fail.
fn failure_of(test: impl FnOnce() + std::panic::UnwindSafe) -> String {
    let payload = std::panic::catch_unwind(test).expect_err("the quick start's tests fail");
    payload.downcast_ref::<String>().cloned().unwrap_or_default()
}

#[test]
fn the_readme_shows_this_world_and_each_search_it_names_finds_the_lost_update() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let source = include_str!("quick_start.rs");
    let start = source.find("use sim_core::{spawn").unwrap();
    let end = source.find("\n}\n").unwrap() + 3;
    assert!(readme.contains(&source[start..end]), "README.md's quick start differs from {}", file!());
    let reports = [
        failure_of(|| sim_core::check_random(|| counter(2), 1000)),
        failure_of(|| sim_core::check_pct(|| counter(2), 1000, 2)),
        failure_of(|| sim_core::check_exhaustive(|| counter(2))),
        failure_of(|| sim_core::check_proptest(1u32..5, counter)),
    ];
    for report in &reports {
        assert!(report.contains("lost update: 1 of 2"), "{report}");
        // In a test `cargo test` runs, the replay is the command that runs this test alone.
        let command = "cargo test -p sim-core --test engine -- --exact \
                       quick_start::the_readme_shows_this_world_and_each_search_it_names_finds_the_lost_update";
        assert!(report.contains(command), "{report}");
    }
}
