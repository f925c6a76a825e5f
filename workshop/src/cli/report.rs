//! `workshop metrics` and `workshop alarms`.

use super::{ConsoleArgs, Error};
use workshop::report::Source;

#[derive(clap::Args)]
pub struct MetricsArgs {
    #[command(flatten)]
    console: ConsoleArgs,
    /// How many minutes back.
    #[arg(long, default_value_t = 15)]
    minutes: i64,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Read the same figures from CloudWatch (a deployed stack; AWS_ENDPOINT_URL for an
    /// emulator) instead of the local stack.
    #[arg(long)]
    aws: bool,
}

#[derive(clap::Args)]
pub struct AlarmsArgs {
    #[command(flatten)]
    console: ConsoleArgs,
    #[arg(long)]
    json: bool,
    /// Read the alarms from CloudWatch (DescribeAlarms) instead of the local stack.
    #[arg(long)]
    aws: bool,
}

fn source(console: &ConsoleArgs, aws: bool) -> Source<'_> {
    if aws {
        Source::CloudWatch
    } else {
        Source::Local {
            console: &console.console,
        }
    }
}

pub async fn metrics(args: MetricsArgs) -> Result<String, Error> {
    workshop::report::metrics(source(&args.console, args.aws), args.minutes, args.json).await
}

pub async fn alarms(args: AlarmsArgs) -> Result<String, Error> {
    workshop::report::alarms(source(&args.console, args.aws), args.json).await
}
