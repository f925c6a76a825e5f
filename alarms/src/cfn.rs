//! CloudFormation rendering: `AWS::CloudWatch::Alarm` and `AWS::CloudWatch::CompositeAlarm`
//! resources from the same definitions the local evaluator runs, so local and cloud cannot drift.
//!
//! Strings may hold `${Name}` placeholders (a function name, a queue name, the stage). A string
//! that is exactly `${Name}` with `Name` in `substitutions` becomes that JSON value (for example
//! `{"Ref": "OrdersFunction"}`); any other string with `${` becomes `{"Fn::Sub": string}`, which
//! CloudFormation resolves against the template's parameters and resources.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use alarm_engine::model::DEFAULT_TREAT_MISSING_DATA;
use alarm_engine::{
    AlarmSource, CompositeAlarm, Dimension, Metric, MetricAlarm, MetricStat, QueryKind,
};

pub type Substitutions = BTreeMap<String, Value>;

/// A definition rendered as its CloudFormation resource. A trait because the definitions are
/// the engine's, which knows nothing of templates.
pub trait ToCloudFormation {
    /// The resource (Type and Properties). Actions are left to the caller, which knows the SNS
    /// topic's logical id.
    fn to_cloudformation(&self, substitutions: &Substitutions) -> Value;
}

fn text(s: &str, subs: &Substitutions) -> Value {
    if let Some(name) = s.strip_prefix("${").and_then(|r| r.strip_suffix('}'))
        && let Some(v) = subs.get(name)
    {
        return v.clone();
    }
    if s.contains("${") {
        json!({ "Fn::Sub": s })
    } else {
        Value::String(s.to_string())
    }
}

fn dimensions(dims: &[Dimension], subs: &Substitutions) -> Value {
    Value::Array(
        dims.iter()
            .map(|d| json!({ "Name": d.name, "Value": text(&d.value, subs) }))
            .collect(),
    )
}

fn metric(m: &Metric, subs: &Substitutions) -> Value {
    let mut o = Map::new();
    o.insert("Namespace".into(), text(&m.namespace, subs));
    o.insert("MetricName".into(), text(&m.metric_name, subs));
    if !m.dimensions.is_empty() {
        o.insert("Dimensions".into(), dimensions(&m.dimensions, subs));
    }
    Value::Object(o)
}

fn metric_stat(s: &MetricStat, subs: &Substitutions) -> Value {
    json!({
        "Metric": metric(&s.metric, subs),
        "Period": s.period,
        "Stat": s.stat.to_string(),
    })
}

/// `AWS::CloudWatch::Alarm`.
impl ToCloudFormation for MetricAlarm {
    fn to_cloudformation(&self, substitutions: &Substitutions) -> Value {
        let subs = substitutions;
        let mut p = Map::new();
        p.insert("AlarmName".into(), text(&self.alarm_name, subs));
        if let Some(d) = &self.alarm_description {
            p.insert("AlarmDescription".into(), text(d, subs));
        }
        match &self.source {
            AlarmSource::Metric(s) => {
                if let Value::Object(m) = metric(&s.metric, subs) {
                    p.extend(m);
                }
                let key = if s.stat.is_extended() {
                    "ExtendedStatistic"
                } else {
                    "Statistic"
                };
                p.insert(key.into(), json!(s.stat.to_string()));
                p.insert("Period".into(), json!(s.period));
            }
            AlarmSource::Math(queries) => {
                let metrics: Vec<Value> = queries
                    .iter()
                    .map(|q| {
                        let mut o = Map::new();
                        o.insert("Id".into(), json!(q.id));
                        match &q.kind {
                            QueryKind::MetricStat(s) => {
                                o.insert("MetricStat".into(), metric_stat(s, subs));
                            }
                            QueryKind::Expression(e) => {
                                o.insert("Expression".into(), json!(e));
                            }
                        }
                        if let Some(l) = &q.label {
                            o.insert("Label".into(), text(l, subs));
                        }
                        o.insert("ReturnData".into(), json!(q.return_data));
                        Value::Object(o)
                    })
                    .collect();
                p.insert("Metrics".into(), Value::Array(metrics));
            }
        }
        p.insert(
            "ComparisonOperator".into(),
            json!(self.comparison_operator.as_str()),
        );
        p.insert("Threshold".into(), json!(self.threshold));
        p.insert("EvaluationPeriods".into(), json!(self.evaluation_periods));
        p.insert("DatapointsToAlarm".into(), json!(self.m()));
        p.insert(
            "TreatMissingData".into(),
            json!(
                self.treat_missing_data
                    .unwrap_or(DEFAULT_TREAT_MISSING_DATA)
                    .as_str()
            ),
        );
        json!({ "Type": "AWS::CloudWatch::Alarm", "Properties": Value::Object(p) })
    }
}

/// `AWS::CloudWatch::CompositeAlarm`. Child names in the rule are kept as written; when they
/// hold `${..}` the whole rule becomes an `Fn::Sub`.
impl ToCloudFormation for CompositeAlarm {
    fn to_cloudformation(&self, substitutions: &Substitutions) -> Value {
        let mut p = Map::new();
        p.insert("AlarmName".into(), text(&self.alarm_name, substitutions));
        if let Some(d) = &self.alarm_description {
            p.insert("AlarmDescription".into(), text(d, substitutions));
        }
        p.insert("AlarmRule".into(), text(&self.alarm_rule, substitutions));
        json!({ "Type": "AWS::CloudWatch::CompositeAlarm", "Properties": Value::Object(p) })
    }
}
