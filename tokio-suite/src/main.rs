//! `tokio-suite`: tokio's own integration tests against sim-tokio. See the library docs
//! and `docs/tokio.md`.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use tokio_suite::{parse_args, run_suite, Command, Failure, USAGE};

fn main() -> ExitCode {
    match parse_args(std::env::args().skip(1)) {
        Ok(Command::Help) => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Err(why) => {
            eprintln!("tokio-suite: {why}");
            ExitCode::from(2)
        }
        Ok(Command::Run(opts)) => match run_suite(&opts) {
            Ok(()) => ExitCode::SUCCESS,
            Err(Failure::Input(why)) => {
                eprintln!("tokio-suite: {why}");
                ExitCode::from(2)
            }
            Err(Failure::Setup(why)) => {
                eprintln!("tokio-suite: {why}");
                ExitCode::from(1)
            }
        },
    }
}
