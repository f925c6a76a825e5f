//! The kit's CloudWatch alarm set (`catalog`) for AWS and the local stack, and its rendering
//! as CloudFormation resources (`cfn`). The model and the evaluator are crate `alarm-engine`,
//! re-exported here so `alarms::Metric`, `alarms::AlarmTracker`, ... keep naming the same
//! items. See README.md.

pub mod catalog;
pub mod cfn;

pub use alarm_engine::{
    Alarm, AlarmError, AlarmSource, AlarmState, AlarmStatus, AlarmTracker, ComparisonOperator,
    CompositeAlarm, Dimension, Evaluation, Expr, InMemoryMetrics, Metric, MetricAlarm, MetricQuery,
    MetricSource, MetricStat, QueryKind, Result, Rule, Statistic, Transition, TreatMissingData,
    compute_statistic, evaluate, evaluate_composite, fetch_datapoints, last_period_end,
    math_series,
};
