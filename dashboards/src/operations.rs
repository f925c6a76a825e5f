//! The operations dashboard: is the system up, where is it slow or failing. Rows follow a
//! request's path: headline numbers and alarm states, API, Lambda per function, the queue and
//! its DLQ, DynamoDB, chaos injections, then log queries to go from a graph to the lines.

use alarm_engine::Alarm;
use alarms::catalog::{self, Target, aws_metric, business_metric, threshold};
use orders::settings::{Function, QUEUE};
use serde_json::{Value, json};
use telemetry::catalogue::{DimensionValue, Fault, Metric, ProcessedStatus};

use crate::aws_metrics::{self, AwsMetric};
use crate::layout::Grid;
use crate::widgets::{Chart, View, alarm_properties, log_properties};

const ALL_LOG_FIELDS: &str =
    "fields @timestamp, function_name, level, message, correlation_id, order_id";

pub fn render(target: Target) -> Value {
    let mut g = Grid::new();
    let api = |def: &AwsMetric| aws_metric(def, &[target.api_id(), target.stage()]);
    let lambda = |def: &AwsMetric, f: Function| aws_metric(def, &[target.function_name(f)]);
    let queue = |def: &AwsMetric| aws_metric(def, &[target.queue_name()]);
    let dlq = |def: &AwsMetric| aws_metric(def, &[target.dead_letter_queue_name()]);
    let hidden = |id: &str| json!({ "id": id, "visible": false });
    let label = |text: &str| json!({ "label": text });

    // ---- headline -------------------------------------------------------------------------
    g.section(
        "Headline",
        "Last minute at a glance; the alarm list below says which thresholds are crossed.",
    );
    let headline = |title: &str, stat: &str| Chart::new(title, stat).view(View::SingleValue);
    g.add(
        "metric",
        4,
        4,
        headline("API requests / min", "Sum")
            .row(&api(&aws_metrics::api::COUNT), json!({}))
            .properties(target),
    );
    g.add(
        "metric",
        4,
        4,
        headline("API 5xx %", "Sum")
            .row(&api(&aws_metrics::api::ERRORS_5XX), hidden("errors"))
            .row(&api(&aws_metrics::api::COUNT), hidden("requests"))
            .expression(
                "rate",
                "IF(requests > 0, 100 * errors / requests, 0)",
                "5xx %",
            )
            .properties(target),
    );
    g.add(
        "metric",
        4,
        4,
        headline("API p99 latency (ms)", "p99")
            .row(&api(&aws_metrics::api::LATENCY), json!({}))
            .properties(target),
    );
    g.add(
        "metric",
        4,
        4,
        headline("Orders created / min", "Sum")
            .row(
                &business_metric(target, Metric::OrdersCreated, &[]),
                json!({}),
            )
            .properties(target),
    );
    let mut processed = headline("Orders processed / min", "Sum");
    for (i, s) in ProcessedStatus::ALL.iter().enumerate() {
        processed = processed.row(
            &business_metric(
                target,
                Metric::OrdersProcessed,
                &[(ProcessedStatus::KEY, s.as_str())],
            ),
            hidden(&format!("s{i}")),
        );
    }
    g.add(
        "metric",
        4,
        4,
        processed
            .expression(
                "total",
                &fill_sum("s", ProcessedStatus::ALL.len()),
                "Processed",
            )
            .properties(target),
    );
    g.add(
        "metric",
        4,
        4,
        headline("Messages in DLQ", "Maximum")
            .row(&dlq(&aws_metrics::sqs::VISIBLE), json!({}))
            .properties(target),
    );
    let set = catalog::alarm_set(target);
    let (composites, metrics): (Vec<&Alarm>, Vec<&Alarm>) =
        set.iter().partition(|a| matches!(a, Alarm::Composite(_)));
    g.add(
        "alarm",
        24,
        3,
        alarm_properties(
            "Pipeline",
            composites
                .iter()
                .map(|a| target.alarm_arn(&slug_of(target, a.name())))
                .collect(),
        ),
    );
    g.add(
        "alarm",
        24,
        6,
        alarm_properties(
            "Alarms",
            metrics
                .iter()
                .map(|a| target.alarm_arn(&slug_of(target, a.name())))
                .collect(),
        ),
    );

    // ---- API ------------------------------------------------------------------------------
    g.section(
        "API (HTTP API, $default stage)",
        "What clients see. Latency includes API Gateway; IntegrationLatency is the Lambda part.",
    );
    g.add(
        "metric",
        8,
        6,
        Chart::new("Requests and errors", "Sum")
            .row(&api(&aws_metrics::api::COUNT), label("Requests"))
            .row(&api(&aws_metrics::api::ERRORS_4XX), label("4xx"))
            .row(&api(&aws_metrics::api::ERRORS_5XX), label("5xx"))
            .properties(target),
    );
    g.add(
        "metric",
        8,
        6,
        Chart::new("Error rates (%)", "Sum")
            .row(&api(&aws_metrics::api::COUNT), hidden("requests"))
            .row(&api(&aws_metrics::api::ERRORS_4XX), hidden("client"))
            .row(&api(&aws_metrics::api::ERRORS_5XX), hidden("server"))
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
            .y_label("%")
            .properties(target),
    );
    let mut latency = Chart::new("Latency (ms)", "p99");
    for p in ["p50", "p90", "p99"] {
        latency = latency.row(
            &api(&aws_metrics::api::LATENCY),
            json!({ "stat": p, "label": format!("Latency {p}") }),
        );
    }
    g.add(
        "metric",
        8,
        6,
        latency
            .row(
                &api(&aws_metrics::api::INTEGRATION_LATENCY),
                json!({ "stat": "p99", "label": "Integration p99" }),
            )
            .threshold("p99 alarm", threshold::API_P99_LATENCY_MS)
            .properties(target),
    );

    // ---- Lambda ---------------------------------------------------------------------------
    g.section(
        "Lambda",
        "One line per function. Errors are failed invocations (a batch whose records fail individually is not one).",
    );
    for (title, def, stat) in [
        ("Invocations", &aws_metrics::lambda::INVOCATIONS, "Sum"),
        ("Errors", &aws_metrics::lambda::ERRORS, "Sum"),
        ("Throttles", &aws_metrics::lambda::THROTTLES, "Sum"),
    ] {
        let chart = Function::ALL.iter().fold(Chart::new(title, stat), |c, f| {
            c.row(&lambda(def, *f), label(f.name()))
        });
        g.add("metric", 8, 6, chart.properties(target));
    }
    for f in Function::ALL {
        let mut chart = Chart::new(format!("{} duration (ms)", f.name()), "p99");
        for p in ["p50", "p90", "p99"] {
            chart = chart.row(
                &lambda(&aws_metrics::lambda::DURATION, f),
                json!({ "stat": p, "label": p }),
            );
        }
        let timeout_ms = f.timeout().as_secs_f64() * 1000.0;
        g.add(
            "metric",
            8,
            6,
            chart
                .threshold(
                    "alarm (80% of timeout)",
                    (threshold::DURATION_FRACTION_OF_TIMEOUT * timeout_ms).round(),
                )
                .properties(target),
        );
    }
    let concurrency =
        Function::ALL
            .iter()
            .fold(Chart::new("Concurrent executions", "Maximum"), |c, f| {
                c.row(
                    &lambda(&aws_metrics::lambda::CONCURRENT_EXECUTIONS, *f),
                    label(f.name()),
                )
            });
    g.add("metric", 8, 6, concurrency.properties(target));
    // How much of its concurrency the processor uses: at the top, SQS work waits (and with a
    // reserved concurrency below it, throttles).
    g.add(
        "metric",
        4,
        6,
        Chart::new("Processor concurrency", "Maximum")
            .gauge(0.0, QUEUE.max_concurrency as f64)
            .row(
                &lambda(
                    &aws_metrics::lambda::CONCURRENT_EXECUTIONS,
                    Function::OrderProcessor,
                ),
                label("of MaximumConcurrency"),
            )
            .properties(target),
    );
    g.add(
        "metric",
        12,
        6,
        Chart::new("Cold starts (all functions)", "Sum")
            .row(
                &business_metric(target, Metric::ColdStart, &[]),
                label("Cold starts"),
            )
            .properties(target),
    );

    // ---- SQS ------------------------------------------------------------------------------
    g.section(
        "SQS: orders queue and dead-letter queue",
        "Depth and age show whether the processor keeps up; anything in the DLQ failed 3 receives.",
    );
    g.add(
        "metric",
        6,
        6,
        Chart::new("Queue depth", "Maximum")
            .row(&queue(&aws_metrics::sqs::VISIBLE), label("Visible"))
            .row(&queue(&aws_metrics::sqs::NOT_VISIBLE), label("In flight"))
            .stacked()
            .properties(target),
    );
    g.add(
        "metric",
        6,
        6,
        Chart::new("DLQ depth", "Maximum")
            .row(&dlq(&aws_metrics::sqs::VISIBLE), label("Visible"))
            .threshold("alarm", 0.0)
            .properties(target),
    );
    g.add(
        "metric",
        6,
        6,
        Chart::new("Age of oldest message (s)", "Maximum")
            .row(
                &queue(&aws_metrics::sqs::AGE_OF_OLDEST),
                label("Orders queue"),
            )
            .row(&dlq(&aws_metrics::sqs::AGE_OF_OLDEST), label("DLQ"))
            .threshold("queue alarm", threshold::QUEUE_AGE_SECONDS)
            .properties(target),
    );
    g.add(
        "metric",
        6,
        6,
        Chart::new("Messages sent / received / deleted", "Sum")
            .row(&queue(&aws_metrics::sqs::SENT), label("Sent"))
            .row(&queue(&aws_metrics::sqs::RECEIVED), label("Received"))
            .row(&queue(&aws_metrics::sqs::DELETED), label("Deleted"))
            .row(&dlq(&aws_metrics::sqs::SENT), label("Moved to DLQ"))
            .properties(target),
    );

    // ---- DynamoDB -------------------------------------------------------------------------
    g.section(
        "DynamoDB: orders table",
        "Server-side latency per operation, throttles and 500s; the app-side latency includes the network and retries.",
    );
    let per_op = |title: &str, def: &AwsMetric, stat: &str| {
        aws_metrics::dynamodb::OPERATIONS
            .iter()
            .fold(Chart::new(title, stat), |c, op| {
                c.row(
                    &aws_metric(def, &[target.table_name(), (*op).to_owned()]),
                    label(op),
                )
            })
            .properties(target)
    };
    g.add(
        "metric",
        6,
        6,
        per_op(
            "Request latency p99 (ms)",
            &aws_metrics::dynamodb::LATENCY,
            "p99",
        ),
    );
    g.add(
        "metric",
        6,
        6,
        per_op(
            "Throttled requests",
            &aws_metrics::dynamodb::THROTTLED_REQUESTS,
            "Sum",
        ),
    );
    g.add(
        "metric",
        6,
        6,
        per_op(
            "System errors",
            &aws_metrics::dynamodb::SYSTEM_ERRORS,
            "Sum",
        ),
    );
    let dependency = telemetry::catalogue::Operation::ALL.iter().fold(
        Chart::new("Dependency latency p99, app side (ms)", "p99"),
        |c, op| {
            c.row(
                &business_metric(
                    target,
                    Metric::DependencyLatency,
                    &[(telemetry::catalogue::Operation::KEY, op.as_str())],
                ),
                label(op.as_str()),
            )
        },
    );
    g.add("metric", 6, 6, dependency.properties(target));

    // ---- chaos ----------------------------------------------------------------------------
    g.section(
        "Chaos injections",
        "Faults the chaos layer fired (only while the stack is deployed with ChaosArmed=true): read the graphs above against these.",
    );
    let chaos = Fault::ALL.iter().fold(
        Chart::new("Injected faults", "Sum").stacked(),
        |c, fault| {
            c.row(
                &business_metric(
                    target,
                    Metric::ChaosInjections,
                    &[(Fault::KEY, fault.as_str())],
                ),
                label(fault.as_str()),
            )
        },
    );
    g.add("metric", 24, 6, chaos.properties(target));

    // ---- logs -----------------------------------------------------------------------------
    g.section(
        "Logs",
        "Logs Insights over every function's log group, on the flat JSON keys the functions write.",
    );
    let groups: Vec<String> = Function::ALL.iter().map(|f| target.log_group(*f)).collect();
    g.add(
        "log",
        24,
        6,
        log_properties(
            target,
            "Errors and warnings",
            &groups,
            &format!(
                "{ALL_LOG_FIELDS} | filter level = \"ERROR\" or level = \"WARN\" | sort @timestamp desc | limit 100"
            ),
        ),
    );
    g.add(
        "log",
        12,
        6,
        log_properties(
            target,
            "Errors by function",
            &groups,
            "filter level = \"ERROR\" | stats count() as errors by function_name | sort errors desc",
        ),
    );
    g.add(
        "log",
        12,
        6,
        log_properties(
            target,
            "Cold starts by function",
            &groups,
            "filter cold_start = 1 | stats count() as cold_starts by function_name | sort cold_starts desc",
        ),
    );
    g.add(
        "log",
        24,
        6,
        log_properties(
            target,
            "Orders through the pipeline (follow one by order_id or correlation_id)",
            &groups,
            &format!(
                "{ALL_LOG_FIELDS} | filter ispresent(order_id) | sort @timestamp desc | limit 100"
            ),
        ),
    );
    g.into_body()
}

/// `FILL(p0, 0) + FILL(p1, 0) + ...`: a total over a closed dimension's series in which a quiet
/// value counts as 0 instead of blanking the sum.
pub fn fill_sum(prefix: &str, n: usize) -> String {
    (0..n)
        .map(|i| format!("FILL({prefix}{i}, 0)"))
        .collect::<Vec<_>>()
        .join(" + ")
}

/// The slug back from a physical alarm name (the inverse of `Target::alarm_name`).
fn slug_of(target: Target, name: &str) -> String {
    let prefix = target.alarm_name("");
    name.strip_prefix(&prefix).unwrap_or(name).to_owned()
}
