//! The `workshop` command line: one module per command group. Each holds its clap arguments
//! and the function that runs it; the work itself is in the library.

mod chaos;
mod dlq;
mod load;
mod report;
mod traces;
mod up;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::time::Duration;
use workshop::data_dir::DEFAULT_DATA_DIR;

pub type Error = Box<dyn std::error::Error>;

#[derive(Parser)]
#[command(
    name = "workshop",
    version,
    about = "The order observability workshop kit: local stack and tools"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once per process: the size of the largest variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Run the local stack: API Gateway, Lambda, SQS and the table's stream, on SQLite.
    Up(up::UpArgs),
    /// Print the current metrics of a running local stack (its EMF business metrics and the
    /// AWS service metrics it records), over the last minutes.
    Metrics(report::MetricsArgs),
    /// Print every alarm's state and reason: the local stack's evaluator, or CloudWatch's.
    Alarms(report::AlarmsArgs),
    /// Inspect or redrive the local dead-letter queue.
    Dlq {
        #[command(subcommand)]
        command: dlq::DlqCommand,
    },
    /// Turn faults on and off live (the local stack, or with --aws a deployed stack), and read
    /// the experiment journal. Chaos must be armed: `workshop up --chaos-armed` locally,
    /// `ChaosArmed=true` on AWS.
    Chaos {
        #[command(subcommand)]
        command: chaos::ChaosCommand,
    },
    /// The local stack's traces: recent ones, or one as a waterfall with its log lines.
    Traces {
        #[command(subcommand)]
        command: Option<traces::TracesCommand>,
    },
    /// Send load to the order API: an open-loop generator at a fixed rate for a fixed time,
    /// with a latency histogram and errors by status. Stops by itself.
    Load(load::LoadArgs),
    /// Backfill a deployed stack's table between stages 2 and 3 of its move from the first
    /// table design (docs/table-design.md): shard keys on every old order, and a message for
    /// every order it left unpublished. Reads ORDERS_TABLE and ORDERS_QUEUE_URL; safe to run
    /// again. Needs the aws feature.
    MigrateTable,
}

impl Cli {
    /// Runs the command; what it prints on success is printed here.
    pub async fn run(self) -> Result<(), Error> {
        match self.command {
            Command::Up(args) => up::up(args).await,
            Command::Dlq { command } => print_out(&dlq::dlq(command).await?),
            Command::Load(args) => print_out(&load::load(args).await?),
            Command::Chaos { command } => print_out(&chaos::chaos(command).await?),
            Command::Alarms(args) => print_out(&report::alarms(args).await?),
            Command::Metrics(args) => print_out(&report::metrics(args).await?),
            Command::Traces { command } => print_out(&traces::traces(command).await?),
            Command::MigrateTable => {
                let out = workshop::aws::migrate_table()
                    .await
                    .map_err(|e| e as Error)?;
                print_out(&out)
            }
        }
    }
}

/// Prints a command's output. A reader that stopped reading (`workshop chaos off | head -2`)
/// is not an error, and never a panic as `println!` would make it.
fn print_out(out: &str) -> Result<(), Error> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match writeln!(stdout, "{out}").and_then(|()| stdout.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

/// The running stack's control plane, as every client command names it.
#[derive(clap::Args)]
struct ConsoleArgs {
    /// The running stack's console address.
    #[arg(long, default_value = DEFAULT_CONSOLE, env = CONSOLE_ENV)]
    console: String,
}

const DEFAULT_CONSOLE: &str = "http://127.0.0.1:3001";
const CONSOLE_ENV: &str = "WORKSHOP_CONSOLE";

/// The console address when a command is given no arguments (`workshop traces`).
fn default_console() -> String {
    std::env::var(CONSOLE_ENV).unwrap_or_else(|_| DEFAULT_CONSOLE.to_owned())
}

#[derive(clap::Args)]
struct DataArgs {
    /// Where the local stack keeps its data and logs.
    #[arg(long, default_value = DEFAULT_DATA_DIR, env = "WORKSHOP_DATA_DIR")]
    data_dir: PathBuf,
}

/// `90s`, `15m`, `1h`. A bare number is refused: `10` read as minutes by one command and
/// seconds by another is how a 10-second run becomes a 10-minute one.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let (number, unit) = match s.trim().char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => s.trim().split_at(i),
        None => {
            return Err(format!(
                "{s:?} has no unit: write {n}s, {n}m or {n}h",
                n = s.trim()
            ));
        }
    };
    let n: u64 = number
        .parse()
        .map_err(|_| format!("expected a duration such as 90s, 15m or 1h, got {s:?}"))?;
    let unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        other => return Err(format!("unknown unit {other:?} in {s:?}; use s, m or h")),
    };
    Ok(Duration::from_secs(n.saturating_mul(unit)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// Every flag of every subcommand, with the path of subcommands that has it.
    fn flags(cmd: &clap::Command, path: String, out: &mut Vec<(String, clap::Arg)>) {
        for arg in cmd.get_arguments() {
            out.push((path.clone(), arg.clone()));
        }
        for sub in cmd.get_subcommands() {
            flags(sub, format!("{path} {}", sub.get_name()), out);
        }
    }

    #[test]
    fn every_flag_of_every_command_says_what_it_does() {
        let mut all = Vec::new();
        flags(&Cli::command(), "workshop".into(), &mut all);
        assert!(all.len() > 40, "{} flags", all.len());
        let silent: Vec<String> = all
            .iter()
            .filter(|(_, a)| !matches!(a.get_id().as_str(), "help" | "version"))
            .filter(|(_, a)| a.get_help().is_none_or(|h| h.to_string().trim().is_empty()))
            .map(|(path, a)| format!("{path} --{}", a.get_long().unwrap_or(a.get_id().as_str())))
            .collect();
        assert_eq!(silent, Vec::<String>::new(), "flags without a description");
        // A flag shared by commands that read and commands that write says neither.
        for (path, a) in &all {
            if a.get_long() == Some("aws") && !path.ends_with(" on") && !path.ends_with(" off") {
                let help = a.get_help().map(|h| h.to_string()).unwrap_or_default();
                assert!(!help.starts_with("Switch"), "{path} --aws: {help}");
            }
        }
    }

    #[test]
    fn the_port_flags_named_in_errors_are_the_real_ones() {
        let up = Cli::command();
        let up = up.find_subcommand("up").expect("an up command");
        for flag in [
            workshop::stack::API_PORT_FLAG,
            workshop::stack::CONSOLE_PORT_FLAG,
        ] {
            let long = flag.trim_start_matches("--");
            assert!(
                up.get_arguments().any(|a| a.get_long() == Some(long)),
                "`workshop up` has no {flag}"
            );
        }
    }

    #[test]
    fn a_duration_needs_its_unit() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        let e = parse_duration("10").unwrap_err();
        assert!(e.contains("10s, 10m or 10h"), "{e}");
        assert!(parse_duration("10d").is_err());
    }

    #[test]
    fn zero_minutes_of_metrics_is_refused() {
        let e = Cli::try_parse_from(["workshop", "metrics", "--minutes", "0"])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("--minutes"), "{e}");
    }
}
