//! Cross-crate integration tests and the regression corpus live in `tests/tests/`.
#![forbid(unsafe_code)]
