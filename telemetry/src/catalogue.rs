//! The one list of every metric the order system emits: name, CloudWatch unit, kind and
//! dimensions. Handlers record through the typed functions of [`crate::metrics`], dashboards
//! and alarms reference names from [`CATALOGUE`], and tests check both against it, so a renamed
//! metric cannot silently leave a widget or alarm reading nothing.
//!
//! Dimension values come only from the closed enums below: a dimension is part of a metric's
//! identity, so an id as a dimension value would create one CloudWatch metric per order (cost
//! and a useless graph). Ids go into EMF properties instead ([`crate::metrics::property`]).

use crate::json::array_at;
use serde_json::Value;

/// The service name (`SERVICE_NAME` in template.yaml's Globals): the `service` of every log
/// line and the `Service` dimension of every metric, on AWS and locally.
pub const SERVICE_NAME: &str = "orders";
/// The CloudWatch namespace of every business metric.
pub const NAMESPACE: &str = "OrderKit";
/// Default dimension: the service (`SERVICE_NAME`, "orders").
pub const SERVICE: &str = "Service";
/// Default dimension: the deployment stage (`ENVIRONMENT`: dev, staging, prod; "local" locally).
pub const ENVIRONMENT: &str = "Environment";
/// The default dimensions, in the order they appear in every dimension set.
pub const DEFAULT_DIMENSIONS: [&str; 2] = [SERVICE, ENVIRONMENT];

/// CloudWatch's metric units (MetricDatum `Unit`, the EMF specification's list).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Unit {
    Seconds,
    Microseconds,
    Milliseconds,
    Bytes,
    Kilobytes,
    Megabytes,
    Gigabytes,
    Terabytes,
    Bits,
    Kilobits,
    Megabits,
    Gigabits,
    Terabits,
    Percent,
    Count,
    BytesPerSecond,
    KilobytesPerSecond,
    MegabytesPerSecond,
    GigabytesPerSecond,
    TerabytesPerSecond,
    BitsPerSecond,
    KilobitsPerSecond,
    MegabitsPerSecond,
    GigabitsPerSecond,
    TerabitsPerSecond,
    CountPerSecond,
    None,
}

impl Unit {
    pub const ALL: [Unit; 27] = [
        Unit::Seconds,
        Unit::Microseconds,
        Unit::Milliseconds,
        Unit::Bytes,
        Unit::Kilobytes,
        Unit::Megabytes,
        Unit::Gigabytes,
        Unit::Terabytes,
        Unit::Bits,
        Unit::Kilobits,
        Unit::Megabits,
        Unit::Gigabits,
        Unit::Terabits,
        Unit::Percent,
        Unit::Count,
        Unit::BytesPerSecond,
        Unit::KilobytesPerSecond,
        Unit::MegabytesPerSecond,
        Unit::GigabytesPerSecond,
        Unit::TerabytesPerSecond,
        Unit::BitsPerSecond,
        Unit::KilobitsPerSecond,
        Unit::MegabitsPerSecond,
        Unit::GigabitsPerSecond,
        Unit::TerabitsPerSecond,
        Unit::CountPerSecond,
        Unit::None,
    ];

    /// The spelling CloudWatch accepts.
    pub const fn as_str(self) -> &'static str {
        match self {
            Unit::Seconds => "Seconds",
            Unit::Microseconds => "Microseconds",
            Unit::Milliseconds => "Milliseconds",
            Unit::Bytes => "Bytes",
            Unit::Kilobytes => "Kilobytes",
            Unit::Megabytes => "Megabytes",
            Unit::Gigabytes => "Gigabytes",
            Unit::Terabytes => "Terabytes",
            Unit::Bits => "Bits",
            Unit::Kilobits => "Kilobits",
            Unit::Megabits => "Megabits",
            Unit::Gigabits => "Gigabits",
            Unit::Terabits => "Terabits",
            Unit::Percent => "Percent",
            Unit::Count => "Count",
            Unit::BytesPerSecond => "Bytes/Second",
            Unit::KilobytesPerSecond => "Kilobytes/Second",
            Unit::MegabytesPerSecond => "Megabytes/Second",
            Unit::GigabytesPerSecond => "Gigabytes/Second",
            Unit::TerabytesPerSecond => "Terabytes/Second",
            Unit::BitsPerSecond => "Bits/Second",
            Unit::KilobitsPerSecond => "Kilobits/Second",
            Unit::MegabitsPerSecond => "Megabits/Second",
            Unit::GigabitsPerSecond => "Gigabits/Second",
            Unit::TerabitsPerSecond => "Terabits/Second",
            Unit::CountPerSecond => "Count/Second",
            Unit::None => "None",
        }
    }

    pub fn parse(text: &str) -> Option<Unit> {
        Unit::ALL.into_iter().find(|u| u.as_str() == text)
    }

    /// The `metrics` crate unit that metrics-cloudwatch-embedded writes as this unit's
    /// spelling. `None` for [`Unit::None`] (the facade has no such unit, and EMF's default for
    /// a missing `Unit` is None) and for units the facade cannot express.
    pub fn to_facade(self) -> Option<metrics::Unit> {
        use metrics::Unit as F;
        Some(match self {
            Unit::Seconds => F::Seconds,
            Unit::Microseconds => F::Microseconds,
            Unit::Milliseconds => F::Milliseconds,
            Unit::Bytes => F::Bytes,
            Unit::Kilobytes => F::Kibibytes,
            Unit::Megabytes => F::Mebibytes,
            Unit::Gigabytes => F::Gibibytes,
            Unit::Terabytes => F::Tebibytes,
            Unit::Percent => F::Percent,
            Unit::Count => F::Count,
            Unit::BitsPerSecond => F::BitsPerSecond,
            Unit::KilobitsPerSecond => F::KilobitsPerSecond,
            Unit::MegabitsPerSecond => F::MegabitsPerSecond,
            Unit::GigabitsPerSecond => F::GigabitsPerSecond,
            Unit::TerabitsPerSecond => F::TerabitsPerSecond,
            Unit::CountPerSecond => F::CountPerSecond,
            _ => return None,
        })
    }

    /// What an EMF document says for this unit: nothing for None (the specification's
    /// default), which is also what metrics-cloudwatch-embedded writes.
    pub fn emf_value(self) -> Option<&'static str> {
        match self {
            Unit::None => None,
            unit => Some(unit.as_str()),
        }
    }
}

/// How values are aggregated before a flush.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Summed over the invocation; one number per document.
    Counter,
    /// Every value kept (up to 100 per document); CloudWatch computes percentiles.
    Histogram,
}

/// One extra dimension of a metric: its key and the closed set of values it may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DimensionDef {
    pub key: &'static str,
    pub values: &'static [&'static str],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricDef {
    pub metric: Metric,
    pub name: &'static str,
    pub unit: Unit,
    pub kind: Kind,
    /// Extra dimensions besides [`DEFAULT_DIMENSIONS`].
    pub dimensions: &'static [DimensionDef],
    pub description: &'static str,
}

impl MetricDef {
    /// The dimension keys of this metric's one dimension set, defaults first.
    pub fn dimension_keys(&self) -> Vec<&'static str> {
        DEFAULT_DIMENSIONS
            .into_iter()
            .chain(self.dimensions.iter().map(|d| d.key))
            .collect()
    }
}

/// A closed set of dimension values: the only way a value reaches a dimension.
pub trait DimensionValue: Copy + 'static {
    const KEY: &'static str;
    const VALUES: &'static [&'static str];
    fn as_str(self) -> &'static str;
    fn definition() -> DimensionDef {
        DimensionDef {
            key: Self::KEY,
            values: Self::VALUES,
        }
    }
}

macro_rules! closed_set {
    ($(#[$meta:meta])* $name:ident = $key:literal { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub const DIMENSION: DimensionDef = DimensionDef { key: $key, values: &[$($text),+] };
        }

        impl DimensionValue for $name {
            const KEY: &'static str = $key;
            const VALUES: &'static [&'static str] = &[$($text),+];
            fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }
    };
}

closed_set! {
    /// Why a create-order request was rejected.
    ValidationReason = "Reason" {
        MissingField => "MissingField",
        WrongType => "WrongType",
        UnknownField => "UnknownField",
        OutOfRange => "OutOfRange",
        MalformedJson => "MalformedJson",
        TooLarge => "TooLarge",
    }
}

closed_set! {
    /// Whether GET /orders/{id} found the order.
    LookupResult = "Result" {
        Found => "Found",
        NotFound => "NotFound",
    }
}

closed_set! {
    /// The status the processor moved an order to (spelled as the API spells statuses).
    ProcessedStatus = "Status" {
        Confirmed => "CONFIRMED",
        PendingReview => "PENDING_REVIEW",
        PendingApproval => "PENDING_APPROVAL",
    }
}

closed_set! {
    /// Why the processor failed a record.
    ProcessingError = "ErrorType" {
        MalformedMessage => "MalformedMessage",
        OrderNotFound => "OrderNotFound",
        DependencyFailure => "DependencyFailure",
        // A fault the chaos layer injected into this record (a poison message, a failure rate).
        InjectedFault => "InjectedFault",
    }
}

closed_set! {
    /// A call to DynamoDB, SQS or Secrets Manager, named after what it does for the system.
    Operation = "Operation" {
        PutOrder => "PutOrder",
        GetOrder => "GetOrder",
        QueryOrders => "QueryOrders",
        UpdateOrder => "UpdateOrder",
        SendMessage => "SendMessage",
        GetSecret => "GetSecret",
        HealthCheck => "HealthCheck",
    }
}

closed_set! {
    /// A chaos fault that fired (chaos/README.md).
    Fault = "Fault" {
        BatchFailure => "BatchFailure",
        RecordFailure => "RecordFailure",
        Latency => "Latency",
        PoisonMessage => "PoisonMessage",
        ApiError => "ApiError",
        ApiLatency => "ApiLatency",
        DependencyError => "DependencyError",
        DependencyLatency => "DependencyLatency",
        Timeout => "Timeout",
    }
}

/// Every metric, in [`CATALOGUE`] order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    OrdersCreated,
    ValidationFailures,
    OrderValue,
    ItemsPerOrder,
    OrdersPublished,
    PublishFailures,
    OrderLookups,
    OrdersProcessed,
    ProcessingFailures,
    DuplicatesSkipped,
    BatchItemFailures,
    ProcessingLag,
    DependencyLatency,
    ChaosInjections,
    ColdStart,
    ConsumedWriteUnits,
    ConsumedReadUnits,
}

impl Metric {
    pub fn def(self) -> &'static MetricDef {
        // CATALOGUE is in enum order (a test checks it), so the index is the discriminant.
        &CATALOGUE[self as usize]
    }

    pub fn name(self) -> &'static str {
        self.def().name
    }
}

const fn counter(
    metric: Metric,
    name: &'static str,
    dimensions: &'static [DimensionDef],
    description: &'static str,
) -> MetricDef {
    MetricDef {
        metric,
        name,
        unit: Unit::Count,
        kind: Kind::Counter,
        dimensions,
        description,
    }
}

const fn histogram(
    metric: Metric,
    name: &'static str,
    unit: Unit,
    dimensions: &'static [DimensionDef],
    description: &'static str,
) -> MetricDef {
    MetricDef {
        metric,
        name,
        unit,
        kind: Kind::Histogram,
        dimensions,
        description,
    }
}

/// The catalogue. Order matches [`Metric`].
pub const CATALOGUE: &[MetricDef] = &[
    counter(
        Metric::OrdersCreated,
        "OrdersCreated",
        &[],
        "Orders accepted by POST /orders (new, not idempotent replays).",
    ),
    counter(
        Metric::ValidationFailures,
        "ValidationFailures",
        &[ValidationReason::DIMENSION],
        "Create requests rejected with 400, by reason.",
    ),
    histogram(
        Metric::OrderValue,
        "OrderValue",
        Unit::None,
        &[],
        "The total of each created order, in the order's currency units.",
    ),
    histogram(
        Metric::ItemsPerOrder,
        "ItemsPerOrder",
        Unit::Count,
        &[],
        "Line items of each created order.",
    ),
    counter(
        Metric::OrdersPublished,
        "OrdersPublished",
        &[],
        "OrderCreated messages the publisher sent to the queue, from the outbox.",
    ),
    counter(
        Metric::PublishFailures,
        "PublishFailures",
        &[],
        "OrderCreated messages that could not be sent (they stay in the outbox and are sent again).",
    ),
    counter(
        Metric::OrderLookups,
        "OrderLookups",
        &[LookupResult::DIMENSION],
        "GET /orders/{id}, by whether the order exists.",
    ),
    counter(
        Metric::OrdersProcessed,
        "OrdersProcessed",
        &[ProcessedStatus::DIMENSION],
        "Orders the processor moved out of PENDING, by resulting status.",
    ),
    counter(
        Metric::ProcessingFailures,
        "ProcessingFailures",
        &[ProcessingError::DIMENSION],
        "Records the processor failed (returned as batch item failures), by error type.",
    ),
    counter(
        Metric::DuplicatesSkipped,
        "DuplicatesSkipped",
        &[],
        "Redelivered messages for orders already processed.",
    ),
    counter(
        Metric::BatchItemFailures,
        "BatchItemFailures",
        &[],
        "Items reported back to SQS as failed, summed over batches.",
    ),
    histogram(
        Metric::ProcessingLag,
        "ProcessingLag",
        Unit::Milliseconds,
        &[],
        "Time from an order's creation to its processing.",
    ),
    histogram(
        Metric::DependencyLatency,
        "DependencyLatency",
        Unit::Milliseconds,
        &[Operation::DIMENSION],
        "Duration of each store or queue call, by operation.",
    ),
    counter(
        Metric::ChaosInjections,
        "ChaosInjections",
        &[Fault::DIMENSION],
        "Faults injected by the chaos layer, by fault.",
    ),
    counter(
        Metric::ColdStart,
        "ColdStart",
        &[],
        "Invocations that ran in a new instance (one per instance).",
    ),
    histogram(
        Metric::ConsumedWriteUnits,
        "ConsumedWriteUnits",
        Unit::Count,
        &[Operation::DIMENSION],
        "DynamoDB write capacity units each store call consumed, as DynamoDB reports them \
         (ReturnConsumedCapacity), by operation: what each operation costs.",
    ),
    histogram(
        Metric::ConsumedReadUnits,
        "ConsumedReadUnits",
        Unit::Count,
        &[Operation::DIMENSION],
        "DynamoDB read capacity units each store call consumed, as DynamoDB reports them \
         (ReturnConsumedCapacity), by operation.",
    ),
];

/// The definition of the metric called `name`.
pub fn find(name: &str) -> Option<&'static MetricDef> {
    CATALOGUE.iter().find(|d| d.name == name)
}

/// Why a document does not match the catalogue.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Mismatch {
    #[error("namespace {0:?} is not {NAMESPACE:?}")]
    Namespace(String),
    #[error("metric {0:?} is not in the catalogue")]
    UnknownMetric(String),
    #[error("metric {name}: unit {found:?}, the catalogue says {expected:?}")]
    WrongUnit {
        name: String,
        expected: &'static str,
        found: String,
    },
    #[error("metric {name}: dimension set {found:?}, the catalogue says {expected:?}")]
    WrongDimensions {
        name: String,
        expected: Vec<&'static str>,
        found: Vec<String>,
    },
    #[error("metric {name}: {key}={value:?} is not one of the catalogue's values")]
    ValueNotAllowed {
        name: String,
        key: &'static str,
        value: String,
    },
}

/// Checks an EMF document (already valid by [`crate::emf::validate`]) against the catalogue:
/// the namespace, that every metric is catalogued with its unit, that each dimension set is
/// exactly the defaults plus the metric's own keys, and that every value is from its set.
pub fn check(document: &Value) -> Result<(), Vec<Mismatch>> {
    let mut out = Vec::new();
    for directive in array_at(document, "/_aws/CloudWatchMetrics") {
        let namespace = directive.get("Namespace").and_then(Value::as_str);
        if namespace != Some(NAMESPACE) {
            out.push(Mismatch::Namespace(
                namespace.unwrap_or_default().to_owned(),
            ));
        }
        let sets: Vec<Vec<String>> = array_at(directive, "/Dimensions")
            .iter()
            .map(|set| {
                array_at(set, "")
                    .iter()
                    .filter_map(|k| k.as_str().map(str::to_owned))
                    .collect()
            })
            .collect();
        for metric in array_at(directive, "/Metrics") {
            let name = metric.get("Name").and_then(Value::as_str).unwrap_or("");
            let Some(def) = find(name) else {
                out.push(Mismatch::UnknownMetric(name.to_owned()));
                continue;
            };
            let unit = metric.get("Unit").and_then(Value::as_str).unwrap_or("None");
            if unit != def.unit.as_str() {
                out.push(Mismatch::WrongUnit {
                    name: name.to_owned(),
                    expected: def.unit.as_str(),
                    found: unit.to_owned(),
                });
            }
            let mut expected = def.dimension_keys();
            expected.sort_unstable();
            for set in &sets {
                let mut found: Vec<&str> = set.iter().map(String::as_str).collect();
                found.sort_unstable();
                if found != expected {
                    out.push(Mismatch::WrongDimensions {
                        name: name.to_owned(),
                        expected: expected.clone(),
                        found: set.clone(),
                    });
                }
            }
            for dim in def.dimensions {
                let value = document.get(dim.key).and_then(Value::as_str).unwrap_or("");
                if !dim.values.contains(&value) {
                    out.push(Mismatch::ValueNotAllowed {
                        name: name.to_owned(),
                        key: dim.key,
                        value: value.to_owned(),
                    });
                }
            }
        }
    }
    if out.is_empty() { Ok(()) } else { Err(out) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn the_catalogue_is_in_enum_order_with_unique_names() {
        for (i, def) in CATALOGUE.iter().enumerate() {
            assert_eq!(def.metric as usize, i, "{} is out of order", def.name);
            assert_eq!(format!("{:?}", def.metric), def.name);
        }
        let names: HashSet<_> = CATALOGUE.iter().map(|d| d.name).collect();
        assert_eq!(names.len(), CATALOGUE.len());
    }

    #[test]
    fn every_unit_is_expressible_through_the_facade_or_is_none() {
        for def in CATALOGUE {
            assert_eq!(
                def.unit.to_facade().is_none(),
                def.unit == Unit::None,
                "{}: metrics-cloudwatch-embedded could not write {:?}",
                def.name,
                def.unit
            );
        }
    }

    #[test]
    fn dimensions_are_few_closed_and_not_defaults() {
        for def in CATALOGUE {
            assert!(def.dimension_keys().len() <= 30);
            for dim in def.dimensions {
                assert!(!DEFAULT_DIMENSIONS.contains(&dim.key));
                assert!(!dim.values.is_empty());
                for value in dim.values {
                    assert!(!crate::emf::is_id_like(value), "{value}");
                }
            }
        }
    }

    #[test]
    fn units_parse_back() {
        for unit in Unit::ALL {
            assert_eq!(Unit::parse(unit.as_str()), Some(unit));
        }
        assert_eq!(Unit::parse("count"), None);
    }

    #[test]
    fn the_business_metrics_of_design_md_are_catalogued() {
        for name in [
            "OrdersCreated",
            "ValidationFailures",
            "OrderValue",
            "ItemsPerOrder",
            "OrdersPublished",
            "PublishFailures",
            "OrderLookups",
            "OrdersProcessed",
            "ProcessingFailures",
            "DuplicatesSkipped",
            "BatchItemFailures",
            "ProcessingLag",
            "DependencyLatency",
            "ChaosInjections",
            "ColdStart",
            "ConsumedWriteUnits",
            "ConsumedReadUnits",
        ] {
            assert!(find(name).is_some(), "{name}");
        }
        assert_eq!(Metric::OrderValue.def().unit, Unit::None);
        assert_eq!(Metric::ProcessingLag.def().unit, Unit::Milliseconds);
        assert_eq!(
            Metric::OrdersProcessed.def().dimensions[0].values,
            ["CONFIRMED", "PENDING_REVIEW", "PENDING_APPROVAL"]
        );
    }
}
