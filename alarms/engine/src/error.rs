//! One error type for the crate: definitions that PutMetricAlarm would reject, expressions that
//! do not parse, and evaluation problems (unknown ids, cycles).

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Error)]
pub enum AlarmError {
    #[error("alarm {alarm}: {message}")]
    InvalidDefinition { alarm: String, message: String },
    #[error("expression {expression:?}: {message} at byte {position}")]
    Parse {
        expression: String,
        position: usize,
        message: String,
    },
    #[error(
        "unknown statistic {0:?} (expected SampleCount, Average, Sum, Minimum, Maximum or pNN)"
    )]
    UnknownStatistic(String),
    #[error("unknown metric query id {0:?}")]
    UnknownId(String),
    #[error("metric queries form a cycle through {0:?}")]
    Cycle(String),
    #[error("composite alarms form a cycle through {0:?}")]
    CompositeCycle(String),
    #[error("unknown alarm {0:?}")]
    UnknownAlarm(String),
    #[error("invalid time range: {0}")]
    TimeRange(String),
}

impl AlarmError {
    /// A parse error in `expression` at byte `position`: the one shape both parsers (metric
    /// math, composite rules) report.
    pub(crate) fn parse(expression: &str, position: usize, message: &str) -> Self {
        AlarmError::Parse {
            expression: expression.to_string(),
            position,
            message: message.to_string(),
        }
    }
}

pub type Result<T> = std::result::Result<T, AlarmError>;
