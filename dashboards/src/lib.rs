//! The order system's CloudWatch dashboards, built from the telemetry catalogue and the AWS
//! service metrics the kit reads, and the generator of template.yaml's dashboards and alarms
//! block. See README.md.

pub mod business;
pub mod check;
pub mod error;
pub mod layout;
pub mod operations;
pub mod template;
pub mod widgets;

/// The AWS service metrics (namespace, name, unit, dimension keys) the dashboards and alarms
/// read, and the local stack records. Defined in the alarms crate, which the alarm set needs
/// them in and which cannot depend on this one; this is the path other crates should use.
pub use alarms::catalog::aws_metrics;
/// The naming scheme: each resource's name on AWS (`Fn::Sub` placeholders) and locally.
pub use alarms::catalog::names;
pub use alarms::catalog::{Target, alarm_set};
pub use error::{Error, Result};

use std::collections::BTreeSet;

use alarm_engine::{Alarm, AlarmSource, QueryKind};
use serde_json::Value;

/// The dashboards the kit ships.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dashboard {
    Operations,
    Business,
}

impl Dashboard {
    pub const ALL: [Dashboard; 2] = [Dashboard::Operations, Dashboard::Business];

    /// The name's suffix (`<stack>-operations` on AWS, `operations` locally).
    pub fn slug(self) -> &'static str {
        match self {
            Dashboard::Operations => "operations",
            Dashboard::Business => "business",
        }
    }

    /// The `AWS::CloudWatch::Dashboard` resource's logical id in template.yaml.
    pub fn logical_id(self) -> &'static str {
        match self {
            Dashboard::Operations => "OperationsDashboard",
            Dashboard::Business => "BusinessDashboard",
        }
    }

    /// The dashboard body (CloudWatch's documented JSON structure) for `target`.
    pub fn render(self, target: Target) -> Value {
        match self {
            Dashboard::Operations => operations::render(target),
            Dashboard::Business => business::render(target),
        }
    }
}

/// Every metric series (namespace, name, dimensions) a dashboard row or an alarm of `target`
/// reads, sorted and without duplicates.
pub fn referenced_series(target: Target) -> Vec<alarm_engine::Metric> {
    let mut out = BTreeSet::new();
    for d in Dashboard::ALL {
        collect_rows(&d.render(target), &mut out);
    }
    for alarm in alarm_set(target) {
        let Alarm::Metric(a) = alarm else { continue };
        match a.source {
            AlarmSource::Metric(s) => {
                out.insert(s.metric);
            }
            AlarmSource::Math(queries) => {
                for q in queries {
                    if let QueryKind::MetricStat(s) = q.kind {
                        out.insert(s.metric);
                    }
                }
            }
        }
    }
    out.into_iter().collect()
}

/// Every (namespace, metric name) a dashboard widget or an alarm references: what the local
/// stack's scenario test must find emitted.
pub fn referenced_metrics() -> Vec<(String, String)> {
    let names: BTreeSet<(String, String)> = referenced_series(Target::Local)
        .into_iter()
        .map(|m| (m.namespace, m.metric_name))
        .collect();
    names.into_iter().collect()
}

fn collect_rows(body: &Value, out: &mut BTreeSet<alarm_engine::Metric>) {
    let widgets = body
        .get("widgets")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for w in widgets {
        let rows = w
            .pointer("/properties/metrics")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        for row in rows {
            let strings: Vec<&str> = row
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if let [namespace, name, dims @ ..] = strings.as_slice() {
                let metric = dims
                    .chunks_exact(2)
                    .fold(alarm_engine::Metric::new(*namespace, *name), |m, kv| {
                        m.dimension(kv[0], kv[1])
                    });
                out.insert(metric);
            }
        }
    }
}
