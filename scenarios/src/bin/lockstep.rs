//! The `lockstep` command-line tool (being written).

fn main() {}
