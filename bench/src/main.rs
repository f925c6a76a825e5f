//! `order-bench`: runs the suite into BENCHMARKS.md (`scripts/bench.sh` builds what it needs
//! and calls it), or serves the minimal HTTP server the local stack is compared with.
use clap::{Parser, Subcommand};
use order_bench::report::{Machine, Report, read_criterion};
use order_bench::suite::{self, Inputs, Plan};
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "order-bench", about = "The kit's benchmark harness")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once per process: the size of the largest variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Measure everything and write the report.
    Run {
        /// The quick plan (few runs): proves the harness, its figures are not for quoting.
        #[arg(long)]
        quick: bool,
        #[arg(long, default_value = "BENCHMARKS.md")]
        out: PathBuf,
        /// Host release bootstraps, one file per function.
        #[arg(long)]
        bootstraps: PathBuf,
        /// The profile they were built with, for the report.
        #[arg(long, default_value = "release")]
        profile: String,
        #[arg(long)]
        workshop: PathBuf,
        #[arg(long)]
        moto_server: PathBuf,
        #[arg(long, default_value = "node")]
        node: PathBuf,
        #[arg(long, default_value = "bench/node-peer")]
        node_peer: PathBuf,
        /// cargo lambda's output (`target/lambda`): arm64 bootstraps and zips.
        #[arg(long)]
        lambda_dir: PathBuf,
        /// criterion's output (`target/criterion`).
        #[arg(long)]
        criterion: PathBuf,
        /// Scratch: logs and data dirs of the runs.
        #[arg(long)]
        work: PathBuf,
        /// A build of create-order to compare: a directory holding `create-order`, its zip
        /// `create-order.zip` and a one-line `label`; repeatable, in table order.
        #[arg(long = "variant", value_parser = parse_variant)]
        variants: Vec<(String, PathBuf)>,
        /// Invocations of the memory run, instead of the plan's.
        #[arg(long)]
        invocations: Option<usize>,
        /// The command line to print in the report.
        #[arg(long, default_value = "scripts/bench.sh")]
        command: String,
    },
    /// Write table 9 (the first build of the local stack, cold) into the report; its
    /// figures come from `scripts/cold-build.sh --record`, which measures them.
    FirstBuild {
        #[arg(long, default_value = "BENCHMARKS.md")]
        out: PathBuf,
        /// One cold build, `LABEL=COMMIT,SECONDS,CRATES,TARGET_BYTES`; repeatable, in table
        /// order.
        #[arg(long = "build", required = true)]
        builds: Vec<order_bench::first_build::Build>,
        /// The command line to print in the report.
        #[arg(long)]
        command: String,
        /// What changed between the builds, printed under the table.
        #[arg(long, default_value = "")]
        note: String,
        /// When the builds ran (UTC).
        #[arg(long)]
        measured: String,
        /// The cores they had.
        #[arg(long)]
        cores: usize,
    },
    /// The ceiling the local stack is compared with.
    MinimalServer {
        #[arg(long)]
        port: u16,
    },
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("order-bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), order_bench::error::BenchError> {
    match cli.command {
        Command::MinimalServer { port } => order_bench::http_load::serve_minimal(port).await,
        Command::FirstBuild {
            out,
            builds,
            command,
            note,
            measured,
            cores,
        } => {
            use order_bench::first_build;
            let mut section = first_build::render(&builds, &command, &measured, cores);
            if !note.is_empty() {
                section = format!("{section}\n{note}\n");
            }
            let previous = read_previous(&out)?;
            write(&out, first_build::replace(&previous, &section))?;
            eprintln!("wrote {} of {}", first_build::HEADING, out.display());
            Ok(())
        }
        Command::Run {
            quick,
            out,
            bootstraps,
            profile,
            workshop,
            moto_server,
            node,
            node_peer,
            lambda_dir,
            criterion,
            work,
            command,
            variants,
            invocations,
        } => {
            let mut plan = if quick { Plan::quick() } else { Plan::full() };
            if let Some(n) = invocations {
                plan.steady_invocations = n;
            }
            let node_peer = std::path::absolute(&node_peer).unwrap_or(node_peer);
            let inputs = Inputs {
                bootstraps,
                workshop,
                moto_server,
                node: node.clone(),
                node_peer,
                work,
                variants,
            };
            let results = suite::run(plan, &inputs).await?;
            let warm = read_criterion(&criterion);
            let artifacts = suite::artifacts(&lambda_dir, &inputs.bootstraps);
            let machine = Machine::probe(&node);
            let report = Report {
                results: &results,
                warm: &warm,
                artifacts: &artifacts,
                machine: &machine,
                command: &command,
                profile: &profile,
            };
            // Table 9 is measured by scripts/cold-build.sh, not by this run: keep it.
            let text =
                order_bench::first_build::carry_over(&read_previous(&out)?, &report.render());
            let json = serde_json::to_string_pretty(&results).unwrap_or_default();
            // The raw runs, for anyone who wants more than the medians.
            let json_path = inputs.work.join("results.json");
            for (path, body) in [(&out, text), (&json_path, json)] {
                write(path, body)?;
            }
            eprintln!("wrote {} and {}", out.display(), json_path.display());
            // Written anyway, to show what ran; but a run that cannot fill a table has failed.
            let missing = report.missing();
            if missing.is_empty() {
                Ok(())
            } else {
                Err(order_bench::error::BenchError::step(
                    "the report",
                    format!("missing figures: {}", missing.join(", ")),
                ))
            }
        }
    }
}

/// The report as it is before this run rewrites it; none yet is an empty one.
fn read_previous(path: &std::path::Path) -> Result<String, order_bench::error::BenchError> {
    match std::fs::read_to_string(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        read => read.map_err(|source| order_bench::error::BenchError::File {
            what: "reading",
            path: path.to_owned(),
            source,
        }),
    }
}

fn write(path: &std::path::Path, body: String) -> Result<(), order_bench::error::BenchError> {
    std::fs::write(path, body).map_err(|source| order_bench::error::BenchError::File {
        what: "writing",
        path: path.to_owned(),
        source,
    })
}

fn parse_variant(dir: &str) -> Result<(String, PathBuf), String> {
    let dir = PathBuf::from(dir);
    let label = std::fs::read_to_string(dir.join("label"))
        .map_err(|e| format!("{}/label: {e}", dir.display()))?;
    Ok((label.trim().to_owned(), dir))
}
