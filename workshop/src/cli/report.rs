//! `workshop metrics` and `workshop alarms`.

use super::{ConsoleArgs, Error};
use workshop::report::Source;

#[derive(clap::Args)]
pub struct MetricsArgs {
    #[command(flatten)]
    console: ConsoleArgs,
    /// How many minutes back (1 to 1440).
    #[arg(long, default_value_t = 15, value_parser = clap::value_parser!(i64).range(1..=1440))]
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
    /// Print JSON instead of a table.
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
