//! API Gateway (HTTP API): requests to payload-2.0 events for the API functions.

pub mod cors;
pub mod gateway;
