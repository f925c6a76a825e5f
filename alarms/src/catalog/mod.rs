//! The kit's alarm set, defined once for both targets: [`alarm_set`]`(Target::Aws)` is
//! generated into template.yaml (dashboards' generate-template), [`alarm_set`]`(Target::Local)`
//! is what the local stack evaluates. Only the resource names differ (see [`names`]).
//!
//! Every alarm uses 60 s periods: the finest period at which AWS/Lambda, AWS/ApiGateway and
//! SQS publish without paying for high-resolution metrics, and short enough that M of N
//! counts minutes, which is what a workshop lab can wait for. Every alarm states its M of N
//! and its missing-data treatment instead of relying on CloudWatch's defaults.
//! docs/observability.md explains each threshold.

pub mod aws_metrics;
pub mod names;

pub use names::Target;

use orders::settings::Function;
use telemetry::catalogue::{self, DimensionValue, ProcessingError};

use alarm_engine::{
    Alarm, AlarmSource, ComparisonOperator, CompositeAlarm, Metric, MetricAlarm, MetricQuery,
    MetricStat, Statistic, TreatMissingData,
};
use aws_metrics::AwsMetric;

/// Every alarm's period, in seconds (see the module documentation).
pub const PERIOD: u32 = 60;

/// Alarm slugs: the physical name is `Target::alarm_name(slug)`.
pub mod slug {
    use orders::settings::Function;

    pub const API_5XX_RATE: &str = "api-5xx-rate";
    pub const API_P99_LATENCY: &str = "api-p99-latency";
    pub const QUEUE_OLDEST_MESSAGE_AGE: &str = "queue-oldest-message-age";
    pub const DLQ_NOT_EMPTY: &str = "dlq-not-empty";
    pub const DYNAMODB_THROTTLES: &str = "dynamodb-throttles";
    pub const DYNAMODB_SYSTEM_ERRORS: &str = "dynamodb-system-errors";
    pub const PROCESSING_FAILURES: &str = "processing-failures";
    pub const PROCESSING_LAG: &str = "processing-lag-p99";
    pub const PUBLISHER_BEHIND: &str = "publisher-iterator-age";
    pub const PIPELINE_UNHEALTHY: &str = "pipeline-unhealthy";

    pub fn error_rate(f: Function) -> String {
        format!("{}-error-rate", f.name())
    }

    pub fn throttles(f: Function) -> String {
        format!("{}-throttles", f.name())
    }

    pub fn duration_near_timeout(f: Function) -> String {
        format!("{}-duration-near-timeout", f.name())
    }
}

/// Thresholds, public so the docs and tests can quote them.
pub mod threshold {
    /// Percent of API requests answered 5xx.
    pub const API_5XX_PERCENT: f64 = 5.0;
    /// Requests per minute below which the 5xx rate is reported as 0 (too few to mean much).
    pub const API_MIN_REQUESTS: f64 = 20.0;
    /// p99 of API Gateway's Latency, milliseconds.
    pub const API_P99_LATENCY_MS: f64 = 1_000.0;
    /// Percent of a function's invocations that end in an error.
    pub const ERROR_RATE_PERCENT: f64 = 5.0;
    /// p99 Duration as a fraction of the function's timeout.
    pub const DURATION_FRACTION_OF_TIMEOUT: f64 = 0.8;
    /// Age of the oldest message on the orders queue, seconds.
    pub const QUEUE_AGE_SECONDS: f64 = 120.0;
    /// Processing failures per minute, all error types together.
    pub const PROCESSING_FAILURES_PER_MINUTE: f64 = 5.0;
    /// p99 of the time from creation to processing, milliseconds.
    pub const PROCESSING_LAG_P99_MS: f64 = 60_000.0;
    /// The publisher's `IteratorAge` (Maximum), milliseconds: new orders not yet sent.
    pub const PUBLISHER_ITERATOR_AGE_MS: f64 = 60_000.0;
}

/// Invocations per minute below which a function's error rate is reported as 0. The event
/// functions run in batches, so a few invocations a minute are already a signal.
pub fn min_invocations(f: Function) -> f64 {
    match f {
        Function::OrderProcessor | Function::OrderPublisher => 5.0,
        _ => 10.0,
    }
}

/// An AWS service metric with its dimension values, in the definition's key order.
pub fn aws_metric(def: &AwsMetric, values: &[String]) -> Metric {
    def.dimensions
        .iter()
        .zip(values)
        .fold(Metric::new(def.namespace, def.name), |m, (k, v)| {
            m.dimension(*k, v.clone())
        })
}

/// An OrderKit metric with the default dimensions for `target` plus `extra` (closed values).
pub fn business_metric(
    target: Target,
    metric: catalogue::Metric,
    extra: &[(&'static str, &'static str)],
) -> Metric {
    let base = Metric::new(catalogue::NAMESPACE, metric.name())
        .dimension(catalogue::SERVICE, target.service())
        .dimension(catalogue::ENVIRONMENT, target.environment());
    extra.iter().fold(base, |m, (k, v)| m.dimension(*k, *v))
}

fn stat(metric: Metric, stat: Statistic) -> MetricStat {
    MetricStat::new(metric, PERIOD, stat)
}

/// `IF(count >= min, 100 * part / count, 0)`: a percentage that stays 0 while traffic is too
/// thin for one failure to mean much, and missing when there is no traffic at all.
fn guarded_rate(part: Metric, total: Metric, min: f64, label: &str) -> AlarmSource {
    AlarmSource::Math(vec![
        MetricQuery::metric("part", stat(part, Statistic::Sum)),
        MetricQuery::metric("total", stat(total, Statistic::Sum)),
        MetricQuery::expression("rate", format!("IF(total >= {min}, 100 * part / total, 0)"))
            .label(label)
            .returning(),
    ])
}

/// The sum over every series in `metrics`, each FILLed with 0 so one quiet series does not
/// blank the total (a metric with a closed dimension has one series per value).
fn sum_of(metrics: Vec<Metric>, label: &str) -> AlarmSource {
    let mut queries: Vec<MetricQuery> = metrics
        .into_iter()
        .enumerate()
        .map(|(i, m)| MetricQuery::metric(format!("m{i}"), stat(m, Statistic::Sum)))
        .collect();
    let sum = queries
        .iter()
        .map(|q| format!("FILL({}, 0)", q.id))
        .collect::<Vec<_>>()
        .join(" + ");
    queries.push(
        MetricQuery::expression("total", sum)
            .label(label)
            .returning(),
    );
    AlarmSource::Math(queries)
}

fn single(metric: Metric, statistic: Statistic) -> AlarmSource {
    AlarmSource::Metric(stat(metric, statistic))
}

/// Every metric alarm of the set breaches above its threshold and counts a minute without data
/// as good (no traffic is not an incident); only the name, source, threshold, M of N and
/// description vary.
fn above(
    name: String,
    source: AlarmSource,
    threshold: f64,
    (m, n): (u32, u32),
    description: impl Into<String>,
) -> Alarm {
    MetricAlarm::new(
        name,
        source,
        ComparisonOperator::GreaterThanThreshold,
        threshold,
    )
    .description(description)
    .datapoints(m, n)
    .missing_data(TreatMissingData::NotBreaching)
    .into()
}

/// The whole set: metric alarms first, then the composite that reads them.
pub fn alarm_set(target: Target) -> Vec<Alarm> {
    let mut out = api_alarms(target);
    for f in Function::ALL {
        out.extend(function_alarms(target, f));
    }
    out.extend(queue_alarms(target));
    out.extend(table_alarms(target));
    out.extend(processing_alarms(target));
    out.push(pipeline_unhealthy(target));
    out
}

/// The HTTP API: 5xx rate and p99 latency.
fn api_alarms(target: Target) -> Vec<Alarm> {
    let api = |def: &AwsMetric| aws_metric(def, &[target.api_id(), target.stage()]);
    vec![
        above(
            target.alarm_name(slug::API_5XX_RATE),
            guarded_rate(
                api(&aws_metrics::api::ERRORS_5XX),
                api(&aws_metrics::api::COUNT),
                threshold::API_MIN_REQUESTS,
                "API 5xx %",
            ),
            threshold::API_5XX_PERCENT,
            (3, 5),
            format!(
                "More than {}% of API requests answered 5xx in 3 of the last 5 minutes (minutes with fewer than {} requests count as 0). Check the function error-rate alarms and the 5xx log query.",
                threshold::API_5XX_PERCENT,
                threshold::API_MIN_REQUESTS
            ),
        ),
        above(
            target.alarm_name(slug::API_P99_LATENCY),
            single(api(&aws_metrics::api::LATENCY), Statistic::Percentile(99.0)),
            threshold::API_P99_LATENCY_MS,
            (3, 5),
            format!(
                "API p99 latency above {} ms in 3 of the last 5 minutes. Compare Latency with IntegrationLatency and DynamoDB latency on the operations dashboard.",
                threshold::API_P99_LATENCY_MS
            ),
        ),
    ]
}

/// One Lambda function: error rate, throttles, and p99 duration near its timeout.
fn function_alarms(target: Target, f: Function) -> Vec<Alarm> {
    let lambda = |def: &AwsMetric| aws_metric(def, &[target.function_name(f)]);
    let timeout_ms = f.timeout().as_secs_f64() * 1000.0;
    vec![
        above(
            target.alarm_name(&slug::error_rate(f)),
            guarded_rate(
                lambda(&aws_metrics::lambda::ERRORS),
                lambda(&aws_metrics::lambda::INVOCATIONS),
                min_invocations(f),
                "Error %",
            ),
            threshold::ERROR_RATE_PERCENT,
            (3, 5),
            format!(
                "More than {}% of {} invocations failed in 3 of the last 5 minutes (minutes with fewer than {} invocations count as 0). Read the function's ERROR log lines.",
                threshold::ERROR_RATE_PERCENT,
                f.name(),
                min_invocations(f)
            ),
        ),
        above(
            target.alarm_name(&slug::throttles(f)),
            single(lambda(&aws_metrics::lambda::THROTTLES), Statistic::Sum),
            0.0,
            (2, 3),
            format!(
                "{} was throttled in 2 of the last 3 minutes: the account's or the event source's concurrency limit was reached.",
                f.name()
            ),
        ),
        above(
            target.alarm_name(&slug::duration_near_timeout(f)),
            single(
                lambda(&aws_metrics::lambda::DURATION),
                Statistic::Percentile(99.0),
            ),
            (threshold::DURATION_FRACTION_OF_TIMEOUT * timeout_ms).round(),
            (3, 5),
            format!(
                "{} p99 duration above {}% of its {} ms timeout in 3 of the last 5 minutes: it is close to being killed mid-work.",
                f.name(),
                threshold::DURATION_FRACTION_OF_TIMEOUT * 100.0,
                timeout_ms
            ),
        ),
    ]
}

/// The orders queue's oldest message, and the dead-letter queue.
fn queue_alarms(target: Target) -> Vec<Alarm> {
    vec![
        above(
            target.alarm_name(slug::QUEUE_OLDEST_MESSAGE_AGE),
            single(
                aws_metric(&aws_metrics::sqs::AGE_OF_OLDEST, &[target.queue_name()]),
                Statistic::Maximum,
            ),
            threshold::QUEUE_AGE_SECONDS,
            (3, 5),
            format!(
                "The oldest order message has waited more than {} s in 3 of the last 5 minutes: the processor is not keeping up or keeps failing.",
                threshold::QUEUE_AGE_SECONDS
            ),
        ),
        above(
            target.alarm_name(slug::DLQ_NOT_EMPTY),
            single(
                aws_metric(
                    &aws_metrics::sqs::VISIBLE,
                    &[target.dead_letter_queue_name()],
                ),
                Statistic::Maximum,
            ),
            0.0,
            (1, 1),
            "A message reached the dead-letter queue: an order failed processing 3 times. Inspect it and redrive with `workshop dlq redrive`.",
        ),
    ]
}

/// The orders table: throttles and system errors, summed over its operations.
fn table_alarms(target: Target) -> Vec<Alarm> {
    let table_series = |def: &AwsMetric| {
        aws_metrics::dynamodb::OPERATIONS
            .iter()
            .map(|op| aws_metric(def, &[target.table_name(), (*op).to_owned()]))
            .collect::<Vec<_>>()
    };
    vec![
        above(
            target.alarm_name(slug::DYNAMODB_THROTTLES),
            sum_of(
                table_series(&aws_metrics::dynamodb::THROTTLED_REQUESTS),
                "Throttled requests",
            ),
            0.0,
            (2, 3),
            "DynamoDB throttled requests to the orders table in 2 of the last 3 minutes.",
        ),
        above(
            target.alarm_name(slug::DYNAMODB_SYSTEM_ERRORS),
            sum_of(
                table_series(&aws_metrics::dynamodb::SYSTEM_ERRORS),
                "System errors",
            ),
            0.0,
            (2, 3),
            "DynamoDB answered HTTP 500 to the orders table in 2 of the last 3 minutes (the SDK retries; sustained errors reach users).",
        ),
    ]
}

/// The processor's own metrics: failures of every error type, and creation-to-processing lag.
fn processing_alarms(target: Target) -> Vec<Alarm> {
    let failures = ProcessingError::ALL
        .iter()
        .map(|e| {
            business_metric(
                target,
                catalogue::Metric::ProcessingFailures,
                &[(ProcessingError::KEY, e.as_str())],
            )
        })
        .collect();
    vec![
        above(
            target.alarm_name(slug::PROCESSING_FAILURES),
            sum_of(failures, "Processing failures"),
            threshold::PROCESSING_FAILURES_PER_MINUTE,
            (2, 3),
            format!(
                "The processor failed more than {} records a minute in 2 of the last 3 minutes (all error types).",
                threshold::PROCESSING_FAILURES_PER_MINUTE
            ),
        ),
        above(
            target.alarm_name(slug::PROCESSING_LAG),
            single(
                business_metric(target, catalogue::Metric::ProcessingLag, &[]),
                Statistic::Percentile(99.0),
            ),
            threshold::PROCESSING_LAG_P99_MS,
            (3, 5),
            format!(
                "p99 time from order creation to processing above {} ms in 3 of the last 5 minutes.",
                threshold::PROCESSING_LAG_P99_MS
            ),
        ),
        above(
            target.alarm_name(slug::PUBLISHER_BEHIND),
            single(
                aws_metric(
                    &aws_metrics::lambda::ITERATOR_AGE,
                    &[target.function_name(Function::OrderPublisher)],
                ),
                Statistic::Maximum,
            ),
            threshold::PUBLISHER_ITERATOR_AGE_MS,
            (3, 5),
            format!(
                "The publisher's IteratorAge above {} ms in 3 of the last 5 minutes: new orders are waiting in the table's stream for their message.",
                threshold::PUBLISHER_ITERATOR_AGE_MS
            ),
        ),
    ]
}

/// The composite over the alarms that mean orders are not reaching a final status.
fn pipeline_unhealthy(target: Target) -> Alarm {
    let children = [
        slug::PUBLISHER_BEHIND.to_owned(),
        slug::DLQ_NOT_EMPTY.to_owned(),
        slug::error_rate(Function::OrderProcessor),
        slug::PROCESSING_LAG.to_owned(),
        slug::QUEUE_OLDEST_MESSAGE_AGE.to_owned(),
        slug::PROCESSING_FAILURES.to_owned(),
    ];
    let rule = children
        .iter()
        .map(|c| format!("ALARM(\"{}\")", target.alarm_name(c)))
        .collect::<Vec<_>>()
        .join(" OR ");
    CompositeAlarm::new(target.alarm_name(slug::PIPELINE_UNHEALTHY), rule)
        .description(
            "Orders are not flowing to a final status: the publisher is behind the table's stream, a message is in the DLQ, or the processor is failing, lagging or falling behind.",
        )
        .into()
}

/// The metric alarms' names that a composite's rule reads (for DependsOn in the template).
pub fn composite_children<'a>(composite: &CompositeAlarm, set: &'a [Alarm]) -> Vec<&'a Alarm> {
    set.iter()
        .filter(|a| matches!(a, Alarm::Metric(_)))
        .filter(|a| composite.alarm_rule.contains(&format!("\"{}\"", a.name())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_alarm_is_valid_and_explicit_for_both_targets() {
        for target in Target::ALL {
            let set = alarm_set(target);
            let mut names = HashSet::new();
            for alarm in &set {
                assert!(names.insert(alarm.name().to_owned()), "{}", alarm.name());
                match alarm {
                    Alarm::Metric(a) => {
                        a.validate().unwrap();
                        assert!(a.treat_missing_data.is_some(), "{}", a.alarm_name);
                        assert!(a.datapoints_to_alarm.is_some(), "{}", a.alarm_name);
                        assert_eq!(a.period(), PERIOD, "{}", a.alarm_name);
                        assert!(a.alarm_description.is_some());
                    }
                    Alarm::Composite(c) => {
                        c.validate().unwrap();
                        assert_eq!(composite_children(c, &set).len(), 6);
                    }
                }
            }
        }
    }

    #[test]
    fn local_names_are_the_local_stacks() {
        let set = alarm_set(Target::Local);
        let Some(Alarm::Metric(dlq)) = set.iter().find(|a| a.name() == slug::DLQ_NOT_EMPTY) else {
            panic!("no DLQ alarm");
        };
        let AlarmSource::Metric(s) = &dlq.source else {
            panic!("DLQ alarm is not a single metric")
        };
        assert_eq!(s.metric.metric_name, "ApproximateNumberOfMessagesVisible");
        assert_eq!(s.metric.dimensions[0].value, "orders-dlq");
        assert_eq!(dlq.m(), 1);
        assert_eq!(dlq.n(), 1);
        for a in &set {
            assert!(!a.name().contains("${"), "{}", a.name());
        }
    }

    #[test]
    fn duration_thresholds_follow_the_settings_timeouts() {
        let set = alarm_set(Target::Local);
        let Some(Alarm::Metric(a)) = set
            .iter()
            .find(|a| a.name() == slug::duration_near_timeout(Function::OrderProcessor))
        else {
            panic!("no processor duration alarm");
        };
        assert_eq!(a.threshold, 4_000.0);
    }
}
