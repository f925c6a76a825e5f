//! `workshop load`.

use super::{Error, parse_duration};
use std::time::Duration;
use workshop::load::{LoadOptions, Mix};

#[derive(clap::Args)]
pub struct LoadArgs {
    /// The API's base URL: the local stack's, or a deployed stack's ApiUrl output.
    #[arg(long, default_value = "http://127.0.0.1:3000", env = "WORKSHOP_API")]
    url: String,
    /// Requests per second, started on schedule whatever the responses do.
    #[arg(long, default_value_t = 20.0)]
    rate: f64,
    /// How long, as 30s, 5m or 1h.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    duration: Duration,
    /// Most requests in flight at once; past it, starts are delayed (and counted).
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Weights of the operations: create (POST /orders), get (GET /orders/{id}), list.
    #[arg(long, default_value = "create=70,get=20,list=10", value_parser = Mix::parse)]
    mix: Mix,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
    /// No progress line.
    #[arg(long)]
    quiet: bool,
}

pub async fn load(args: LoadArgs) -> Result<String, Error> {
    let summary = workshop::load::run(LoadOptions {
        url: args.url,
        rate: args.rate,
        duration: args.duration,
        concurrency: args.concurrency,
        mix: args.mix,
        progress: !args.quiet,
    })
    .await?;
    if args.json {
        Ok(serde_json::to_string_pretty(&summary)?)
    } else {
        Ok(workshop::load::render(&summary))
    }
}
