//! Cross-crate regression tests: the corpus of failing runs, and the processors on
//! tokio against the simulator.

mod corpus;
mod tokio_parity;
