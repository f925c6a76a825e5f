//! Reading an EMF document that is already valid: shared by the EMF reader (`emf`) and the
//! catalogue's check, so neither imports the other for it.

use serde_json::Value;

/// The array at a JSON pointer, empty when it is absent or not an array: how the readers of an
/// already validated document walk its directives, dimension sets and metrics.
pub(crate) fn array_at<'a>(value: &'a Value, pointer: &str) -> &'a [Value] {
    value
        .pointer(pointer)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}
