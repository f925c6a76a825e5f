//! `workshop`: run the local stack and administer it. The commands are in `cli/`.

mod cli;

use clap::Parser;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    match cli::Cli::parse().run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("workshop: {e}");
            ExitCode::FAILURE
        }
    }
}
