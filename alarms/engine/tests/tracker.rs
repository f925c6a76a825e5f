//! State tracking over time: transitions, history and composites in one pass.

use alarm_engine::{
    AlarmError, AlarmSource, AlarmState, AlarmTracker, ComparisonOperator, CompositeAlarm,
    InMemoryMetrics, Metric, MetricAlarm, MetricStat, Statistic, Transition, TreatMissingData,
};
use chrono::{DateTime, TimeZone, Utc};

use AlarmState::{Alarm as A, InsufficientData as I, Ok as O};

fn t(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_040 + secs, 0).unwrap()
}

fn dlq() -> Metric {
    Metric::new("AWS/SQS", "ApproximateNumberOfMessagesVisible")
        .dimension("QueueName", "orders-dlq")
}

fn api_5xx() -> Metric {
    Metric::new("AWS/ApiGateway", "5xx").dimension("ApiId", "local")
}

fn alarms() -> Vec<alarm_engine::Alarm> {
    vec![
        CompositeAlarm::new("pipeline-unhealthy", "ALARM(dlq-depth) OR ALARM(api-5xx)").into(),
        MetricAlarm::new(
            "dlq-depth",
            AlarmSource::Metric(MetricStat::new(dlq(), 60, Statistic::Maximum)),
            ComparisonOperator::GreaterThanThreshold,
            0.0,
        )
        .missing_data(TreatMissingData::NotBreaching)
        .into(),
        MetricAlarm::new(
            "api-5xx",
            AlarmSource::Metric(MetricStat::new(api_5xx(), 60, Statistic::Sum)),
            ComparisonOperator::GreaterThanOrEqualToThreshold,
            5.0,
        )
        .datapoints(2, 3)
        .missing_data(TreatMissingData::NotBreaching)
        .into(),
    ]
}

#[test]
fn starts_insufficient_and_records_only_changes() {
    let mut tracker = AlarmTracker::new(alarms()).unwrap();
    assert_eq!(tracker.state("dlq-depth"), Some(I));
    // Metric alarms come before the composite that reads them.
    let order: Vec<&str> = tracker.alarms().iter().map(|a| a.name()).collect();
    assert_eq!(order.last(), Some(&"pipeline-unhealthy"));

    let mut store = InMemoryMetrics::new();
    let changes = tracker.evaluate_all(&store, t(180)).unwrap();
    assert_eq!(changes.len(), 3, "{changes:?}");
    assert!(changes.iter().all(|c| c.from == I && c.to == O));

    // Nothing changed: no new history.
    assert!(tracker.evaluate_all(&store, t(240)).unwrap().is_empty());

    // A message lands in the DLQ: dlq-depth and the composite go to ALARM in the same round.
    store.record_metric(&dlq(), t(250), 1.0);
    let changes = tracker.evaluate_all(&store, t(300)).unwrap();
    let names: Vec<(&str, AlarmState)> = changes.iter().map(|c| (c.alarm.as_str(), c.to)).collect();
    assert_eq!(names, [("dlq-depth", A), ("pipeline-unhealthy", A)]);
    assert_eq!(
        tracker.status("pipeline-unhealthy").unwrap().state_updated,
        Some(t(300))
    );

    // Redriven: back to OK.
    store.record_metric(&dlq(), t(310), 0.0);
    let changes = tracker.evaluate_all(&store, t(360)).unwrap();
    assert_eq!(changes.len(), 2);
    assert!(changes.iter().all(|c| c.from == A && c.to == O));

    let dlq_history: Vec<(AlarmState, AlarmState)> = tracker
        .history_of("dlq-depth")
        .map(|t| (t.from, t.to))
        .collect();
    assert_eq!(dlq_history, [(I, O), (O, A), (A, O)]);
    assert_eq!(tracker.history().len(), 7);
}

#[test]
fn history_serialises_for_the_console() {
    let mut tracker = AlarmTracker::new(alarms()).unwrap();
    tracker
        .evaluate_all(&InMemoryMetrics::new(), t(120))
        .unwrap();
    let json = serde_json::to_value(&tracker.history()[0]).unwrap();
    assert_eq!(json["from"], "INSUFFICIENT_DATA");
    assert_eq!(json["to"], "OK");
    // Milliseconds in UTC, as CloudWatch shows them.
    assert_eq!(json["timestamp"], "2023-11-14T22:16:00.000Z");
}

#[test]
fn rejects_bad_sets() {
    let mut dup = alarms();
    dup.push(alarms().remove(1));
    assert!(matches!(
        AlarmTracker::new(dup),
        Err(AlarmError::InvalidDefinition { .. })
    ));
    let unknown = vec![CompositeAlarm::new("c", "ALARM(nope)").into()];
    assert!(matches!(
        AlarmTracker::new(unknown),
        Err(AlarmError::InvalidDefinition { .. })
    ));
    let cycle = vec![
        CompositeAlarm::new("a", "ALARM(b)").into(),
        CompositeAlarm::new("b", "ALARM(a)").into(),
    ];
    assert!(matches!(
        AlarmTracker::new(cycle),
        Err(AlarmError::CompositeCycle(_))
    ));
}

#[test]
fn record_unknown_alarm_is_an_error() {
    let mut tracker = AlarmTracker::new(alarms()).unwrap();
    let e = alarm_engine::Evaluation {
        state: O,
        reason: "x".into(),
    };
    assert!(matches!(
        tracker.record("nope", e, t(0)),
        Err(AlarmError::UnknownAlarm(_))
    ));
}

#[test]
fn a_restored_history_resumes_each_alarms_state() {
    let mut before = AlarmTracker::new(alarms()).unwrap();
    let mut store = InMemoryMetrics::new();
    before.evaluate_all(&store, t(180)).unwrap();
    store.record_metric(&dlq(), t(190), 3.0);
    before.evaluate_all(&store, t(250)).unwrap();
    assert_eq!(before.state("dlq-depth"), Some(A));
    let mut kept = before.history().to_vec();
    kept.push(Transition {
        alarm: "an-alarm-since-removed".into(),
        timestamp: t(251),
        from: O,
        to: A,
        reason: "gone".into(),
    });

    // A new tracker (a restarted stack) given that history: the states and the history go on.
    let mut after = AlarmTracker::new(alarms()).unwrap();
    after.restore(kept);
    assert_eq!(after.state("dlq-depth"), Some(A));
    assert_eq!(after.state("pipeline-unhealthy"), Some(A));
    assert_eq!(after.state("api-5xx"), Some(O));
    assert_eq!(after.history(), before.history());
    // The next round over the same metrics changes nothing: no flood of transitions.
    assert_eq!(after.evaluate_all(&store, t(250)).unwrap(), vec![]);
}

#[test]
fn pruned_metrics_keep_only_the_retained_samples() {
    let mut store = InMemoryMetrics::new();
    store.record_metric(&dlq(), t(0), 1.0);
    store.record_metric(&dlq(), t(100), 2.0);
    store.record_metric(&api_5xx(), t(10), 1.0);
    store.prune(t(50));
    assert_eq!(store.samples(&dlq(), t(0), t(200)), vec![2.0]);
    assert_eq!(store.metrics().count(), 1, "a metric left empty is gone");
}
