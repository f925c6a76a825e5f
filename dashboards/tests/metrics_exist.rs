//! Every metric a dashboard widget or an alarm reads is defined: OrderKit metrics in the
//! telemetry catalogue (with its exact dimension keys and closed values), AWS service metrics
//! in dashboards::aws_metrics (with their dimension keys). Whether each is actually emitted
//! is the local stack's scenario test, over `dashboards::referenced_metrics()`.

use dashboards::{Target, aws_metrics, referenced_metrics, referenced_series};
use telemetry::catalogue;

#[test]
fn every_referenced_metric_is_catalogued_with_its_dimensions() {
    for target in Target::ALL {
        for m in referenced_series(target) {
            let mut keys: Vec<&str> = m.dimensions.iter().map(|d| d.name.as_str()).collect();
            keys.sort_unstable();
            if m.namespace == catalogue::NAMESPACE {
                let def = catalogue::find(&m.metric_name).unwrap_or_else(|| {
                    panic!("{} is not in the telemetry catalogue", m.metric_name)
                });
                let mut expected = def.dimension_keys();
                expected.sort_unstable();
                assert_eq!(keys, expected, "{}", m.metric_name);
                for dim in def.dimensions {
                    let value = m.dimensions.iter().find(|d| d.name == dim.key).unwrap();
                    assert!(dim.values.contains(&value.value.as_str()), "{m:?}");
                }
            } else {
                let def = aws_metrics::find(&m.namespace, &m.metric_name).unwrap_or_else(|| {
                    panic!("{}/{} is not in aws_metrics", m.namespace, m.metric_name)
                });
                let mut expected = def.dimensions.to_vec();
                expected.sort_unstable();
                assert_eq!(keys, expected, "{}/{}", m.namespace, m.metric_name);
            }
            assert!(m.dimensions.iter().all(|d| !d.value.is_empty()), "{m:?}");
        }
    }
}

#[test]
fn referenced_metrics_cover_both_sources() {
    let all = referenced_metrics();
    assert!(all.contains(&("OrderKit".into(), "ProcessingFailures".into())));
    assert!(all.contains(&(
        "AWS/SQS".into(),
        "ApproximateNumberOfMessagesVisible".into()
    )));
    assert!(all.contains(&("AWS/ApiGateway".into(), "5xx".into())));
    // Every AWS metric the kit defines is read by something; an unread one is dead weight.
    for def in aws_metrics::ALL {
        assert!(
            all.contains(&(def.namespace.to_owned(), def.name.to_owned())),
            "{}/{} is defined but no widget or alarm reads it",
            def.namespace,
            def.name
        );
    }
}
