//! Rewrites the generated dashboards and alarms block of template.yaml.
//!
//! `cargo run -p dashboards --bin generate-template [-- --check] [PATH]`: with `--check` it
//! writes nothing and exits 1 when the file is stale. PATH defaults to the workspace's
//! template.yaml.

use std::path::PathBuf;
use std::process::ExitCode;

use dashboards::Error;

fn main() -> ExitCode {
    let mut check = false;
    let mut path = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml"));
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--check" => check = true,
            "-h" | "--help" => {
                println!("usage: generate-template [--check] [TEMPLATE]");
                return ExitCode::SUCCESS;
            }
            other => path = PathBuf::from(other),
        }
    }
    match run(&path, check) {
        Ok(message) => {
            println!("{message}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("generate-template: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(path: &PathBuf, check: bool) -> Result<String, Box<dyn std::error::Error>> {
    let current = std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.clone(),
        source,
    })?;
    let fresh = dashboards::template::regenerate(&current)?;
    if fresh == current {
        return Ok(format!("{} is up to date", path.display()));
    }
    if check {
        return Err(format!(
            "{} is stale: run `{}`",
            path.display(),
            dashboards::template::COMMAND
        )
        .into());
    }
    std::fs::write(path, fresh).map_err(|source| Error::Write {
        path: path.clone(),
        source,
    })?;
    Ok(format!("rewrote the generated block of {}", path.display()))
}
