//! AWS adapters for the `orders` ports: the order store on DynamoDB ([`DynamoDbOrderStore`]),
//! the order queue on SQS ([`SqsOrderQueue`]) with its dead-letter queue ([`SqsDeadLetters`]),
//! and [`provision`], which creates the table and queues on an emulator with the same design
//! as `template.yaml`. (The live chaos override's SSM adapter is `chaos::aws`, so this crate
//! does not depend on `chaos`.)
//!
//! The clients are passed in, built by the caller from `aws-config`, so the same code talks
//! to AWS, LocalStack or moto server (`AWS_ENDPOINT_URL`).
//!
//! Every DynamoDB and SQS call is a CLIENT span (`telemetry::trace::spans`) with the SDK's
//! attempts and error code; a published message is a PRODUCER span whose context the message
//! carries (the `AWSTraceHeader` system attribute and a `traceparent` message attribute), and
//! a redrive by copy keeps both, so a redriven order stays in its trace.

mod consumer;
mod item;
pub mod migrate;
mod outbox;
pub mod provision;
mod queue;
mod store;
pub mod stream;
mod trace;

pub use consumer::SqsConsumer;
pub use item::order_item;
pub use outbox::{StreamOutbox, StreamRecords, image_from_json, image_to_json, stream_event};
pub use provision::{ProvisionError, Provisioned, Queues};
pub use queue::{
    CORRELATION_ID_ATTRIBUTE, DeadLetter, ORDER_ID_ATTRIBUTE, RedriveMethod, RedriveOutcome,
    SqsDeadLetters, SqsOrderQueue,
};
pub use store::DynamoDbOrderStore;
