//! The business dashboard: what the order system is doing for its users. Orders in (created,
//! rejected and why, value and size), orders through (processed by status, failures by type,
//! lag), and the plumbing that can lose or duplicate an order (publishing, sweeper, duplicates).

use alarms::catalog::{Target, business_metric, threshold};
use serde_json::{Value, json};
use telemetry::catalogue::{
    DimensionValue, LookupResult, Metric, ProcessedStatus, ProcessingError, ValidationReason,
};

use crate::layout::Grid;
use crate::operations::fill_sum;
use crate::widgets::{Chart, View};

/// A chart with one row per value of a closed dimension.
fn by<D: DimensionValue>(target: Target, chart: Chart, metric: Metric, values: &[D]) -> Chart {
    values.iter().fold(chart, |c, v| {
        c.row(
            &business_metric(target, metric, &[(D::KEY, v.as_str())]),
            json!({ "label": v.as_str() }),
        )
    })
}

/// Hidden rows `{prefix}0..` for every value, for a total expression.
fn hidden_by<D: DimensionValue>(
    target: Target,
    chart: Chart,
    metric: Metric,
    values: &[D],
    prefix: &str,
) -> Chart {
    values.iter().enumerate().fold(chart, |c, (i, v)| {
        c.row(
            &business_metric(target, metric, &[(D::KEY, v.as_str())]),
            json!({ "id": format!("{prefix}{i}"), "visible": false }),
        )
    })
}

pub fn render(target: Target) -> Value {
    let mut g = Grid::new();
    let plain = |m: Metric| business_metric(target, m, &[]);
    let label = |text: &str| json!({ "label": text });

    g.section("Headline", "Totals over the selected time range.");
    let total = |title: &str, stat: &str| {
        Chart::new(title, stat)
            .view(View::SingleValue)
            .whole_range()
    };
    g.add(
        "metric",
        4,
        4,
        total("Orders created", "Sum")
            .row(&plain(Metric::OrdersCreated), json!({}))
            .properties(target),
    );
    g.add(
        "metric",
        4,
        4,
        hidden_by(
            target,
            total("Validation failures", "Sum"),
            Metric::ValidationFailures,
            ValidationReason::ALL,
            "v",
        )
        .expression(
            "rejected",
            &fill_sum("v", ValidationReason::ALL.len()),
            "Rejected",
        )
        .properties(target),
    );
    g.add(
        "metric",
        4,
        4,
        total("Average order value", "Average")
            .row(&plain(Metric::OrderValue), json!({}))
            .properties(target),
    );
    g.add(
        "metric",
        4,
        4,
        hidden_by(
            target,
            total("Orders processed", "Sum"),
            Metric::OrdersProcessed,
            ProcessedStatus::ALL,
            "s",
        )
        .expression(
            "processed",
            &fill_sum("s", ProcessedStatus::ALL.len()),
            "Processed",
        )
        .properties(target),
    );
    g.add(
        "metric",
        4,
        4,
        hidden_by(
            target,
            total("Processing failures", "Sum"),
            Metric::ProcessingFailures,
            ProcessingError::ALL,
            "f",
        )
        .expression(
            "failed",
            &fill_sum("f", ProcessingError::ALL.len()),
            "Failed",
        )
        .properties(target),
    );
    g.add(
        "metric",
        4,
        4,
        total("Processing lag p99 (ms)", "p99")
            .row(&plain(Metric::ProcessingLag), json!({}))
            .properties(target),
    );

    g.section(
        "Orders in",
        "Accepted orders against rejected requests (by reason) and lookups.",
    );
    g.add(
        "metric",
        8,
        6,
        Chart::new("Orders created", "Sum")
            .row(&plain(Metric::OrdersCreated), label("Created"))
            .properties(target),
    );
    g.add(
        "metric",
        8,
        6,
        by(
            target,
            Chart::new("Validation failures by reason", "Sum").stacked(),
            Metric::ValidationFailures,
            ValidationReason::ALL,
        )
        .properties(target),
    );
    g.add(
        "metric",
        8,
        6,
        by(
            target,
            Chart::new("Order lookups", "Sum").stacked(),
            Metric::OrderLookups,
            LookupResult::ALL,
        )
        .properties(target),
    );
    let mut value = Chart::new("Order value", "Average");
    for p in ["p50", "p90", "Average", "Maximum"] {
        value = value.row(&plain(Metric::OrderValue), json!({ "stat": p, "label": p }));
    }
    g.add("metric", 12, 6, value.properties(target));
    let mut items = Chart::new("Items per order", "Average");
    for p in ["p50", "p90", "Maximum"] {
        items = items.row(
            &plain(Metric::ItemsPerOrder),
            json!({ "stat": p, "label": p }),
        );
    }
    g.add("metric", 12, 6, items.properties(target));

    g.section(
        "Processing",
        "Where orders end up, why the processor failed records, and how long an order waits.",
    );
    g.add(
        "metric",
        8,
        6,
        by(
            target,
            Chart::new("Orders processed by status", "Sum").stacked(),
            Metric::OrdersProcessed,
            ProcessedStatus::ALL,
        )
        .properties(target),
    );
    g.add(
        "metric",
        8,
        6,
        by(
            target,
            Chart::new("Processing failures by type", "Sum").stacked(),
            Metric::ProcessingFailures,
            ProcessingError::ALL,
        )
        .threshold(
            "alarm (all types)",
            threshold::PROCESSING_FAILURES_PER_MINUTE,
        )
        .properties(target),
    );
    let mut lag = Chart::new("Processing lag (ms)", "p99");
    for p in ["p50", "p90", "p99"] {
        lag = lag.row(
            &plain(Metric::ProcessingLag),
            json!({ "stat": p, "label": p }),
        );
    }
    g.add(
        "metric",
        8,
        6,
        lag.threshold("p99 alarm", threshold::PROCESSING_LAG_P99_MS)
            .properties(target),
    );

    g.section(
        "Publishing and delivery",
        "An order is lost if it is never published and doubled if it is processed twice: these show both guards working.",
    );
    g.add(
        "metric",
        8,
        6,
        Chart::new("Published vs publish failures", "Sum")
            .row(&plain(Metric::OrdersPublished), label("Published"))
            .row(&plain(Metric::PublishFailures), label("Publish failures"))
            .row(
                &plain(Metric::OrdersSwept),
                label("Republished by the sweeper"),
            )
            .properties(target),
    );
    g.add(
        "metric",
        8,
        6,
        Chart::new("Duplicates skipped", "Sum")
            .row(&plain(Metric::DuplicatesSkipped), label("Duplicates"))
            .properties(target),
    );
    g.add(
        "metric",
        8,
        6,
        Chart::new("Batch item failures", "Sum")
            .row(&plain(Metric::BatchItemFailures), label("Returned to SQS"))
            .properties(target),
    );
    g.into_body()
}
