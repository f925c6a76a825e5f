//! Telemetry shared by every function and the local stack: structured JSON logs with the flat
//! keys the kit logs (`timestamp, level, message, service, function_name, function_request_id,
//! xray_trace_id, cold_start, correlation_id, order_id`), and business metrics as CloudWatch
//! EMF documents from one catalogue.

pub mod catalogue;
pub mod emf;
mod json;
pub mod logs;
pub mod metrics;
pub mod round;
pub mod trace;
