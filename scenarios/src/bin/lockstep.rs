//! `lockstep`: run, replay and check the race catalogue. See `lockstep --help`
//! and the `scenarios` crate docs.
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    scenarios::cli::main()
}
