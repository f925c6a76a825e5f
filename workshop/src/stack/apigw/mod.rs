//! API Gateway (HTTP API): requests to payload-2.0 events for the API functions.

// `gateway.rs` still sits one level up while another change rewrites it; once it moves here
// this becomes `pub mod gateway;`.
pub use super::gateway;
