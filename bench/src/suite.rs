//! Every measurement of `scripts/bench.sh`, in order, into one [`Results`].

use crate::error::BenchError;
use crate::events;
use crate::fixture::{self, Moto, Resources};
use crate::function::{ColdStart, Program, Steady};
use crate::http_load::{self, Run, Server};
use crate::otlp_sink::OtlpSink;
use crate::pipeline::{self, Pipeline};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How many times, how long: the full suite or the quick one CI runs to prove the harness.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub name: &'static str,
    pub cold_runs: usize,
    pub steady_invocations: usize,
    pub load_rates: Vec<f64>,
    pub load_seconds: u64,
    pub load_repeats: usize,
    /// Offered rate of the saturation run (far above what either server answers).
    pub saturation_rate: f64,
    pub pipeline_steady_rate: f64,
    pub pipeline_burst_rate: f64,
    pub pipeline_seconds: u64,
    pub pipeline_repeats: usize,
}

impl Plan {
    pub fn full() -> Plan {
        Plan {
            name: "full",
            cold_runs: 20,
            steady_invocations: 10_000,
            load_rates: vec![200.0, 1000.0],
            load_seconds: 5,
            load_repeats: 3,
            saturation_rate: 20_000.0,
            pipeline_steady_rate: 50.0,
            pipeline_burst_rate: 1000.0,
            pipeline_seconds: 10,
            pipeline_repeats: 3,
        }
    }

    pub fn quick() -> Plan {
        Plan {
            name: "quick",
            cold_runs: 3,
            steady_invocations: 200,
            load_rates: vec![100.0],
            load_seconds: 1,
            load_repeats: 1,
            saturation_rate: 2_000.0,
            pipeline_steady_rate: 20.0,
            pipeline_burst_rate: 200.0,
            pipeline_seconds: 2,
            pipeline_repeats: 1,
        }
    }
}

/// Where the things under test are.
#[derive(Debug, Clone)]
pub struct Inputs {
    /// Host release bootstraps (`target/release/<function>`).
    pub bootstraps: PathBuf,
    pub workshop: PathBuf,
    pub moto_server: PathBuf,
    pub node: PathBuf,
    pub node_peer: PathBuf,
    /// Scratch space: function logs, stack data dirs.
    pub work: PathBuf,
    /// Builds of create-order to compare (label, dir holding `create-order` and its zip).
    pub variants: Vec<(String, PathBuf)>,
}

/// create-order built another way, measured like the others in the same run.
#[derive(Debug, Clone, Serialize)]
pub struct VariantFigures {
    /// What every function has, its keys at the top level of the variant's JSON.
    #[serde(flatten)]
    pub figures: FunctionFigures,
    pub bytes: Option<u64>,
    pub zip_bytes: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FunctionFigures {
    pub label: String,
    pub cold: Vec<ColdStart>,
    pub steady: Steady,
}

/// A function with tracing on: every invocation sampled, spans exported over OTLP/HTTP to the
/// run's receiver after each answer.
#[derive(Debug, Clone, Serialize)]
pub struct TracedFigures {
    #[serde(flatten)]
    pub figures: FunctionFigures,
    /// The function (its row in the tables without tracing).
    pub function: String,
    /// Spans the receiver decoded from this function over all its runs.
    pub spans_exported: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct LoadRow {
    pub operation: &'static str,
    /// `None` for the saturation run.
    pub rate: Option<f64>,
    pub stack: Vec<Run>,
    pub minimal: Vec<Run>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Results {
    pub plan: Plan,
    /// The six Rust functions, then the Node.js peer of create-order.
    pub functions: Vec<FunctionFigures>,
    /// The six Rust functions again, with tracing on, measured in the same runs.
    pub traced: Vec<TracedFigures>,
    pub load: Vec<LoadRow>,
    pub pipeline_steady: Vec<Pipeline>,
    pub pipeline_burst: Vec<Pipeline>,
    pub variants: Vec<VariantFigures>,
}

pub const NODE_LABEL: &str = "create-order (Node.js peer)";

/// The row label of `function` with tracing on.
pub fn traced_label(function: &str) -> String {
    format!("{function} (traced)")
}

pub async fn run(plan: Plan, inputs: &Inputs) -> Result<Results, BenchError> {
    std::fs::create_dir_all(&inputs.work).map_err(|source| BenchError::File {
        what: "creating",
        path: inputs.work.clone(),
        source,
    })?;
    let moto = Moto::start(&inputs.moto_server).await?;
    let aws = moto.sdk_config().await;
    let sink = OtlpSink::start().await?;
    let mut functions = Vec::new();
    let mut programs: Vec<Program> = Vec::new();
    let mut resources: Vec<Resources> = Vec::new();
    for (i, function) in events::functions().into_iter().enumerate() {
        let r = fixture::provision(&aws, &format!("bench-{i}")).await?;
        programs.push(Program {
            label: function.to_owned(),
            function: function.to_owned(),
            command: inputs.bootstraps.join(function),
            args: vec![],
            dir: None,
            env: fixture::function_env(&moto, &r, function),
            sampled: false,
        });
        resources.push(r);
    }
    let node_resources = fixture::provision(&aws, "bench-node").await?;
    let mut node_env = fixture::function_env(&moto, &node_resources, "create-order");
    node_env.push(("_HANDLER".into(), "src/handlers/createOrder.handler".into()));
    programs.push(Program {
        label: NODE_LABEL.into(),
        function: "create-order".into(),
        command: inputs.node.clone(),
        // The heap limits the managed Node.js runtime sets for a 128 MB function (new space
        // a tenth of memory, the rest old space): without them V8 collects later and peaks higher.
        args: [
            "--expose-gc",
            "--max-http-header-size=81920",
            "--max-semi-space-size=6",
            "--max-old-space-size=116",
            "runtime/bootstrap.mjs",
        ]
        .map(String::from)
        .to_vec(),
        dir: Some(inputs.node_peer.clone()),
        env: node_env,
        sampled: false,
    });
    resources.push(node_resources);
    // Each Rust function again with tracing on, on its sibling's resources: the same binary
    // with the endpoint set and every invocation sampled.
    let untraced = programs.len();
    for (i, function) in events::functions().into_iter().enumerate() {
        let mut twin = programs[i].clone();
        twin.label = traced_label(function);
        twin.env.push((
            telemetry::trace::otlp::TRACES_ENDPOINT.to_owned(),
            sink.endpoint().to_owned(),
        ));
        twin.sampled = true;
        programs.push(twin);
    }
    // The resources each program works on.
    let resources_of = |p: usize| if p < untraced { p } else { p - untraced };

    // Orders the reads and the processor work on; each processor program confirms its own
    // (a second delivery of a confirmed order is a different, cheaper path).
    let get_target = fixture::seed_orders(&aws, &resources[1], 1).await?[0].order_id;
    fixture::seed_orders(&aws, &resources[2], 50).await?;
    let mut processor_pools = std::collections::HashMap::new();
    for (p, program) in programs.iter().enumerate() {
        if program.function == "order-processor" {
            let r = &resources[resources_of(p)];
            let cold = fixture::seed_orders(&aws, r, plan.cold_runs).await?;
            let steady = fixture::seed_orders(&aws, r, plan.steady_invocations).await?;
            processor_pools.insert(p, (cold, steady));
        }
    }

    let event = |p: usize, i: usize, steady: bool| match programs[p].function.as_str() {
        "get-order" => events::get_order(get_target),
        "list-orders" => events::list_orders(),
        "health" => events::health(),
        "order-processor" => {
            let (cold, warm) = &processor_pools[&p];
            let pool = if steady { warm } else { cold };
            events::sqs(&pool[i % pool.len()], 1)
        }
        "order-publisher" => events::stream_insert(
            &fixture::new_placed_order(i),
            u64::try_from(i).unwrap_or_default(),
        ),
        _ => events::create_order(i),
    };

    let mut cold: Vec<Vec<ColdStart>> = vec![Vec::new(); programs.len()];
    // Alternate the programs run by run, so drift on the machine spreads over all of them.
    for run in 0..plan.cold_runs {
        for (p, program) in programs.iter().enumerate() {
            let log = inputs
                .work
                .join(format!("{}.cold.log", slug(&program.label)));
            eprintln!(
                "cold start {}/{}: {}",
                run + 1,
                plan.cold_runs,
                program.label
            );
            cold[p].push(program.cold_start(event(p, run, false), &log).await?);
        }
    }
    for (p, program) in programs.iter().enumerate() {
        eprintln!("{} invocations: {}", plan.steady_invocations, program.label);
        let log = inputs
            .work
            .join(format!("{}.steady.log", slug(&program.label)));
        let events = (0..plan.steady_invocations).map(|i| event(p, i, true));
        // The functions that write: the table, or the queue (the publisher's sends).
        let writes = ["create-order", "order-publisher"].contains(&program.function.as_str());
        let _janitor = writes.then(|| fixture::Janitor::start(&aws, &resources[resources_of(p)]));
        let steady: Steady = program.steady(events, &log).await?;
        functions.push(FunctionFigures {
            label: program.label.clone(),
            cold: std::mem::take(&mut cold[p]),
            steady,
        });
    }
    let traced = functions
        .split_off(untraced)
        .into_iter()
        .zip(events::functions())
        .map(|(figures, function)| {
            let spans_exported = sink.spans_of(function);
            if spans_exported == 0 {
                return Err(BenchError::step(
                    format!("{} with tracing on", figures.label),
                    format!(
                        "no span reached the OTLP receiver; see {}",
                        inputs
                            .work
                            .join(format!("{}.steady.log", slug(&figures.label)))
                            .display()
                    ),
                ));
            }
            Ok(TracedFigures {
                figures,
                function: function.to_owned(),
                spans_exported,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    drop(sink);
    let variants = variant_runs(&plan, inputs, &moto, &aws).await?;
    drop(moto);

    let load = load_runs(&plan, inputs).await?;
    let (pipeline_steady, pipeline_burst) = pipeline_runs(&plan, inputs).await?;
    Ok(Results {
        plan,
        functions,
        traced,
        load,
        pipeline_steady,
        pipeline_burst,
        variants,
    })
}

/// create-order from each variant build: cold starts alternating variant by variant, then
/// one instance of each for the steady run, each on a fresh table.
async fn variant_runs(
    plan: &Plan,
    inputs: &Inputs,
    moto: &Moto,
    aws: &aws_config::SdkConfig,
) -> Result<Vec<VariantFigures>, BenchError> {
    let mut programs = Vec::new();
    let mut tables = Vec::new();
    for (i, (label, dir)) in inputs.variants.iter().enumerate() {
        let r = fixture::provision(aws, &format!("bench-variant-{i}")).await?;
        tables.push(r.clone());
        programs.push(Program {
            label: label.clone(),
            function: "create-order".into(),
            command: dir.join("create-order"),
            args: vec![],
            dir: None,
            env: fixture::function_env(moto, &r, "create-order"),
            sampled: false,
        });
    }
    let mut cold: Vec<Vec<ColdStart>> = vec![Vec::new(); programs.len()];
    for run in 0..plan.cold_runs {
        for (p, program) in programs.iter().enumerate() {
            eprintln!(
                "cold start {}/{}: variant {}",
                run + 1,
                plan.cold_runs,
                program.label
            );
            let log = inputs.work.join(format!("variant-{p}.cold.log"));
            cold[p].push(program.cold_start(events::create_order(run), &log).await?);
        }
    }
    let mut out = Vec::new();
    for ((p, program), (_, dir)) in programs.iter().enumerate().zip(&inputs.variants) {
        eprintln!(
            "{} invocations: variant {}",
            plan.steady_invocations, program.label
        );
        let log = inputs.work.join(format!("variant-{p}.steady.log"));
        let _janitor = fixture::Janitor::start(aws, &tables[p]);
        let steady = program
            .steady((0..plan.steady_invocations).map(events::create_order), &log)
            .await?;
        let size = |f: &str| std::fs::metadata(dir.join(f)).ok().map(|m| m.len());
        out.push(VariantFigures {
            figures: FunctionFigures {
                label: program.label.clone(),
                cold: std::mem::take(&mut cold[p]),
                steady,
            },
            bytes: size("create-order"),
            zip_bytes: size("create-order.zip"),
        });
    }
    Ok(out)
}

/// Each operation at each rate, then saturated, against the minimal server and a fresh
/// stack, alternating, `load_repeats` times.
async fn load_runs(plan: &Plan, inputs: &Inputs) -> Result<Vec<LoadRow>, BenchError> {
    let minimal = Server::minimal().await?;
    let data = inputs.work.join("stack-load");
    let _ = std::fs::remove_dir_all(&data);
    let stack = Server::stack(&inputs.workshop, &data, &inputs.work.join("stack-load.log")).await?;
    let seconds = Duration::from_secs(plan.load_seconds);
    // get needs orders to read: a few creates keep ids coming for the gets that follow.
    let operations = [
        ("create", "create=1"),
        ("get", "create=1,get=19"),
        ("list", "list=1"),
    ];
    let mut rows = Vec::new();
    for (operation, mix) in operations {
        let rates = plan.load_rates.iter().map(|r| (Some(*r), *r, 64)).chain([(
            None,
            plan.saturation_rate,
            64,
        )]);
        for (label, rate, concurrency) in rates {
            let mut row = LoadRow {
                operation,
                rate: label,
                stack: vec![],
                minimal: vec![],
            };
            for _ in 0..plan.load_repeats {
                eprintln!("load {operation} at {rate}/s");
                row.minimal
                    .push(http_load::load(&minimal.url, mix, rate, seconds, concurrency).await?);
                row.stack
                    .push(http_load::load(&stack.url, mix, rate, seconds, concurrency).await?);
            }
            rows.push(row);
        }
    }
    Ok(rows)
}

async fn pipeline_runs(
    plan: &Plan,
    inputs: &Inputs,
) -> Result<(Vec<Pipeline>, Vec<Pipeline>), BenchError> {
    let seconds = Duration::from_secs(plan.pipeline_seconds);
    let mut steady = Vec::new();
    let mut burst = Vec::new();
    for i in 0..plan.pipeline_repeats {
        // A fresh stack each time: the lag is not measured behind another run's backlog.
        for (rate, out) in [
            (plan.pipeline_steady_rate, &mut steady),
            (plan.pipeline_burst_rate, &mut burst),
        ] {
            let data = inputs.work.join(format!("stack-pipeline-{i}-{rate}"));
            let _ = std::fs::remove_dir_all(&data);
            let log = inputs.work.join(format!("stack-pipeline-{i}-{rate}.log"));
            let stack = Server::stack(&inputs.workshop, &data, &log).await?;
            eprintln!("pipeline at {rate}/s for {seconds:?}");
            out.push(pipeline::run(&stack.url, rate, seconds).await?);
        }
    }
    Ok((steady, burst))
}

fn slug(label: &str) -> String {
    label
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

/// The sizes of what is deployed: each arm64 bootstrap and its zip, from `dir`
/// (`target/lambda/<function>/bootstrap[.zip]`), and the host build measured above.
#[derive(Debug, Clone, Serialize)]
pub struct Artifact {
    pub function: &'static str,
    pub bootstrap_bytes: Option<u64>,
    pub zip_bytes: Option<u64>,
    pub host_bytes: Option<u64>,
}

pub fn artifacts(lambda_dir: &Path, host_dir: &Path) -> Vec<Artifact> {
    let size = |p: PathBuf| std::fs::metadata(p).ok().map(|m| m.len());
    events::functions()
        .into_iter()
        .map(|f| Artifact {
            function: f,
            bootstrap_bytes: size(lambda_dir.join(f).join("bootstrap")),
            zip_bytes: size(lambda_dir.join(f).join("bootstrap.zip")),
            host_bytes: size(host_dir.join(f)),
        })
        .collect()
}
