//! The CloudWatch embedded metric format (EMF): a validator for the specification's rules
//! (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>)
//! plus this kit's own rule that no dimension value looks like an id, and the extraction of
//! datapoints from a valid document, as CloudWatch Logs does (the local metric store uses it).

use crate::catalogue::Unit;
use crate::json::array_at;
use serde_json::{Map, Value};

/// A numeric array target may hold at most this many values.
pub const MAX_VALUES: usize = 100;
/// A directive may define at most this many metrics.
pub const MAX_METRICS: usize = 100;
/// A dimension set may hold at most this many keys.
pub const MAX_DIMENSIONS: usize = 30;
/// CloudWatch Logs' limit for one event, which an EMF document is.
pub const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;
/// Namespace and metric name lengths (PutMetricData's limits; the JSON schema in the
/// specification is looser, but CloudWatch rejects longer ones).
pub const MAX_NAME_CHARS: usize = 255;
/// Dimension keys: the schema's `DimensionReference` limit.
pub const MAX_DIMENSION_KEY_CHARS: usize = 250;
/// Dimension values (the specification's target member limit).
pub const MAX_DIMENSION_VALUE_CHARS: usize = 1024;
/// Timestamps below this (March 1973 in milliseconds) are taken to be seconds by mistake.
const MIN_TIMESTAMP_MS: u64 = 100_000_000_000;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Violation {
    #[error("the document is not a JSON object")]
    NotAnObject,
    #[error("the document is {0} bytes, over CloudWatch Logs' 1 MB event limit")]
    TooLarge(usize),
    #[error("the root has no `_aws` object")]
    MissingMetadata,
    #[error("`_aws.Timestamp` is missing or not an integer number of milliseconds: {0}")]
    Timestamp(String),
    #[error("`_aws.CloudWatchMetrics` is missing or not an array")]
    MissingDirectives,
    #[error("directive {0} is not an object")]
    DirectiveNotObject(usize),
    #[error("directive {directive}: Namespace {reason}")]
    Namespace { directive: usize, reason: String },
    #[error("directive {0}: Dimensions is missing, not an array, or empty")]
    Dimensions(usize),
    #[error("directive {directive}: dimension set {set} is not an array of strings")]
    DimensionSetShape { directive: usize, set: usize },
    #[error("directive {directive}: dimension set {set} has {count} keys, over 30")]
    TooManyDimensions {
        directive: usize,
        set: usize,
        count: usize,
    },
    #[error("dimension key {0:?} is empty, too long, not ASCII or starts with ':'")]
    DimensionKey(String),
    #[error("dimension {0:?} has no member at the root")]
    MissingDimensionValue(String),
    #[error("dimension {0:?} is not a string at the root")]
    DimensionValueNotString(String),
    #[error("dimension {key:?}: value {value:?} {reason}")]
    DimensionValue {
        key: String,
        value: String,
        reason: &'static str,
    },
    #[error("dimension {key:?}: value {value:?} looks like an id; ids belong in properties")]
    IdLikeDimension { key: String, value: String },
    #[error("directive {0}: Metrics is missing or not an array")]
    MetricsShape(usize),
    #[error("directive {directive}: {count} metrics, over 100")]
    TooManyMetrics { directive: usize, count: usize },
    #[error("directive {directive}: metric {index} has no Name of 1 to 255 characters")]
    MetricName { directive: usize, index: usize },
    #[error("metric {name:?}: Unit {unit} is not a CloudWatch unit")]
    Unit { name: String, unit: String },
    #[error("metric {name:?}: StorageResolution {value} is not 1 or 60")]
    StorageResolution { name: String, value: String },
    #[error("metric {0:?} has no member at the root")]
    MissingMetricValue(String),
    #[error("metric {0:?}: the value is not a number or an array of numbers")]
    MetricValueNotNumeric(String),
    #[error("metric {name:?}: {count} values, over 100")]
    TooManyValues { name: String, count: usize },
}

/// Checks `document` against the EMF specification and the no-ids rule. Returns every
/// violation found, not only the first, so a test failure shows the whole picture.
pub fn validate(document: &Value) -> Result<(), Vec<Violation>> {
    let mut out = Vec::new();
    let Some(root) = document.as_object() else {
        return Err(vec![Violation::NotAnObject]);
    };
    let size = document.to_string().len();
    if size > MAX_DOCUMENT_BYTES {
        out.push(Violation::TooLarge(size));
    }
    let Some(aws) = root.get("_aws").and_then(Value::as_object) else {
        out.push(Violation::MissingMetadata);
        return Err(out);
    };
    match aws.get("Timestamp") {
        Some(Value::Number(n)) if n.as_u64().is_some_and(|t| t >= MIN_TIMESTAMP_MS) => {}
        other => out.push(Violation::Timestamp(
            other
                .map(Value::to_string)
                .unwrap_or_else(|| "missing".into()),
        )),
    }
    let Some(directives) = aws.get("CloudWatchMetrics").and_then(Value::as_array) else {
        out.push(Violation::MissingDirectives);
        return Err(out);
    };
    for (i, directive) in directives.iter().enumerate() {
        match directive.as_object() {
            Some(d) => validate_directive(i, d, root, &mut out),
            None => out.push(Violation::DirectiveNotObject(i)),
        }
    }
    if out.is_empty() { Ok(()) } else { Err(out) }
}

fn validate_directive(
    i: usize,
    directive: &Map<String, Value>,
    root: &Map<String, Value>,
    out: &mut Vec<Violation>,
) {
    match directive.get("Namespace").and_then(Value::as_str) {
        None => out.push(Violation::Namespace {
            directive: i,
            reason: "is missing or not a string".into(),
        }),
        Some(ns) if ns.is_empty() || ns.chars().count() > MAX_NAME_CHARS => {
            out.push(Violation::Namespace {
                directive: i,
                reason: format!("must be 1 to 255 characters, is {}", ns.chars().count()),
            })
        }
        Some(ns) if ns.starts_with("AWS/") => out.push(Violation::Namespace {
            directive: i,
            reason: "must not start with AWS/ (reserved for AWS services)".into(),
        }),
        Some(_) => {}
    }

    match directive.get("Dimensions").and_then(Value::as_array) {
        // The schema requires at least one set (it may be empty: `[[]]`).
        None => out.push(Violation::Dimensions(i)),
        Some(sets) if sets.is_empty() => out.push(Violation::Dimensions(i)),
        Some(sets) => {
            for (s, set) in sets.iter().enumerate() {
                let Some(keys) = set.as_array() else {
                    out.push(Violation::DimensionSetShape {
                        directive: i,
                        set: s,
                    });
                    continue;
                };
                if keys.len() > MAX_DIMENSIONS {
                    out.push(Violation::TooManyDimensions {
                        directive: i,
                        set: s,
                        count: keys.len(),
                    });
                }
                for key in keys {
                    let Some(key) = key.as_str() else {
                        out.push(Violation::DimensionSetShape {
                            directive: i,
                            set: s,
                        });
                        continue;
                    };
                    validate_dimension(key, root, out);
                }
            }
        }
    }

    let Some(metrics) = directive.get("Metrics").and_then(Value::as_array) else {
        out.push(Violation::MetricsShape(i));
        return;
    };
    if metrics.len() > MAX_METRICS {
        out.push(Violation::TooManyMetrics {
            directive: i,
            count: metrics.len(),
        });
    }
    for (m, metric) in metrics.iter().enumerate() {
        let name = metric.get("Name").and_then(Value::as_str);
        let Some(name) = name.filter(|n| !n.is_empty() && n.chars().count() <= MAX_NAME_CHARS)
        else {
            out.push(Violation::MetricName {
                directive: i,
                index: m,
            });
            continue;
        };
        match metric.get("Unit") {
            None => {}
            Some(Value::String(u)) if Unit::parse(u).is_some() => {}
            Some(other) => out.push(Violation::Unit {
                name: name.into(),
                unit: other.to_string(),
            }),
        }
        match metric.get("StorageResolution") {
            None => {}
            Some(v) if v.as_u64() == Some(1) || v.as_u64() == Some(60) => {}
            Some(other) => out.push(Violation::StorageResolution {
                name: name.into(),
                value: other.to_string(),
            }),
        }
        match root.get(name) {
            None => out.push(Violation::MissingMetricValue(name.into())),
            Some(Value::Number(_)) => {}
            Some(Value::Array(values)) => {
                if !values.iter().all(Value::is_number) {
                    out.push(Violation::MetricValueNotNumeric(name.into()));
                }
                if values.len() > MAX_VALUES {
                    out.push(Violation::TooManyValues {
                        name: name.into(),
                        count: values.len(),
                    });
                }
            }
            Some(_) => out.push(Violation::MetricValueNotNumeric(name.into())),
        }
    }
}

fn validate_dimension(key: &str, root: &Map<String, Value>, out: &mut Vec<Violation>) {
    // CloudWatch's Dimension.Name rules: ASCII, a non-space character, no leading colon.
    if key.is_empty()
        || key.len() > MAX_DIMENSION_KEY_CHARS
        || !key.is_ascii()
        || key.starts_with(':')
        || key.trim().is_empty()
        || key.chars().any(|c| c.is_ascii_control())
    {
        out.push(Violation::DimensionKey(key.into()));
    }
    let value = match root.get(key) {
        None => return out.push(Violation::MissingDimensionValue(key.into())),
        Some(Value::String(v)) => v,
        Some(_) => return out.push(Violation::DimensionValueNotString(key.into())),
    };
    if let Some(reason) = value_problem(value) {
        out.push(Violation::DimensionValue {
            key: key.into(),
            value: value.clone(),
            reason,
        });
    } else if is_id_like(value) {
        out.push(Violation::IdLikeDimension {
            key: key.into(),
            value: value.clone(),
        });
    }
}

/// What CloudWatch's Dimension.Value rules say against `value`, if anything.
pub(crate) fn value_problem(value: &str) -> Option<&'static str> {
    if value.trim().is_empty() {
        Some("is empty or blank")
    } else if value.chars().count() > MAX_DIMENSION_VALUE_CHARS {
        Some("is longer than 1024 characters")
    } else if !value.is_ascii() || value.chars().any(|c| c.is_ascii_control()) {
        Some("has non-ASCII or control characters")
    } else {
        None
    }
}

/// Whether `value` looks like an identifier rather than a member of a small closed set.
///
/// Id-like means any of:
/// - it contains a UUID (8-4-4-4-12 hex digits: order ids, Lambda request ids, SQS message ids);
/// - it contains a run of 12 or more hex digits with at least one decimal digit (hashes, the
///   X-Ray trace id's parts, the local stack's request ids);
/// - it contains a run of 8 or more decimal digits (timestamps, account and numeric ids);
/// - one of its alphanumeric tokens (split on anything else) is 16 or more characters and mixes
///   letters and digits (ULIDs, API Gateway request ids, random tokens).
///
/// Closed-set values such as `PENDING_REVIEW`, `DependencyFailure` or `prod` match none.
pub fn is_id_like(value: &str) -> bool {
    let bytes = value.as_bytes();
    let has_uuid = bytes.windows(36).any(|w| {
        w.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
    });
    if has_uuid {
        return true;
    }
    let runs = |pred: fn(&u8) -> bool| {
        bytes
            .split(move |b| !pred(b))
            .filter(|r| !r.is_empty())
            .collect::<Vec<_>>()
    };
    let long_hex = runs(u8::is_ascii_hexdigit)
        .into_iter()
        .any(|r| r.len() >= 12 && r.iter().any(u8::is_ascii_digit));
    let long_number = runs(u8::is_ascii_digit).into_iter().any(|r| r.len() >= 8);
    let mixed_token = runs(u8::is_ascii_alphanumeric).into_iter().any(|r| {
        r.len() >= 16 && r.iter().any(u8::is_ascii_digit) && r.iter().any(u8::is_ascii_alphabetic)
    });
    long_hex || long_number || mixed_token
}

/// One metric value set extracted from a document: what CloudWatch would store.
#[derive(Debug, Clone, PartialEq)]
pub struct Datapoint {
    pub namespace: String,
    pub name: String,
    /// `None` when the document gave no unit (CloudWatch's `None`).
    pub unit: Unit,
    /// Dimension name and value, in the dimension set's order.
    pub dimensions: Vec<(String, String)>,
    pub values: Vec<f64>,
    pub timestamp_ms: u64,
}

/// Extracts the datapoints of a valid document: one per metric per dimension set, as
/// CloudWatch Logs does. Returns the violations instead when the document is invalid.
pub fn datapoints(document: &Value) -> Result<Vec<Datapoint>, Vec<Violation>> {
    validate(document)?;
    let mut out = Vec::new();
    let timestamp_ms = document
        .pointer("/_aws/Timestamp")
        .and_then(Value::as_u64)
        .unwrap_or_default();
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    for directive in array_at(document, "/_aws/CloudWatchMetrics") {
        let namespace = directive.get("Namespace").map(text).unwrap_or_default();
        let sets = array_at(directive, "/Dimensions");
        let metrics = array_at(directive, "/Metrics");
        for metric in metrics {
            let name = metric.get("Name").map(text).unwrap_or_default();
            let unit = metric
                .get("Unit")
                .and_then(Value::as_str)
                .and_then(Unit::parse)
                .unwrap_or(Unit::None);
            let values = match document.get(&name) {
                Some(Value::Array(vs)) => vs.iter().filter_map(Value::as_f64).collect(),
                Some(v) => v.as_f64().into_iter().collect(),
                None => Vec::new(),
            };
            for set in sets {
                let dimensions = set
                    .as_array()
                    .map(Vec::as_slice)
                    .unwrap_or_default()
                    .iter()
                    .map(|k| {
                        let key = text(k);
                        let value = document.get(&key).map(text).unwrap_or_default();
                        (key, value)
                    })
                    .collect();
                out.push(Datapoint {
                    namespace: namespace.clone(),
                    name: name.clone(),
                    unit,
                    dimensions,
                    values: values.clone(),
                    timestamp_ms,
                });
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn good() -> Value {
        json!({
            "_aws": {
                "Timestamp": 1_700_000_000_000u64,
                "CloudWatchMetrics": [{
                    "Namespace": "OrderKit",
                    "Dimensions": [["Service", "Environment", "Status"]],
                    "Metrics": [
                        {"Name": "OrdersProcessed", "Unit": "Count"},
                        {"Name": "ProcessingLag", "Unit": "Milliseconds", "StorageResolution": 60},
                        {"Name": "OrderValue"}
                    ]
                }]
            },
            "Service": "orders",
            "Environment": "dev",
            "Status": "CONFIRMED",
            "OrdersProcessed": 3,
            "ProcessingLag": [12.5, 40.0],
            "OrderValue": 99.5,
            "OrderId": "0b9f6f2e-5c1e-4d8e-9a57-3f1b2f0c9d11"
        })
    }

    fn violations(doc: &Value) -> Vec<Violation> {
        validate(doc).expect_err("the document should be invalid")
    }

    #[test]
    fn the_specifications_example_and_ours_are_valid() {
        assert_eq!(validate(&good()), Ok(()));
        let spec = json!({
            "_aws": {"Timestamp": 1574109732004u64, "CloudWatchMetrics": [{
                "Namespace": "lambda-function-metrics",
                "Dimensions": [["functionVersion"]],
                "Metrics": [{"Name": "time", "Unit": "Milliseconds", "StorageResolution": 60}]
            }]},
            "functionVersion": "$LATEST",
            "time": 100,
            "requestId": "989ffbf8-9ace-4817-a57c-e4dd734019ee"
        });
        assert_eq!(validate(&spec), Ok(()));
    }

    #[test]
    fn structure_errors() {
        assert_eq!(violations(&json!([1])), [Violation::NotAnObject]);
        assert_eq!(violations(&json!({"a": 1})), [Violation::MissingMetadata]);
        let mut d = good();
        d["_aws"]["Timestamp"] = json!(1_700_000_000); // seconds, not milliseconds
        assert!(matches!(violations(&d)[..], [Violation::Timestamp(_)]));
        d["_aws"]["Timestamp"] = json!("1700000000000");
        assert!(matches!(violations(&d)[..], [Violation::Timestamp(_)]));
        let mut d = good();
        d["_aws"]
            .as_object_mut()
            .unwrap()
            .remove("CloudWatchMetrics");
        assert_eq!(violations(&d), [Violation::MissingDirectives]);
        let mut d = good();
        d["_aws"]["CloudWatchMetrics"][0]["Namespace"] = json!("");
        assert!(matches!(violations(&d)[..], [Violation::Namespace { .. }]));
        d["_aws"]["CloudWatchMetrics"][0]["Namespace"] = json!("N".repeat(256));
        assert!(matches!(violations(&d)[..], [Violation::Namespace { .. }]));
        let mut d = good();
        d["_aws"]["CloudWatchMetrics"][0]["Dimensions"] = json!([]);
        assert_eq!(violations(&d), [Violation::Dimensions(0)]);
        d["_aws"]["CloudWatchMetrics"][0]["Dimensions"] = json!([[]]);
        assert_eq!(validate(&d), Ok(()), "an empty dimension set is allowed");
    }

    #[test]
    fn dimension_errors() {
        let mut d = good();
        let keys: Vec<String> = (0..31).map(|i| format!("D{i}")).collect();
        for k in &keys {
            d[k] = json!("x");
        }
        d["_aws"]["CloudWatchMetrics"][0]["Dimensions"] = json!([keys]);
        assert_eq!(
            violations(&d),
            [Violation::TooManyDimensions {
                directive: 0,
                set: 0,
                count: 31
            }]
        );
        let mut d = good();
        d.as_object_mut().unwrap().remove("Status");
        assert_eq!(
            violations(&d),
            [Violation::MissingDimensionValue("Status".into())]
        );
        d["Status"] = json!(1);
        assert_eq!(
            violations(&d),
            [Violation::DimensionValueNotString("Status".into())]
        );
        d["Status"] = json!(" ");
        assert!(matches!(
            violations(&d)[..],
            [Violation::DimensionValue { .. }]
        ));
        d["Status"] = json!("x".repeat(1025));
        assert!(matches!(
            violations(&d)[..],
            [Violation::DimensionValue { .. }]
        ));
        d["Status"] = json!("bestätigt");
        assert!(matches!(
            violations(&d)[..],
            [Violation::DimensionValue { .. }]
        ));
        d["Status"] = json!("0b9f6f2e-5c1e-4d8e-9a57-3f1b2f0c9d11");
        assert!(matches!(
            violations(&d)[..],
            [Violation::IdLikeDimension { .. }]
        ));
        let mut d = good();
        d["_aws"]["CloudWatchMetrics"][0]["Dimensions"] = json!([[":x"]]);
        d[":x"] = json!("a");
        assert_eq!(violations(&d), [Violation::DimensionKey(":x".into())]);
    }

    #[test]
    fn metric_errors() {
        let mut d = good();
        let many: Vec<Value> = (0..101)
            .map(|i| {
                d[format!("M{i}")] = json!(1);
                json!({"Name": format!("M{i}")})
            })
            .collect();
        d["_aws"]["CloudWatchMetrics"][0]["Metrics"] = json!(many);
        assert_eq!(
            violations(&d),
            [Violation::TooManyMetrics {
                directive: 0,
                count: 101
            }]
        );
        let mut d = good();
        d["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"] = json!("Counts");
        assert!(matches!(violations(&d)[..], [Violation::Unit { .. }]));
        let mut d = good();
        d["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"] = json!("");
        assert!(matches!(violations(&d)[..], [Violation::MetricName { .. }]));
        let mut d = good();
        d["_aws"]["CloudWatchMetrics"][0]["Metrics"][1]["StorageResolution"] = json!(5);
        assert!(matches!(
            violations(&d)[..],
            [Violation::StorageResolution { .. }]
        ));
        let mut d = good();
        d["ProcessingLag"] = json!((0..101).collect::<Vec<_>>());
        assert_eq!(
            violations(&d),
            [Violation::TooManyValues {
                name: "ProcessingLag".into(),
                count: 101
            }]
        );
        d["ProcessingLag"] = json!((0..100).collect::<Vec<_>>());
        assert_eq!(validate(&d), Ok(()));
        d["ProcessingLag"] = json!([1, "2"]);
        assert_eq!(
            violations(&d),
            [Violation::MetricValueNotNumeric("ProcessingLag".into())]
        );
        d["ProcessingLag"] = json!("12");
        assert_eq!(
            violations(&d),
            [Violation::MetricValueNotNumeric("ProcessingLag".into())]
        );
        d.as_object_mut().unwrap().remove("ProcessingLag");
        assert_eq!(
            violations(&d),
            [Violation::MissingMetricValue("ProcessingLag".into())]
        );
    }

    #[test]
    fn oversized_documents_fail() {
        let mut d = good();
        d["Blob"] = json!("x".repeat(MAX_DOCUMENT_BYTES));
        assert!(matches!(violations(&d)[..], [Violation::TooLarge(_)]));
    }

    #[test]
    fn id_like_values() {
        for id in [
            "0b9f6f2e-5c1e-4d8e-9a57-3f1b2f0c9d11",
            "order-0B9F6F2E-5C1E-4D8E-9A57-3F1B2F0C9D11",
            "1-5759e988-bd862e3fe1be46a994272793",
            "1a2b3c4d-local-00000000002a",
            "d41d8cd98f00b204e9800998ecf8427e",
            "1700000000000",
            "01ARZ3NDEKTSV4RRFFQ69G5FAV",
            "cust_4f9Kx2LmQ8rTz7Wb",
        ] {
            assert!(is_id_like(id), "{id} should be id-like");
        }
        for closed in [
            "CONFIRMED",
            "PENDING_APPROVAL",
            "DependencyFailure",
            "MalformedJson",
            "orders",
            "prod",
            "local",
            "PutOrder",
            "$LATEST",
            "v2",
            "deadbeefcafe",
        ] {
            assert!(!is_id_like(closed), "{closed} should not be id-like");
        }
    }

    #[test]
    fn datapoints_follow_each_dimension_set() {
        let mut d = good();
        d["_aws"]["CloudWatchMetrics"][0]["Dimensions"] =
            json!([["Service", "Environment", "Status"], ["Service"]]);
        let points = datapoints(&d).unwrap();
        assert_eq!(points.len(), 6);
        let lag = &points[2];
        assert_eq!(lag.name, "ProcessingLag");
        assert_eq!(lag.unit, Unit::Milliseconds);
        assert_eq!(lag.values, [12.5, 40.0]);
        assert_eq!(
            lag.dimensions,
            [
                ("Service".to_string(), "orders".to_string()),
                ("Environment".into(), "dev".into()),
                ("Status".into(), "CONFIRMED".into())
            ]
        );
        assert_eq!(points[4].unit, Unit::None, "OrderValue has no unit");
        assert_eq!(points[1].dimensions.len(), 1);
        assert!(datapoints(&json!({})).is_err());
    }
}
