//! Statistics per period over raw samples, and fetching an alarm's datapoints.

use alarm_engine::{
    AlarmSource, ComparisonOperator, InMemoryMetrics, Metric, MetricAlarm, MetricQuery,
    MetricSource, MetricStat, Statistic, compute_statistic, fetch_datapoints,
};
use chrono::{DateTime, Duration, TimeZone, Utc};

fn t(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_040 + secs, 0).unwrap()
}

/// A period boundary: 1_700_000_040 is a multiple of 60.
fn base() -> DateTime<Utc> {
    t(0)
}

#[test]
fn basic_statistics() {
    let v = [4.0, 1.0, 3.0, 2.0];
    assert_eq!(compute_statistic(Statistic::SampleCount, &v), Some(4.0));
    assert_eq!(compute_statistic(Statistic::Sum, &v), Some(10.0));
    assert_eq!(compute_statistic(Statistic::Average, &v), Some(2.5));
    assert_eq!(compute_statistic(Statistic::Minimum, &v), Some(1.0));
    assert_eq!(compute_statistic(Statistic::Maximum, &v), Some(4.0));
    assert_eq!(compute_statistic(Statistic::Sum, &[]), None);
    assert_eq!(compute_statistic(Statistic::SampleCount, &[]), None);
}

#[test]
fn percentiles_over_raw_samples_use_nearest_rank() {
    // 1..=100 shuffled: p99 is 99, p50 is 50, p100 is the maximum.
    let mut v: Vec<f64> = (1..=100).map(f64::from).collect();
    v.reverse();
    v.swap(3, 70);
    assert_eq!(
        compute_statistic(Statistic::Percentile(99.0), &v),
        Some(99.0)
    );
    assert_eq!(
        compute_statistic(Statistic::Percentile(50.0), &v),
        Some(50.0)
    );
    assert_eq!(
        compute_statistic(Statistic::Percentile(100.0), &v),
        Some(100.0)
    );
    assert_eq!(compute_statistic(Statistic::Percentile(0.1), &v), Some(1.0));
    // One slow outlier among 1000 fast requests does not move p99; eleven do.
    let mut latencies = vec![20.0; 1000];
    latencies[500] = 5000.0;
    assert_eq!(
        compute_statistic(Statistic::Percentile(99.0), &latencies),
        Some(20.0)
    );
    for l in latencies.iter_mut().take(11) {
        *l = 5000.0;
    }
    assert_eq!(
        compute_statistic(Statistic::Percentile(99.0), &latencies),
        Some(5000.0)
    );
    // p99.9 of 1000 samples is the 999th smallest.
    let v: Vec<f64> = (1..=1000).map(f64::from).collect();
    assert_eq!(
        compute_statistic(Statistic::Percentile(99.9), &v),
        Some(999.0)
    );
}

#[test]
fn statistic_names_round_trip() {
    for name in [
        "SampleCount",
        "Average",
        "Sum",
        "Minimum",
        "Maximum",
        "p99",
        "p99.9",
        "p50",
    ] {
        let s: Statistic = name.parse().unwrap();
        assert_eq!(s.to_string(), name);
    }
    for bad in ["p0", "p101", "avg", "P99", ""] {
        assert!(bad.parse::<Statistic>().is_err(), "{bad}");
    }
}

#[test]
fn in_memory_store_buckets_by_period_and_matches_exact_dimensions() {
    let mut m = InMemoryMetrics::new();
    let dims = [("FunctionName", "orders-api"), ("Resource", "orders-api")];
    m.record("AWS/Lambda", "Duration", &dims, t(5), 10.0);
    m.record("AWS/Lambda", "Duration", &dims, t(59), 30.0);
    m.record("AWS/Lambda", "Duration", &dims, t(60), 7.0);
    m.record("AWS/Lambda", "Duration", &dims, t(185), 1.0);
    // Dimension order does not matter; a different dimension set is another metric.
    m.record(
        "AWS/Lambda",
        "Duration",
        &[("Resource", "orders-api"), ("FunctionName", "orders-api")],
        t(61),
        9.0,
    );
    m.record(
        "AWS/Lambda",
        "Duration",
        &[("FunctionName", "orders-api")],
        t(1),
        999.0,
    );

    let metric = Metric::new("AWS/Lambda", "Duration")
        .dimension("FunctionName", "orders-api")
        .dimension("Resource", "orders-api");
    let stat = MetricStat::new(metric.clone(), 60, Statistic::Maximum);
    let got = m.datapoints(&stat, base(), base() + Duration::seconds(240));
    assert_eq!(got, vec![Some(30.0), Some(9.0), None, Some(1.0)]);
    let count = MetricStat::new(metric, 60, Statistic::SampleCount);
    let got = m.datapoints(&count, base(), base() + Duration::seconds(240));
    assert_eq!(got, vec![Some(2.0), Some(2.0), None, Some(1.0)]);
    assert_eq!(m.metrics().count(), 2);
}

fn lambda(name: &str) -> Metric {
    Metric::new("AWS/Lambda", name).dimension("FunctionName", "orders-processor")
}

#[test]
fn fetch_covers_the_evaluation_range_of_complete_periods() {
    let mut m = InMemoryMetrics::new();
    for i in 0..6 {
        m.record_metric(&lambda("Errors"), t(i * 60 + 1), i as f64);
    }
    // Still inside the period that starts at 360: it is not complete, so it is not evaluated.
    m.record_metric(&lambda("Errors"), t(361), 100.0);
    let alarm = MetricAlarm::new(
        "errors",
        AlarmSource::Metric(MetricStat::new(lambda("Errors"), 60, Statistic::Sum)),
        ComparisonOperator::GreaterThanThreshold,
        0.0,
    )
    .datapoints(2, 3);
    let got = fetch_datapoints(&alarm, &m, t(390)).unwrap();
    assert_eq!(
        got,
        vec![Some(1.0), Some(2.0), Some(3.0), Some(4.0), Some(5.0)]
    );
}

#[test]
fn fetch_evaluates_metric_math_per_period() {
    let mut m = InMemoryMetrics::new();
    // Period 0: 20 invocations, 5 errors -> 25%. Period 1: 4 invocations, 4 errors -> guarded 0.
    // Period 2: nothing -> missing. Period 3: 10 invocations, no errors -> FILL makes it 0%.
    for i in 0..20 {
        m.record_metric(&lambda("Invocations"), t(1 + i), 1.0);
    }
    for i in 0..5 {
        m.record_metric(&lambda("Errors"), t(1 + i), 1.0);
    }
    for i in 0..4 {
        m.record_metric(&lambda("Invocations"), t(61 + i), 1.0);
        m.record_metric(&lambda("Errors"), t(61 + i), 1.0);
    }
    for i in 0..10 {
        m.record_metric(&lambda("Invocations"), t(181 + i), 1.0);
    }
    let alarm = MetricAlarm::new(
        "error-rate",
        AlarmSource::Math(vec![
            MetricQuery::metric(
                "invocations",
                MetricStat::new(lambda("Invocations"), 60, Statistic::Sum),
            ),
            MetricQuery::metric(
                "errors",
                MetricStat::new(lambda("Errors"), 60, Statistic::Sum),
            ),
            MetricQuery::expression(
                "rate",
                "IF(invocations >= 10, 100 * FILL(errors, 0) / invocations, 0)",
            )
            .label("Error rate (%)")
            .returning(),
        ]),
        ComparisonOperator::GreaterThanThreshold,
        5.0,
    )
    .datapoints(1, 2);
    alarm.validate().unwrap();
    assert_eq!(alarm.evaluation_range(), 4);
    let got = fetch_datapoints(&alarm, &m, t(240)).unwrap();
    assert_eq!(got, vec![Some(25.0), Some(0.0), None, Some(0.0)]);
}

#[test]
fn self_referencing_math_is_a_cycle_error() {
    let alarm = MetricAlarm::new(
        "loop",
        AlarmSource::Math(vec![
            MetricQuery::expression("a", "b + 1").returning(),
            MetricQuery::expression("b", "a * 2"),
        ]),
        ComparisonOperator::GreaterThanThreshold,
        0.0,
    );
    let got = fetch_datapoints(&alarm, &InMemoryMetrics::new(), t(600));
    assert!(
        matches!(got, Err(alarm_engine::AlarmError::Cycle(_))),
        "{got:?}"
    );
}
