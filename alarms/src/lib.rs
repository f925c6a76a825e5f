//! Alarm definitions shaped like CloudWatch's PutMetricAlarm/PutCompositeAlarm, and a local
//! evaluator with CloudWatch's documented semantics. Pure: no I/O, no AWS SDK. See README.md.

pub mod catalog;
pub mod cfn;
pub mod error;
pub mod eval;
pub mod math;
pub mod metrics;
pub mod model;
pub mod rule;
pub mod tracker;

pub use error::{AlarmError, Result};
pub use eval::{AlarmState, Evaluation, evaluate, evaluate_composite};
pub use math::Expr;
pub use metrics::{
    InMemoryMetrics, MetricSource, compute_statistic, fetch_datapoints, last_period_end,
    math_series,
};
pub use model::{
    Alarm, AlarmSource, ComparisonOperator, CompositeAlarm, Dimension, Metric, MetricAlarm,
    MetricQuery, MetricStat, QueryKind, Statistic, TreatMissingData,
};
pub use rule::Rule;
pub use tracker::{AlarmStatus, AlarmTracker, Transition};
