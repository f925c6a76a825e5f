//! The table's stream as the outbox: every order written appears on it once, as an `INSERT`
//! with the new item, and the publisher sends its message from there. On Lambda the event
//! source mapping reads the stream and hands the function its records as JSON
//! ([`stream_event`]); on an emulator (`workshop up --backend aws`) [`StreamOutbox`] reads it
//! as the local stack's event source does its own outbox.

use crate::item::{AttributeValue, Item, outbox_entry};
use crate::store::sdk_error;
use async_trait::async_trait;
use aws_sdk_dynamodbstreams::types::{
    AttributeValue as StreamValue, OperationType, ShardIteratorType,
};
use orders::ports::{DependencyError, Outbox, OutboxEntry};
use orders::settings::table;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use tokio::sync::Mutex;

/// What a batch of stream records holds for the publisher.
#[derive(Debug, Default)]
pub struct StreamRecords {
    /// The new orders, in the batch's order.
    pub entries: Vec<OutboxEntry>,
    /// Records of new order items that could not be read, by sequence number, with why: the
    /// function reports them failed (never drops them), so they stay visible and retried.
    pub unreadable: Vec<(String, DependencyError)>,
}

/// The records of a DynamoDB Streams event (as Lambda delivers it) that are new orders.
/// Other records (an idempotency record's insert, any modify or remove, which the event
/// source's filter already keeps out on AWS) are skipped.
pub fn stream_event(event: &Value) -> StreamRecords {
    let mut out = StreamRecords::default();
    let records = event.get("Records").and_then(Value::as_array);
    for record in records.into_iter().flatten() {
        if record.get("eventName").and_then(Value::as_str) != Some("INSERT") {
            continue;
        }
        let data = record.get("dynamodb");
        let sequence = data
            .and_then(|d| d.get("SequenceNumber"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let entry = data
            .and_then(|d| d.get("NewImage"))
            .ok_or_else(|| {
                DependencyError::corrupt(
                    "read a stream record",
                    "an INSERT record has no NewImage (the stream must carry new images)",
                )
            })
            .and_then(image_from_json)
            .and_then(|image| outbox_entry(sequence.clone(), &image));
        match entry {
            Ok(Some(entry)) => out.entries.push(entry),
            Ok(None) => {}
            Err(e) => out.unreadable.push((sequence, e)),
        }
    }
    out
}

/// An item image in DynamoDB's JSON form (`{"S": "x"}`, `{"N": "1"}`, `{"M": {..}}` ...).
pub fn image_from_json(image: &Value) -> Result<Item, DependencyError> {
    let map = image
        .as_object()
        .ok_or_else(|| bad_json("an image is not a JSON object"))?;
    map.iter()
        .map(|(name, v)| Ok((name.clone(), value_from_json(v)?)))
        .collect()
}

fn value_from_json(v: &Value) -> Result<AttributeValue, DependencyError> {
    let Some((kind, inner)) = v.as_object().and_then(|o| o.iter().next()) else {
        return Err(bad_json(format!("{v} is not a typed attribute value")));
    };
    let text = |x: &Value| {
        x.as_str()
            .map(str::to_owned)
            .ok_or_else(|| bad_json(format!("{kind} holds {x}, not a string")))
    };
    let texts = |x: &Value| -> Result<Vec<String>, DependencyError> {
        x.as_array()
            .ok_or_else(|| bad_json(format!("{kind} holds {x}, not a list")))?
            .iter()
            .map(text)
            .collect()
    };
    Ok(match kind.as_str() {
        "S" => AttributeValue::S(text(inner)?),
        "N" => AttributeValue::N(text(inner)?),
        "BOOL" => AttributeValue::Bool(inner.as_bool().unwrap_or_default()),
        "NULL" => AttributeValue::Null(true),
        "SS" => AttributeValue::Ss(texts(inner)?),
        "NS" => AttributeValue::Ns(texts(inner)?),
        "L" => AttributeValue::L(
            inner
                .as_array()
                .ok_or_else(|| bad_json("L does not hold a list"))?
                .iter()
                .map(value_from_json)
                .collect::<Result<_, _>>()?,
        ),
        "M" => AttributeValue::M(image_from_json(inner)?),
        // The kit writes no binary attributes.
        other => return Err(bad_json(format!("attribute type {other} is not read here"))),
    })
}

/// An item image in DynamoDB's JSON form, as a stream record carries it (the inverse of
/// [`image_from_json`], for the types the kit writes; binary values are left out).
pub fn image_to_json(item: &Item) -> Value {
    fn value(v: &AttributeValue) -> Option<Value> {
        Some(match v {
            AttributeValue::S(s) => json!({ "S": s }),
            AttributeValue::N(n) => json!({ "N": n }),
            AttributeValue::Bool(b) => json!({ "BOOL": b }),
            AttributeValue::Null(_) => json!({ "NULL": true }),
            AttributeValue::Ss(ss) => json!({ "SS": ss }),
            AttributeValue::Ns(ns) => json!({ "NS": ns }),
            AttributeValue::L(l) => json!({ "L": l.iter().filter_map(value).collect::<Vec<_>>() }),
            AttributeValue::M(m) => json!({ "M": image_to_json(m) }),
            _ => return None,
        })
    }
    Value::Object(
        item.iter()
            .filter_map(|(k, v)| Some((k.clone(), value(v)?)))
            .collect(),
    )
}

fn bad_json(message: impl std::fmt::Display) -> DependencyError {
    DependencyError::corrupt("read a stream record", message)
}

/// A stream value as the table's own attribute value (the two SDKs have one type each).
pub(crate) fn table_value(v: StreamValue) -> AttributeValue {
    match v {
        StreamValue::S(s) => AttributeValue::S(s),
        StreamValue::N(n) => AttributeValue::N(n),
        StreamValue::B(b) => AttributeValue::B(b.into_inner().into()),
        StreamValue::Bool(b) => AttributeValue::Bool(b),
        StreamValue::Null(n) => AttributeValue::Null(n),
        StreamValue::L(l) => AttributeValue::L(l.into_iter().map(table_value).collect()),
        StreamValue::M(m) => AttributeValue::M(table_item(m)),
        StreamValue::Ss(ss) => AttributeValue::Ss(ss),
        StreamValue::Ns(ns) => AttributeValue::Ns(ns),
        StreamValue::Bs(bs) => {
            AttributeValue::Bs(bs.into_iter().map(|b| b.into_inner().into()).collect())
        }
        // A type this SDK does not know yet: read as nothing rather than guessed.
        _ => AttributeValue::Null(true),
    }
}

fn table_item(image: HashMap<String, StreamValue>) -> Item {
    image
        .into_iter()
        .map(|(k, v)| (k, table_value(v)))
        .collect()
}

/// The table's stream read as an [`Outbox`], for the local stack on a DynamoDB emulator:
/// each shard from its start (`TRIM_HORIZON`, so orders written before the stack started are
/// published too; the processor skips any it has seen), new orders held until acknowledged.
/// The shards are those of the stream when it was opened: an emulator does not split them.
///
/// Every read asks for a new iterator after the last record taken, and an order is taken only
/// once a consistent read finds its item. Both are for moto, which rolls a cancelled
/// transaction back by swapping in a copy of the table: records of the cancelled writes stay
/// on the old copy's stream, which an iterator opened before keeps reading, while new writes
/// reuse their sequence numbers on the new copy. A record whose item is still missing after
/// [`MISSING_ITEM_GRACE`] is passed over (its write was undone, or the order deleted since),
/// so it cannot hold up the orders behind it.
pub struct StreamOutbox {
    dynamodb: aws_sdk_dynamodb::Client,
    streams: aws_sdk_dynamodbstreams::Client,
    table: String,
    arn: String,
    state: Mutex<State>,
}

struct State {
    /// Each shard with the sequence number of the last record taken from it.
    shards: Vec<(String, Option<String>)>,
    /// Entries read and not yet acknowledged, in sequence order.
    held: BTreeMap<Sequence, OutboxEntry>,
}

/// How long a stream record may name an item the table does not hold before it is passed
/// over: a write that is still in flight shows within milliseconds.
pub const MISSING_ITEM_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// A sequence number, ordered as the number it is (they grow a digit now and then).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Sequence(usize, String);

impl Sequence {
    fn of(text: &str) -> Sequence {
        Sequence(text.len(), text.to_owned())
    }
}

impl StreamOutbox {
    /// Opens the stream of `table` (`Failed` if it has none).
    pub async fn open(
        dynamodb: &aws_sdk_dynamodb::Client,
        streams: aws_sdk_dynamodbstreams::Client,
        table: &str,
    ) -> Result<StreamOutbox, DependencyError> {
        let arn = crate::stream::stream_arn(dynamodb, table).await?;
        let shards = crate::stream::shard_ids(&streams, &arn)
            .await?
            .into_iter()
            .map(|id| (id, None))
            .collect();
        Ok(StreamOutbox {
            dynamodb: dynamodb.clone(),
            streams,
            table: table.to_owned(),
            arn,
            state: Mutex::new(State {
                shards,
                held: BTreeMap::new(),
            }),
        })
    }

    /// Whether the order item of a stream record is in the table (a cancelled write's record
    /// on an emulator names an item that never was).
    async fn exists(&self, image: &Item) -> Result<bool, DependencyError> {
        let Some(pk) = image.get(table::PARTITION_KEY) else {
            return Ok(false);
        };
        let out = self
            .dynamodb
            .get_item()
            .table_name(&self.table)
            .key(table::PARTITION_KEY, pk.clone())
            .projection_expression("#pk")
            .expression_attribute_names("#pk", table::PARTITION_KEY)
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error("GetItem", e))?;
        Ok(out.item.is_some())
    }

    /// Reads one shard on from `last`, adding its new orders to `held` and moving `last` past
    /// each record taken (so a failure part-way keeps what was read, and reads on from there).
    async fn read_shard(
        &self,
        shard: &str,
        last: &mut Option<String>,
        held: &mut BTreeMap<Sequence, OutboxEntry>,
    ) -> Result<(), DependencyError> {
        let request = self
            .streams
            .get_shard_iterator()
            .stream_arn(&self.arn)
            .shard_id(shard);
        let request = match last.as_ref() {
            Some(sequence) => request
                .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                .sequence_number(sequence),
            None => request.shard_iterator_type(ShardIteratorType::TrimHorizon),
        };
        let iterator = request
            .send()
            .await
            .map_err(|e| sdk_error("GetShardIterator", e))?
            .shard_iterator;
        for record in crate::stream::read_on(&self.streams, iterator).await? {
            let Some(data) = record.dynamodb else {
                continue;
            };
            let sequence = data.sequence_number.unwrap_or_default();
            if record.event_name == Some(OperationType::Insert) {
                let image = table_item(data.new_image.unwrap_or_default());
                if let Some(entry) = outbox_entry(sequence.clone(), &image)? {
                    if !self.exists(&image).await? {
                        let age = data.approximate_creation_date_time.map(|t| {
                            chrono::Utc::now().timestamp_millis()
                                - t.to_millis().unwrap_or_default()
                        });
                        let grace =
                            i64::try_from(MISSING_ITEM_GRACE.as_millis()).unwrap_or(i64::MAX);
                        if age.is_none_or(|ms| ms < grace) {
                            // Not taken yet: the next read starts here again, on the
                            // table's current stream.
                            return Ok(());
                        }
                        tracing::warn!(
                            sequence,
                            order_id = %entry.order.id,
                            "a stream record names an order the table does not hold; passed over"
                        );
                    } else {
                        held.insert(Sequence::of(&sequence), entry);
                    }
                }
            }
            *last = Some(sequence);
        }
        Ok(())
    }
}

#[async_trait]
impl Outbox for StreamOutbox {
    async fn pending(&self, limit: u32) -> Result<Vec<OutboxEntry>, DependencyError> {
        let mut state = self.state.lock().await;
        let State { shards, held } = &mut *state;
        for (shard, last) in shards.iter_mut() {
            self.read_shard(shard, last, held).await?;
        }
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        Ok(held.values().take(limit).cloned().collect())
    }

    async fn acknowledge(&self, sequences: &[String]) -> Result<(), DependencyError> {
        let mut state = self.state.lock().await;
        for sequence in sequences {
            state.held.remove(&Sequence::of(sequence));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::item::{Origin, order_item};
    use orders::domain::{LineItem, Order};
    use rust_decimal::Decimal;

    fn order() -> Order {
        let new = orders::domain::NewOrder {
            customer_name: "Ada".into(),
            items: vec![LineItem {
                sku: "SKU-1".into(),
                qty: 2,
                price: Decimal::new(1999, 2),
            }],
        };
        Order::place(uuid::Uuid::new_v4(), new, chrono::Utc::now())
    }

    #[test]
    fn a_lambda_stream_event_yields_its_new_orders_and_reports_unreadable_ones() {
        let o = order();
        let origin = Origin {
            correlation_id: "c-9".into(),
            created_in: None,
        };
        let image = image_to_json(&origin.stamp(order_item(&o)));
        let event = json!({ "Records": [
            { "eventName": "INSERT", "dynamodb": { "SequenceNumber": "100", "NewImage": image } },
            { "eventName": "INSERT", "dynamodb": { "SequenceNumber": "101",
                "NewImage": { "pk": { "S": "IDEMPOTENCY#k" } } } },
            { "eventName": "MODIFY", "dynamodb": { "SequenceNumber": "102", "NewImage": image } },
            { "eventName": "INSERT", "dynamodb": { "SequenceNumber": "103",
                "NewImage": { "pk": { "S": "ORDER#x" }, "total": { "N": 5 } } } },
            { "eventName": "INSERT", "dynamodb": { "SequenceNumber": "104" } },
        ]});
        let records = stream_event(&event);
        assert_eq!(records.entries.len(), 1);
        assert_eq!(records.entries[0].order, o);
        assert_eq!(records.entries[0].sequence, "100");
        assert_eq!(records.entries[0].correlation_id.as_deref(), Some("c-9"));
        let unreadable: Vec<&str> = records.unreadable.iter().map(|(s, _)| s.as_str()).collect();
        assert_eq!(unreadable, ["103", "104"]);
        assert!(
            records.unreadable[1].1.to_string().contains("NewImage"),
            "{}",
            records.unreadable[1].1
        );
    }

    #[test]
    fn sequence_numbers_order_as_numbers() {
        let mut seqs = ["100", "99", "1000", "101"].map(Sequence::of);
        seqs.sort();
        assert_eq!(seqs.map(|s| s.1), ["99", "100", "101", "1000"]);
    }

    #[test]
    fn typed_json_values_read_as_attribute_values() {
        let image = json!({
            "a": { "SS": ["x", "y"] }, "b": { "BOOL": true }, "c": { "NULL": true },
            "d": { "L": [{ "N": "1.50" }] }
        });
        let item = image_from_json(&image).unwrap();
        assert_eq!(item["a"], AttributeValue::Ss(vec!["x".into(), "y".into()]));
        assert_eq!(item["b"], AttributeValue::Bool(true));
        assert_eq!(item["c"], AttributeValue::Null(true));
        assert_eq!(
            item["d"],
            AttributeValue::L(vec![AttributeValue::N("1.50".into())])
        );
        for bad in [
            json!({ "x": "plain" }),
            json!({ "x": { "B": "AA==" } }),
            json!([1]),
        ] {
            assert!(image_from_json(&bad).is_err(), "{bad}");
        }
        assert_eq!(image_from_json(&image_to_json(&item)).unwrap(), item);
    }
}
