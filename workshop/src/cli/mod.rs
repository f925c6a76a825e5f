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
    /// Run the local stack: API Gateway, Lambda, SQS and the sweeper's schedule, on SQLite.
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
}

impl Cli {
    /// Runs the command; what it prints on success is printed here.
    pub async fn run(self) -> Result<(), Error> {
        match self.command {
            Command::Up(args) => up::up(args).await,
            Command::Dlq { command } => dlq::dlq(command).await.map(|out| println!("{out}")),
            Command::Load(args) => load::load(args).await.map(|out| println!("{out}")),
            Command::Chaos { command } => chaos::chaos(command).await.map(|out| println!("{out}")),
            Command::Alarms(args) => report::alarms(args).await.map(|out| println!("{out}")),
            Command::Metrics(args) => report::metrics(args).await.map(|out| println!("{out}")),
            Command::Traces { command } => {
                traces::traces(command).await.map(|out| println!("{out}"))
            }
        }
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

fn parse_duration(s: &str) -> Result<Duration, String> {
    let (number, unit) = match s.trim().char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => s.trim().split_at(i),
        None => (s.trim(), "m"),
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
