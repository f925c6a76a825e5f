//! `workshop traces [list] | show <trace id | order id>`.

use super::{ConsoleArgs, Error};
use clap::Subcommand;
use workshop::traces::ListFilter;

#[derive(Subcommand)]
pub enum TracesCommand {
    /// Recent traces, newest first (the default).
    List {
        #[command(flatten)]
        console: ConsoleArgs,
        /// Only the traces of this order.
        #[arg(long)]
        order_id: Option<String>,
        /// Only traces with a span of this function (e.g. order-processor).
        #[arg(long)]
        function: Option<String>,
        /// Only traces with a failed span.
        #[arg(long)]
        errors: bool,
        /// Only traces at least this long.
        #[arg(long)]
        min_duration_ms: Option<f64>,
        /// How many minutes back.
        #[arg(long, default_value_t = 60)]
        minutes: u64,
        /// Show at most this many traces.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// One trace as a waterfall with its log lines: give its id (32 hex digits or the X-Ray
    /// form 1-xxxxxxxx-…) or an order id (its create, processing, retries and redrive).
    Show {
        /// A trace id (32 hex digits, or 1-xxxxxxxx-…) or an order id.
        id: String,
        #[command(flatten)]
        console: ConsoleArgs,
        /// Print JSON (the trace's spans and log lines) instead of the waterfall.
        #[arg(long)]
        json: bool,
    },
}

pub async fn traces(command: Option<TracesCommand>) -> Result<String, Error> {
    match command {
        None => {
            let filter = ListFilter {
                minutes: 60,
                limit: 20,
                ..ListFilter::default()
            };
            workshop::traces::list(&super::default_console(), &filter, false).await
        }
        Some(TracesCommand::List {
            console,
            order_id,
            function,
            errors,
            min_duration_ms,
            minutes,
            limit,
            json,
        }) => {
            let filter = ListFilter {
                order_id,
                function,
                errors_only: errors,
                min_duration_ms,
                minutes,
                limit,
            };
            workshop::traces::list(&console.console, &filter, json).await
        }
        Some(TracesCommand::Show { id, console, json }) => {
            workshop::traces::show(&console.console, &id, json).await
        }
    }
}
