//! How an [`Order`] is laid out as a DynamoDB item, and the list cursor.
//!
//! Key and index attributes come from [`orders::settings::table`], the one table design that
//! `template.yaml` shares. The order's own fields use the API's camelCase names, so an item
//! in the console reads like the JSON the API returns.
//!
//! Line items are a list of maps (`L` of `M`) rather than one JSON string: every field stays
//! typed (prices are `N`, exact decimals to 38 digits), the console and PartiQL can read and
//! filter them, and nothing has to be parsed twice. An order holds at most 100 lines, far
//! below the 400 KB item limit either way.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use orders::domain::{LineItem, Order, OrderStatus, money, timestamp};
use orders::ports::{DependencyError, OutboxEntry};
use orders::settings::table;
use rust_decimal::Decimal;
use std::collections::HashMap;
use telemetry::trace::Carrier;
use uuid::Uuid;

pub(crate) use aws_sdk_dynamodb::types::AttributeValue;

pub type Item = HashMap<String, AttributeValue>;

/// Attribute names of an order's own fields (the key and index attributes are in
/// `settings::table`).
pub(crate) mod attr {
    pub const ID: &str = "id";
    pub const CUSTOMER_NAME: &str = "customerName";
    pub const ITEMS: &str = "items";
    pub const TOTAL: &str = "total";
    pub const ITEM_COUNT: &str = "itemCount";
    pub const CREATED_AT: &str = "createdAt";
    pub const UPDATED_AT: &str = "updatedAt";
    pub const STATUS_REASON: &str = "statusReason";
    pub const SKU: &str = "sku";
    pub const QTY: &str = "qty";
    pub const PRICE: &str = "price";
    /// The `traceparent` of the request that created the order: the publisher, reading the
    /// new item from the table's stream, continues its trace.
    pub const CREATED_IN: &str = "createdIn";
    /// The `x-correlation-id` of the request that created the order, for the same reader.
    pub const CORRELATION_ID: &str = "correlationId";
    /// Idempotency records.
    pub const REQUEST_HASH: &str = "requestHash";
    pub const ORDER_ID: &str = "orderId";
}

pub(crate) fn order_pk(id: Uuid) -> String {
    format!("{}{id}", table::ORDER_PREFIX)
}

pub(crate) fn idempotency_pk(key: &str) -> String {
    format!("{}{key}", table::IDEMPOTENCY_PREFIX)
}

/// `<createdAt>#<id>`: RFC 3339 with milliseconds has a fixed width, so string order is time
/// order, and the id (lowercase, hyphenated, fixed width) breaks ties as `Uuid`'s order does.
pub(crate) fn created_at_id(created_at: &DateTime<Utc>, id: Uuid) -> String {
    format!("{}#{id}", timestamp::format(created_at))
}

pub(crate) fn s(text: impl Into<String>) -> AttributeValue {
    AttributeValue::S(text.into())
}

pub(crate) fn n(number: impl ToString) -> AttributeValue {
    AttributeValue::N(number.to_string())
}

/// The item an order is stored as (`create` adds its [`Origin`]). Public for bulk loads
/// (benchmarks, backfills) that write many orders with `BatchWriteItem`.
pub fn order_item(order: &Order) -> Item {
    let lines = order
        .items
        .iter()
        .map(|line| {
            AttributeValue::M(HashMap::from([
                (attr::SKU.to_owned(), s(&line.sku)),
                (attr::QTY.to_owned(), n(line.qty)),
                // Decimal's Display is its exact text (`0.10`), never a float.
                (attr::PRICE.to_owned(), n(line.price)),
            ]))
        })
        .collect();
    let mut item = HashMap::from([
        (table::PARTITION_KEY.to_owned(), s(order_pk(order.id))),
        (attr::ID.to_owned(), s(order.id.to_string())),
        (attr::CUSTOMER_NAME.to_owned(), s(&order.customer_name)),
        (attr::ITEMS.to_owned(), AttributeValue::L(lines)),
        (table::STATUS_ATTRIBUTE.to_owned(), s(order.status.as_str())),
        (attr::TOTAL.to_owned(), n(order.total)),
        (attr::ITEM_COUNT.to_owned(), n(order.item_count)),
        (
            attr::CREATED_AT.to_owned(),
            s(timestamp::format(&order.created_at)),
        ),
        (
            attr::UPDATED_AT.to_owned(),
            s(timestamp::format(&order.updated_at)),
        ),
        (
            table::SORT_ATTRIBUTE.to_owned(),
            s(created_at_id(&order.created_at, order.id)),
        ),
        (
            table::STATUS_SHARD_ATTRIBUTE.to_owned(),
            s(table::status_key(order.status, table::shard_of(order.id))),
        ),
        (
            table::LIST_SHARD_ATTRIBUTE.to_owned(),
            s(table::list_key(table::shard_of(order.id))),
        ),
    ]);
    if let Some(reason) = &order.status_reason {
        item.insert(attr::STATUS_REASON.to_owned(), s(reason));
    }
    item
}

/// Where a new order came from, written on its item so that the publisher, which reads the
/// item from the table's stream, continues the request's trace and correlation id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Origin {
    pub correlation_id: String,
    pub created_in: Option<String>,
}

impl Origin {
    pub(crate) fn stamp(&self, mut item: Item) -> Item {
        item.insert(attr::CORRELATION_ID.to_owned(), s(&self.correlation_id));
        if let Some(traceparent) = &self.created_in {
            item.insert(attr::CREATED_IN.to_owned(), s(traceparent));
        }
        item
    }
}

/// The outbox entry of a new item read from the table's stream: `None` for an item that is
/// not an order (an idempotency record), `Corrupt` for an order item that cannot be read.
pub fn outbox_entry(
    sequence: impl Into<String>,
    image: &Item,
) -> Result<Option<OutboxEntry>, DependencyError> {
    const OP: &str = "read a stream record";
    let is_order = matches!(
        image.get(table::PARTITION_KEY),
        Some(AttributeValue::S(pk)) if pk.starts_with(table::ORDER_PREFIX)
    );
    if !is_order {
        return Ok(None);
    }
    let text = |name: &str| match image.get(name) {
        Some(AttributeValue::S(t)) => Some(t.as_str()),
        _ => None,
    };
    Ok(Some(OutboxEntry {
        sequence: sequence.into(),
        order: order_from_item(OP, image)?,
        correlation_id: text(attr::CORRELATION_ID).map(str::to_owned),
        created_in: Carrier::from_parts(text(attr::CREATED_IN), None),
    }))
}

/// Reads an order item back; anything missing or malformed is `Corrupt`, naming the
/// attribute, because only this code writes these items.
pub(crate) fn order_from_item(op: &'static str, item: &Item) -> Result<Order, DependencyError> {
    let r = Reader { op, item };
    let id = parse_uuid(op, r.s(attr::ID)?)?;
    let items = r
        .list(attr::ITEMS)?
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let AttributeValue::M(m) = v else {
                return Err(corrupt(op, format!("items[{i}] is not a map")));
            };
            let line = Reader { op, item: m };
            Ok(LineItem {
                sku: line.s(attr::SKU)?.to_owned(),
                qty: line.number(attr::QTY)?,
                price: line.money(attr::PRICE)?,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let status = r
        .s(table::STATUS_ATTRIBUTE)?
        .parse::<OrderStatus>()
        .map_err(|e| corrupt(op, e))?;
    let status_reason = match item.get(attr::STATUS_REASON) {
        None | Some(AttributeValue::Null(true)) => None,
        Some(_) => Some(r.s(attr::STATUS_REASON)?.to_owned()),
    };
    Ok(Order {
        id,
        customer_name: r.s(attr::CUSTOMER_NAME)?.to_owned(),
        items,
        status,
        total: r.money(attr::TOTAL)?,
        item_count: r.number(attr::ITEM_COUNT)?,
        created_at: r.time(attr::CREATED_AT)?,
        updated_at: r.time(attr::UPDATED_AT)?,
        status_reason,
    })
}

/// An idempotency record as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IdempotencyRecord {
    pub request_hash: String,
    pub order_id: Uuid,
    pub expires_at: i64,
}

pub(crate) fn idempotency_from_item(
    op: &'static str,
    item: &Item,
) -> Result<IdempotencyRecord, DependencyError> {
    let r = Reader { op, item };
    Ok(IdempotencyRecord {
        request_hash: r.s(attr::REQUEST_HASH)?.to_owned(),
        order_id: parse_uuid(op, r.s(attr::ORDER_ID)?)?,
        expires_at: r.number(table::TTL_ATTRIBUTE)?,
    })
}

/// DynamoDB's TTL counts in whole epoch seconds. Rounding the expiry up and "now" down (see
/// [`epoch_secs_floor`]) means a key is at worst remembered up to a second longer, never
/// forgotten early: the safe side for idempotency.
pub(crate) fn epoch_secs_ceil(t: &DateTime<Utc>) -> i64 {
    let secs = t.timestamp();
    if t.timestamp_subsec_nanos() > 0 {
        secs.saturating_add(1)
    } else {
        secs
    }
}

pub(crate) fn epoch_secs_floor(t: &DateTime<Utc>) -> i64 {
    t.timestamp()
}

struct Reader<'a> {
    op: &'static str,
    item: &'a Item,
}

impl Reader<'_> {
    fn get(&self, name: &str) -> Result<&AttributeValue, DependencyError> {
        self.item
            .get(name)
            .ok_or_else(|| corrupt(self.op, format!("attribute {name} is missing")))
    }

    fn s(&self, name: &str) -> Result<&str, DependencyError> {
        match self.get(name)? {
            AttributeValue::S(v) => Ok(v),
            other => Err(corrupt(
                self.op,
                format!("attribute {name} is {other:?}, want a string"),
            )),
        }
    }

    fn n(&self, name: &str) -> Result<&str, DependencyError> {
        match self.get(name)? {
            AttributeValue::N(v) => Ok(v),
            other => Err(corrupt(
                self.op,
                format!("attribute {name} is {other:?}, want a number"),
            )),
        }
    }

    fn list(&self, name: &str) -> Result<&[AttributeValue], DependencyError> {
        match self.get(name)? {
            AttributeValue::L(v) => Ok(v),
            other => Err(corrupt(
                self.op,
                format!("attribute {name} is {other:?}, want a list"),
            )),
        }
    }

    fn number<T: std::str::FromStr>(&self, name: &str) -> Result<T, DependencyError>
    where
        T::Err: std::fmt::Display,
    {
        let text = self.n(name)?;
        text.parse()
            .map_err(|e| corrupt(self.op, format!("attribute {name} = {text:?}: {e}")))
    }

    fn money(&self, name: &str) -> Result<Decimal, DependencyError> {
        // The number's text, parsed exactly (DynamoDB may normalise `0.10` to `0.1`, which is
        // the same amount).
        let text = self.n(name)?;
        money::parse_number(text).map_err(|e| corrupt(self.op, format!("attribute {name}: {e}")))
    }

    fn time(&self, name: &str) -> Result<DateTime<Utc>, DependencyError> {
        let text = self.s(name)?;
        DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| corrupt(self.op, format!("attribute {name} = {text:?}: {e}")))
    }
}

fn parse_uuid(op: &'static str, text: &str) -> Result<Uuid, DependencyError> {
    Uuid::parse_str(text).map_err(|e| corrupt(op, format!("{text:?} is not an order id: {e}")))
}

fn corrupt(op: &'static str, message: impl std::fmt::Display) -> DependencyError {
    DependencyError::corrupt(op, message)
}

/// Where a listing stopped: the table key and the sort key of the last order returned. The
/// index's partition keys are not in it: every shard of the query resumes strictly after the
/// sort key (the merged order is one order over all shards), so a cursor cannot move a
/// listing to another status, and stays this small however many shards there are.
///
/// Text form: base64url (no padding) of `{"pk":"ORDER#<id>","sk":"<createdAt>#<id>"}`. Not
/// signed: the handler seals it into the public `nextToken`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cursor {
    pub pk: String,
    pub sk: String,
}

impl Cursor {
    #[cfg(test)]
    pub(crate) fn after(order: &Order) -> Cursor {
        Cursor {
            pk: order_pk(order.id),
            sk: created_at_id(&order.created_at, order.id),
        }
    }

    pub(crate) fn encode(&self) -> String {
        let json = serde_json::json!({ "pk": self.pk, "sk": self.sk });
        URL_SAFE_NO_PAD.encode(json.to_string())
    }

    /// Accepts only what [`Cursor::encode`] writes for a real order: the id in `pk` and in
    /// `sk` must agree and the time must be an RFC 3339 timestamp, so a forged cursor is
    /// refused here rather than sent to DynamoDB as an arbitrary start key.
    pub(crate) fn decode(op: &'static str, text: &str) -> Result<Cursor, DependencyError> {
        let bad = |why: &str| corrupt(op, format!("{text:?} is not a list cursor: {why}"));
        let bytes = URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| bad("not base64url"))?;
        let value: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|_| bad("not JSON"))?;
        let obj = value.as_object().ok_or_else(|| bad("not an object"))?;
        if obj.len() != 2 {
            return Err(bad("unexpected fields"));
        }
        let field = |name: &str| {
            obj.get(name)
                .and_then(serde_json::Value::as_str)
                .ok_or_else(|| bad("a field is missing"))
        };
        let (pk, sk) = (field("pk")?, field("sk")?);
        let id = pk
            .strip_prefix(table::ORDER_PREFIX)
            .and_then(|id| Uuid::parse_str(id).ok())
            .ok_or_else(|| bad("pk is not an order key"))?;
        let (time, sk_id) = sk.rsplit_once('#').ok_or_else(|| bad("sk has no id"))?;
        let time = DateTime::parse_from_rfc3339(time)
            .map_err(|_| bad("sk has no timestamp"))?
            .with_timezone(&Utc);
        if Uuid::parse_str(sk_id).ok() != Some(id) {
            return Err(bad("pk and sk name different orders"));
        }
        // Re-formatted from the parsed values, so it matches the stored keys byte for byte.
        Ok(Cursor {
            pk: order_pk(id),
            sk: created_at_id(&time, id),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use orders::domain::NewOrder;
    use std::str::FromStr;

    fn order() -> Order {
        let mut o = Order::place(
            Uuid::new_v4(),
            NewOrder {
                customer_name: "Zoë".into(),
                items: vec![
                    LineItem {
                        sku: "A".into(),
                        qty: 3,
                        price: Decimal::from_str("0.10").unwrap(),
                    },
                    LineItem {
                        sku: "B".into(),
                        qty: 1,
                        price: Decimal::from_str("999999.99").unwrap(),
                    },
                ],
            },
            DateTime::from_timestamp_millis(1_767_225_600_123).unwrap(),
        );
        o.status_reason = Some("why".into());
        o
    }

    #[test]
    fn an_order_round_trips_through_its_item() {
        let o = order();
        let item = order_item(&o);
        assert_eq!(order_from_item("test", &item).unwrap(), o);
    }

    #[test]
    fn money_is_stored_as_exact_number_text() {
        let item = order_item(&order());
        let AttributeValue::L(lines) = &item[attr::ITEMS] else {
            panic!("items is not a list");
        };
        let AttributeValue::M(first) = &lines[0] else {
            panic!("line is not a map");
        };
        assert_eq!(first[attr::PRICE], AttributeValue::N("0.10".into()));
        assert_eq!(item[attr::TOTAL], AttributeValue::N("1000000.29".into()));
        let sk = match &item[table::SORT_ATTRIBUTE] {
            AttributeValue::S(sk) => sk.clone(),
            other => panic!("{other:?}"),
        };
        assert!(sk.starts_with("2026-01-01T00:00:00.123Z#"), "{sk}");
    }

    #[test]
    fn a_new_order_item_is_an_outbox_entry_with_its_origin_and_other_items_are_not() {
        let o = order();
        let origin = Origin {
            correlation_id: "c-1".into(),
            created_in: Some("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".into()),
        };
        let entry = outbox_entry("42", &origin.stamp(order_item(&o)))
            .unwrap()
            .unwrap();
        assert_eq!(entry.sequence, "42");
        assert_eq!(entry.order, o);
        assert_eq!(entry.correlation_id.as_deref(), Some("c-1"));
        assert_eq!(entry.created_in.traceparent, origin.created_in);
        let record = HashMap::from([(table::PARTITION_KEY.to_owned(), s(idempotency_pk("k")))]);
        assert_eq!(outbox_entry("43", &record).unwrap(), None);
        let mut broken = order_item(&o);
        broken.remove(attr::TOTAL);
        assert!(matches!(
            outbox_entry("44", &broken),
            Err(DependencyError::Corrupt { .. })
        ));
    }

    #[test]
    fn an_order_carries_the_index_keys_of_its_shard() {
        let o = order();
        let item = order_item(&o);
        let shard = table::shard_of(o.id);
        assert_eq!(
            item[table::STATUS_SHARD_ATTRIBUTE],
            s(format!("PENDING#{shard:02}"))
        );
        assert_eq!(
            item[table::LIST_SHARD_ATTRIBUTE],
            s(format!("ORDERS#{shard:02}"))
        );
    }

    #[test]
    fn normalised_numbers_read_back_as_the_same_amount() {
        let o = order();
        let mut item = order_item(&o);
        item.insert(attr::TOTAL.into(), AttributeValue::N("1000000.29".into()));
        let AttributeValue::L(lines) = item.get_mut(attr::ITEMS).unwrap() else {
            panic!()
        };
        let AttributeValue::M(first) = &mut lines[0] else {
            panic!()
        };
        first.insert(attr::PRICE.into(), AttributeValue::N("1E-1".into()));
        assert_eq!(order_from_item("test", &item).unwrap(), o);
    }

    #[test]
    fn a_broken_item_is_corrupt_and_names_the_attribute() {
        let mut item = order_item(&order());
        item.remove(attr::CUSTOMER_NAME);
        let err = order_from_item("GetItem", &item).unwrap_err();
        assert!(matches!(err, DependencyError::Corrupt { .. }), "{err}");
        assert!(err.to_string().contains("customerName"), "{err}");

        let mut item = order_item(&order());
        item.insert(attr::TOTAL.into(), AttributeValue::S("1.00".into()));
        assert!(matches!(
            order_from_item("GetItem", &item),
            Err(DependencyError::Corrupt { .. })
        ));
    }

    #[test]
    fn ttl_seconds_round_the_safe_way() {
        let t = DateTime::from_timestamp_millis(1_000_500).unwrap();
        assert_eq!(epoch_secs_ceil(&t), 1_001);
        assert_eq!(epoch_secs_floor(&t), 1_000);
        let whole = DateTime::from_timestamp_millis(1_000_000).unwrap();
        assert_eq!(epoch_secs_ceil(&whole), 1_000);
    }

    #[test]
    fn cursor_round_trips_and_refuses_forgeries() {
        let o = order();
        let c = Cursor::after(&o);
        assert_eq!(Cursor::decode("Query", &c.encode()).unwrap(), c);

        let other = Uuid::new_v4();
        let forged = [
            String::new(),
            "not a cursor".into(),
            URL_SAFE_NO_PAD.encode("{\"pk\":"),
            URL_SAFE_NO_PAD.encode("[]"),
            URL_SAFE_NO_PAD.encode(format!("{{\"pk\":\"{}\"}}", c.pk)),
            URL_SAFE_NO_PAD.encode(format!("{{\"pk\":\"IDEMPOTENCY#x\",\"sk\":\"{}\"}}", c.sk)),
            URL_SAFE_NO_PAD.encode(format!(
                "{{\"pk\":\"{}\",\"sk\":\"2026-01-01T00:00:00.000Z#{other}\"}}",
                c.pk
            )),
            URL_SAFE_NO_PAD.encode(format!(
                "{{\"pk\":\"{}\",\"sk\":\"yesterday#{}\"}}",
                c.pk, o.id
            )),
            URL_SAFE_NO_PAD.encode(format!(
                "{{\"pk\":\"{}\",\"sk\":\"{}\",\"x\":1}}",
                c.pk, c.sk
            )),
        ];
        for text in forged {
            assert!(
                matches!(
                    Cursor::decode("Query", &text),
                    Err(DependencyError::Corrupt { .. })
                ),
                "{text:?}"
            );
        }
    }
}
