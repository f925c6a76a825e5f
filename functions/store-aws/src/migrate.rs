//! The backfill of `table::migration`, run between its second and third stage (`workshop
//! migrate-table`): every order the first design wrote gets the keys of the sharded indexes,
//! and every order it left unpublished (still carrying the `unpublished` marker, which the
//! sweeper no longer reads) has its message sent before the marker goes.
//!
//! Safe to run while the stack serves orders and safe to run again: an order is only
//! changed if its status is still the one read (a status change in between is read again),
//! new orders already carry their keys, and a second run finds nothing to do. A message is
//! sent before its marker is removed, so a failure leaves the order to the next run (the
//! processor takes a second delivery of an order as a no-op).

use crate::item::{AttributeValue, Item, attr, order_from_item, s};
use crate::store::sdk_error;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use orders::domain::{Order, OrderStatus};
use orders::handlers::Publisher;
use orders::ports::{DependencyError, OrderQueue, OutboxEntry};
use orders::settings::table::{self, migration};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use telemetry::trace::Carrier;

/// Attempts at one order whose status keeps changing under the backfill.
const ORDER_ATTEMPTS: u32 = 5;
/// Orders published together (the publisher sends ten at a time).
const PUBLISH_BATCH: usize = 100;
/// What the publisher is given for one batch: far more than 100 sends take.
const BATCH_TIME: Duration = Duration::from_secs(300);

/// What one run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BackfillReport {
    /// Orders that still needed something when read.
    pub found: usize,
    /// Orders given their shard keys.
    pub keyed: usize,
    /// Unpublished orders whose message was sent now.
    pub published: usize,
    /// Orders whose marker was removed without a send: already processed, so their message
    /// had gone out and only the marker's removal had not.
    pub unmarked: usize,
    /// Orders still needing something after the run (a failed send): run it again.
    pub left: usize,
}

/// Backfills `table`; `queue` is the orders queue the unpublished orders are sent to.
pub async fn backfill(
    client: &Client,
    table_name: &str,
    queue: Arc<dyn OrderQueue>,
) -> Result<BackfillReport, DependencyError> {
    let publisher = Publisher::new(queue);
    let mut report = BackfillReport::default();
    let mut start: Option<Item> = None;
    loop {
        let (items, next) = scan_page(client, table_name, start.take()).await?;
        report.found += items.len();
        for batch in items.chunks(PUBLISH_BATCH) {
            backfill_batch(client, table_name, &publisher, batch, &mut report).await?;
        }
        match next {
            Some(key) => start = Some(key),
            None => break,
        }
    }
    report.left = count_left(client, table_name).await?;
    Ok(report)
}

async fn backfill_batch(
    client: &Client,
    table_name: &str,
    publisher: &Publisher,
    items: &[Item],
    report: &mut BackfillReport,
) -> Result<(), DependencyError> {
    let mut orders = Vec::with_capacity(items.len());
    let mut entries = Vec::new();
    for item in items {
        let order = order_from_item("Scan", item)?;
        let marked = item.contains_key(migration::LEGACY_MARKER_ATTRIBUTE);
        if marked && order.status == OrderStatus::Pending {
            let text = |name: &str| match item.get(name) {
                Some(AttributeValue::S(t)) => Some(t.as_str()),
                _ => None,
            };
            entries.push(OutboxEntry {
                sequence: order.id.to_string(),
                order: order.clone(),
                correlation_id: text(attr::CORRELATION_ID).map(str::to_owned),
                created_in: Carrier::from_parts(text(attr::CREATED_IN), None),
            });
        }
        orders.push((order, marked));
    }
    let failed: Vec<String> = if entries.is_empty() {
        Vec::new()
    } else {
        let sent = entries.len();
        let outcome = publisher.handle(entries, Instant::now() + BATCH_TIME).await;
        report.published += sent - outcome.failed.len();
        outcome.failed
    };
    for (order, marked) in orders {
        // A marker stays on an order whose send failed: the next run sends it again.
        let unmark = marked && !failed.contains(&order.id.to_string());
        if unmark && order.status != OrderStatus::Pending {
            report.unmarked += 1;
        }
        key_order(client, table_name, order, unmark).await?;
        report.keyed += 1;
    }
    Ok(())
}

/// Sets the order's shard keys (and removes its marker), if its status is still the one
/// read; otherwise reads it again and retries with the status it has now.
async fn key_order(
    client: &Client,
    table_name: &str,
    mut order: Order,
    unmark: bool,
) -> Result<(), DependencyError> {
    const OP: &str = "UpdateItem";
    let pk = format!("{}{}", table::ORDER_PREFIX, order.id);
    for _ in 0..ORDER_ATTEMPTS {
        let shard = table::shard_of(order.id);
        let mut update = "SET #ss = :ss, #ls = :ls".to_owned();
        if unmark {
            update.push_str(" REMOVE #marker");
        }
        let mut call = client
            .update_item()
            .table_name(table_name)
            .key(table::PARTITION_KEY, s(pk.clone()))
            .update_expression(update)
            .condition_expression("#status = :seen")
            .expression_attribute_names("#ss", table::STATUS_SHARD_ATTRIBUTE)
            .expression_attribute_names("#ls", table::LIST_SHARD_ATTRIBUTE)
            .expression_attribute_names("#status", table::STATUS_ATTRIBUTE)
            .expression_attribute_values(":ss", s(table::status_key(order.status, shard)))
            .expression_attribute_values(":ls", s(table::list_key(shard)))
            .expression_attribute_values(":seen", s(order.status.as_str()));
        if unmark {
            call = call.expression_attribute_names("#marker", migration::LEGACY_MARKER_ATTRIBUTE);
        }
        match call.send().await {
            Ok(_) => return Ok(()),
            Err(e) if is_condition_failed(e.as_service_error()) => {
                // Its status changed since it was read: read it as it is now.
                let now = client
                    .get_item()
                    .table_name(table_name)
                    .key(table::PARTITION_KEY, s(pk.clone()))
                    .consistent_read(true)
                    .send()
                    .await
                    .map_err(|e| sdk_error("GetItem", e))?;
                match now.item {
                    Some(item) => order = order_from_item("GetItem", &item)?,
                    None => return Ok(()), // deleted: nothing to key
                }
            }
            Err(e) => return Err(sdk_error(OP, e)),
        }
    }
    Err(DependencyError::failed(
        OP,
        format!(
            "order {} changed status under {ORDER_ATTEMPTS} attempts in a row",
            order.id
        ),
    ))
}

fn is_condition_failed(err: Option<&UpdateItemError>) -> bool {
    matches!(
        err,
        Some(UpdateItemError::ConditionalCheckFailedException(_))
    )
}

/// The orders that still need the backfill: no shard keys yet, or still marked.
const FILTER: &str = "begins_with(#pk, :order) AND (attribute_not_exists(#ss) OR \
                      attribute_not_exists(#ls) OR attribute_exists(#marker))";

fn filter_names() -> HashMap<String, String> {
    HashMap::from([
        ("#pk".to_owned(), table::PARTITION_KEY.to_owned()),
        ("#ss".to_owned(), table::STATUS_SHARD_ATTRIBUTE.to_owned()),
        ("#ls".to_owned(), table::LIST_SHARD_ATTRIBUTE.to_owned()),
        (
            "#marker".to_owned(),
            migration::LEGACY_MARKER_ATTRIBUTE.to_owned(),
        ),
    ])
}

/// One page of the orders that need the backfill, and where the next one starts.
async fn scan_page(
    client: &Client,
    table_name: &str,
    start: Option<Item>,
) -> Result<(Vec<Item>, Option<Item>), DependencyError> {
    let out = client
        .scan()
        .table_name(table_name)
        .filter_expression(FILTER)
        .set_expression_attribute_names(Some(filter_names()))
        .expression_attribute_values(":order", s(table::ORDER_PREFIX))
        .consistent_read(true)
        .set_exclusive_start_key(start)
        .send()
        .await
        .map_err(|e| sdk_error("Scan", e))?;
    let next = out.last_evaluated_key.filter(|k| !k.is_empty());
    Ok((out.items.unwrap_or_default(), next))
}

/// How many orders still need the backfill, read again from the table.
async fn count_left(client: &Client, table_name: &str) -> Result<usize, DependencyError> {
    let mut left = 0;
    let mut start = None;
    loop {
        let (items, next) = scan_page(client, table_name, start).await?;
        left += items.len();
        match next {
            Some(key) => start = Some(key),
            None => return Ok(left),
        }
    }
}
