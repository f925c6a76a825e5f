//! Alarm definitions shaped like CloudWatch's PutMetricAlarm/PutCompositeAlarm, and a local
//! evaluator with CloudWatch's documented semantics. Pure: no I/O, no AWS SDK, and nothing of
//! the order system (the kit's alarm set lives in crate `alarms`). See README.md.

pub mod error;
pub mod eval;
pub mod math;
pub mod metrics;
pub mod model;
mod names;
pub mod rule;
pub mod state;
pub mod tracker;

pub use error::{AlarmError, Result};
pub use eval::{Evaluation, evaluate, evaluate_composite};
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
pub use state::AlarmState;
pub use tracker::{AlarmStatus, AlarmTracker, Transition};
