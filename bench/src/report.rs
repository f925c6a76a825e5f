//! BENCHMARKS.md: every table with its command, its run count and its medians; throughput as
//! a ratio to the minimal server, cold start and memory as a ratio to the Node.js peer.

use crate::function::ColdStart;
use crate::stats::median;
use crate::suite::{Artifact, NODE_LABEL, Results};
use std::fmt::Write as _;
use std::path::Path;

/// The machine and toolchain the figures were measured on.
#[derive(Debug, Clone, Default)]
pub struct Machine {
    pub cpu: String,
    pub cores: usize,
    pub memory_gib: f64,
    pub kernel: String,
    pub rustc: String,
    pub node: String,
    pub commit: String,
    pub date: String,
}

impl Machine {
    pub fn probe(node: &Path) -> Machine {
        let run = |cmd: &str, args: &[&str]| {
            std::process::Command::new(cmd)
                .args(args)
                .output()
                .ok()
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
                .unwrap_or_default()
        };
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let field = |text: &str, key: &str| {
            text.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split(':').nth(1))
                .map(|v| v.trim().to_owned())
                .unwrap_or_default()
        };
        let mem_kib: f64 = field(&meminfo, "MemTotal")
            .trim_end_matches("kB")
            .trim()
            .parse()
            .unwrap_or(0.0);
        Machine {
            cpu: field(&cpuinfo, "model name"),
            cores: std::thread::available_parallelism().map_or(0, usize::from),
            memory_gib: mem_kib / 1024.0 / 1024.0,
            kernel: run("uname", &["-srm"]),
            rustc: run("rustc", &["-V"]),
            node: run(&node.to_string_lossy(), &["--version"]),
            commit: run("git", &["rev-parse", "--short", "HEAD"]),
            date: run("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
        }
    }
}

/// What tracing may cost a function (issue budget, checked in table 8): init and peak RSS.
pub const TRACING_INIT_BUDGET_MS: f64 = 2.0;
pub const TRACING_RSS_BUDGET_MIB: f64 = 3.0;

/// Criterion's median per function, bare, with telemetry and with traces, in nanoseconds.
#[derive(Debug, Clone)]
pub struct Warm {
    pub function: &'static str,
    pub bare_ns: Option<f64>,
    pub telemetry_ns: Option<f64>,
    pub traces_ns: Option<f64>,
}

/// Reads `<criterion>/warm_<function>/<bare|telemetry|traces>/new/estimates.json`.
pub fn read_criterion(dir: &Path) -> Vec<Warm> {
    let median_ns = |function: &str, variant: &str| {
        let path = dir
            .join(format!("warm_{function}"))
            .join(variant)
            .join("new/estimates.json");
        let text = std::fs::read_to_string(path).ok()?;
        let v: serde_json::Value = serde_json::from_str(&text).ok()?;
        v["median"]["point_estimate"].as_f64()
    };
    crate::events::functions()
        .into_iter()
        .map(|f| Warm {
            function: f,
            bare_ns: median_ns(f, "bare"),
            telemetry_ns: median_ns(f, "telemetry"),
            traces_ns: median_ns(f, "traces"),
        })
        .collect()
}

pub struct Report<'a> {
    pub results: &'a Results,
    pub warm: &'a [Warm],
    pub artifacts: &'a [Artifact],
    pub machine: &'a Machine,
    /// The command that produced this file.
    pub command: &'a str,
    pub profile: &'a str,
}

fn f1(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.1}")
    } else {
        "–".into()
    }
}

fn f2(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.2}")
    } else {
        "–".into()
    }
}

fn mib(bytes: Option<u64>) -> String {
    bytes.map_or("–".into(), |b| {
        format!("{:.2} MiB", b as f64 / 1024.0 / 1024.0)
    })
}

/// A difference with its sign, one decimal.
fn signed(x: f64) -> String {
    if x.is_finite() {
        format!("{x:+.1}")
    } else {
        "–".into()
    }
}

fn ratio(a: f64, b: f64) -> String {
    if a.is_finite() && b.is_finite() && b > 0.0 {
        format!("{:.1}×", a / b)
    } else {
        "–".into()
    }
}

fn med(values: impl Iterator<Item = f64>) -> f64 {
    median(&values.collect::<Vec<_>>()).unwrap_or(f64::NAN)
}

/// One markdown table row of `cells`.
fn row(s: &mut String, cells: &[&dyn std::fmt::Display]) {
    s.push('|');
    for cell in cells {
        let _ = write!(s, " {cell} |");
    }
    s.push('\n');
}

/// One cold-start figure of a set of runs, as a table cell: the median, one decimal.
fn cold_cell(runs: &[ColdStart], figure: fn(&ColdStart) -> f64) -> String {
    f1(med(runs.iter().map(figure)))
}

/// The init and first-answer cells every cold-start table opens with.
fn start_cells(runs: &[ColdStart]) -> [String; 2] {
    [
        cold_cell(runs, |c| c.init_ms),
        cold_cell(runs, |c| c.first_answer_ms),
    ]
}

impl Report<'_> {
    pub fn render(&self) -> String {
        let r = self.results;
        let p = &r.plan;
        let m = self.machine;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "# Benchmarks\n\n\
             Generated by `{cmd}` ({plan} plan) — do not edit by hand: rerun the command.\n\
             Every figure is a median of the runs its table names; every ratio compares two \
             things measured in the same run on the same machine.\n\n\
             | machine | |\n|---|---|\n\
             | CPU | {cpu} ({cores} cores) |\n| memory | {mem:.1} GiB |\n| kernel | {kernel} |\n\
             | Rust | {rustc}; bootstraps built with the `{profile}` profile for the host |\n\
             | Node.js | {node} |\n| commit | {commit} |\n| measured | {date} |\n",
            cmd = self.command,
            plan = p.name,
            cpu = m.cpu,
            cores = m.cores,
            mem = m.memory_gib,
            kernel = m.kernel,
            rustc = m.rustc,
            profile = self.profile,
            node = m.node,
            commit = m.commit,
            date = m.date,
        );
        self.cold_starts(&mut s);
        self.memory(&mut s);
        self.warm(&mut s);
        self.load(&mut s);
        self.pipeline(&mut s);
        self.artifacts(&mut s);
        self.variants(&mut s);
        self.tracing(&mut s);
        s
    }

    fn tracing(&self, s: &mut String) {
        let r = self.results;
        let _ = writeln!(
            s,
            "## 8. Tracing on: what it costs each function\n\n\
             The bootstraps of tables 1 and 2 again, in the same runs (their cold starts \
             alternating with the others'), with tracing on: \
             `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` set to an OTLP/HTTP receiver of the run's \
             own on 127.0.0.1 (`bench/src/otlp_sink.rs`, which decodes every span), and every \
             invocation sampled (`Sampled=1` in Lambda's trace header; **off** is the same \
             binary on an unsampled invocation, what most invocations are under X-Ray's \
             default sampling). Medians of **{runs} cold starts** and one instance answering \
             **{n} invocations** each. **after answer** is answer posted → next event asked \
             for: the span export, which Lambda waits for before it freezes the sandbox but \
             no caller waits for. The budget is +{init} ms of init and +{rss} MiB of peak \
             RSS per function; the warm cost of making the spans is table 3's **traces** \
             column.\n\n\
             | function | init off / on (ms) | Δ init (ms) | first answer off / on (ms) | peak RSS off / on (MiB) | Δ RSS (MiB) | warm invocation off / on (ms) | after answer off / on (ms) | spans exported | within budget |\n\
             |---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
            runs = r.plan.cold_runs,
            n = r.plan.steady_invocations,
            init = TRACING_INIT_BUDGET_MS,
            rss = TRACING_RSS_BUDGET_MIB,
        );
        for t in &r.traced {
            let Some(off) = self.function(&t.function) else {
                continue;
            };
            let on = &t.figures;
            let init = |f: &crate::suite::FunctionFigures| med(f.cold.iter().map(|c| c.init_ms));
            let first =
                |f: &crate::suite::FunctionFigures| med(f.cold.iter().map(|c| c.first_answer_ms));
            let rss = |f: &crate::suite::FunctionFigures| f.steady.peak_rss_kib as f64 / 1024.0;
            let d_init = init(on) - init(off);
            let d_rss = rss(on) - rss(off);
            let verdict = if !(d_init.is_finite() && d_rss.is_finite()) {
                "–"
            } else if d_init <= TRACING_INIT_BUDGET_MS && d_rss <= TRACING_RSS_BUDGET_MIB {
                "yes"
            } else {
                "**no**"
            };
            let pair = |a: String, b: String| format!("{a} / {b}");
            row(
                s,
                &[
                    &t.function,
                    &pair(f1(init(off)), f1(init(on))),
                    &signed(d_init),
                    &pair(f1(first(off)), f1(first(on))),
                    &pair(f1(rss(off)), f1(rss(on))),
                    &signed(d_rss),
                    &pair(f2(off.steady.warm_median_ms), f2(on.steady.warm_median_ms)),
                    &pair(
                        f2(off.steady.after_answer_median_ms),
                        f2(on.steady.after_answer_median_ms),
                    ),
                    &t.spans_exported,
                    &verdict,
                ],
            );
        }
        s.push('\n');
    }

    fn variants(&self, s: &mut String) {
        let r = self.results;
        if r.variants.is_empty() {
            return;
        }
        let _ = writeln!(
            s,
            "## 7. Tuning record: create-order built other ways\n\n\
             The same create-order, built by `scripts/bench.sh` with each setting below, \
             measured as in tables 1 and 2 in the same run: median of **{runs} cold starts** \
             each (alternating), peak RSS after **{n} invocations** (1 run), the host binary \
             and its zip. The first row is what ships; each other row changes one thing, so \
             the difference is what that setting buys. [`bench/TUNING.md`](bench/TUNING.md) \
             says what was kept and why.\n\n\
             | build | init (ms) | first answer (ms) | peak RSS (MiB) | warm invocation (ms) | binary | zip |\n\
             |---|---:|---:|---:|---:|---:|---:|",
            runs = r.plan.cold_runs,
            n = r.plan.steady_invocations,
        );
        for v in &r.variants {
            let [init, first_answer] = start_cells(&v.figures.cold);
            row(
                s,
                &[
                    &v.figures.label,
                    &init,
                    &first_answer,
                    &f1(v.figures.steady.peak_rss_kib as f64 / 1024.0),
                    &f2(v.figures.steady.warm_median_ms),
                    &mib(v.bytes),
                    &mib(v.zip_bytes),
                ],
            );
        }
        s.push('\n');
    }

    /// The figures this report lacks: a run that cannot fill every table has failed.
    pub fn missing(&self) -> Vec<String> {
        let mut out = Vec::new();
        for w in self.warm {
            for (variant, v) in [
                ("bare", w.bare_ns),
                ("telemetry", w.telemetry_ns),
                ("traces", w.traces_ns),
            ] {
                if v.is_none() {
                    out.push(format!("criterion warm/{}/{variant}", w.function));
                }
            }
        }
        for a in self.artifacts {
            for (what, v) in [
                ("arm64 bootstrap", a.bootstrap_bytes),
                ("arm64 zip", a.zip_bytes),
                ("host bootstrap", a.host_bytes),
            ] {
                if v.is_none() {
                    out.push(format!("{what} of {}", a.function));
                }
            }
        }
        let r = self.results;
        if self.function(NODE_LABEL).is_none() {
            out.push("the Node.js peer".into());
        }
        for f in crate::events::functions() {
            if !r.traced.iter().any(|t| t.function == f) {
                out.push(format!("{f} with tracing on"));
            }
        }
        if r.load.is_empty() {
            out.push("load runs".into());
        }
        if r.pipeline_steady.is_empty() || r.pipeline_burst.is_empty() {
            out.push("pipeline runs".into());
        }
        out
    }

    fn cold_starts(&self, s: &mut String) {
        let r = self.results;
        let _ = writeln!(
            s,
            "## 1. Cold start per function\n\n\
             Each release bootstrap is exec'd under the Runtime API emulator (`bench/src/runtime_api.rs`) \
             with one event queued, its AWS clients built as in production against moto server \
             (`bench/src/fixture.rs`). **Init** is exec to the first `/next` call (Lambda's \
             `Init Duration`); **first answer** is exec to the first response; **first invocation** \
             is the event alone. Median of **{runs} runs** per function, alternating functions \
             run by run. Node.js ratio = the Node.js peer's figure ÷ Rust create-order's.\n\n\
             | function | init (ms) | first answer (ms) | first invocation (ms) |\n|---|---:|---:|---:|",
            runs = r.plan.cold_runs,
        );
        for f in &r.functions {
            let [init, first_answer] = start_cells(&f.cold);
            let first_invocation = cold_cell(&f.cold, |c| c.first_invocation_ms);
            row(s, &[&f.label, &init, &first_answer, &first_invocation]);
        }
        if let (Some(rust), Some(node)) = (self.function("create-order"), self.function(NODE_LABEL))
        {
            let col = |get: fn(&ColdStart) -> f64| {
                ratio(
                    med(node.cold.iter().map(get)),
                    med(rust.cold.iter().map(get)),
                )
            };
            let _ = writeln!(
                s,
                "| **Node.js ÷ Rust (create-order)** | **{}** | **{}** | **{}** |",
                col(|c| c.init_ms),
                col(|c| c.first_answer_ms),
                col(|c| c.first_invocation_ms),
            );
        }
        s.push('\n');
    }

    fn memory(&self, s: &mut String) {
        let r = self.results;
        let n = r.functions.first().map_or(0, |f| f.steady.invocations);
        let _ = writeln!(
            s,
            "## 2. Memory after {n} invocations\n\n\
             One instance per function answers **{n} invocations** one after another under the \
             emulator (1 run per function); its peak resident set (`VmHWM`) is read before it is \
             stopped. The warm invocation is the median of event handed → answer posted over \
             those invocations, moto's round trips included. During the create-order runs the table and the \
             queue are emptied every half second (`fixture::Janitor`): moto copies a whole table \
             on every transaction and slows with a queue's depth, and would otherwise be \
             measured instead of the function.\n\n\
             | function | peak RSS (MiB) | warm invocation (ms) |\n|---|---:|---:|"
        );
        for f in &r.functions {
            row(
                s,
                &[
                    &f.label,
                    &f1(f.steady.peak_rss_kib as f64 / 1024.0),
                    &f2(f.steady.warm_median_ms),
                ],
            );
        }
        if let (Some(rust), Some(node)) = (self.function("create-order"), self.function(NODE_LABEL))
        {
            let _ = writeln!(
                s,
                "| **Node.js ÷ Rust (create-order)** | **{}** | **{}** |",
                ratio(
                    node.steady.peak_rss_kib as f64,
                    rust.steady.peak_rss_kib as f64
                ),
                ratio(node.steady.warm_median_ms, rust.steady.warm_median_ms),
            );
        }
        s.push('\n');
    }

    fn warm(&self, s: &mut String) {
        let _ = writeln!(
            s,
            "## 3. Warm handler cost, with and without telemetry and traces\n\n\
             `cargo bench -p order-bench --bench handlers` (criterion; its own sample count, \
             median shown): each handler over in-memory ports (`functions/store-memory`), so the \
             figure is the handler's CPU, not I/O. **bare** has no log subscriber and no metrics \
             recorder; **telemetry** is wrapped as the Lambda mains wrap it (JSON logs, the \
             invocation span and, for the API, its SERVER span, the EMF flush), writing to a \
             sink; **traces** adds what a sampled invocation does on top: the OpenTelemetry \
             layer makes every span, and the flush after the answer encodes them as OTLP \
             protobuf and hands them to an HTTP client that discards them (no network).\n\n\
             | function | bare (µs) | telemetry (µs) | overhead (µs) | overhead | traces (µs) | tracing cost (µs) |\n\
             |---|---:|---:|---:|---:|---:|---:|"
        );
        for w in self.warm {
            let us = |ns: Option<f64>| ns.unwrap_or(f64::NAN) / 1000.0;
            let (b, t, x) = (us(w.bare_ns), us(w.telemetry_ns), us(w.traces_ns));
            let pct = if b.is_finite() && t.is_finite() && b > 0.0 {
                format!("{:+.0} %", (t - b) / b * 100.0)
            } else {
                "–".into()
            };
            row(
                s,
                &[
                    &w.function,
                    &f2(b),
                    &f2(t),
                    &f2(t - b),
                    &pct,
                    &f2(x),
                    &f2(x - t),
                ],
            );
        }
        s.push('\n');
    }

    fn load(&self, s: &mut String) {
        let p = &self.results.plan;
        let _ = writeln!(
            s,
            "## 4. The local stack against a minimal server\n\n\
             `workshop load` (open loop, latency measured from each request's scheduled start, \
             64 in flight at most) for **{secs} s** per run, **{reps} runs** per row alternating \
             the two servers, against `workshop up` (SQLite, the Lambda pool, telemetry) and \
             against the ceiling: a minimal HTTP server (`order-bench minimal-server`) that \
             answers the same routes with a canned body. **ok/s** counts successful answers (2xx, and \
             404 for a get of an order not yet written); **5xx** counts the stack refusing work \
             beyond a function's reserved concurrency (10, as in `template.yaml`): the emulated \
             Lambda throttles it and API Gateway answers 500, as on AWS (the stack's log names \
             each throttle); **failed** counts transport errors and other error answers of either \
             server; *saturated* offers \
             {sat}/s, far above what either answers. get runs 1 create per 19 gets so there are \
             orders to read.\n\n\
             | operation | offered (/s) | stack ok/s | minimal ok/s | stack ÷ minimal | stack p50 / p99 (ms) | minimal p50 / p99 (ms) | stack 5xx | failed |\n\
             |---|---:|---:|---:|---:|---:|---:|---:|---:|",
            secs = p.load_seconds,
            reps = p.load_repeats,
            sat = p.saturation_rate,
        );
        for row in &self.results.load {
            let st = med(row.stack.iter().map(|r| r.ok_per_s));
            let mn = med(row.minimal.iter().map(|r| r.ok_per_s));
            let server_errors: u64 = row.stack.iter().map(|r| r.server_errors).sum();
            let failed: u64 = row.stack.iter().chain(&row.minimal).map(|r| r.failed).sum();
            let _ = writeln!(
                s,
                "| {} | {} | {:.0} | {:.0} | {} | {} / {} | {} / {} | {} | {} |",
                row.operation,
                row.rate.map_or("saturated".into(), |r| format!("{r:.0}")),
                st,
                mn,
                if st.is_finite() && mn > 0.0 {
                    format!("{:.2}", st / mn)
                } else {
                    "–".into()
                },
                f1(med(row.stack.iter().map(|r| r.p50_ms))),
                f1(med(row.stack.iter().map(|r| r.p99_ms))),
                f1(med(row.minimal.iter().map(|r| r.p50_ms))),
                f1(med(row.minimal.iter().map(|r| r.p99_ms))),
                server_errors,
                failed,
            );
        }
        s.push('\n');
    }

    fn pipeline(&self, s: &mut String) {
        let r = self.results;
        let _ = writeln!(
            s,
            "## 5. The pipeline: create to final status\n\n\
             Orders created through the local stack's API for **{secs} s** at a steady and at a \
             burst rate (a fresh stack per run, **{reps} runs** each), then followed through \
             the queue and the processor until none is PENDING. Every accepted order is found \
             final (a run where one is missing fails). **orders/s** = accepted orders ÷ time \
             from the first create to the last final status; **lag** = each order's \
             `updatedAt − createdAt`.\n\n\
             | run | offered (/s) | accepted | orders/s | lag p50 (ms) | lag p99 (ms) |\n|---|---:|---:|---:|---:|---:|",
            secs = r.plan.pipeline_seconds,
            reps = r.plan.pipeline_repeats,
        );
        for (name, runs) in [("steady", &r.pipeline_steady), ("burst", &r.pipeline_burst)] {
            let Some(first) = runs.first() else { continue };
            let _ = writeln!(
                s,
                "| {name} | {:.0} | {:.0} | {} | {} | {} |",
                first.target_rate,
                med(runs.iter().map(|p| p.accepted as f64)),
                f1(med(runs.iter().map(|p| p.orders_per_s))),
                f1(med(runs.iter().map(|p| p.lag_p50_ms))),
                f1(med(runs.iter().map(|p| p.lag_p99_ms))),
            );
        }
        s.push('\n');
    }

    fn artifacts(&self, s: &mut String) {
        let _ = writeln!(
            s,
            "## 6. Artifacts\n\n\
             `scripts/build-lambdas.sh` (cargo lambda, `release` profile: fat LTO, one codegen \
             unit, stripped) builds the arm64 bootstrap Lambda runs; its zip is what is \
             uploaded (deflate, as `sam build` packs it). The host column is the binary measured \
             above.\n\n\
             | function | arm64 bootstrap | arm64 zip | host bootstrap |\n|---|---:|---:|---:|"
        );
        for a in self.artifacts {
            row(
                s,
                &[
                    &a.function,
                    &mib(a.bootstrap_bytes),
                    &mib(a.zip_bytes),
                    &mib(a.host_bytes),
                ],
            );
        }
        s.push('\n');
    }

    fn function(&self, label: &str) -> Option<&crate::suite::FunctionFigures> {
        self.results.functions.iter().find(|f| f.label == label)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_is_the_markdown_the_tables_always_wrote() {
        let mut s = String::new();
        row(&mut s, &[&"create-order", &f1(1.25), &mib(None)]);
        assert_eq!(s, format!("| {} | {} | {} |\n", "create-order", "1.2", "–"));
    }
}
