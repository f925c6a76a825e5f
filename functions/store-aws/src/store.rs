//! [`OrderStore`] on DynamoDB: one table, laid out as `orders::settings::table` describes.

use crate::item::{
    self, Cursor, Item, Origin, attr, epoch_secs_ceil, epoch_secs_floor, idempotency_pk, n,
    order_from_item, order_item, order_pk, s,
};
use crate::trace::{Attempts, none, traced};
use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::error::TransactionCanceledException;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConsumedCapacity, KeysAndAttributes, Put, ReturnConsumedCapacity, ReturnValue,
    TransactWriteItem,
};
use orders::domain::{Order, OrderStatus, timestamp};
use orders::merge::{self, ShardPage};
use orders::ports::{
    CreateOutcome, DependencyError, IdempotencyKey, ListQuery, OrderStore, Page, SortOrder,
    Transition, TransitionRequest,
};
use orders::settings::table::{
    self,
    migration::{self, Listing},
};
use std::collections::HashMap;
use telemetry::catalogue::Operation;
use telemetry::trace::{Carrier, spans};
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use uuid::Uuid;

/// Key of the item `ping` reads. It never exists; reading it still proves the table is there
/// and readable, with the `GetItem` permission every function already has (a `DescribeTable`
/// would need one more permission, and is a control-plane call with a far lower rate limit).
const PING_KEY: &str = "HEALTH#ping";

/// How often `create` retries when its transaction lost a race on the idempotency record (the
/// record expired or vanished between the failed write and the read, or another transaction
/// held it). Each retry is a real change of state, so a few are plenty.
const CREATE_ATTEMPTS: usize = 3;

/// How often a listing asks again for the keys a `BatchGetItem` left unprocessed (DynamoDB
/// returns them when it throttles), waiting twice as long each time from
/// [`BATCH_RETRY_BASE`]: AWS's advice for unprocessed keys, which the SDK does not retry.
const BATCH_ATTEMPTS: u32 = 5;
const BATCH_RETRY_BASE: std::time::Duration = std::time::Duration::from_millis(25);

/// The most keys one `BatchGetItem` may ask for.
const BATCH_GET_MAX: usize = 100;

/// Whether a call reads or writes, for the capacity DynamoDB reports it consumed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Units {
    Read,
    Write,
}

/// Records the capacity DynamoDB says a call consumed (every call asks for it with
/// `ReturnConsumedCapacity=TOTAL`) under the store operation it served, so a dashboard shows
/// what each operation costs and the capacity model can be checked against it.
fn consumed<'a>(
    operation: Operation,
    units: Units,
    reported: impl IntoIterator<Item = &'a ConsumedCapacity>,
) {
    let total: f64 = reported
        .into_iter()
        .map(|c| {
            let split = match units {
                Units::Read => c.read_capacity_units(),
                Units::Write => c.write_capacity_units(),
            };
            split.or(c.capacity_units()).unwrap_or(0.0)
        })
        .sum();
    match units {
        Units::Read => telemetry::metrics::consumed_capacity(operation, total, 0.0),
        Units::Write => telemetry::metrics::consumed_capacity(operation, 0.0, total),
    }
}

/// A listing index entry: the order's table key and its sort key (the indexes are keys-only).
#[derive(Debug, Clone, PartialEq, Eq)]
struct IndexKey {
    pk: String,
    sk: String,
}

/// The order store on DynamoDB. Cloning is cheap and shares the client.
#[derive(Clone, Debug)]
pub struct DynamoDbOrderStore {
    client: Client,
    table: String,
    listing: Listing,
}

impl DynamoDbOrderStore {
    pub fn new(client: Client, table_name: impl Into<String>) -> Self {
        DynamoDbOrderStore {
            client,
            table: table_name.into(),
            listing: Listing::Sharded,
        }
    }

    /// Lists from (and writes the keys of) `listing`'s indexes: the first design's while a
    /// table migrates (`table::migration`), the sharded ones otherwise.
    pub fn with_listing(mut self, listing: Listing) -> Self {
        self.listing = listing;
        self
    }

    /// The item a new order is written as: with `listPk` too while the first design's
    /// listing is read, so it misses no new order.
    fn new_order_item(&self, order: &Order) -> Item {
        let mut item = order_item(order);
        if self.listing == Listing::Unsharded {
            item.insert(
                migration::LEGACY_LIST_ATTRIBUTE.to_owned(),
                s(migration::LEGACY_LIST_KEY),
            );
        }
        item
    }

    pub fn table_name(&self) -> &str {
        &self.table
    }

    /// The CLIENT span of one DynamoDB call on this table.
    fn span(&self, method: &'static str) -> Span {
        spans::dynamodb(method, &self.table)
    }

    fn key(pk: String) -> Item {
        HashMap::from([(table::PARTITION_KEY.to_owned(), s(pk))])
    }

    async fn get_item(
        &self,
        op: &'static str,
        served: Operation,
        pk: String,
    ) -> Result<Option<Item>, DependencyError> {
        let span = self.span("GetItem");
        let call = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(pk)))
            .consistent_read(true)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .customize()
            .interceptor(Attempts::new(&span))
            .send();
        let out = traced(span, none, call)
            .await
            .map_err(|e| sdk_error(op, e))?;
        consumed(served, Units::Read, out.consumed_capacity());
        Ok(out.item)
    }

    async fn get_order(
        &self,
        op: &'static str,
        served: Operation,
        id: Uuid,
    ) -> Result<Option<Order>, DependencyError> {
        self.get_item(op, served, order_pk(id))
            .await?
            .map(|item| order_from_item(op, &item))
            .transpose()
    }

    /// A create without an `Idempotency-Key`: one conditional `PutItem`, 1 write unit where a
    /// one-item transaction costs 2, and the same guarantee (the order is written once, or
    /// the call fails).
    async fn put_order(
        &self,
        order: &Order,
        origin: &Origin,
    ) -> Result<CreateOutcome, DependencyError> {
        const OP: &str = "PutItem";
        let item = origin.stamp(self.new_order_item(order));
        let span = self.span(OP);
        let call = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", table::PARTITION_KEY)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .customize()
            .interceptor(Attempts::new(&span))
            .send();
        match traced(span, none, call).await {
            Ok(out) => {
                consumed(Operation::PutOrder, Units::Write, out.consumed_capacity());
                Ok(CreateOutcome::Created(order.clone()))
            }
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(PutItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Err(DependencyError::failed(
                    OP,
                    format!("order {} already exists", order.id),
                ))
            }
            Err(e) => Err(sdk_error(OP, e)),
        }
    }

    /// One attempt at the create transaction (the order and its idempotency record):
    /// `Ok(Some(..))` is the answer, `Ok(None)` means the idempotency record changed under us
    /// and the caller should try again.
    async fn try_create(
        &self,
        order: &Order,
        key: &IdempotencyKey,
        origin: &Origin,
    ) -> Result<Option<CreateOutcome>, DependencyError> {
        const OP: &str = "TransactWriteItems";
        let build = |e| DependencyError::failed(OP, e);
        let item = origin.stamp(self.new_order_item(order));
        // The store has no clock: the order carries the request's time, and that is the "now"
        // against which an old record's expiry is judged (see the port's doc).
        let now = epoch_secs_floor(&order.created_at);
        let record = HashMap::from([
            (table::PARTITION_KEY.to_owned(), s(idempotency_pk(&key.key))),
            (attr::REQUEST_HASH.to_owned(), s(&key.request_hash)),
            (attr::ORDER_ID.to_owned(), s(order.id.to_string())),
            (
                table::TTL_ATTRIBUTE.to_owned(),
                n(epoch_secs_ceil(&key.expires_at)),
            ),
        ]);
        let put = |item: Item, condition: &str| {
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression(condition)
                .expression_attribute_names("#pk", table::PARTITION_KEY)
        };
        let writes = [
            put(item, "attribute_not_exists(#pk)"),
            // TTL deletes lazily (within days), so an expired record may still be there: it
            // counts as absent and is overwritten.
            put(record, "attribute_not_exists(#pk) OR #exp <= :now")
                .expression_attribute_names("#exp", table::TTL_ATTRIBUTE)
                .expression_attribute_values(":now", n(now)),
        ]
        .into_iter()
        .map(|p| {
            Ok(TransactWriteItem::builder()
                .put(p.build().map_err(build)?)
                .build())
        })
        .collect::<Result<Vec<_>, DependencyError>>()?;

        let span = self.span(OP);
        let call = self
            .client
            .transact_write_items()
            .set_transact_items(Some(writes))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .customize()
            .interceptor(Attempts::new(&span))
            .send();
        let handled = |e: &TransactWriteItemsError| {
            matches!(
                cancelled(e),
                Some(Cancelled::KeyInUse | Cancelled::Conflict)
            )
        };
        let err = match traced(span, handled, call).await {
            Ok(out) => {
                consumed(Operation::PutOrder, Units::Write, out.consumed_capacity());
                return Ok(Some(CreateOutcome::Created(order.clone())));
            }
            Err(e) => e,
        };
        match err.as_service_error().and_then(cancelled) {
            Some(Cancelled::KeyInUse) => self.resolve_existing_key(order, key).await,
            Some(Cancelled::OrderExists) => Err(DependencyError::failed(
                OP,
                format!("order {} already exists", order.id),
            )),
            // Another transaction (most likely a concurrent retry with the same key) held one
            // of the items; trying again sees its outcome.
            Some(Cancelled::Conflict) => Ok(None),
            None => Err(sdk_error(OP, err)),
        }
    }

    /// The idempotency record was live when our write was refused: replay or conflict.
    async fn resolve_existing_key(
        &self,
        order: &Order,
        key: &IdempotencyKey,
    ) -> Result<Option<CreateOutcome>, DependencyError> {
        const OP: &str = "GetItem";
        let Some(record) = self
            .get_item(OP, Operation::PutOrder, idempotency_pk(&key.key))
            .await?
        else {
            return Ok(None); // deleted by TTL since: the key is free again
        };
        let record = item::idempotency_from_item(OP, &record)?;
        if record.expires_at <= epoch_secs_floor(&order.created_at) {
            return Ok(None); // replaced by a record that has expired too: try again
        }
        if record.request_hash != key.request_hash {
            return Ok(Some(CreateOutcome::KeyConflict));
        }
        let first = self
            .get_order(OP, Operation::PutOrder, record.order_id)
            .await?
            .ok_or_else(|| DependencyError::dangling_idempotency_key(OP, record.order_id))?;
        Ok(Some(CreateOutcome::Replayed(first)))
    }

    /// One shard of a listing: up to `limit` index keys strictly beyond `after`.
    async fn query_shard(
        &self,
        status: Option<OrderStatus>,
        shard: u32,
        sort: SortOrder,
        after: Option<String>,
        limit: usize,
    ) -> Result<ShardPage<IndexKey>, DependencyError> {
        const OP: &str = "Query";
        let (index, hash_attribute, hash_value) = match (self.listing, status) {
            (Listing::Sharded, Some(st)) => (
                table::STATUS_INDEX,
                table::STATUS_SHARD_ATTRIBUTE,
                table::status_key(st, shard),
            ),
            (Listing::Sharded, None) => (
                table::LIST_INDEX,
                table::LIST_SHARD_ATTRIBUTE,
                table::list_key(shard),
            ),
            // One key each: the first design's listing is a merge of one shard.
            (Listing::Unsharded, Some(st)) => (
                migration::LEGACY_STATUS_INDEX,
                table::STATUS_ATTRIBUTE,
                st.as_str().to_owned(),
            ),
            (Listing::Unsharded, None) => (
                migration::LEGACY_LIST_INDEX,
                migration::LEGACY_LIST_ATTRIBUTE,
                migration::LEGACY_LIST_KEY.to_owned(),
            ),
        };
        let mut q = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index)
            .expression_attribute_names("#h", hash_attribute)
            .expression_attribute_values(":h", s(hash_value))
            .expression_attribute_names("#pk", table::PARTITION_KEY)
            .expression_attribute_names("#sk", table::SORT_ATTRIBUTE)
            .projection_expression("#pk, #sk")
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .scan_index_forward(sort == SortOrder::Asc)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX));
        q = match (after, sort) {
            (None, _) => q.key_condition_expression("#h = :h"),
            (Some(after), SortOrder::Asc) => q
                .key_condition_expression("#h = :h AND #sk > :after")
                .expression_attribute_values(":after", s(after)),
            (Some(after), SortOrder::Desc) => q
                .key_condition_expression("#h = :h AND #sk < :after")
                .expression_attribute_values(":after", s(after)),
        };
        let span = self.span(OP);
        span.set_attribute("aws.dynamodb.index_name", index);
        let call = q.customize().interceptor(Attempts::new(&span)).send();
        let out = traced(span, none, call)
            .await
            .map_err(|e| sdk_error(OP, e))?;
        consumed(Operation::QueryOrders, Units::Read, out.consumed_capacity());
        let more = out.last_evaluated_key.is_some_and(|k| !k.is_empty());
        let items = out
            .items
            .unwrap_or_default()
            .iter()
            .map(|item| {
                let key = |name: &str| match item.get(name) {
                    Some(AttributeValue::S(v)) => Ok(v.clone()),
                    _ => Err(DependencyError::corrupt(
                        OP,
                        format!("an entry of {index} has no {name}"),
                    )),
                };
                Ok(IndexKey {
                    pk: key(table::PARTITION_KEY)?,
                    sk: key(table::SORT_ATTRIBUTE)?,
                })
            })
            .collect::<Result<Vec<_>, DependencyError>>()?;
        Ok(ShardPage { items, more })
    }

    /// One `BatchGetItem` of up to 100 keys into `found` (by `pk`), asking again for the keys
    /// DynamoDB leaves unprocessed.
    async fn batch_get(
        &self,
        keys: Vec<Item>,
        found: &mut HashMap<String, Item>,
    ) -> Result<(), DependencyError> {
        const OP: &str = "BatchGetItem";
        let mut pending = keys;
        let mut attempt = 0;
        while !pending.is_empty() {
            if attempt == BATCH_ATTEMPTS {
                return Err(DependencyError::failed(
                    OP,
                    format!(
                        "{} keys still unprocessed after {BATCH_ATTEMPTS} attempts",
                        pending.len()
                    ),
                ));
            }
            if attempt > 0 {
                tokio::time::sleep(BATCH_RETRY_BASE * 2u32.pow(attempt - 1)).await;
            }
            attempt += 1;
            let request = KeysAndAttributes::builder()
                .set_keys(Some(std::mem::take(&mut pending)))
                .consistent_read(true)
                .build()
                .map_err(|e| DependencyError::failed(OP, e))?;
            let span = self.span(OP);
            let call = self
                .client
                .batch_get_item()
                .request_items(&self.table, request)
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .customize()
                .interceptor(Attempts::new(&span))
                .send();
            let out = traced(span, none, call)
                .await
                .map_err(|e| sdk_error(OP, e))?;
            consumed(Operation::QueryOrders, Units::Read, out.consumed_capacity());
            for item in out
                .responses
                .and_then(|mut r| r.remove(&self.table))
                .unwrap_or_default()
            {
                if let Some(AttributeValue::S(pk)) = item.get(table::PARTITION_KEY) {
                    found.insert(pk.clone(), item);
                }
            }
            if let Some(unprocessed) = out.unprocessed_keys.and_then(|mut u| u.remove(&self.table))
            {
                pending = unprocessed.keys;
            }
        }
        Ok(())
    }

    /// Reads a page's orders by key, in the page's order, with one `BatchGetItem` per 100
    /// keys (the call's limit; a page of the API is at most 100). Strongly consistent: an
    /// order the index already shows is always found. An order that left `status` since the
    /// index was read is left out: it is listed under its new status.
    async fn read_orders(
        &self,
        keys: &[IndexKey],
        status: Option<OrderStatus>,
    ) -> Result<Vec<Order>, DependencyError> {
        const OP: &str = "BatchGetItem";
        let mut found: HashMap<String, Item> = HashMap::with_capacity(keys.len());
        for chunk in keys.chunks(BATCH_GET_MAX) {
            let chunk = chunk.iter().map(|k| Self::key(k.pk.clone())).collect();
            self.batch_get(chunk, &mut found).await?;
        }
        let mut orders = Vec::with_capacity(keys.len());
        for key in keys {
            // Orders are never deleted; one removed by hand leaves the index soon after.
            let Some(item) = found.get(&key.pk) else {
                continue;
            };
            let order = order_from_item(OP, item)?;
            if status.is_none_or(|st| st == order.status) {
                orders.push(order);
            }
        }
        Ok(orders)
    }
}

/// Why a create transaction was cancelled, from the reasons DynamoDB gives in the order of
/// the writes: [order, idempotency record].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cancelled {
    /// The idempotency record is live: a replay or a conflict, read next.
    KeyInUse,
    /// An order with this id exists already.
    OrderExists,
    /// Another transaction held one of the items.
    Conflict,
}

fn cancelled(err: &TransactWriteItemsError) -> Option<Cancelled> {
    let TransactWriteItemsError::TransactionCanceledException(cancel) = err else {
        return None;
    };
    cancel_reason(cancel)
}

fn cancel_reason(cancel: &TransactionCanceledException) -> Option<Cancelled> {
    let codes: Vec<Option<&str>> = cancel
        .cancellation_reasons()
        .iter()
        .map(|r| r.code())
        .collect();
    let is = |i: usize, code: &str| codes.get(i).copied().flatten() == Some(code);
    if is(1, "ConditionalCheckFailed") {
        Some(Cancelled::KeyInUse)
    } else if is(0, "ConditionalCheckFailed") {
        Some(Cancelled::OrderExists)
    } else if is(0, "TransactionConflict") || is(1, "TransactionConflict") {
        Some(Cancelled::Conflict)
    } else {
        None
    }
}

/// An SDK error as the port's error: the operation, and the whole cause chain (service code
/// and message, or the connection problem), which `Display` alone would hide.
pub(crate) fn sdk_error<E: std::error::Error>(op: &'static str, err: E) -> DependencyError {
    DependencyError::failed(op, DisplayErrorContext(err))
}

fn is_conditional_check_failed(err: &UpdateItemError) -> bool {
    matches!(err, UpdateItemError::ConditionalCheckFailedException(_))
        || err.code() == Some("ConditionalCheckFailedException")
}

fn limit_of(op: &'static str, limit: u32) -> Result<usize, DependencyError> {
    if limit == 0 {
        // DynamoDB refuses a zero Limit; say so in the port's words.
        return Err(DependencyError::failed(op, "limit must be at least 1"));
    }
    Ok(usize::try_from(limit).unwrap_or(usize::MAX))
}

#[async_trait]
impl OrderStore for DynamoDbOrderStore {
    async fn create(
        &self,
        order: &Order,
        idempotency: Option<&IdempotencyKey>,
        correlation_id: &str,
    ) -> Result<CreateOutcome, DependencyError> {
        // The request's span: the publish continues it.
        let origin = Origin {
            correlation_id: correlation_id.to_owned(),
            created_in: Carrier::of(&Span::current()).traceparent,
        };
        let Some(key) = idempotency else {
            return self.put_order(order, &origin).await;
        };
        for _ in 0..CREATE_ATTEMPTS {
            let attempt = self.try_create(order, key, &origin);
            if let Some(outcome) = attempt.await? {
                return Ok(outcome);
            }
        }
        Err(DependencyError::failed(
            "TransactWriteItems",
            format!("the idempotency key changed under {CREATE_ATTEMPTS} attempts in a row"),
        ))
    }

    async fn get(&self, id: Uuid) -> Result<Option<Order>, DependencyError> {
        self.get_order("GetItem", Operation::GetOrder, id).await
    }

    async fn list(&self, query: &ListQuery) -> Result<Page, DependencyError> {
        const OP: &str = "Query";
        let want = limit_of(OP, query.limit)?;
        let after = query
            .cursor
            .as_deref()
            .map(|c| Cursor::decode(OP, c))
            .transpose()?
            .map(|c| c.sk);
        let shards = match self.listing {
            Listing::Sharded => usize::try_from(table::SHARDS).unwrap_or(1),
            Listing::Unsharded => 1,
        };
        let page = merge::merge(
            shards,
            table::SHARD_QUERIES_AT_ONCE,
            query.sort,
            want,
            after,
            |k: &IndexKey| k.sk.clone(),
            |shard, after, limit| {
                let shard = u32::try_from(shard).unwrap_or(0);
                self.query_shard(query.status, shard, query.sort, after, limit)
            },
        )
        .await?;
        let orders = self.read_orders(&page.items, query.status).await?;
        // From the last key read, not the last order kept: one left out still moves the
        // listing past it.
        let cursor = match (page.more, page.items.last()) {
            (true, Some(last)) => Some(
                Cursor {
                    pk: last.pk.clone(),
                    sk: last.sk.clone(),
                }
                .encode(),
            ),
            _ => None,
        };
        Ok(Page { orders, cursor })
    }

    async fn transition(&self, request: &TransitionRequest) -> Result<Transition, DependencyError> {
        const OP: &str = "UpdateItem";
        let (id, from, to) = (request.id, request.from, request.to);
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(order_pk(id))))
            // Also false for a missing item, so a transition never creates one.
            .condition_expression("#status = :from")
            .expression_attribute_names("#status", table::STATUS_ATTRIBUTE)
            .expression_attribute_names("#shard", table::STATUS_SHARD_ATTRIBUTE)
            .expression_attribute_names("#updatedAt", attr::UPDATED_AT)
            .expression_attribute_names("#reason", attr::STATUS_REASON)
            .expression_attribute_values(":from", s(from.as_str()))
            .expression_attribute_values(":to", s(to.as_str()))
            .expression_attribute_values(":toShard", s(table::status_key(to, table::shard_of(id))))
            .expression_attribute_values(":at", s(timestamp::format(&request.at)))
            .return_values(ReturnValue::AllNew)
            .return_consumed_capacity(ReturnConsumedCapacity::Total);
        update = match &request.reason {
            Some(r) => update
                .update_expression(
                    "SET #status = :to, #shard = :toShard, #updatedAt = :at, #reason = :reason",
                )
                .expression_attribute_values(":reason", s(r)),
            None => update.update_expression(
                "SET #status = :to, #shard = :toShard, #updatedAt = :at REMOVE #reason",
            ),
        };
        let span = self.span(OP);
        let call = update.customize().interceptor(Attempts::new(&span)).send();
        // A failed condition is the answer "already done" (or "no such order"), not a failure.
        match traced(span, is_conditional_check_failed, call).await {
            Ok(out) => {
                consumed(
                    Operation::UpdateOrder,
                    Units::Write,
                    out.consumed_capacity(),
                );
                let item = out.attributes.unwrap_or_default();
                Ok(Transition::Applied(order_from_item(OP, &item)?))
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(is_conditional_check_failed) =>
            {
                Ok(
                    match self
                        .get_order("GetItem", Operation::UpdateOrder, id)
                        .await?
                    {
                        Some(order) => Transition::AlreadyDone(order),
                        None => Transition::NotFound,
                    },
                )
            }
            Err(e) => Err(sdk_error(OP, e)),
        }
    }

    async fn ping(&self) -> Result<(), DependencyError> {
        const OP: &str = "GetItem";
        let span = self.span(OP);
        let call = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(PING_KEY.to_owned())))
            .projection_expression("#pk")
            .expression_attribute_names("#pk", table::PARTITION_KEY)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .customize()
            .interceptor(Attempts::new(&span))
            .send();
        let out = traced(span, none, call)
            .await
            .map_err(|e| sdk_error(OP, e))?;
        consumed(Operation::HealthCheck, Units::Read, out.consumed_capacity());
        Ok(())
    }
}
