//! Validation of `POST /orders` bodies. Every problem is collected (not just the first), each
//! naming its field, and amounts are read from the JSON text itself so `0.1` stays `0.1`.

use crate::domain::{LineItem, NewOrder, money};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::value::RawValue;
use std::collections::BTreeMap;

pub const CUSTOMER_NAME_MAX: usize = 200;
pub const ITEMS_MAX: usize = 100;
pub const SKU_MAX: usize = 64;
pub const QTY_MAX: u32 = 10_000;
pub const PRICE_MAX: Decimal = Decimal::from_parts(1_000_000, 0, 0, false, 0);

/// One problem with one field of the request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
    /// The kind of problem, for the `ValidationFailures` metric's closed `Reason` dimension.
    #[serde(skip)]
    pub kind: ProblemKind,
}

/// What kind of problem a field has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProblemKind {
    MissingField,
    WrongType,
    UnknownField,
    #[default]
    OutOfRange,
}

impl FieldError {
    pub fn new(kind: ProblemKind, field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
            kind,
        }
    }
}

/// Why a body could not become an order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    #[error("request body is required")]
    Empty,
    #[error("request body is {size} bytes; the limit is {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    #[error("request body is not valid JSON: {0}")]
    Malformed(String),
    #[error("request body must be a JSON object")]
    NotAnObject,
    #[error("{}", summary(.0))]
    Invalid(Vec<FieldError>),
}

fn summary(problems: &[FieldError]) -> String {
    match problems {
        [one] => one.message.clone(),
        many => format!(
            "request has {} problems: {}",
            many.len(),
            many.iter()
                .map(|p| p.message.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        ),
    }
}

type Object<'a> = BTreeMap<String, &'a RawValue>;

/// Parses and validates a create-order body.
pub fn parse_new_order(body: &[u8], max_bytes: usize) -> Result<NewOrder, BodyError> {
    if body.len() > max_bytes {
        return Err(BodyError::TooLarge {
            size: body.len(),
            limit: max_bytes,
        });
    }
    let text = std::str::from_utf8(body).map_err(|e| BodyError::Malformed(e.to_string()))?;
    if text.trim().is_empty() {
        return Err(BodyError::Empty);
    }
    let value: &RawValue =
        serde_json::from_str(text).map_err(|e| BodyError::Malformed(e.to_string()))?;
    let object: Object = serde_json::from_str(value.get()).map_err(|_| BodyError::NotAnObject)?;

    let mut problems = Vec::new();
    for key in object.keys() {
        if key != "customerName" && key != "items" {
            problems.push(FieldError::new(
                ProblemKind::UnknownField,
                key,
                format!("{key} is not a known field"),
            ));
        }
    }
    let customer_name = customer_name(object.get("customerName").copied(), &mut problems);
    let items = items(object.get("items").copied(), &mut problems);

    match (customer_name, items) {
        (Some(customer_name), Some(items)) if problems.is_empty() => Ok(NewOrder {
            customer_name,
            items,
        }),
        _ => Err(BodyError::Invalid(problems)),
    }
}

fn json_type(raw: &RawValue) -> &'static str {
    match raw.get().trim_start().as_bytes().first() {
        Some(b'"') => "a string",
        Some(b'{') => "an object",
        Some(b'[') => "an array",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        _ => "a number",
    }
}

fn string_field(
    raw: Option<&RawValue>,
    field: &str,
    problems: &mut Vec<FieldError>,
) -> Option<String> {
    let Some(raw) = raw else {
        return reject(
            problems,
            ProblemKind::MissingField,
            field,
            format!("{field} is required"),
        );
    };
    match serde_json::from_str::<String>(raw.get()) {
        Ok(s) => Some(s),
        Err(_) => {
            let found = json_type(raw);
            reject(
                problems,
                ProblemKind::WrongType,
                field,
                format!("{field} must be a string, not {found}"),
            )
        }
    }
}

/// Records one problem and gives the `None` the field parsers answer with,
/// so each check is one expression.
fn reject<T>(
    problems: &mut Vec<FieldError>,
    kind: ProblemKind,
    field: &str,
    message: impl Into<String>,
) -> Option<T> {
    problems.push(FieldError::new(kind, field, message));
    None
}

fn customer_name(raw: Option<&RawValue>, problems: &mut Vec<FieldError>) -> Option<String> {
    const FIELD: &str = "customerName";
    let name = string_field(raw, FIELD, problems)?;
    let trimmed = name.trim();
    // The limit counts what was sent, as the API's JSON Schema (api/openapi.yaml) says; the
    // order keeps the name trimmed.
    let chars = name.chars().count();
    if trimmed.is_empty() {
        reject(
            problems,
            ProblemKind::OutOfRange,
            FIELD,
            "customerName must not be blank",
        )
    } else if chars > CUSTOMER_NAME_MAX {
        reject(
            problems,
            ProblemKind::OutOfRange,
            FIELD,
            format!("customerName must be at most {CUSTOMER_NAME_MAX} characters (got {chars})"),
        )
    } else {
        Some(trimmed.to_owned())
    }
}

fn items(raw: Option<&RawValue>, problems: &mut Vec<FieldError>) -> Option<Vec<LineItem>> {
    let Some(raw) = raw else {
        return reject(
            problems,
            ProblemKind::MissingField,
            "items",
            "items is required",
        );
    };
    let Ok(lines) = serde_json::from_str::<Vec<&RawValue>>(raw.get()) else {
        let found = json_type(raw);
        return reject(
            problems,
            ProblemKind::WrongType,
            "items",
            format!("items must be an array, not {found}"),
        );
    };
    if lines.is_empty() {
        return reject(
            problems,
            ProblemKind::OutOfRange,
            "items",
            "items must contain at least 1 line",
        );
    }
    if lines.len() > ITEMS_MAX {
        return reject(
            problems,
            ProblemKind::OutOfRange,
            "items",
            format!(
                "items must contain at most {ITEMS_MAX} lines (got {})",
                lines.len()
            ),
        );
    }
    let before = problems.len();
    let parsed: Vec<Option<LineItem>> = lines
        .iter()
        .enumerate()
        .map(|(i, line)| line_item(&format!("items[{i}]"), line, problems))
        .collect();
    if problems.len() > before {
        return None;
    }
    parsed.into_iter().collect()
}

fn line_item(path: &str, raw: &RawValue, problems: &mut Vec<FieldError>) -> Option<LineItem> {
    let Ok(object) = serde_json::from_str::<Object>(raw.get()) else {
        let found = json_type(raw);
        return reject(
            problems,
            ProblemKind::WrongType,
            path,
            format!("{path} must be an object, not {found}"),
        );
    };
    for key in object.keys() {
        if !matches!(key.as_str(), "sku" | "qty" | "price") {
            let field = format!("{path}.{key}");
            problems.push(FieldError::new(
                ProblemKind::UnknownField,
                &field,
                format!("{field} is not a known field"),
            ));
        }
    }
    let sku = sku(&format!("{path}.sku"), object.get("sku").copied(), problems);
    let qty = qty(&format!("{path}.qty"), object.get("qty").copied(), problems);
    let price = price(
        &format!("{path}.price"),
        object.get("price").copied(),
        problems,
    );
    Some(LineItem {
        sku: sku?,
        qty: qty?,
        price: price?,
    })
}

fn sku(field: &str, raw: Option<&RawValue>, problems: &mut Vec<FieldError>) -> Option<String> {
    let sku = string_field(raw, field, problems)?;
    let chars = sku.chars().count();
    if sku.trim().is_empty() {
        reject(
            problems,
            ProblemKind::OutOfRange,
            field,
            format!("{field} must not be blank"),
        )
    } else if chars > SKU_MAX {
        reject(
            problems,
            ProblemKind::OutOfRange,
            field,
            format!("{field} must be at most {SKU_MAX} characters (got {chars})"),
        )
    } else {
        Some(sku)
    }
}

fn number_text<'a>(
    field: &str,
    raw: Option<&'a RawValue>,
    problems: &mut Vec<FieldError>,
) -> Option<&'a str> {
    let Some(raw) = raw else {
        return reject(
            problems,
            ProblemKind::MissingField,
            field,
            format!("{field} is required"),
        );
    };
    let found = json_type(raw);
    if found != "a number" {
        return reject(
            problems,
            ProblemKind::WrongType,
            field,
            format!("{field} must be a number, not {found}"),
        );
    }
    Some(raw.get().trim())
}

fn qty(field: &str, raw: Option<&RawValue>, problems: &mut Vec<FieldError>) -> Option<u32> {
    let text = number_text(field, raw, problems)?;
    // JSON has one number type: 3, 3.0 and 3e0 are the same whole number (JSON Schema's
    // `integer`, and JavaScript's Number.isInteger, say so too); 3.5 is not.
    let value = money::parse_number(text).ok();
    if value.is_some_and(|v| !v.fract().is_zero()) {
        return reject(
            problems,
            ProblemKind::WrongType,
            field,
            format!("{field} must be a whole number (got {text})"),
        );
    }
    match value.and_then(|v| i64::try_from(v).ok()) {
        Some(n) if (1..=i64::from(QTY_MAX)).contains(&n) => u32::try_from(n).ok(),
        _ => reject(
            problems,
            ProblemKind::OutOfRange,
            field,
            format!("{field} must be between 1 and {QTY_MAX} (got {text})"),
        ),
    }
}

fn price(field: &str, raw: Option<&RawValue>, problems: &mut Vec<FieldError>) -> Option<Decimal> {
    let text = number_text(field, raw, problems)?;
    let value = match money::parse_number(text) {
        Ok(v) => v,
        Err(e) => {
            return reject(
                problems,
                ProblemKind::OutOfRange,
                field,
                format!("{field}: {e}"),
            );
        }
    };
    if value.is_sign_negative() && !value.is_zero() {
        reject(
            problems,
            ProblemKind::OutOfRange,
            field,
            format!("{field} must not be negative (got {text})"),
        )
    } else if value.normalize().scale() > 2 {
        reject(
            problems,
            ProblemKind::OutOfRange,
            field,
            format!("{field} must have at most 2 decimal places (got {text})"),
        )
    } else if value > PRICE_MAX {
        reject(
            problems,
            ProblemKind::OutOfRange,
            field,
            format!(
                "{field} must be at most {} (got {text})",
                money::format(PRICE_MAX)
            ),
        )
    } else {
        Some(value.abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(body: &str) -> Vec<FieldError> {
        match parse_new_order(body.as_bytes(), 65536) {
            Err(BodyError::Invalid(p)) => p,
            other => panic!("expected field problems, got {other:?}"),
        }
    }

    fn fields(body: &str) -> Vec<String> {
        problems(body).into_iter().map(|p| p.field).collect()
    }

    #[test]
    fn accepts_a_valid_order_exactly() {
        let o = parse_new_order(
            br#"{"customerName":"  Ada  ","items":[{"sku":"A","qty":3,"price":0.10},{"sku":"B","qty":1,"price":2e-1}]}"#,
            65536,
        )
        .unwrap();
        assert_eq!(o.customer_name, "Ada");
        assert_eq!(o.items[0].price.to_string(), "0.10");
        assert_eq!(o.items[1].price.normalize().to_string(), "0.2");
    }

    #[test]
    fn lists_every_problem_with_its_field() {
        let p = problems(
            r#"{"items":[{"sku":"","qty":0,"price":1.001},{"qty":"2","price":-1,"x":1}],"extra":true}"#,
        );
        let f: Vec<_> = p.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            f,
            [
                "extra",
                "customerName",
                "items[0].sku",
                "items[0].qty",
                "items[0].price",
                "items[1].x",
                "items[1].sku",
                "items[1].qty",
                "items[1].price"
            ]
        );
        assert_eq!(p[1].message, "customerName is required");
        assert_eq!(p[7].message, "items[1].qty must be a number, not a string");
    }

    #[test]
    fn a_whole_number_written_with_a_fraction_or_an_exponent_is_a_quantity() {
        for qty in ["3", "3.0", "3.00", "3e0", "0.3e1"] {
            let body =
                format!(r#"{{"customerName":"a","items":[{{"sku":"a","qty":{qty},"price":1}}]}}"#);
            let order =
                parse_new_order(body.as_bytes(), 1 << 16).unwrap_or_else(|e| panic!("{qty}: {e}"));
            assert_eq!(order.items[0].qty, 3, "{qty}");
        }
        for qty in ["0.0", "1e5", "-1.0", "1e400"] {
            assert_eq!(
                fields(&format!(
                    r#"{{"customerName":"a","items":[{{"sku":"a","qty":{qty},"price":1}}]}}"#
                )),
                ["items[0].qty"],
                "{qty}"
            );
        }
    }

    #[test]
    fn rejects_wrong_types_and_bounds() {
        assert_eq!(
            fields(r#"{"customerName":5,"items":{}}"#),
            ["customerName", "items"]
        );
        assert_eq!(fields(r#"{"customerName":"a","items":[]}"#), ["items"]);
        assert_eq!(fields(r#"{"customerName":"a","items":[7]}"#), ["items[0]"]);
        assert_eq!(
            fields(r#"{"customerName":"   ","items":[{"sku":"a","qty":1,"price":1}]}"#),
            ["customerName"]
        );
        let long = "x".repeat(201);
        assert_eq!(
            fields(&format!(
                r#"{{"customerName":"{long}","items":[{{"sku":"a","qty":1,"price":1}}]}}"#
            )),
            ["customerName"]
        );
        assert_eq!(
            fields(r#"{"customerName":"a","items":[{"sku":"a","qty":1.5,"price":1}]}"#),
            ["items[0].qty"]
        );
        assert_eq!(
            fields(r#"{"customerName":"a","items":[{"sku":"a","qty":10001,"price":1}]}"#),
            ["items[0].qty"]
        );
        assert_eq!(
            fields(r#"{"customerName":"a","items":[{"sku":"a","qty":1,"price":1000000.01}]}"#),
            ["items[0].price"]
        );
        assert_eq!(
            fields(r#"{"customerName":"a","items":[{"sku":"a","qty":1,"price":null}]}"#),
            ["items[0].price"]
        );
        let many: Vec<_> = (0..101)
            .map(|_| r#"{"sku":"a","qty":1,"price":1}"#)
            .collect();
        assert_eq!(
            fields(&format!(
                r#"{{"customerName":"a","items":[{}]}}"#,
                many.join(",")
            )),
            ["items"]
        );
    }

    #[test]
    fn body_level_errors() {
        assert_eq!(parse_new_order(b"", 10), Err(BodyError::Empty));
        assert!(matches!(
            parse_new_order(b"{", 10),
            Err(BodyError::Malformed(_))
        ));
        assert_eq!(parse_new_order(b"[1]", 10), Err(BodyError::NotAnObject));
        assert_eq!(
            parse_new_order(&[b' '; 11], 10),
            Err(BodyError::TooLarge {
                size: 11,
                limit: 10
            })
        );
    }
}
