//! Cross-crate regression tests: the corpus of failing runs, the catalogue's outputs
//! against the records the processors emit on tokio, the determinism rules' grep, and the repository's documents
//! (links that resolve, one spelling of "nondeterminism").

mod corpus;
mod determinism_rules;
mod doc_links;
mod spelling;
mod tokio_parity;
