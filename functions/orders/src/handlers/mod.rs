//! The Lambda handlers as plain async functions over the ports. Each handler is a struct that
//! holds what it needs (built once per Lambda instance) with an async `handle` method.

mod context;
mod create;
mod get;
mod health;
mod list;
mod metrics;
mod processor;
mod publisher;

pub use context::{RequestInfo, request_info};
pub use create::{CreateOrder, IDEMPOTENCY_KEY_MAX};
pub use get::GetOrder;
pub use health::Health;
pub use list::{DEFAULT_LIMIT, ListOrders, MAX_LIMIT};
pub use processor::{ProcessOrders, ProcessingFailure, record_span};
pub use publisher::{PublishReport, Publisher, SEND_CONCURRENCY, STOP_BEFORE_DEADLINE};
