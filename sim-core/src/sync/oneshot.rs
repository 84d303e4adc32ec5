//! One-shot channels.
