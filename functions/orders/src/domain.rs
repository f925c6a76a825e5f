//! The order domain: line items, statuses, exact money and the business rules that pick a
//! final status. Pure data and pure functions; nothing here does I/O.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

/// More line items than this sends an order to manual review.
pub const REVIEW_LINE_ITEMS_ABOVE: usize = 10;
/// A total above this needs approval; approval wins over review.
pub const APPROVAL_TOTAL_ABOVE: Decimal = Decimal::from_parts(10_000, 0, 0, false, 0);

/// Lifecycle of an order. `Pending` is the only non-final status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatus {
    Pending,
    Confirmed,
    PendingReview,
    PendingApproval,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 4] = [
        OrderStatus::Pending,
        OrderStatus::Confirmed,
        OrderStatus::PendingReview,
        OrderStatus::PendingApproval,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Pending => "PENDING",
            OrderStatus::Confirmed => "CONFIRMED",
            OrderStatus::PendingReview => "PENDING_REVIEW",
            OrderStatus::PendingApproval => "PENDING_APPROVAL",
        }
    }

    pub fn is_final(self) -> bool {
        self != OrderStatus::Pending
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an order status")]
pub struct UnknownStatus(pub String);

impl FromStr for OrderStatus {
    type Err = UnknownStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OrderStatus::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| UnknownStatus(s.to_owned()))
    }
}

/// One line of an order. `price` is the unit price.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineItem {
    pub sku: String,
    pub qty: u32,
    #[serde(with = "money")]
    pub price: Decimal,
}

impl LineItem {
    pub fn line_total(&self) -> Decimal {
        self.price * Decimal::from(self.qty)
    }
}

/// A validated request to create an order (see `validation`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrder {
    pub customer_name: String,
    pub items: Vec<LineItem>,
}

/// An order as stored and as returned by the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    pub id: Uuid,
    pub customer_name: String,
    pub items: Vec<LineItem>,
    pub status: OrderStatus,
    #[serde(with = "money")]
    pub total: Decimal,
    /// Units across all lines (sum of `qty`); the number of lines is `items.len()`.
    pub item_count: u32,
    #[serde(with = "timestamp")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "timestamp")]
    pub updated_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
}

impl Order {
    /// A new `PENDING` order; totals are computed here, in decimal, never in floating point.
    pub fn place(id: Uuid, new: NewOrder, now: DateTime<Utc>) -> Order {
        let now = timestamp::to_millis(now);
        let total = new
            .items
            .iter()
            .map(LineItem::line_total)
            .sum::<Decimal>()
            .round_dp(2);
        let item_count = new.items.iter().map(|i| i.qty).sum();
        Order {
            id,
            customer_name: new.customer_name,
            items: new.items,
            status: OrderStatus::Pending,
            total,
            item_count,
            created_at: now,
            updated_at: now,
            status_reason: None,
        }
    }

    /// The status the processor moves a pending order to, with the reason shown to users.
    pub fn decide(&self) -> Decision {
        if self.total > APPROVAL_TOTAL_ABOVE {
            Decision {
                status: OrderStatus::PendingApproval,
                reason: Some(format!(
                    "total {} is above the approval threshold of {}",
                    money::format(self.total),
                    money::format(APPROVAL_TOTAL_ABOVE)
                )),
            }
        } else if self.items.len() > REVIEW_LINE_ITEMS_ABOVE {
            Decision {
                status: OrderStatus::PendingReview,
                reason: Some(format!(
                    "{} line items is more than {}",
                    self.items.len(),
                    REVIEW_LINE_ITEMS_ABOVE
                )),
            }
        } else {
            Decision {
                status: OrderStatus::Confirmed,
                reason: None,
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub status: OrderStatus,
    pub reason: Option<String>,
}

/// Money as a JSON number with exactly two decimals (`0.50`, `10.00`), read back exactly.
///
/// serde_json's `RawValue` lets us write and read the number's text without passing it
/// through `f64`, so no value is ever rounded by binary floating point.
pub mod money {
    use rust_decimal::Decimal;
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _, ser::Error as _};
    use serde_json::value::RawValue;
    use std::str::FromStr;

    pub fn format(value: Decimal) -> String {
        format!("{:.2}", value.round_dp(2))
    }

    pub fn serialize<S: Serializer>(value: &Decimal, s: S) -> Result<S::Ok, S::Error> {
        let raw = RawValue::from_string(format(*value)).map_err(S::Error::custom)?;
        serde::Serialize::serialize(&raw, s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
        let raw = Box::<RawValue>::deserialize(d)?;
        parse_number(raw.get()).map_err(D::Error::custom)
    }

    /// Parses a JSON number's text exactly (exponents included).
    pub fn parse_number(text: &str) -> Result<Decimal, String> {
        let text = text.trim();
        let looks_numeric = text.starts_with(|c: char| c == '-' || c.is_ascii_digit());
        if !looks_numeric {
            return Err(format!("{text} is not a number"));
        }
        let parsed = if text.contains(['e', 'E']) {
            Decimal::from_scientific(text)
        } else {
            Decimal::from_str(text)
        };
        parsed.map_err(|e| format!("{text} is not a representable amount: {e}"))
    }
}

/// RFC 3339 UTC timestamps with milliseconds, e.g. `2026-11-24T17:30:25.123Z`.
pub mod timestamp {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    /// Drops sub-millisecond precision, which the wire format cannot carry.
    pub fn to_millis(t: DateTime<Utc>) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap_or(t)
    }

    pub fn format(t: &DateTime<Utc>) -> String {
        t.to_rfc3339_opts(SecondsFormat::Millis, true)
    }

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let s = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(sku: &str, qty: u32, price: &str) -> LineItem {
        LineItem {
            sku: sku.into(),
            qty,
            price: Decimal::from_str(price).unwrap(),
        }
    }

    fn order(items: Vec<LineItem>) -> Order {
        Order::place(
            Uuid::nil(),
            NewOrder {
                customer_name: "Ada".into(),
                items,
            },
            Utc::now(),
        )
    }

    #[test]
    fn totals_are_exact_decimal() {
        let o = order(vec![item("A", 3, "0.10"), item("B", 1, "0.20")]);
        assert_eq!(money::format(o.total), "0.50");
        assert_eq!(o.item_count, 4);
        let json = serde_json::to_string(&o).unwrap();
        assert!(json.contains(r#""total":0.50"#), "{json}");
        assert!(json.contains(r#""price":0.10"#), "{json}");
        let back: Order = serde_json::from_str(&json).unwrap();
        assert_eq!(back, o);
    }

    #[test]
    fn status_rules() {
        assert_eq!(
            order(vec![item("A", 1, "5")]).decide().status,
            OrderStatus::Confirmed
        );
        let many: Vec<_> = (0..11).map(|i| item(&format!("S{i}"), 1, "1")).collect();
        assert_eq!(
            order(many.clone()).decide().status,
            OrderStatus::PendingReview
        );
        let ten: Vec<_> = many[..10].to_vec();
        assert_eq!(order(ten).decide().status, OrderStatus::Confirmed);
        assert_eq!(
            order(vec![item("A", 1, "10000.00")]).decide().status,
            OrderStatus::Confirmed
        );
        assert_eq!(
            order(vec![item("A", 1, "10000.01")]).decide().status,
            OrderStatus::PendingApproval
        );
        let mut big = many;
        big.push(item("BIG", 2, "6000"));
        assert_eq!(
            order(big).decide().status,
            OrderStatus::PendingApproval,
            "approval wins over review"
        );
    }

    #[test]
    fn status_round_trips_as_text() {
        for s in OrderStatus::ALL {
            assert_eq!(s.as_str().parse::<OrderStatus>().unwrap(), s);
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{s}\""));
        }
        assert!("confirmed".parse::<OrderStatus>().is_err());
    }
}
