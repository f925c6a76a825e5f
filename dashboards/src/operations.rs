//! The operations dashboard: is the system up, where is it slow or failing. Rows follow a
//! request's path: headline numbers and alarm states, API, Lambda per function, the queue and
//! its DLQ, DynamoDB, chaos injections, then log queries to go from a graph to the lines, and
//! traces to go from a line to the whole life of its order. One function per row, in that
//! order.

use alarm_engine::Alarm;
use alarms::catalog::{self, Target, aws_metric, business_metric, threshold};
use orders::settings::{Function, QUEUE};
use serde_json::{Value, json};
use telemetry::catalogue::{DimensionValue, Fault, Metric, Operation, ProcessedStatus};

use crate::aws_metrics::{self, AwsMetric};
use crate::layout::{self, Grid};
use crate::widgets::{
    Chart, View, alarm_properties, breakdown, fill_sum, hidden, label, log_properties,
};

const ALL_LOG_FIELDS: &str =
    "fields @timestamp, function_name, level, message, correlation_id, order_id, trace_id";

/// The log group CloudWatch Transaction Search writes every span to (one per account and
/// region; template.yaml turns it on).
pub const SPANS_LOG_GROUP: &str = "aws/spans";

pub fn render(target: Target) -> Value {
    layout::body(
        target,
        &[headline, api, lambda, sqs, dynamodb, chaos, logs, traces],
    )
}

/// The AWS service series of the stack's own resources on a target.
#[derive(Clone, Copy)]
struct Resources(Target);

impl Resources {
    fn api(self, def: &AwsMetric) -> alarm_engine::Metric {
        aws_metric(def, &[self.0.api_id(), self.0.stage()])
    }

    fn lambda(self, def: &AwsMetric, f: Function) -> alarm_engine::Metric {
        aws_metric(def, &[self.0.function_name(f)])
    }

    fn queue(self, def: &AwsMetric) -> alarm_engine::Metric {
        aws_metric(def, &[self.0.queue_name()])
    }

    fn dlq(self, def: &AwsMetric) -> alarm_engine::Metric {
        aws_metric(def, &[self.0.dead_letter_queue_name()])
    }

    fn table(self, def: &AwsMetric, operation: &str) -> alarm_engine::Metric {
        aws_metric(def, &[self.0.table_name(), operation.to_owned()])
    }
}

/// Single values for the last minute, and the alarm lists.
fn headline(g: &mut Grid) {
    let target = g.target();
    let res = Resources(target);
    g.section(
        "Headline",
        "Last minute at a glance; the alarm list below says which thresholds are crossed.",
    );
    let headline = |title: &str, stat: &str| Chart::new(title, stat).view(View::SingleValue);
    g.chart(
        4,
        4,
        headline("API requests / min", "Sum").row(&res.api(&aws_metrics::api::COUNT), json!({})),
    );
    g.chart(
        4,
        4,
        headline("API 5xx %", "Sum")
            .row(&res.api(&aws_metrics::api::ERRORS_5XX), hidden("errors"))
            .row(&res.api(&aws_metrics::api::COUNT), hidden("requests"))
            .expression(
                "rate",
                "IF(requests > 0, 100 * errors / requests, 0)",
                "5xx %",
            ),
    );
    g.chart(
        4,
        4,
        headline("API p99 latency (ms)", "p99")
            .row(&res.api(&aws_metrics::api::LATENCY), json!({})),
    );
    g.chart(
        4,
        4,
        headline("Orders created / min", "Sum").row(
            &business_metric(target, Metric::OrdersCreated, &[]),
            json!({}),
        ),
    );
    g.chart(
        4,
        4,
        headline("Orders processed / min", "Sum").total_over(
            target,
            Metric::OrdersProcessed,
            ProcessedStatus::ALL,
            "s",
            ("total", "Processed"),
        ),
    );
    g.chart(
        4,
        4,
        headline("Messages in DLQ", "Maximum").row(&res.dlq(&aws_metrics::sqs::VISIBLE), json!({})),
    );
    let set = catalog::alarm_set(target);
    let (composites, metrics): (Vec<&Alarm>, Vec<&Alarm>) =
        set.iter().partition(|a| matches!(a, Alarm::Composite(_)));
    let arns = |alarms: &[&Alarm]| {
        alarms
            .iter()
            .map(|a| target.alarm_arn(&slug_of(target, a.name())))
            .collect()
    };
    // The composite (one tile, the pipeline's health) beside the alarms it rolls up: a
    // full-width row of its own was one tile in empty space.
    g.add(
        "alarm",
        4,
        6,
        alarm_properties("Pipeline", arns(&composites)),
    );
    g.add("alarm", 20, 6, alarm_properties("Alarms", arns(&metrics)));
}

/// What clients see of the HTTP API.
fn api(g: &mut Grid) {
    let res = Resources(g.target());
    g.section(
        "API (HTTP API, $default stage)",
        "What clients see. Latency includes API Gateway; IntegrationLatency is the Lambda part.",
    );
    g.chart(
        8,
        6,
        Chart::new("Requests and errors", "Sum")
            .row(&res.api(&aws_metrics::api::COUNT), label("Requests"))
            .row(&res.api(&aws_metrics::api::ERRORS_4XX), label("4xx"))
            .row(&res.api(&aws_metrics::api::ERRORS_5XX), label("5xx")),
    );
    g.chart(
        8,
        6,
        Chart::new("Error rates (%)", "Sum")
            .row(&res.api(&aws_metrics::api::COUNT), hidden("requests"))
            .row(&res.api(&aws_metrics::api::ERRORS_4XX), hidden("client"))
            .row(&res.api(&aws_metrics::api::ERRORS_5XX), hidden("server"))
            .expression(
                "rate4xx",
                "IF(requests > 0, 100 * client / requests, 0)",
                "4xx %",
            )
            .expression(
                "rate5xx",
                &format!(
                    "IF(requests >= {}, 100 * server / requests, 0)",
                    threshold::API_MIN_REQUESTS
                ),
                "5xx % (as the alarm computes it)",
            )
            .threshold("5xx alarm", threshold::API_5XX_PERCENT)
            .y_label("%"),
    );
    g.chart(
        8,
        6,
        Chart::new("Latency (ms)", "p99")
            .stats_labelled(
                &res.api(&aws_metrics::api::LATENCY),
                &["p50", "p90", "p99"],
                |p| format!("Latency {p}"),
            )
            .row(
                &res.api(&aws_metrics::api::INTEGRATION_LATENCY),
                json!({ "stat": "p99", "label": "Integration p99" }),
            )
            .threshold("p99 alarm", threshold::API_P99_LATENCY_MS),
    );
}

/// One line per function, then each function's duration against its timeout.
fn lambda(g: &mut Grid) {
    let target = g.target();
    let res = Resources(target);
    let per_function = |title: &str, def: &AwsMetric, stat: &str| {
        Chart::new(title, stat).labelled_rows(
            Function::ALL
                .iter()
                .map(|f| (res.lambda(def, *f), f.name())),
        )
    };
    g.section(
        "Lambda",
        "One line per function. Errors are failed invocations (a batch whose records fail individually is not one).",
    );
    for (title, def, stat) in [
        ("Invocations", &aws_metrics::lambda::INVOCATIONS, "Sum"),
        ("Errors", &aws_metrics::lambda::ERRORS, "Sum"),
        ("Throttles", &aws_metrics::lambda::THROTTLES, "Sum"),
    ] {
        g.chart(8, 6, per_function(title, def, stat));
    }
    for f in Function::ALL {
        let timeout_ms = f.timeout().as_secs_f64() * 1000.0;
        g.chart(
            8,
            6,
            Chart::new(format!("{} duration (ms)", f.name()), "p99")
                .stats(
                    &res.lambda(&aws_metrics::lambda::DURATION, f),
                    &["p50", "p90", "p99"],
                )
                .threshold(
                    "alarm (80% of timeout)",
                    (threshold::DURATION_FRACTION_OF_TIMEOUT * timeout_ms).round(),
                ),
        );
    }
    let concurrency = per_function(
        "Concurrent executions",
        &aws_metrics::lambda::CONCURRENT_EXECUTIONS,
        "Maximum",
    );
    g.chart(8, 6, concurrency);
    // How much of its concurrency the processor uses: at the top, SQS work waits (and with a
    // reserved concurrency below it, throttles).
    g.chart(
        4,
        6,
        Chart::new("Processor concurrency", "Maximum")
            .gauge(0.0, QUEUE.max_concurrency as f64)
            .row(
                &res.lambda(
                    &aws_metrics::lambda::CONCURRENT_EXECUTIONS,
                    Function::OrderProcessor,
                ),
                label("of MaximumConcurrency"),
            ),
    );
    g.chart(
        12,
        6,
        Chart::new("Cold starts (all functions)", "Sum").row(
            &business_metric(target, Metric::ColdStart, &[]),
            label("Cold starts"),
        ),
    );
}

/// The orders queue and its dead-letter queue.
fn sqs(g: &mut Grid) {
    let res = Resources(g.target());
    g.section(
        "SQS: orders queue and dead-letter queue",
        "Depth and age show whether the processor keeps up; anything in the DLQ failed 3 receives.",
    );
    g.chart(
        6,
        6,
        Chart::new("Queue depth", "Maximum")
            .row(&res.queue(&aws_metrics::sqs::VISIBLE), label("Visible"))
            .row(
                &res.queue(&aws_metrics::sqs::NOT_VISIBLE),
                label("In flight"),
            )
            .stacked(),
    );
    g.chart(
        6,
        6,
        Chart::new("DLQ depth", "Maximum")
            .row(&res.dlq(&aws_metrics::sqs::VISIBLE), label("Visible"))
            .threshold("alarm", 0.0),
    );
    g.chart(
        6,
        6,
        Chart::new("Age of oldest message (s)", "Maximum")
            .row(
                &res.queue(&aws_metrics::sqs::AGE_OF_OLDEST),
                label("Orders queue"),
            )
            .row(&res.dlq(&aws_metrics::sqs::AGE_OF_OLDEST), label("DLQ"))
            .threshold("queue alarm", threshold::QUEUE_AGE_SECONDS),
    );
    g.chart(
        6,
        6,
        Chart::new("Messages sent / received / deleted", "Sum")
            .row(&res.queue(&aws_metrics::sqs::SENT), label("Sent"))
            .row(&res.queue(&aws_metrics::sqs::RECEIVED), label("Received"))
            .row(&res.queue(&aws_metrics::sqs::DELETED), label("Deleted"))
            .row(&res.dlq(&aws_metrics::sqs::SENT), label("Moved to DLQ")),
    );
}

/// The orders table, server side per operation and app side per dependency call.
fn dynamodb(g: &mut Grid) {
    let target = g.target();
    let res = Resources(target);
    g.section(
        "DynamoDB: orders table",
        "Server-side latency per operation, throttles and 500s; the app-side latency includes the network and retries.",
    );
    for (title, def, stat) in [
        (
            "Request latency p99 (ms)",
            &aws_metrics::dynamodb::LATENCY,
            "p99",
        ),
        (
            "Throttled requests",
            &aws_metrics::dynamodb::THROTTLED_REQUESTS,
            "Sum",
        ),
        (
            "System errors",
            &aws_metrics::dynamodb::SYSTEM_ERRORS,
            "Sum",
        ),
    ] {
        let per_op = Chart::new(title, stat).labelled_rows(
            aws_metrics::dynamodb::OPERATIONS
                .iter()
                .map(|op| (res.table(def, op), *op)),
        );
        g.chart(6, 6, per_op);
    }
    let dependency = Chart::new("Dependency latency p99, app side (ms)", "p99").per_value(
        target,
        Metric::DependencyLatency,
        Operation::ALL,
    );
    g.chart(6, 6, dependency);
    capacity(g);
}

/// What each store operation costs, as DynamoDB reports it on every call
/// (ReturnConsumedCapacity), and the write units per order that the capacity model predicts
/// (`functions/orders/src/capacity.rs`). The SQLite store consumes no capacity: locally the
/// places hold a note.
fn capacity(g: &mut Grid) {
    let target = g.target();
    let writes = [Operation::PutOrder, Operation::UpdateOrder];
    let reads = [
        Operation::GetOrder,
        Operation::QueryOrders,
        Operation::PutOrder,
        Operation::UpdateOrder,
        Operation::HealthCheck,
    ];
    let local = "DynamoDB reports the capacity each call consumed: on AWS (or `workshop up --backend aws`, in `workshop metrics`) these graphs show it per operation. The SQLite store has none.";
    let write_units = Chart::new("Write units consumed, by operation", "Sum")
        .stacked()
        .per_value(target, Metric::ConsumedWriteUnits, &writes);
    g.aws_only("metric", 8, 6, write_units.properties(target), local);
    let read_units = Chart::new("Read units consumed, by operation", "Sum")
        .stacked()
        .per_value(target, Metric::ConsumedReadUnits, &reads);
    g.aws_only("metric", 8, 6, read_units.properties(target), local);
    let per_order = writes
        .iter()
        .enumerate()
        .fold(
            Chart::new("Write units per order", "Sum")
                .view(View::SingleValue)
                .whole_range(),
            |c, (i, op)| {
                c.row(
                    &business_metric(
                        target,
                        Metric::ConsumedWriteUnits,
                        &[(Operation::KEY, op.as_str())],
                    ),
                    hidden(&format!("w{i}")),
                )
            },
        )
        .row(
            &business_metric(target, Metric::OrdersCreated, &[]),
            hidden("created"),
        )
        .expression(
            "perOrder",
            &format!("({}) / created", fill_sum("w", writes.len())),
            "Write units per order",
        );
    g.aws_only("metric", 8, 6, per_order.properties(target), local);
}

/// Faults the chaos layer fired.
fn chaos(g: &mut Grid) {
    let target = g.target();
    g.section(
        "Chaos injections",
        "Faults the chaos layer fired (only while the stack is deployed with ChaosArmed=true): read the graphs above against these.",
    );
    let chaos = breakdown(
        target,
        "Injected faults",
        Metric::ChaosInjections,
        Fault::ALL,
    );
    g.chart(24, 6, chaos);
}

/// Logs Insights queries, from a graph to the lines behind it.
fn logs(g: &mut Grid) {
    let target = g.target();
    g.section(
        "Logs",
        "Logs Insights over every function's log group, on the flat JSON keys the functions write.",
    );
    let groups: Vec<String> = Function::ALL.iter().map(|f| target.log_group(*f)).collect();
    let queries = [
        (
            24,
            "Errors and warnings",
            format!(
                "{ALL_LOG_FIELDS} | filter level = \"ERROR\" or level = \"WARN\" | sort @timestamp desc | limit 100"
            ),
        ),
        (
            12,
            "Errors by function",
            "filter level = \"ERROR\" | stats count() as errors by function_name | sort errors desc".to_owned(),
        ),
        (
            12,
            "Cold starts by function",
            // What CloudWatch counts as a cold start: Lambda's REPORT with an init duration
            // (`record.metrics.initDurationMs` in the JSON log format), one per new instance;
            // not the log lines written during cold invocations.
            "filter type = \"platform.report\" and ispresent(record.metrics.initDurationMs) | stats count() as cold_starts by @log | sort cold_starts desc".to_owned(),
        ),
        (
            24,
            "Orders through the pipeline (follow one by order_id or correlation_id)",
            format!(
                "{ALL_LOG_FIELDS} | filter ispresent(order_id) | sort @timestamp desc | limit 100"
            ),
        ),
    ];
    for (width, title, query) in queries {
        g.add(
            "log",
            width,
            6,
            log_properties(target, title, &groups, &query),
        );
    }
}

/// From a failed invocation to its trace, and where the time goes by span. The span queries
/// read Transaction Search's `aws/spans` (OpenTelemetry's shape: `name`, `kind`,
/// `durationNano`, `attributes.*`, `resource.attributes.*`), narrowed to this stack's
/// functions by their resource (`service.namespace`, `deployment.environment.name`), since
/// the log group holds every span of the account and region.
fn traces(g: &mut Grid) {
    let target = g.target();
    g.section(
        "Traces",
        "A failed invocation's trace_id opens its trace (CloudWatch > Transaction Search, or the local console's Traces page); the spans below show which calls are slow or failing.",
    );
    let groups: Vec<String> = Function::ALL.iter().map(|f| target.log_group(*f)).collect();
    g.add(
        "log",
        24,
        6,
        log_properties(
            target,
            "Newest failures with their trace (open trace_id in Transaction Search)",
            &groups,
            "fields @timestamp, function_name, trace_id, order_id, correlation_id, message | filter level = \"ERROR\" and ispresent(trace_id) | sort @timestamp desc | limit 50",
        ),
    );
    let ours = format!(
        "filter `resource.attributes.service.namespace` = \"{}\" and `resource.attributes.deployment.environment.name` = \"{}\"",
        target.service(),
        target.environment()
    );
    let local = "**On AWS only**: this widget reads the spans CloudWatch Transaction Search stores in `aws/spans`. Locally, the console's Traces page shows the same spans.";
    let span_queries = [
        (
            "p99 duration by span name (ms)",
            format!(
                "{ours} | fields durationNano / 1000000 as duration_ms | stats count(*) as spans, pct(duration_ms, 50) as p50_ms, pct(duration_ms, 99) as p99_ms by name | sort p99_ms desc | limit 50"
            ),
        ),
        (
            // error.type also names the failures the store turns into an answer (a failed
            // condition on a replay or a duplicate), which the span does not mark failed.
            "Span errors by name and error.type",
            format!(
                "{ours} and ispresent(`attributes.error.type`) | stats count(*) as errors by name, `attributes.error.type` as error_type | sort errors desc | limit 50"
            ),
        ),
    ];
    for (title, query) in span_queries {
        g.aws_only(
            "log",
            12,
            6,
            log_properties(target, title, &[SPANS_LOG_GROUP.to_owned()], &query),
            local,
        );
    }
}

/// The slug back from a physical alarm name (the inverse of `Target::alarm_name`).
fn slug_of(target: Target, name: &str) -> String {
    let prefix = target.alarm_name("");
    name.strip_prefix(&prefix).unwrap_or(name).to_owned()
}
