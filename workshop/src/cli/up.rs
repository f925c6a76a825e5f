//! `workshop up`: the local stack, with its logs and metrics wired as on Lambda.

use super::{DataArgs, Error};
use orders::settings::Function;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use telemetry::logs::JsonLayer;
use telemetry::metrics::local::LocalMetrics;
use workshop::data_dir::DataDir;
use workshop::stack::backend::Backend;
use workshop::stack::cloudwatch::logs::LocalLogs;
use workshop::stack::cloudwatch::metric_store::{EmfCapture, MetricStore};
use workshop::stack::lambda::functions::Limits;
use workshop::stack::{self, StackOptions};

/// The `Service` and `Environment` every local log line and metric carries.
use telemetry::catalogue::SERVICE_NAME as SERVICE;
const ENVIRONMENT: &str = "local";
const DEFAULT_CONSOLE_PORT: u16 = 3001;

#[derive(clap::Args)]
pub struct UpArgs {
    /// Port of the HTTP API (0 picks a free one).
    #[arg(long, default_value_t = 3000)]
    port: u16,
    /// Port of the console and control plane (`workshop metrics` reads it; 0 picks a free one).
    #[arg(long, default_value_t = DEFAULT_CONSOLE_PORT)]
    console_port: u16,
    /// Address to bind. Loopback by default: nothing is reachable from other machines.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    host: IpAddr,
    /// A host name the console may also be reached by, as NAME (any port) or NAME:PORT
    /// (repeatable), e.g. a workshop VM behind a tunnel. The control plane answers only
    /// 127.0.0.1, localhost and [::1] on its port otherwise: any other name in `Host` is
    /// refused, as DNS rebinding would send it.
    #[arg(long = "allow-host", value_name = "NAME[:PORT]")]
    allow_host: Vec<workshop::stack::console::guard::AllowedHost>,
    #[command(flatten)]
    data: DataArgs,
    /// Concurrency limit of a function, as FUNCTION=N (repeatable), e.g. create-order=2.
    /// 0 throttles every invocation, like reserved concurrency of 0.
    #[arg(long = "concurrency", value_parser = parse_limit)]
    concurrency: Vec<(Function, usize)>,
    /// Queue visibility timeout in seconds (default: the template's).
    #[arg(long)]
    visibility_timeout: Option<u64>,
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

/// A file-size limit (`ulimit -f`, or a quota) must fail the write that passes it (EFBIG,
/// which SQLite reports as a full disk: the request is refused, nothing accepted is lost)
/// rather than kill the stack with SIGXFSZ, whose default action is to terminate.
#[cfg(unix)]
fn survive_file_size_limit() -> Result<(), Error> {
    use tokio::signal::unix::{SignalKind, signal};
    // tokio's handler replaces the default action for the rest of the process's life, even
    // once the stream is dropped.
    drop(signal(SignalKind::from_raw(libc::SIGXFSZ))?);
    Ok(())
}

pub async fn up(args: UpArgs) -> Result<(), Error> {
    #[cfg(unix)]
    survive_file_size_limit()?;
    let data_dir = DataDir::new(&args.data.data_dir)?;
    // Before anything writes there: a second stack on this dir fails here, naming the first.
    let lock = Arc::new(data_dir.lock()?);
    let logs = LocalLogs::new(&data_dir.logs(), !args.quiet)?;
    let (tracer, spans) = workshop::stack::xray::tracer(&data_dir)?;
    telemetry::logs::install(JsonLayer::new(SERVICE, logs.clone()), Some(&tracer))?;
    let flusher = tracer.spawn_flusher(workshop::stack::xray::FLUSH_EVERY);
    // Every function's EMF documents go to its log file and the local metric store.
    let store = Arc::new(MetricStore::open(&data_dir.cloudwatch_file())?);
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
    opts.allowed_hosts = args.allow_host;
    opts.metrics = store;
    opts.alarms = alarms::catalog::alarm_set(alarms::catalog::names::Target::Local);
    opts.limits = Limits(args.concurrency.into_iter().collect());
    opts.backend = args.backend;
    if let Some(vt) = args.visibility_timeout {
        opts.queue.visibility_timeout = Duration::from_secs(vt);
    }
    opts.chaos = chaos::Settings::from_env()?;
    opts.chaos.armed = args.chaos_armed;
    opts.spans = Some(spans);
    opts.lock = Some(lock);
    let ran = stack::run(opts, shutdown_signal()).await;
    // The last spans of a stopping stack are kept too.
    flusher.abort();
    tracer.flush().await;
    ran?;
    Ok(())
}
