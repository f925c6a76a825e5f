//! Alarm definitions shaped like CloudWatch's PutMetricAlarm / PutCompositeAlarm, so one set of
//! definitions can be both generated into template.yaml and evaluated by the local stack.

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{AlarmError, Result};
use crate::math::Expr;
use crate::rule::Rule;

/// The value CloudWatch uses when TreatMissingData is omitted.
pub const DEFAULT_TREAT_MISSING_DATA: TreatMissingData = TreatMissingData::Missing;

/// How many periods beyond EvaluationPeriods the evaluator looks back when data is missing.
/// AWS does not publish the formula for the "evaluation range" (it depends on the period and the
/// metric's resolution); its only worked example is 3 evaluation periods with a range of 5, so
/// the local stack uses N + 2.
pub const EXTRA_EVALUATION_PERIODS: usize = 2;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Dimension {
    pub name: String,
    pub value: String,
}

impl Dimension {
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
        }
    }
}

/// A metric identity: CloudWatch matches namespace, name and the exact set of dimensions.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Metric {
    pub namespace: String,
    pub metric_name: String,
    #[serde(default)]
    pub dimensions: Vec<Dimension>,
}

impl Metric {
    pub fn new(namespace: impl Into<String>, metric_name: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
            metric_name: metric_name.into(),
            dimensions: Vec::new(),
        }
    }

    pub fn dimension(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.dimensions.push(Dimension::new(name, value));
        self
    }

    /// Dimensions sorted by name: order does not distinguish metrics in CloudWatch.
    pub fn sorted_dimensions(&self) -> Vec<Dimension> {
        let mut dims = self.dimensions.clone();
        dims.sort();
        dims
    }
}

/// The statistics an alarm can use. Percentiles are written `p99`, `p99.9` as in CloudWatch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Statistic {
    SampleCount,
    Average,
    Sum,
    Minimum,
    Maximum,
    /// Percentile in (0, 100].
    Percentile(f64),
}

impl Statistic {
    /// Percentiles go in CloudFormation's ExtendedStatistic, the rest in Statistic.
    pub fn is_extended(&self) -> bool {
        matches!(self, Statistic::Percentile(_))
    }
}

impl fmt::Display for Statistic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Statistic::SampleCount => f.write_str("SampleCount"),
            Statistic::Average => f.write_str("Average"),
            Statistic::Sum => f.write_str("Sum"),
            Statistic::Minimum => f.write_str("Minimum"),
            Statistic::Maximum => f.write_str("Maximum"),
            Statistic::Percentile(p) => write!(f, "p{p}"),
        }
    }
}

impl FromStr for Statistic {
    type Err = AlarmError;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "SampleCount" => Ok(Statistic::SampleCount),
            "Average" => Ok(Statistic::Average),
            "Sum" => Ok(Statistic::Sum),
            "Minimum" => Ok(Statistic::Minimum),
            "Maximum" => Ok(Statistic::Maximum),
            _ => {
                let p = s
                    .strip_prefix('p')
                    .and_then(|rest| rest.parse::<f64>().ok())
                    .filter(|p| *p > 0.0 && *p <= 100.0)
                    .ok_or_else(|| AlarmError::UnknownStatistic(s.to_string()))?;
                Ok(Statistic::Percentile(p))
            }
        }
    }
}

impl Serialize for Statistic {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Statistic {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A metric, a period and a statistic: one value per period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MetricStat {
    pub metric: Metric,
    /// Seconds: 10, 20, 30 or a multiple of 60, as CloudWatch accepts.
    pub period: u32,
    pub stat: Statistic,
}

impl MetricStat {
    pub fn new(metric: Metric, period: u32, stat: Statistic) -> Self {
        Self {
            metric,
            period,
            stat,
        }
    }
}

/// One entry of an alarm's `Metrics` list: either a metric or an expression over other ids.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MetricQuery {
    pub id: String,
    #[serde(flatten)]
    pub kind: QueryKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Exactly one query of an alarm returns data: the series the alarm compares.
    pub return_data: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub enum QueryKind {
    MetricStat(MetricStat),
    Expression(String),
}

impl MetricQuery {
    pub fn metric(id: impl Into<String>, stat: MetricStat) -> Self {
        Self {
            id: id.into(),
            kind: QueryKind::MetricStat(stat),
            label: None,
            return_data: false,
        }
    }

    pub fn expression(id: impl Into<String>, expression: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            kind: QueryKind::Expression(expression.into()),
            label: None,
            return_data: false,
        }
    }

    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub fn returning(mut self) -> Self {
        self.return_data = true;
        self
    }
}

/// What a metric alarm watches: one metric, or metric math.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub enum AlarmSource {
    Metric(MetricStat),
    Math(Vec<MetricQuery>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ComparisonOperator {
    GreaterThanThreshold,
    GreaterThanOrEqualToThreshold,
    LessThanThreshold,
    LessThanOrEqualToThreshold,
}

impl ComparisonOperator {
    pub fn breaches(self, value: f64, threshold: f64) -> bool {
        match self {
            ComparisonOperator::GreaterThanThreshold => value > threshold,
            ComparisonOperator::GreaterThanOrEqualToThreshold => value >= threshold,
            ComparisonOperator::LessThanThreshold => value < threshold,
            ComparisonOperator::LessThanOrEqualToThreshold => value <= threshold,
        }
    }

    /// Wording used in state reasons, as CloudWatch writes them.
    pub fn phrase(self) -> &'static str {
        match self {
            ComparisonOperator::GreaterThanThreshold => "greater than",
            ComparisonOperator::GreaterThanOrEqualToThreshold => "greater than or equal to",
            ComparisonOperator::LessThanThreshold => "less than",
            ComparisonOperator::LessThanOrEqualToThreshold => "less than or equal to",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ComparisonOperator::GreaterThanThreshold => "GreaterThanThreshold",
            ComparisonOperator::GreaterThanOrEqualToThreshold => "GreaterThanOrEqualToThreshold",
            ComparisonOperator::LessThanThreshold => "LessThanThreshold",
            ComparisonOperator::LessThanOrEqualToThreshold => "LessThanOrEqualToThreshold",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TreatMissingData {
    Missing,
    NotBreaching,
    Breaching,
    Ignore,
}

impl TreatMissingData {
    pub fn as_str(self) -> &'static str {
        match self {
            TreatMissingData::Missing => "missing",
            TreatMissingData::NotBreaching => "notBreaching",
            TreatMissingData::Breaching => "breaching",
            TreatMissingData::Ignore => "ignore",
        }
    }
}

/// A metric alarm, field for field the PutMetricAlarm parameters the kit uses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MetricAlarm {
    pub alarm_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alarm_description: Option<String>,
    pub source: AlarmSource,
    pub comparison_operator: ComparisonOperator,
    pub threshold: f64,
    /// N.
    pub evaluation_periods: u32,
    /// M; CloudWatch defaults it to N.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datapoints_to_alarm: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub treat_missing_data: Option<TreatMissingData>,
}

impl MetricAlarm {
    /// A single-metric alarm with 1 out of 1 datapoints and the default missing-data treatment.
    pub fn new(
        name: impl Into<String>,
        source: AlarmSource,
        comparison_operator: ComparisonOperator,
        threshold: f64,
    ) -> Self {
        Self {
            alarm_name: name.into(),
            alarm_description: None,
            source,
            comparison_operator,
            threshold,
            evaluation_periods: 1,
            datapoints_to_alarm: None,
            treat_missing_data: None,
        }
    }

    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.alarm_description = Some(text.into());
        self
    }

    /// M out of N.
    pub fn datapoints(mut self, m: u32, n: u32) -> Self {
        self.datapoints_to_alarm = Some(m);
        self.evaluation_periods = n;
        self
    }

    pub fn missing_data(mut self, treat: TreatMissingData) -> Self {
        self.treat_missing_data = Some(treat);
        self
    }

    /// N as usize, at least 1 (validate() rejects 0).
    pub fn n(&self) -> usize {
        (self.evaluation_periods as usize).max(1)
    }

    /// M as usize, defaulting to N as CloudWatch does.
    pub fn m(&self) -> usize {
        self.datapoints_to_alarm
            .map_or(self.n(), |m| (m as usize).max(1))
    }

    /// The treatment the evaluator applies. CloudWatch documents that alarms on `AWS/DynamoDB`
    /// metrics always ignore missing data, whatever the alarm says.
    pub fn effective_treat_missing_data(&self) -> TreatMissingData {
        let dynamodb = match &self.source {
            AlarmSource::Metric(stat) => stat.metric.namespace == "AWS/DynamoDB",
            AlarmSource::Math(_) => false,
        };
        if dynamodb {
            TreatMissingData::Ignore
        } else {
            self.treat_missing_data
                .unwrap_or(DEFAULT_TREAT_MISSING_DATA)
        }
    }

    /// The number of most recent periods the evaluator considers (see EXTRA_EVALUATION_PERIODS).
    pub fn evaluation_range(&self) -> usize {
        self.n() + EXTRA_EVALUATION_PERIODS
    }

    /// The alarm's period in seconds (math alarms: every metric must share it).
    pub fn period(&self) -> u32 {
        match &self.source {
            AlarmSource::Metric(stat) => stat.period,
            AlarmSource::Math(queries) => queries
                .iter()
                .find_map(|q| match &q.kind {
                    QueryKind::MetricStat(stat) => Some(stat.period),
                    QueryKind::Expression(_) => None,
                })
                .unwrap_or(60),
        }
    }

    /// Checks what PutMetricAlarm would reject, so a bad definition fails a test, not a deploy.
    pub fn validate(&self) -> Result<()> {
        let invalid = |message: String| AlarmError::InvalidDefinition {
            alarm: self.alarm_name.clone(),
            message,
        };
        if self.alarm_name.is_empty() || !self.alarm_name.is_ascii() {
            return Err(invalid("alarm names must be non-empty ASCII".into()));
        }
        if self.evaluation_periods == 0 {
            return Err(invalid("EvaluationPeriods must be at least 1".into()));
        }
        if let Some(m) = self.datapoints_to_alarm
            && (m == 0 || m > self.evaluation_periods)
        {
            return Err(invalid(format!(
                "DatapointsToAlarm {m} must be between 1 and EvaluationPeriods {}",
                self.evaluation_periods
            )));
        }
        if !self.threshold.is_finite() {
            return Err(invalid("Threshold must be finite".into()));
        }
        match &self.source {
            AlarmSource::Metric(stat) => validate_period(stat.period).map_err(invalid)?,
            AlarmSource::Math(queries) => validate_queries(queries).map_err(invalid)?,
        }
        // CloudWatch caps the evaluated window at one day.
        let window = u64::from(self.period()) * u64::from(self.evaluation_periods);
        if window > 86_400 {
            return Err(invalid(format!(
                "Period x EvaluationPeriods is {window}s, over CloudWatch's one-day limit"
            )));
        }
        Ok(())
    }
}

fn validate_period(period: u32) -> std::result::Result<(), String> {
    if matches!(period, 10 | 20 | 30) || (period > 0 && period.is_multiple_of(60)) {
        Ok(())
    } else {
        Err(format!(
            "period {period}s must be 10, 20, 30 or a multiple of 60"
        ))
    }
}

fn validate_queries(queries: &[MetricQuery]) -> std::result::Result<(), String> {
    if queries.is_empty() {
        return Err("metric math needs at least one query".into());
    }
    let returning = queries.iter().filter(|q| q.return_data).count();
    if returning != 1 {
        return Err(format!(
            "exactly one query must have ReturnData true, found {returning}"
        ));
    }
    let mut ids = HashSet::new();
    let mut period = None;
    for q in queries {
        // CloudWatch ids start with a lowercase letter and hold letters, digits and underscores.
        let valid_id = q.id.chars().next().is_some_and(|c| c.is_ascii_lowercase())
            && q.id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid_id {
            return Err(format!("invalid query id {:?}", q.id));
        }
        if !ids.insert(q.id.as_str()) {
            return Err(format!("duplicate query id {:?}", q.id));
        }
        if let QueryKind::MetricStat(stat) = &q.kind {
            validate_period(stat.period)?;
            if *period.get_or_insert(stat.period) != stat.period {
                return Err("every metric of a math alarm must use the same period".into());
            }
        }
    }
    for q in queries {
        if let QueryKind::Expression(text) = &q.kind {
            let expr = Expr::parse(text).map_err(|e| e.to_string())?;
            for id in expr.references() {
                if !ids.contains(id.as_str()) {
                    return Err(format!(
                        "expression {:?} references unknown id {id:?}",
                        q.id
                    ));
                }
            }
        }
    }
    Ok(())
}

/// A composite alarm: a rule over other alarms' states.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CompositeAlarm {
    pub alarm_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alarm_description: Option<String>,
    pub alarm_rule: String,
}

impl CompositeAlarm {
    pub fn new(name: impl Into<String>, rule: impl Into<String>) -> Self {
        Self {
            alarm_name: name.into(),
            alarm_description: None,
            alarm_rule: rule.into(),
        }
    }

    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.alarm_description = Some(text.into());
        self
    }

    pub fn rule(&self) -> Result<Rule> {
        Rule::parse(&self.alarm_rule)
    }

    pub fn validate(&self) -> Result<()> {
        if self.alarm_name.is_empty() || !self.alarm_name.is_ascii() {
            return Err(AlarmError::InvalidDefinition {
                alarm: self.alarm_name.clone(),
                message: "alarm names must be non-empty ASCII".into(),
            });
        }
        self.rule().map(|_| ())
    }
}

/// Either kind of alarm, so one list holds the whole set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Alarm {
    Metric(MetricAlarm),
    Composite(CompositeAlarm),
}

impl Alarm {
    pub fn name(&self) -> &str {
        match self {
            Alarm::Metric(a) => &a.alarm_name,
            Alarm::Composite(a) => &a.alarm_name,
        }
    }
}

impl From<MetricAlarm> for Alarm {
    fn from(a: MetricAlarm) -> Self {
        Alarm::Metric(a)
    }
}

impl From<CompositeAlarm> for Alarm {
    fn from(a: CompositeAlarm) -> Self {
        Alarm::Composite(a)
    }
}
