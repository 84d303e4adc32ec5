//! Multi-producer, single-consumer channels.
