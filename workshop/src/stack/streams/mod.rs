//! DynamoDB Streams: the event source that feeds the publisher from the outbox.

pub mod source;
