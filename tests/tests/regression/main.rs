//! Cross-crate regression tests: the corpus of failing runs, the processors on tokio
//! against the simulator, the determinism rules' grep, and the repository's documents
//! (links that resolve).

mod corpus;
mod determinism_rules;
mod doc_links;
mod tokio_parity;
