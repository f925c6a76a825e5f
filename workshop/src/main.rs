//! `workshop`: run the local stack and administer it.

use clap::{Parser, Subcommand};
use orders::settings::Function;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use telemetry::logs::{JsonLayer, env_filter};
use telemetry::metrics::local::LocalMetrics;
use tracing_subscriber::prelude::*;
use workshop::data_dir::{DEFAULT_DATA_DIR, DataDir};
use workshop::report::Source;
use workshop::stack::backend::Backend;
use workshop::stack::functions::Limits;
use workshop::stack::logs::LocalLogs;
use workshop::stack::metrics::{EmfCapture, MetricStore};

/// The `Service` and `Environment` every local log line and metric carries.
use telemetry::catalogue::SERVICE_NAME as SERVICE;
const ENVIRONMENT: &str = "local";
const DEFAULT_CONSOLE_PORT: u16 = 3001;
use workshop::stack::{self, StackOptions};

#[derive(Parser)]
#[command(
    name = "workshop",
    version,
    about = "The order observability workshop kit: local stack and tools"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once per process: the size of the largest variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Run the local stack: API Gateway, Lambda, SQS and the sweeper's schedule, on SQLite.
    Up(UpArgs),
    /// Print the current metrics of a running local stack (its EMF business metrics and the
    /// AWS service metrics it records), over the last minutes.
    Metrics {
        /// The running stack's console address.
        #[arg(
            long,
            default_value = "http://127.0.0.1:3001",
            env = "WORKSHOP_CONSOLE"
        )]
        console: String,
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
    },
    /// Print every alarm's state and reason: the local stack's evaluator, or CloudWatch's.
    Alarms {
        #[arg(
            long,
            default_value = "http://127.0.0.1:3001",
            env = "WORKSHOP_CONSOLE"
        )]
        console: String,
        #[arg(long)]
        json: bool,
        /// Read the alarms from CloudWatch (DescribeAlarms) instead of the local stack.
        #[arg(long)]
        aws: bool,
    },
    /// Inspect or redrive the local dead-letter queue.
    Dlq {
        #[command(subcommand)]
        command: DlqCommand,
    },
    /// Turn faults on and off live (the local stack, or with --aws a deployed stack), and read
    /// the experiment journal. Chaos must be armed: `workshop up --chaos-armed` locally,
    /// `ChaosArmed=true` on AWS.
    Chaos {
        #[command(subcommand)]
        command: ChaosCommand,
    },
    /// Send load to the order API: an open-loop generator at a fixed rate for a fixed time,
    /// with a latency histogram and errors by status. Stops by itself.
    Load(LoadArgs),
}

#[derive(clap::Args)]
struct LoadArgs {
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
    #[arg(long, default_value = "create=70,get=20,list=10", value_parser = workshop::load::Mix::parse)]
    mix: workshop::load::Mix,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
    /// No progress line.
    #[arg(long)]
    quiet: bool,
}

#[derive(clap::Args)]
struct ChaosTarget {
    /// The running stack's console address.
    #[arg(
        long,
        default_value = "http://127.0.0.1:3001",
        env = "WORKSHOP_CONSOLE"
    )]
    console: String,
    /// Switch a deployed stack's faults through its SSM parameter instead.
    #[arg(long)]
    aws: bool,
    /// The SSM parameter (stack output ChaosParameterName); with --aws.
    #[arg(long, env = "CHAOS_PARAMETER", required_if_eq("aws", "true"))]
    parameter: Option<String>,
    /// Where the experiment journal is kept (the local stack's data dir; for --aws, any).
    #[command(flatten)]
    data: DataArgs,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

impl ChaosTarget {
    fn target(&self) -> workshop::chaos_cmd::Target<'_> {
        match (&self.parameter, self.aws) {
            (Some(parameter), true) => workshop::chaos_cmd::Target::Aws {
                parameter,
                data_dir: &self.data.data_dir,
            },
            _ => workshop::chaos_cmd::Target::Local {
                console: &self.console,
                data_dir: &self.data.data_dir,
            },
        }
    }
}

fn serde_enum<T: serde::de::DeserializeOwned>(s: &str) -> Result<T, String> {
    serde_json::from_value(serde_json::Value::String(s.to_owned())).map_err(|e| e.to_string())
}

/// The faults of an override; anything not given is off. Caps are checked by the stack.
#[derive(clap::Args)]
struct FaultArgs {
    /// Share (0-1) of processor records (or batches, see --processor-failure-mode) that fail.
    #[arg(long)]
    processor_failure_rate: Option<f64>,
    /// record (a batch item failure) or batch (the whole invocation fails).
    #[arg(long, value_parser = serde_enum::<chaos::FailureMode>)]
    processor_failure_mode: Option<chaos::FailureMode>,
    /// Delay before each processor invocation works on its batch.
    #[arg(long)]
    processor_latency_ms: Option<u64>,
    /// Up to this much more on every injected delay.
    #[arg(long)]
    jitter_ms: Option<u64>,
    /// Orders holding an item with this SKU always fail in the processor (they end in the DLQ).
    #[arg(long)]
    poison_sku: Option<String>,
    /// Share (0-1) of processor invocations that sleep past their deadline.
    #[arg(long)]
    timeout_rate: Option<f64>,
    /// Share (0-1) of API requests answered with --api-error-status.
    #[arg(long)]
    api_error_rate: Option<f64>,
    /// Status of an injected API error (400-599; default 503).
    #[arg(long)]
    api_error_status: Option<u16>,
    /// Delay before each API handler runs.
    #[arg(long)]
    api_latency_ms: Option<u64>,
    /// Which calls the dependency faults hit: store, queue or all.
    #[arg(long, value_parser = serde_enum::<chaos::Dependency>)]
    dependency: Option<chaos::Dependency>,
    /// Share (0-1) of store/queue calls that fail.
    #[arg(long)]
    dependency_failure_rate: Option<f64>,
    /// Delay before each store/queue call.
    #[arg(long)]
    dependency_latency_ms: Option<u64>,
}

impl FaultArgs {
    fn faults(self) -> chaos::Faults {
        let d = chaos::Faults::default();
        chaos::Faults {
            processor_failure_rate: self
                .processor_failure_rate
                .unwrap_or(d.processor_failure_rate),
            processor_failure_mode: self
                .processor_failure_mode
                .unwrap_or(d.processor_failure_mode),
            processor_latency_ms: self.processor_latency_ms.unwrap_or(d.processor_latency_ms),
            latency_jitter_ms: self.jitter_ms.unwrap_or(d.latency_jitter_ms),
            poison_sku: self.poison_sku.or(d.poison_sku),
            timeout_rate: self.timeout_rate.unwrap_or(d.timeout_rate),
            api_error_rate: self.api_error_rate.unwrap_or(d.api_error_rate),
            api_error_status: self.api_error_status.unwrap_or(d.api_error_status),
            api_latency_ms: self.api_latency_ms.unwrap_or(d.api_latency_ms),
            dependency: self.dependency.unwrap_or(d.dependency),
            dependency_failure_rate: self
                .dependency_failure_rate
                .unwrap_or(d.dependency_failure_rate),
            dependency_latency_ms: self
                .dependency_latency_ms
                .unwrap_or(d.dependency_latency_ms),
        }
    }
}

#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum ChaosCommand {
    /// Whether chaos is armed, the flags, the live override and the running experiment.
    Status {
        #[command(flatten)]
        target: ChaosTarget,
    },
    /// Start an experiment: these faults replace the flags until it expires or is switched off.
    On {
        #[command(flatten)]
        target: ChaosTarget,
        #[command(flatten)]
        faults: FaultArgs,
        /// How long it lasts, as 90s, 15m or 1h (a bare number is minutes; at most 4h): a
        /// forgotten experiment ends itself.
        #[arg(long = "for", default_value = "15m", value_parser = parse_duration)]
        lasting: Duration,
        /// Seed of the injector's choices, to repeat a run.
        #[arg(long)]
        seed: Option<u64>,
        /// What you expect to happen, for the journal.
        #[arg(long, default_value = "")]
        hypothesis: String,
        /// An alarm that must stay out of ALARM for steady state to hold (repeatable; default
        /// pipeline-unhealthy).
        #[arg(long = "steady-state")]
        steady_state: Vec<String>,
        /// Switch chaos off when this alarm goes to ALARM (local stack).
        #[arg(long)]
        stop_on: Option<String>,
    },
    /// The kill switch: no fault is injected (flags included) until the next `chaos on`.
    Off {
        #[command(flatten)]
        target: ChaosTarget,
    },
    /// Every experiment: hypothesis, faults, start, end, and whether steady state held.
    Journal {
        #[command(flatten)]
        target: ChaosTarget,
    },
}

#[derive(clap::Args)]
struct DataArgs {
    /// Where the local stack keeps its data and logs.
    #[arg(long, default_value = DEFAULT_DATA_DIR, env = "WORKSHOP_DATA_DIR")]
    data_dir: PathBuf,
}

#[derive(clap::Args)]
struct UpArgs {
    /// Port of the HTTP API (0 picks a free one).
    #[arg(long, default_value_t = 3000)]
    port: u16,
    /// Port of the console and control plane (`workshop metrics` reads it; 0 picks a free one).
    #[arg(long, default_value_t = DEFAULT_CONSOLE_PORT)]
    console_port: u16,
    /// Address to bind. Loopback by default: nothing is reachable from other machines.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    host: IpAddr,
    #[command(flatten)]
    data: DataArgs,
    /// Concurrency limit of a function, as FUNCTION=N (repeatable), e.g. create-order=2.
    /// 0 throttles every invocation, like reserved concurrency of 0.
    #[arg(long = "concurrency", value_parser = parse_limit)]
    concurrency: Vec<(Function, usize)>,
    /// Queue visibility timeout in seconds (default: the template's).
    #[arg(long)]
    visibility_timeout: Option<u64>,
    /// Seconds between sweeper runs (default: the template's schedule).
    #[arg(long)]
    sweep_interval: Option<u64>,
    /// Seconds an unpublished order is left to its create call before the sweeper publishes it.
    #[arg(long)]
    sweep_grace: Option<u64>,
    /// Where orders and messages live: SQLite files (local) or DynamoDB/SQS (aws, at
    /// AWS_ENDPOINT_URL such as moto server or LocalStack).
    #[arg(long, value_enum, default_value_t = Backend::Local)]
    backend: Backend,
    /// Do not echo log lines to the terminal (they still go to the data dir).
    #[arg(long)]
    quiet: bool,
    /// Allow fault injection (`workshop chaos on`, and any CHAOS_* flags in the environment).
    /// Off by default: without it nothing is ever injected.
    #[arg(long, env = "CHAOS_ARMED")]
    chaos_armed: bool,
}

#[derive(Subcommand)]
enum DlqCommand {
    /// List the messages in the DLQ without changing them.
    List {
        #[command(flatten)]
        data: DataArgs,
        /// Which DLQ: the local stack's (local) or SQS's (aws; see `up --backend`).
        #[arg(long, value_enum, default_value_t = Backend::Local)]
        backend: Backend,
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Move every DLQ message back to the orders queue.
    Redrive {
        #[command(flatten)]
        data: DataArgs,
        #[arg(long, value_enum, default_value_t = Backend::Local)]
        backend: Backend,
    },
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

fn parse_limit(s: &str) -> Result<(Function, usize), String> {
    let (name, n) = s
        .split_once('=')
        .ok_or_else(|| format!("expected FUNCTION=N, got {s:?}"))?;
    let function = Function::ALL
        .into_iter()
        .find(|f| f.name() == name)
        .ok_or_else(|| {
            let names: Vec<_> = Function::ALL.iter().map(|f| f.name()).collect();
            format!("unknown function {name:?}; one of {}", names.join(", "))
        })?;
    let n = n
        .parse()
        .map_err(|_| format!("{n:?} is not a whole number"))?;
    Ok((function, n))
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

async fn up(args: UpArgs) -> Result<(), Box<dyn std::error::Error>> {
    let data_dir = DataDir::new(&args.data.data_dir)?;
    let logs = LocalLogs::new(&data_dir.logs(), !args.quiet)?;
    tracing_subscriber::registry()
        .with(env_filter())
        .with(JsonLayer::new(SERVICE, logs.clone()))
        .try_init()?;
    // Every function's EMF documents go to its log file and the local metric store.
    let store = Arc::new(MetricStore::default());
    LocalMetrics::new(
        SERVICE,
        ENVIRONMENT,
        EmfCapture {
            logs,
            store: store.clone(),
        },
    )?
    .install()?;
    let mut opts = StackOptions::new(SocketAddr::new(args.host, args.port), data_dir);
    opts.console_addr = SocketAddr::new(args.host, args.console_port);
    opts.metrics = store;
    opts.alarms = alarms::catalog::alarm_set(alarms::catalog::names::Target::Local);
    opts.limits = Limits(args.concurrency.into_iter().collect());
    opts.backend = args.backend;
    if let Some(vt) = args.visibility_timeout {
        opts.queue.visibility_timeout = Duration::from_secs(vt);
    }
    if let Some(s) = args.sweep_interval {
        opts.sweeper.interval = Duration::from_secs(s);
    }
    if let Some(s) = args.sweep_grace {
        opts.sweeper.grace = Duration::from_secs(s);
    }
    opts.chaos = chaos::Settings::from_env()?;
    opts.chaos.armed = args.chaos_armed;
    stack::run(opts, shutdown_signal()).await?;
    Ok(())
}

async fn load(args: LoadArgs) -> Result<String, Box<dyn std::error::Error>> {
    let summary = workshop::load::run(workshop::load::LoadOptions {
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

async fn chaos_command(command: ChaosCommand) -> Result<String, Box<dyn std::error::Error>> {
    use workshop::chaos_cmd;
    match command {
        ChaosCommand::Status { target } => chaos_cmd::status(target.target(), target.json).await,
        ChaosCommand::Off { target } => chaos_cmd::stop(target.target(), target.json).await,
        ChaosCommand::Journal { target } => {
            chaos_cmd::show_journal(target.target(), target.json).await
        }
        ChaosCommand::On {
            target,
            faults,
            lasting,
            seed,
            hypothesis,
            steady_state,
            stop_on,
        } => {
            let req = workshop::stack::chaos::StartRequest {
                faults: faults.faults(),
                seed,
                duration_seconds: Some(lasting.as_secs()),
                hypothesis,
                steady_state,
                stop_on,
            };
            chaos_cmd::start(target.target(), req, target.json).await
        }
    }
}

async fn dlq(command: DlqCommand) -> Result<(), Box<dyn std::error::Error>> {
    let out = match command {
        DlqCommand::List {
            data,
            limit,
            json,
            backend,
        } => workshop::dlq::list(backend, &DataDir::new(data.data_dir)?, limit, json)
            .await
            .map_err(|e| e as Box<dyn std::error::Error>)?,
        DlqCommand::Redrive { data, backend } => {
            workshop::dlq::redrive(backend, &DataDir::new(data.data_dir)?)
                .await
                .map_err(|e| e as Box<dyn std::error::Error>)?
        }
    };
    println!("{out}");
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Up(args) => up(args).await,
        Command::Dlq { command } => dlq(command).await,
        Command::Load(args) => load(args).await.map(|out| println!("{out}")),
        Command::Chaos { command } => chaos_command(command).await.map(|out| println!("{out}")),
        Command::Alarms { console, json, aws } => {
            let source = if aws {
                Source::CloudWatch
            } else {
                Source::Local { console: &console }
            };
            workshop::report::alarms(source, json)
                .await
                .map(|out| println!("{out}"))
        }
        Command::Metrics {
            console,
            minutes,
            json,
            aws,
        } => {
            let source = if aws {
                Source::CloudWatch
            } else {
                Source::Local { console: &console }
            };
            workshop::report::metrics(source, minutes, json)
                .await
                .map(|out| println!("{out}"))
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("workshop: {e}");
            ExitCode::FAILURE
        }
    }
}
