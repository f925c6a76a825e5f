//! Shared by the Lambda and local-stack tests: one recording of every catalogued metric, and
//! the checks every emitted document must pass.
#![allow(dead_code)]

use serde_json::Value;
use std::collections::BTreeSet;
use std::time::Duration;
use telemetry::catalogue::*;
use telemetry::metrics::{self as m, Property};

/// Records every metric of the catalogue, with every value of every dimension.
pub fn record_everything() {
    m::order_created(149.95, 3);
    for r in ValidationReason::ALL {
        m::validation_failure(*r);
    }
    m::order_published();
    m::publish_failure();
    for r in LookupResult::ALL {
        m::order_lookup(*r);
    }
    for s in ProcessedStatus::ALL {
        m::order_processed(*s);
    }
    for e in ProcessingError::ALL {
        m::processing_failure(*e);
    }
    m::duplicate_skipped();
    m::batch_item_failures(2);
    m::processing_lag(Duration::from_millis(1250));
    for op in Operation::ALL {
        m::dependency_latency(*op, Duration::from_micros(4500));
        m::consumed_capacity(*op, 0.5, 1.0);
    }
    for f in Fault::ALL {
        m::chaos_injection(*f);
    }
    m::property(Property::OrderId, "0b9f6f2e-5c1e-4d8e-9a57-3f1b2f0c9d11");
}

/// Parses each line, checks it against the EMF specification and the catalogue, and returns
/// the documents.
pub fn check_lines(lines: &[String]) -> Vec<Value> {
    lines
        .iter()
        .map(|line| {
            assert!(!line.contains('\n'), "one document per line");
            let doc: Value = serde_json::from_str(line).expect("each line is JSON");
            telemetry::emf::validate(&doc)
                .unwrap_or_else(|v| panic!("invalid EMF {v:?} in {line}"));
            telemetry::catalogue::check(&doc)
                .unwrap_or_else(|v| panic!("off-catalogue {v:?} in {line}"));
            doc
        })
        .collect()
}

/// (metric name, dimension values other than the defaults) of every datapoint.
pub fn series(docs: &[Value]) -> BTreeSet<(String, Vec<String>)> {
    docs.iter()
        .flat_map(|d| telemetry::emf::datapoints(d).expect("valid"))
        .map(|p| {
            let dims = p
                .dimensions
                .iter()
                .filter(|(k, _)| !DEFAULT_DIMENSIONS.contains(&k.as_str()))
                .map(|(_, v)| v.clone())
                .collect();
            (p.name, dims)
        })
        .collect()
}

/// Every (metric, dimension value) the catalogue allows.
pub fn every_series() -> BTreeSet<(String, Vec<String>)> {
    CATALOGUE
        .iter()
        .flat_map(|def| match def.dimensions {
            [] => vec![(def.name.to_owned(), vec![])],
            [dim] => dim
                .values
                .iter()
                .map(|v| (def.name.to_owned(), vec![(*v).to_owned()]))
                .collect(),
            _ => unreachable!("one extra dimension at most"),
        })
        .collect()
}

/// The documents of one invocation that recorded everything on a cold start: exactly every
/// catalogued series plus `ColdStart`, each document an INFO line carrying the environment,
/// the request id and the recorded order id.
pub fn assert_cold_invocation_of_everything(docs: &[Value], environment: &str, request_id: &str) {
    let mut expected = every_series();
    expected.insert(("ColdStart".into(), vec![]));
    assert_eq!(series(docs), expected);
    for d in docs {
        assert_eq!(d["level"], "INFO");
        assert_eq!(d["Environment"], environment);
        assert_eq!(d["RequestId"], request_id);
        assert_eq!(d["OrderId"], "0b9f6f2e-5c1e-4d8e-9a57-3f1b2f0c9d11");
    }
}
