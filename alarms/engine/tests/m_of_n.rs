//! M out of N edge cases, comparison operators and missing-data corner cases beyond the docs'
//! tables.

use alarm_engine::{
    AlarmSource, AlarmState, ComparisonOperator, Metric, MetricAlarm, MetricStat, Statistic,
    TreatMissingData, evaluate,
};

use AlarmState::{Alarm as A, InsufficientData as I, Ok as O};

fn alarm(op: ComparisonOperator, threshold: f64, m: u32, n: u32) -> MetricAlarm {
    MetricAlarm::new(
        "t",
        AlarmSource::Metric(MetricStat::new(
            Metric::new("Workshop/Orders", "ProcessingLag"),
            60,
            Statistic::Maximum,
        )),
        op,
        threshold,
    )
    .datapoints(m, n)
}

fn gt(m: u32, n: u32) -> MetricAlarm {
    alarm(ComparisonOperator::GreaterThanThreshold, 10.0, m, n)
}

fn some(v: &[f64]) -> Vec<Option<f64>> {
    v.iter().copied().map(Some).collect()
}

#[test]
fn breaching_datapoints_need_not_be_consecutive() {
    let a = gt(3, 5);
    assert_eq!(
        evaluate(&a, &some(&[11.0, 0.0, 11.0, 0.0, 11.0]), O).state,
        A
    );
    assert_eq!(
        evaluate(&a, &some(&[11.0, 0.0, 11.0, 0.0, 0.0]), A).state,
        O
    );
}

#[test]
fn only_the_last_n_datapoints_count_when_none_are_missing() {
    let a = gt(2, 3);
    // Seven complete datapoints: the two old breaches are outside the last 3.
    let data = some(&[11.0, 11.0, 0.0, 0.0, 0.0, 0.0, 11.0]);
    assert_eq!(evaluate(&a, &data, O).state, O);
}

#[test]
fn m_equals_one_and_m_equals_n() {
    assert_eq!(evaluate(&gt(1, 3), &some(&[0.0, 0.0, 11.0]), O).state, A);
    assert_eq!(evaluate(&gt(1, 3), &some(&[0.0, 0.0, 0.0]), A).state, O);
    assert_eq!(evaluate(&gt(3, 3), &some(&[11.0, 11.0, 10.0]), O).state, O);
    assert_eq!(evaluate(&gt(3, 3), &some(&[11.0, 11.0, 10.5]), O).state, A);
}

#[test]
fn datapoints_to_alarm_defaults_to_evaluation_periods() {
    let mut a = gt(1, 3);
    a.datapoints_to_alarm = None;
    assert_eq!(a.m(), 3);
    assert_eq!(evaluate(&a, &some(&[0.0, 11.0, 11.0]), O).state, O);
    assert_eq!(evaluate(&a, &some(&[11.0, 11.0, 11.0]), O).state, A);
}

#[test]
fn threshold_equality_depends_on_the_operator() {
    use ComparisonOperator::*;
    let at = some(&[10.0]);
    assert_eq!(
        evaluate(&alarm(GreaterThanThreshold, 10.0, 1, 1), &at, O).state,
        O
    );
    assert_eq!(
        evaluate(&alarm(GreaterThanOrEqualToThreshold, 10.0, 1, 1), &at, O).state,
        A
    );
    assert_eq!(
        evaluate(&alarm(LessThanThreshold, 10.0, 1, 1), &at, O).state,
        O
    );
    assert_eq!(
        evaluate(&alarm(LessThanOrEqualToThreshold, 10.0, 1, 1), &at, O).state,
        A
    );
    assert_eq!(
        evaluate(&alarm(LessThanThreshold, 10.0, 1, 1), &some(&[9.9]), O).state,
        A
    );
}

#[test]
fn real_datapoints_reach_back_past_missing_periods() {
    // Evaluation range N + 2: three real datapoints within the last five periods are evaluated
    // even though two of the last three periods are missing.
    let a = gt(3, 3).missing_data(TreatMissingData::NotBreaching);
    let data = vec![Some(11.0), Some(11.0), None, Some(11.0), None];
    assert_eq!(evaluate(&a, &data, O).state, A);
    // A real datapoint older than the evaluation range is not reached.
    let data = vec![Some(11.0), None, Some(11.0), None, Some(11.0), None];
    assert_eq!(evaluate(&a, &data, O).state, O);
}

#[test]
fn missing_with_all_real_breaching_but_too_few_and_too_recent_is_insufficient() {
    let a = gt(3, 3);
    let e = evaluate(&a, &[None, None, None, None, Some(11.0)], O);
    assert_eq!(e.state, I, "{}", e.reason);
    let a = a.missing_data(TreatMissingData::Ignore);
    assert_eq!(
        evaluate(&a, &[None, None, None, None, Some(11.0)], A).state,
        A
    );
    assert_eq!(
        evaluate(&a, &[None, None, None, None, Some(11.0)], O).state,
        O
    );
}

#[test]
fn dynamodb_metrics_always_ignore_missing_data() {
    let a = MetricAlarm::new(
        "ddb-throttles",
        AlarmSource::Metric(MetricStat::new(
            Metric::new("AWS/DynamoDB", "ThrottledRequests").dimension("TableName", "orders"),
            60,
            Statistic::Sum,
        )),
        ComparisonOperator::GreaterThanThreshold,
        0.0,
    )
    .missing_data(TreatMissingData::Breaching);
    assert_eq!(a.effective_treat_missing_data(), TreatMissingData::Ignore);
    assert_eq!(evaluate(&a, &[None, None, None], O).state, O);
    assert_eq!(evaluate(&a, &[None, None, None], A).state, A);
}

#[test]
fn a_short_history_is_a_short_range() {
    // Right after the stack starts there may be fewer periods than the range.
    let a = gt(2, 3);
    assert_eq!(evaluate(&a, &some(&[11.0, 11.0]), O).state, A);
    assert_eq!(evaluate(&a, &[], O).state, I);
}

#[test]
fn reasons_read_like_cloudwatch() {
    let a = gt(2, 3);
    let e = evaluate(&a, &some(&[11.0, 0.0, 12.0]), O);
    assert_eq!(
        e.reason,
        "Threshold Crossed: 2 out of the last 3 datapoints [11.0, 0.0, 12.0] were greater than the threshold (10.0) (minimum 2 datapoints for OK -> ALARM transition)."
    );
    let e = evaluate(&a, &[None, None, None, None, None], O);
    assert!(e.reason.starts_with("Insufficient Data"), "{}", e.reason);
}

#[test]
fn reasons_show_datapoints_as_a_person_reads_them() {
    // Sums of float latencies carry binary noise (7.770955000000001): the reason rounds.
    let a = gt(1, 2);
    let e = evaluate(&a, &some(&[7.770955000000001, 0.0042]), O);
    assert!(
        e.reason.contains("datapoints [7.77, 0.0042]"),
        "{}",
        e.reason
    );
}

#[test]
fn invalid_definitions_are_rejected() {
    assert!(gt(4, 3).validate().is_err());
    assert!(gt(0, 3).validate().is_err());
    assert!(gt(1, 0).validate().is_err());
    assert!(gt(2, 3).validate().is_ok());
    let mut long = gt(1, 1441);
    long.datapoints_to_alarm = Some(1);
    assert!(long.validate().is_err(), "over one day of periods");
    let odd_period = MetricAlarm::new(
        "p",
        AlarmSource::Metric(MetricStat::new(Metric::new("N", "M"), 45, Statistic::Sum)),
        ComparisonOperator::GreaterThanThreshold,
        1.0,
    );
    assert!(odd_period.validate().is_err());
}
