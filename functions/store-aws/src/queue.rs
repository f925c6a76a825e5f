//! [`OrderQueue`] on SQS, and the dead-letter queue's `list` and `redrive` for
//! `workshop dlq ... --aws`.

use crate::store::sdk_error;
use crate::trace::{Attempts, none, traced};
use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::ProvideErrorMetadata;
use aws_sdk_sqs::operation::start_message_move_task::StartMessageMoveTaskError;
use aws_sdk_sqs::types::{
    BatchResultErrorEntry, DeleteMessageBatchRequestEntry, Message, MessageAttributeValue,
    MessageSystemAttributeName, MessageSystemAttributeNameForSends, MessageSystemAttributeValue,
    QueueAttributeName,
};
use chrono::{DateTime, Utc};
use orders::ports::{DependencyError, OrderCreated, OrderQueue};
use std::collections::{BTreeMap, HashSet};
use telemetry::trace::{Carrier, TRACEPARENT, spans};

/// Message attribute names on every `OrderCreated` message. The processor reads the
/// correlation id from here, so logs across the hop share it.
pub const CORRELATION_ID_ATTRIBUTE: &str = "correlationId";
pub const ORDER_ID_ATTRIBUTE: &str = "orderId";

/// SQS's largest batch for ReceiveMessage, SendMessageBatch and DeleteMessageBatch.
const SQS_BATCH: usize = 10;

fn string_attribute(
    op: &'static str,
    value: &str,
) -> Result<MessageAttributeValue, DependencyError> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .map_err(|e| DependencyError::failed(op, e))
}

/// The `AWSTraceHeader` system attribute of a message sent with `header`: what SQS hands to
/// the consumer (Lambda's event source mapping, X-Ray) with the message.
fn trace_header_attribute(
    op: &'static str,
    header: &str,
) -> Result<MessageSystemAttributeValue, DependencyError> {
    MessageSystemAttributeValue::builder()
        .data_type("String")
        .string_value(header)
        .build()
        .map_err(|e| DependencyError::failed(op, e))
}

/// The queue's name, the last segment of its URL (`messaging.destination.name`).
pub(crate) fn queue_name(url: &str) -> &str {
    url.trim_end_matches('/').rsplit('/').next().unwrap_or(url)
}

/// The orders queue on SQS.
#[derive(Clone, Debug)]
pub struct SqsOrderQueue {
    client: Client,
    queue_url: String,
}

impl SqsOrderQueue {
    pub fn new(client: Client, queue_url: impl Into<String>) -> Self {
        SqsOrderQueue {
            client,
            queue_url: queue_url.into(),
        }
    }

    pub fn queue_url(&self) -> &str {
        &self.queue_url
    }
}

#[async_trait]
impl OrderQueue for SqsOrderQueue {
    /// The PRODUCER span of the send; the message carries its context in both forms, so
    /// the processor continues the order's trace (`AWSTraceHeader` is also what Lambda and
    /// X-Ray read to link the consumer). Without a tracer the carrier is empty and the
    /// message has neither.
    async fn publish(&self, message: &OrderCreated) -> Result<String, DependencyError> {
        const OP: &str = "SendMessage";
        let span = spans::send(queue_name(&self.queue_url));
        let body = serde_json::to_string(message).map_err(|e| DependencyError::failed(OP, e))?;
        let mut send = self
            .client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .message_attributes(
                ORDER_ID_ATTRIBUTE,
                string_attribute(OP, &message.order_id.to_string())?,
            );
        if let Some(correlation_id) = &message.correlation_id {
            send = send.message_attributes(
                CORRELATION_ID_ATTRIBUTE,
                string_attribute(OP, correlation_id)?,
            );
        }
        let carrier = Carrier::of(&span);
        if let Some(traceparent) = &carrier.traceparent {
            send = send.message_attributes(TRACEPARENT, string_attribute(OP, traceparent)?);
        }
        if let Some(header) = &carrier.aws_trace_header {
            send = send.message_system_attributes(
                MessageSystemAttributeNameForSends::AwsTraceHeader,
                trace_header_attribute(OP, header)?,
            );
        }
        let call = send.customize().interceptor(Attempts::new(&span)).send();
        let out = traced(span.clone(), none, call)
            .await
            .map_err(|e| sdk_error(OP, e))?;
        let id = out
            .message_id
            .filter(|id| !id.is_empty())
            .ok_or_else(|| DependencyError::corrupt(OP, "SQS returned no message id"))?;
        span.record("messaging.message.id", id.as_str());
        Ok(id)
    }

    async fn ping(&self) -> Result<(), DependencyError> {
        const OP: &str = "GetQueueAttributes";
        let span = spans::aws("SQS", OP);
        let call = self
            .client
            .get_queue_attributes()
            .queue_url(&self.queue_url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .customize()
            .interceptor(Attempts::new(&span))
            .send();
        traced(span, none, call)
            .await
            .map_err(|e| sdk_error(OP, e))?;
        Ok(())
    }
}

/// A message in the dead-letter queue, as `workshop dlq list --aws` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    pub message_id: String,
    pub body: String,
    /// String and number message attributes (`correlationId`, `orderId`, ...).
    pub attributes: BTreeMap<String, String>,
    /// `ApproximateReceiveCount`: the receives before it was dead-lettered plus those of the
    /// DLQ copy, including the peek that listed it (see [`SqsDeadLetters::list`]).
    pub receive_count: u32,
    /// `SentTimestamp`: when it was first sent to the source queue (SQS keeps it on the move,
    /// which is why the DLQ's retention must be longer than the source's).
    pub sent_at: DateTime<Utc>,
    /// The trace of the order it carries (its `traceparent` and `AWSTraceHeader`), to go
    /// from the DLQ to what happened.
    pub trace: Carrier,
}

/// How [`SqsDeadLetters::redrive`] moves messages back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RedriveMethod {
    /// `StartMessageMoveTask`, falling back to [`RedriveMethod::Copy`] only when SQS answers
    /// `UnsupportedOperation`. What to use on AWS.
    #[default]
    Auto,
    /// Only `StartMessageMoveTask`.
    MoveTask,
    /// Receive from the DLQ, send to the source queue, delete from the DLQ, ten at a time.
    /// For emulators without `StartMessageMoveTask` (moto 5.2 answers it with a bare HTTP 500,
    /// not `UnsupportedOperation`, so `Auto` cannot detect it there): choose this explicitly.
    /// At least once: a crash between the send and the delete leaves a copy in both queues,
    /// which the processor tolerates (its update is conditional on `PENDING`).
    Copy,
}

/// What a redrive did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedriveOutcome {
    /// SQS accepted a move task; it moves the messages in the background.
    Started { task_handle: String },
    /// Messages moved by copy, all done when this returns.
    Moved { count: usize },
}

/// The dead-letter queue of the orders queue.
#[derive(Clone, Debug)]
pub struct SqsDeadLetters {
    client: Client,
    dlq_url: String,
    dlq_arn: String,
    source_queue_arn: String,
    method: RedriveMethod,
}

impl SqsDeadLetters {
    /// `source_queue_arn` is where redriven messages go; `dlq_arn` is this DLQ's own ARN (the
    /// move task's source).
    pub fn new(
        client: Client,
        dlq_url: impl Into<String>,
        dlq_arn: impl Into<String>,
        source_queue_arn: impl Into<String>,
    ) -> Self {
        SqsDeadLetters {
            client,
            dlq_url: dlq_url.into(),
            dlq_arn: dlq_arn.into(),
            source_queue_arn: source_queue_arn.into(),
            method: RedriveMethod::Auto,
        }
    }

    pub fn with_redrive_method(mut self, method: RedriveMethod) -> Self {
        self.method = method;
        self
    }

    /// `ApproximateNumberOfMessages` of the DLQ (visible ones; SQS's own estimate).
    pub async fn approximate_count(&self) -> Result<u64, DependencyError> {
        const OP: &str = "GetQueueAttributes";
        let span = spans::aws("SQS", OP);
        let call = self
            .client
            .get_queue_attributes()
            .queue_url(&self.dlq_url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .customize()
            .interceptor(Attempts::new(&span))
            .send();
        let out = traced(span, none, call)
            .await
            .map_err(|e| sdk_error(OP, e))?;
        let text = out
            .attributes
            .as_ref()
            .and_then(|a| a.get(&QueueAttributeName::ApproximateNumberOfMessages))
            .ok_or_else(|| DependencyError::corrupt(OP, "no ApproximateNumberOfMessages"))?;
        text.parse()
            .map_err(|e| DependencyError::corrupt(OP, format!("{text:?}: {e}")))
    }

    /// Up to `limit` messages, peeked: received with a visibility timeout of 0, so they stay
    /// visible and nothing is deleted.
    ///
    /// SQS has no true peek. Each listing is a receive of the DLQ copy: it adds one to the
    /// copy's `ApproximateReceiveCount` (if the DLQ had a redrive policy of its own, listing
    /// would count towards it), and a consumer of the DLQ could get the message at the same
    /// moment. Receives return a sample of the queue, so a listing of a large DLQ may miss
    /// messages: compare with [`SqsDeadLetters::approximate_count`].
    pub async fn list(&self, limit: usize) -> Result<Vec<DeadLetter>, DependencyError> {
        const OP: &str = "ReceiveMessage";
        let mut seen = HashSet::new();
        let mut letters = Vec::new();
        while letters.len() < limit {
            let ask = (limit - letters.len()).min(SQS_BATCH);
            // A 1 s long poll: a short poll samples a few servers and may answer empty while
            // a small queue holds messages.
            let messages = self.receive(ask, 0, 1).await?;
            let mut new = 0;
            for m in messages {
                let letter = dead_letter(OP, &m)?;
                if seen.insert(letter.message_id.clone()) {
                    new += 1;
                    letters.push(letter);
                }
            }
            // Visible messages come back on every receive: once a receive brings nothing new,
            // the sample is exhausted.
            if new == 0 {
                break;
            }
        }
        letters.truncate(limit);
        Ok(letters)
    }

    /// Moves every message in the DLQ back to the source queue, with the method chosen by
    /// [`SqsDeadLetters::with_redrive_method`] (`Auto` by default).
    pub async fn redrive(&self) -> Result<RedriveOutcome, DependencyError> {
        match self.method {
            RedriveMethod::Copy => self.redrive_by_copy().await,
            RedriveMethod::MoveTask => self.start_move_task().await?.map_err(|e| e.into_error()),
            RedriveMethod::Auto => match self.start_move_task().await? {
                Ok(outcome) => Ok(outcome),
                Err(Unsupported(_)) => {
                    tracing::info!(
                        dlq = %self.dlq_url,
                        "StartMessageMoveTask is not supported here; redriving by copy"
                    );
                    self.redrive_by_copy().await
                }
            },
        }
    }

    /// `Ok(Err(..))`: the service answered `UnsupportedOperation`.
    async fn start_move_task(
        &self,
    ) -> Result<Result<RedriveOutcome, Unsupported>, DependencyError> {
        const OP: &str = "StartMessageMoveTask";
        let span = spans::aws("SQS", OP);
        let call = self
            .client
            .start_message_move_task()
            .source_arn(&self.dlq_arn)
            .destination_arn(&self.source_queue_arn)
            .customize()
            .interceptor(Attempts::new(&span))
            .send();
        // "Not here" is an answer: the redrive copies instead.
        let result = traced(span, is_unsupported, call).await;
        match result {
            Ok(out) => Ok(Ok(RedriveOutcome::Started {
                task_handle: out.task_handle.unwrap_or_default(),
            })),
            Err(e) if e.as_service_error().is_some_and(is_unsupported) => {
                Ok(Err(Unsupported(sdk_error(OP, e))))
            }
            Err(e) => Err(sdk_error(OP, e)),
        }
    }

    async fn redrive_by_copy(&self) -> Result<RedriveOutcome, DependencyError> {
        let source_url = self.source_queue_url().await?;
        let mut count = 0;
        loop {
            // A visibility timeout keeps a batch ours while it is copied; a short long-poll
            // asks every SQS server, so an empty answer really means the DLQ is drained.
            let batch = self.receive(SQS_BATCH, 30, 1).await?;
            if batch.is_empty() {
                return Ok(RedriveOutcome::Moved { count });
            }
            // Nothing of this batch is deleted on a failure, so nothing is lost; the copies that
            // did go out will be duplicates after the next redrive, which the processor tolerates.
            for m in &batch {
                self.copy(&source_url, m).await?;
            }
            let deletes = batch_entries("DeleteMessageBatch", &batch, |id, m| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(id)
                    .receipt_handle(m.receipt_handle().unwrap_or_default())
                    .build()
            })?;
            let span = spans::aws("SQS", "DeleteMessageBatch");
            let call = self
                .client
                .delete_message_batch()
                .queue_url(&self.dlq_url)
                .set_entries(Some(deletes))
                .customize()
                .interceptor(Attempts::new(&span))
                .send();
            let deleted = traced(span, none, call)
                .await
                .map_err(|e| sdk_error("DeleteMessageBatch", e))?;
            batch_failures("DeleteMessageBatch", &deleted.failed, |n| {
                format!("{n} messages were copied but stay in the DLQ too:")
            })?;
            count += batch.len();
        }
    }

    /// Sends a copy of `m` to the source queue. The copy keeps the message attributes
    /// (`traceparent` among them) and the `AWSTraceHeader`, so the redriven order is processed
    /// in its own trace; the send is a span in that trace too. One SendMessage per message,
    /// not a batch: moto's SendMessageBatch drops system attributes, and this path is the
    /// emulators' (on AWS the move task redrives).
    async fn copy(&self, source_url: &str, m: &Message) -> Result<(), DependencyError> {
        const OP: &str = "SendMessage";
        let span = spans::send(queue_name(source_url));
        let trace = carrier_of(m);
        trace.continue_in(&span);
        let mut send = self
            .client
            .send_message()
            .queue_url(source_url)
            .message_body(m.body().unwrap_or_default())
            .set_message_attributes(m.message_attributes().cloned());
        if let Some(header) = &trace.aws_trace_header {
            send = send.message_system_attributes(
                MessageSystemAttributeNameForSends::AwsTraceHeader,
                trace_header_attribute(OP, header)?,
            );
        }
        let call = send.customize().interceptor(Attempts::new(&span)).send();
        let out = traced(span.clone(), none, call)
            .await
            .map_err(|e| sdk_error(OP, e))?;
        if let Some(id) = out.message_id() {
            span.record("messaging.message.id", id);
        }
        Ok(())
    }

    /// The move task addresses queues by ARN, the copy needs the URL.
    async fn source_queue_url(&self) -> Result<String, DependencyError> {
        const OP: &str = "GetQueueUrl";
        let (account, name) = arn_account_and_name(&self.source_queue_arn).ok_or_else(|| {
            DependencyError::failed(
                OP,
                format!("{:?} is not an SQS queue ARN", self.source_queue_arn),
            )
        })?;
        let span = spans::aws("SQS", OP);
        let call = self
            .client
            .get_queue_url()
            .queue_name(name)
            .queue_owner_aws_account_id(account)
            .customize()
            .interceptor(Attempts::new(&span))
            .send();
        let out = traced(span, none, call)
            .await
            .map_err(|e| sdk_error(OP, e))?;
        out.queue_url
            .ok_or_else(|| DependencyError::corrupt(OP, "no queue URL"))
    }

    async fn receive(
        &self,
        max: usize,
        visibility_timeout: i32,
        wait_seconds: i32,
    ) -> Result<Vec<Message>, DependencyError> {
        const OP: &str = "ReceiveMessage";
        let span = spans::aws("SQS", OP);
        let call = self
            .client
            .receive_message()
            .queue_url(&self.dlq_url)
            .max_number_of_messages(i32::try_from(max.min(SQS_BATCH)).unwrap_or(1))
            .visibility_timeout(visibility_timeout)
            .wait_time_seconds(wait_seconds)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .customize()
            .interceptor(Attempts::new(&span))
            .send();
        let out = traced(span, none, call)
            .await
            .map_err(|e| sdk_error(OP, e))?;
        Ok(out.messages.unwrap_or_default())
    }
}

/// One entry for each message of `batch`, its index in the batch as the entry id.
fn batch_entries<T, E: std::fmt::Display>(
    op: &'static str,
    batch: &[Message],
    entry: impl Fn(String, &Message) -> Result<T, E>,
) -> Result<Vec<T>, DependencyError> {
    batch
        .iter()
        .enumerate()
        .map(|(i, m)| entry(i.to_string(), m).map_err(|e| DependencyError::failed(op, e)))
        .collect()
}

/// A batch call's failed entries as one error, `what` saying what `n` failures mean.
fn batch_failures(
    op: &'static str,
    failed: &[BatchResultErrorEntry],
    what: impl FnOnce(usize) -> String,
) -> Result<(), DependencyError> {
    let Some(first) = failed.first() else {
        return Ok(());
    };
    Err(DependencyError::failed(
        op,
        format!(
            "{} {} {}",
            what(failed.len()),
            first.code,
            first.message.as_deref().unwrap_or_default()
        ),
    ))
}

/// The move task's "not here": the fallback applies.
struct Unsupported(DependencyError);

impl Unsupported {
    fn into_error(self) -> DependencyError {
        self.0
    }
}

fn is_unsupported(err: &StartMessageMoveTaskError) -> bool {
    matches!(err, StartMessageMoveTaskError::UnsupportedOperation(_))
        || matches!(
            err.code(),
            Some("UnsupportedOperation" | "AWS.SimpleQueueService.UnsupportedOperation")
        )
}

/// `arn:aws:sqs:<region>:<account>:<name>` → (account, name).
fn arn_account_and_name(arn: &str) -> Option<(&str, &str)> {
    let mut parts = arn.splitn(6, ':');
    let (prefix, _partition, service, _region, account, name) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    (prefix == "arn" && service == "sqs" && !account.is_empty() && !name.is_empty())
        .then_some((account, name))
}

/// The trace a received message carries, in both forms.
fn carrier_of(m: &Message) -> Carrier {
    Carrier::from_parts(
        m.message_attributes()
            .and_then(|a| a.get(TRACEPARENT))
            .and_then(|v| v.string_value()),
        m.attributes()
            .and_then(|a| a.get(&MessageSystemAttributeName::AwsTraceHeader))
            .map(String::as_str),
    )
}

fn dead_letter(op: &'static str, m: &Message) -> Result<DeadLetter, DependencyError> {
    let system = m.attributes();
    let system_attr = |name: MessageSystemAttributeName| {
        system
            .and_then(|a| a.get(&name))
            .ok_or_else(|| DependencyError::corrupt(op, format!("no {name} on a message")))
    };
    let receive_count = system_attr(MessageSystemAttributeName::ApproximateReceiveCount)?;
    let sent_ms = system_attr(MessageSystemAttributeName::SentTimestamp)?;
    let sent_at = sent_ms
        .parse::<i64>()
        .ok()
        .and_then(DateTime::from_timestamp_millis)
        .ok_or_else(|| DependencyError::corrupt(op, format!("SentTimestamp {sent_ms:?}")))?;
    let attributes = m
        .message_attributes()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| v.string_value().map(|s| (k.clone(), s.to_owned())))
        .collect();
    Ok(DeadLetter {
        message_id: m
            .message_id()
            .ok_or_else(|| DependencyError::corrupt(op, "a message without an id"))?
            .to_owned(),
        body: m.body().unwrap_or_default().to_owned(),
        trace: carrier_of(m),
        attributes,
        receive_count: receive_count.parse().map_err(|e| {
            DependencyError::corrupt(
                op,
                format!("ApproximateReceiveCount {receive_count:?}: {e}"),
            )
        })?,
        sent_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sqs::types::error::{InvalidAddress, UnsupportedOperation};

    #[test]
    fn only_unsupported_operation_falls_back() {
        let unsupported = StartMessageMoveTaskError::UnsupportedOperation(
            UnsupportedOperation::builder().build(),
        );
        assert!(is_unsupported(&unsupported));
        let other = StartMessageMoveTaskError::InvalidAddress(InvalidAddress::builder().build());
        assert!(!is_unsupported(&other));
        let unknown = StartMessageMoveTaskError::unhandled("HTTP 500");
        assert!(!is_unsupported(&unknown));
    }

    #[test]
    fn queue_arns_are_split() {
        assert_eq!(
            arn_account_and_name("arn:aws:sqs:us-east-1:123456789012:orders"),
            Some(("123456789012", "orders"))
        );
        assert_eq!(arn_account_and_name("arn:aws:sns:us-east-1:1:topic"), None);
        assert_eq!(arn_account_and_name("orders"), None);
    }
}
