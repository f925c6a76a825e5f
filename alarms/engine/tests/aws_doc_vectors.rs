//! The example tables of AWS's "Configuring how CloudWatch alarms treat missing data"
//! (Amazon CloudWatch User Guide,
//! https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html,
//! section "How alarm state is evaluated when data is missing", as published in
//! awsdocs/amazon-cloudwatch-user-guide doc_source/AlarmThatSendsEmail.md).
//!
//! The docs' setup: Period 5 minutes, Evaluation Periods 3, evaluation range 5 (the 5 most recent
//! datapoints, most recent on the right). `0` is a non-breaching datapoint, `X` a breaching one,
//! `-` a missing one. "Retain current state" is checked from every starting state.
//!
//! First table, Datapoints to Alarm 3 (quoted):
//!
//! | Data points | # of data points that must be filled | MISSING           | IGNORE               | BREACHING | NOT BREACHING |
//! | 0 - X - X   | 0 | OK                | OK                   | OK    | OK    |
//! | 0 - - - -   | 2 | OK                | OK                   | OK    | OK    |
//! | - - - - -   | 3 | INSUFFICIENT_DATA | Retain current state | ALARM | OK    |
//! | 0 X X - X   | 0 | ALARM             | ALARM                | ALARM | ALARM |
//! | - - X - -   | 2 | ALARM             | Retain current state | ALARM | OK    |
//!
//! Second table, Datapoints to Alarm 2 ("a 2 out of 3, M out of N alarm") (quoted):
//!
//! | Data points | # of missing data points | MISSING | IGNORE               | BREACHING | NOT BREACHING |
//! | 0 - X - X   | 0 | ALARM | ALARM                | ALARM | ALARM |
//! | 0 0 X 0 X   | 0 | ALARM | ALARM                | ALARM | ALARM |
//! | 0 - X - -   | 1 | OK    | OK                   | ALARM | OK    |
//! | - - - - 0   | 2 | OK    | OK                   | ALARM | OK    |
//! | - - - X -   | 2 | ALARM | Retain current state | ALARM | OK    |
//!
//! The section "Avoiding premature transitions to alarm state" adds, for Datapoints to Alarm 3:
//! "the alarm does not go immediately into ALARM state when the data is either `- - - - X` or
//! `- - - X -`"; those are checked in `premature_transition_examples`.

use alarm_engine::{
    AlarmSource, AlarmState, ComparisonOperator, Metric, MetricAlarm, MetricStat, Statistic,
    TreatMissingData, evaluate,
};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Expected {
    State(AlarmState),
    Retain,
}

use AlarmState::{Alarm as A, InsufficientData as I, Ok as O};
use Expected::{Retain as R, State as S};

const TREATMENTS: [TreatMissingData; 4] = [
    TreatMissingData::Missing,
    TreatMissingData::Ignore,
    TreatMissingData::Breaching,
    TreatMissingData::NotBreaching,
];

fn alarm(m: u32, treat: TreatMissingData) -> MetricAlarm {
    let stat = MetricStat::new(Metric::new("Workshop/Test", "Errors"), 300, Statistic::Sum);
    MetricAlarm::new(
        "doc-vector",
        AlarmSource::Metric(stat),
        ComparisonOperator::GreaterThanThreshold,
        1.0,
    )
    .datapoints(m, 3)
    .missing_data(treat)
}

/// `0` -> 0.0 (within the threshold 1), `X` -> 5.0 (breaching), `-` -> missing.
fn points(row: &str) -> Vec<Option<f64>> {
    row.split_whitespace()
        .map(|c| match c {
            "0" | "O" => Some(0.0),
            "X" => Some(5.0),
            "-" => None,
            other => panic!("bad datapoint {other:?}"),
        })
        .collect()
}

fn check(m: u32, row: &str, expected: [Expected; 4]) {
    let data = points(row);
    assert_eq!(data.len(), 5, "the docs' evaluation range is 5");
    for (treat, want) in TREATMENTS.into_iter().zip(expected) {
        let a = alarm(m, treat);
        assert_eq!(a.evaluation_range(), 5);
        for previous in [O, A, I] {
            let got = evaluate(&a, &data, previous);
            let want_state = match want {
                S(s) => s,
                R => previous,
            };
            assert_eq!(
                got.state, want_state,
                "{m} of 3, data `{row}`, treat {treat:?}, previous {previous}: {}",
                got.reason
            );
        }
    }
}

// ---- First table: 3 out of 3 ----

#[test]
fn three_of_three_row1_0_dash_x_dash_x() {
    check(3, "0 - X - X", [S(O), S(O), S(O), S(O)]);
}

#[test]
fn three_of_three_row2_0_then_all_missing() {
    check(3, "0 - - - -", [S(O), S(O), S(O), S(O)]);
}

#[test]
fn three_of_three_row3_all_missing() {
    check(3, "- - - - -", [S(I), R, S(A), S(O)]);
}

#[test]
fn three_of_three_row4_0_x_x_dash_x() {
    check(3, "0 X X - X", [S(A), S(A), S(A), S(A)]);
}

#[test]
fn three_of_three_row5_premature_alarm_state() {
    check(3, "- - X - -", [S(A), R, S(A), S(O)]);
}

// ---- Second table: 2 out of 3 ----

#[test]
fn two_of_three_row1_0_dash_x_dash_x() {
    check(2, "0 - X - X", [S(A), S(A), S(A), S(A)]);
}

#[test]
fn two_of_three_row2_0_0_x_0_x() {
    check(2, "0 0 X 0 X", [S(A), S(A), S(A), S(A)]);
}

#[test]
fn two_of_three_row3_0_dash_x_dash_dash() {
    check(2, "0 - X - -", [S(O), S(O), S(A), S(O)]);
}

#[test]
fn two_of_three_row4_missing_then_0() {
    check(2, "- - - - 0", [S(O), S(O), S(A), S(O)]);
}

#[test]
fn two_of_three_row5_premature_alarm_state() {
    check(2, "- - - X -", [S(A), R, S(A), S(O)]);
}

// ---- "Avoiding premature transitions to alarm state" ----

#[test]
fn premature_transition_examples() {
    // "the alarm does not go immediately into ALARM state when the data is either `- - - - X` or
    // `- - - X -` and Datapoints to Alarm is 3" (treat missing data as missing).
    for row in ["- - - - X", "- - - X -"] {
        let got = evaluate(&alarm(3, TreatMissingData::Missing), &points(row), O);
        assert_ne!(got.state, A, "`{row}`: {}", got.reason);
    }
    // "...false positives are avoided when the next data point is non-breaching and causes the
    // data to be `- - - X O` or `- - X - O`."
    for row in ["- - - X O", "- - X - O"] {
        let got = evaluate(&alarm(3, TreatMissingData::Missing), &points(row), O);
        assert_eq!(got.state, O, "`{row}`: {}", got.reason);
    }
    // "If the oldest breaching data point during the evaluation range is at least as old as the
    // value of Datapoints to Alarm, and all of the more recent data points are either breaching
    // or missing, the alarm goes into ALARM state no matter the value of M."
    for (m, row) in [
        (3, "X - - - -"),
        (3, "- - X - -"),
        (2, "- - - X -"),
        (2, "- - X - X"),
    ] {
        let got = evaluate(&alarm(m, TreatMissingData::Missing), &points(row), O);
        assert_eq!(got.state, A, "{m} of 3, `{row}`: {}", got.reason);
    }
}

#[test]
fn second_row_goes_to_alarm_on_the_next_evaluation_when_breaching() {
    // "The next time this alarm is evaluated, if the data is still missing it will go to ALARM,
    // as that non-breaching data point will no longer be in the evaluation range."
    let got = evaluate(
        &alarm(3, TreatMissingData::Breaching),
        &points("0 - - - - -"),
        O,
    );
    assert_eq!(got.state, A, "{}", got.reason);
}
