//! Cross-crate integration tests and the regression corpus.
//!
//! - `corpus/failures.txt`: failing runs of the race catalogue, one per line, that
//!   must keep failing exactly the same way (outcome class and trace fingerprint).
//! - `tests/regression/`: the one test binary. `corpus` replays every corpus entry;
//!   `tokio_parity` checks that the catalogue's fixed processors emit in the
//!   simulator's canonical order the records `processors`' tests check on tokio with
//!   paused time;
//!   `determinism_rules` searches the simulated crates' code for wall clocks, threads,
//!   unseeded randomness and hash maps; `doc_links` checks that every relative link and
//!   every file named in the documents and source comments is in the repository.
//!
//! Refresh the corpus on purpose (after a deliberate engine change) with
//! `LOCKSTEP_REFRESH_CORPUS=1 cargo test -p tests corpus`; append new failures with
//! `cargo run --release -p scenarios --bin lockstep -- run --all --record`.
#![forbid(unsafe_code)]
