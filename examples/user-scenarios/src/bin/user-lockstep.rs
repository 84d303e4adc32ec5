//! `user-lockstep`: the `lockstep` tool on this crate's own scenarios
//! (`cargo run -p user-scenarios --bin user-lockstep -- list`).
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    scenarios::cli::main_with(user_scenarios::registry())
}
