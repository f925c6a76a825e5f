//! The business dashboard: what the order system is doing for its users. Orders in (created,
//! rejected and why, value and size), orders through (processed by status, failures by type,
//! lag), and the plumbing that can lose or duplicate an order (publishing, duplicates).
//! One function per row, in that order after the headline.

use alarms::catalog::{Target, aws_metric, aws_metrics, business_metric, threshold};
use orders::settings::Function;
use serde_json::{Value, json};
use telemetry::catalogue::{
    LookupResult, Metric, ProcessedStatus, ProcessingError, ValidationReason,
};

use crate::layout::{self, Grid};
use crate::widgets::{Chart, View, breakdown, label};

pub fn render(target: Target) -> Value {
    layout::body(target, &[headline, orders_in, processing, publishing])
}

/// An OrderKit metric without closed dimensions.
fn plain(target: Target, metric: Metric) -> alarm_engine::Metric {
    business_metric(target, metric, &[])
}

/// Totals over the selected time range.
fn headline(g: &mut Grid) {
    let target = g.target();
    g.section("Headline", "Totals over the selected time range.");
    let total = |title: &str, stat: &str| {
        Chart::new(title, stat)
            .view(View::SingleValue)
            .whole_range()
    };
    g.chart(
        4,
        4,
        total("Orders created", "Sum").row(&plain(target, Metric::OrdersCreated), json!({})),
    );
    g.chart(
        4,
        4,
        total("Validation failures", "Sum").total_over(
            target,
            Metric::ValidationFailures,
            ValidationReason::ALL,
            "v",
            ("rejected", "Rejected"),
        ),
    );
    g.chart(
        4,
        4,
        total("Average order value", "Average").row(&plain(target, Metric::OrderValue), json!({})),
    );
    g.chart(
        4,
        4,
        total("Orders processed", "Sum").total_over(
            target,
            Metric::OrdersProcessed,
            ProcessedStatus::ALL,
            "s",
            ("processed", "Processed"),
        ),
    );
    g.chart(
        4,
        4,
        total("Processing failures", "Sum").total_over(
            target,
            Metric::ProcessingFailures,
            ProcessingError::ALL,
            "f",
            ("failed", "Failed"),
        ),
    );
    g.chart(
        4,
        4,
        total("Processing lag p99 (ms)", "p99")
            .row(&plain(target, Metric::ProcessingLag), json!({})),
    );
}

/// Accepted orders against rejected requests, lookups, order value and size.
fn orders_in(g: &mut Grid) {
    let target = g.target();
    g.section(
        "Orders in",
        "Accepted orders against rejected requests (by reason) and lookups.",
    );
    g.chart(
        8,
        6,
        Chart::new("Orders created", "Sum")
            .row(&plain(target, Metric::OrdersCreated), label("Created")),
    );
    g.chart(
        8,
        6,
        breakdown(
            target,
            "Validation failures by reason",
            Metric::ValidationFailures,
            ValidationReason::ALL,
        ),
    );
    g.chart(
        8,
        6,
        breakdown(
            target,
            "Order lookups",
            Metric::OrderLookups,
            LookupResult::ALL,
        ),
    );
    g.chart(
        12,
        6,
        Chart::new("Order value", "Average").stats(
            &plain(target, Metric::OrderValue),
            &["p50", "p90", "Average", "Maximum"],
        ),
    );
    g.chart(
        12,
        6,
        Chart::new("Items per order", "Average").stats(
            &plain(target, Metric::ItemsPerOrder),
            &["p50", "p90", "Maximum"],
        ),
    );
}

/// Where orders end up, why the processor failed records, and how long an order waits.
fn processing(g: &mut Grid) {
    let target = g.target();
    g.section(
        "Processing",
        "Where orders end up, why the processor failed records, and how long an order waits.",
    );
    g.chart(
        8,
        6,
        breakdown(
            target,
            "Orders processed by status",
            Metric::OrdersProcessed,
            ProcessedStatus::ALL,
        ),
    );
    g.chart(
        8,
        6,
        breakdown(
            target,
            "Processing failures by type",
            Metric::ProcessingFailures,
            ProcessingError::ALL,
        )
        .threshold(
            "alarm (all types)",
            threshold::PROCESSING_FAILURES_PER_MINUTE,
        ),
    );
    g.chart(
        8,
        6,
        Chart::new("Processing lag (ms)", "p99")
            .stats(
                &plain(target, Metric::ProcessingLag),
                &["p50", "p90", "p99"],
            )
            .threshold("p99 alarm", threshold::PROCESSING_LAG_P99_MS),
    );
}

/// The guards against losing an order (the publisher, fed by the outbox) and doubling one
/// (duplicates).
fn publishing(g: &mut Grid) {
    let target = g.target();
    g.section(
        "Publishing and delivery",
        "An order is lost if it is never published and doubled if it is processed twice: these show both guards working.",
    );
    g.chart(
        6,
        6,
        Chart::new("Published vs publish failures", "Sum")
            .row(&plain(target, Metric::OrdersPublished), label("Published"))
            .row(
                &plain(target, Metric::PublishFailures),
                label("Publish failures (sent again)"),
            ),
    );
    let iterator_age = aws_metric(
        &aws_metrics::lambda::ITERATOR_AGE,
        &[target.function_name(Function::OrderPublisher)],
    );
    g.chart(
        6,
        6,
        Chart::new("Publisher behind the outbox (ms)", "Maximum")
            .row(&iterator_age, label("IteratorAge"))
            .threshold("alarm", threshold::PUBLISHER_ITERATOR_AGE_MS),
    );
    g.chart(
        6,
        6,
        Chart::new("Duplicates skipped", "Sum").row(
            &plain(target, Metric::DuplicatesSkipped),
            label("Duplicates"),
        ),
    );
    g.chart(
        6,
        6,
        Chart::new("Batch item failures", "Sum").row(
            &plain(target, Metric::BatchItemFailures),
            label("Returned to SQS"),
        ),
    );
}
