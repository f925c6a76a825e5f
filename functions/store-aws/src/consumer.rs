//! The consumer's side of SQS (what Lambda's event source mapping does): ReceiveMessage and
//! DeleteMessage. The local stack polls through it with `--backend aws`. Each message's
//! `trace` is read from its `AWSTraceHeader` system attribute and `traceparent` message
//! attribute, as the producer ([`crate::SqsOrderQueue`]) wrote them.

use crate::trace::{Attempts, none, traced, within_trace};
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::MessageSystemAttributeName;
use chrono::{DateTime, Utc};
use orders::ports::{DependencyError, ReceivedMessage};
use std::collections::BTreeMap;
use telemetry::trace::{Carrier, TRACEPARENT, spans};

pub struct SqsConsumer {
    client: aws_sdk_sqs::Client,
    queue_url: String,
}

impl SqsConsumer {
    pub fn new(client: aws_sdk_sqs::Client, queue_url: impl Into<String>) -> Self {
        SqsConsumer {
            client,
            queue_url: queue_url.into(),
        }
    }

    /// The queue's name (the last segment of its URL).
    pub fn queue_name(&self) -> &str {
        crate::queue::queue_name(&self.queue_url)
    }

    /// Up to `max` messages (SQS caps a receive at 10), waiting at most a second.
    pub async fn receive(&self, max: usize) -> Result<Vec<ReceivedMessage>, DependencyError> {
        // Each poll is a span only inside a trace: the poller runs every second, and a root
        // trace per empty poll would bury the orders' traces.
        let span = within_trace(|| spans::aws("SQS", "ReceiveMessage"));
        let call = self
            .client
            .receive_message()
            .queue_url(&self.queue_url)
            // SQS returns at most 10 per call, as the event source mapping's batches.
            .max_number_of_messages(i32::try_from(max.clamp(1, 10)).unwrap_or(10))
            .wait_time_seconds(1)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .customize()
            .interceptor(Attempts::new(&span))
            .send();
        let out = traced(span, none, call)
            .await
            .map_err(|e| DependencyError::failed("ReceiveMessage", DisplayErrorContext(&e)))?;
        Ok(out
            .messages()
            .iter()
            .map(|m| {
                let system = m.attributes().cloned().unwrap_or_default();
                let attributes: BTreeMap<String, String> = m
                    .message_attributes()
                    .map(|a| {
                        a.iter()
                            .filter_map(|(k, v)| {
                                v.string_value().map(|s| (k.clone(), s.to_owned()))
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let trace = Carrier::from_parts(
                    attributes.get(TRACEPARENT).map(String::as_str),
                    system
                        .get(&MessageSystemAttributeName::AwsTraceHeader)
                        .map(String::as_str),
                );
                ReceivedMessage {
                    trace,
                    message_id: m.message_id().unwrap_or_default().to_owned(),
                    receipt_handle: m.receipt_handle().unwrap_or_default().to_owned(),
                    body: m.body().unwrap_or_default().to_owned(),
                    attributes,
                    receive_count: system
                        .get(&MessageSystemAttributeName::ApproximateReceiveCount)
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(1),
                    sent_at: millis(&system, MessageSystemAttributeName::SentTimestamp),
                    first_received_at: millis(
                        &system,
                        MessageSystemAttributeName::ApproximateFirstReceiveTimestamp,
                    ),
                }
            })
            .collect())
    }

    pub async fn delete(&self, receipt_handle: &str) -> Result<(), DependencyError> {
        let span = within_trace(|| spans::aws("SQS", "DeleteMessage"));
        let call = self
            .client
            .delete_message()
            .queue_url(&self.queue_url)
            .receipt_handle(receipt_handle)
            .customize()
            .interceptor(Attempts::new(&span))
            .send();
        traced(span, none, call)
            .await
            .map_err(|e| DependencyError::failed("DeleteMessage", DisplayErrorContext(&e)))?;
        Ok(())
    }
}

fn millis(
    attrs: &std::collections::HashMap<MessageSystemAttributeName, String>,
    name: MessageSystemAttributeName,
) -> DateTime<Utc> {
    attrs
        .get(&name)
        .and_then(|v| v.parse::<i64>().ok())
        .and_then(DateTime::from_timestamp_millis)
        .unwrap_or_else(Utc::now)
}
