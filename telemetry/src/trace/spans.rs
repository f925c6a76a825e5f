//! The kit's spans, each made in one place with the OpenTelemetry semantic conventions'
//! attribute names (HTTP server, FaaS, RPC/AWS SDK, DB, messaging). `tracing-opentelemetry`
//! turns the dotted fields into span attributes and `otel.*` into name, kind and status; the
//! JSON log layer leaves dotted fields out of log lines, which keep their flat keys.

use tracing::Span;
use tracing::field::Empty;

/// What starts an invocation: the `faas.trigger` value and the span kind it implies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// API Gateway: the invocation serves a request.
    Http,
    /// The SQS event source mapping: the invocation processes a batch.
    Queue,
    /// The DynamoDB stream's event source mapping: the invocation handles a batch of records.
    Stream,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Http => "http",
            Trigger::Queue => "pubsub",
            Trigger::Stream => "datasource",
        }
    }
    fn kind(self) -> &'static str {
        match self {
            Trigger::Http => "server",
            Trigger::Queue => "consumer",
            Trigger::Stream => "consumer",
        }
    }
}

/// `messaging.system` of the orders queue and its DLQ (SQS on AWS, emulated locally).
pub const MESSAGING_SYSTEM: &str = "aws_sqs";

/// One Lambda invocation (`faas.*`). Its flat fields are the log keys of every line logged
/// inside it.
pub fn invocation(
    function_name: &str,
    request_id: &str,
    cold_start: bool,
    trigger: Trigger,
) -> Span {
    tracing::info_span!(
        "invocation",
        otel.name = %function_name,
        otel.kind = trigger.kind(),
        otel.status_code = Empty,
        otel.status_description = Empty,
        faas.name = %function_name,
        faas.invocation_id = %request_id,
        faas.coldstart = cold_start,
        faas.trigger = trigger.as_str(),
        cloud.provider = "aws",
        cloud.platform = "aws_lambda",
        error.type = Empty,
        function_name = %function_name,
        function_request_id = %request_id,
        cold_start = cold_start,
    )
}

/// An API request as API Gateway receives it: `{method} {route}` (only `{method}` for a path
/// no route matches, as the HTTP conventions say), the status recorded by [`http_status`].
pub fn http_server(method: &str, route: Option<&str>, path: &str) -> Span {
    let span = tracing::info_span!(
        "http.server",
        otel.name = %match route {
            Some(route) => format!("{method} {route}"),
            None => method.to_owned(),
        },
        otel.kind = "server",
        otel.status_code = Empty,
        otel.status_description = Empty,
        http.request.method = %method,
        http.route = Empty,
        url.path = %path,
        http.response.status_code = Empty,
        error.type = Empty,
    );
    if let Some(route) = route {
        span.record("http.route", route);
    }
    span
}

/// Records the response status; a 5xx marks the span failed (a 4xx is the client's error,
/// not the server's, as the HTTP conventions say).
pub fn http_status(span: &Span, status: u16) {
    // As i64: tracing-opentelemetry records unsigned integers as strings.
    span.record("http.response.status_code", i64::from(status));
    if status >= 500 {
        span.record("otel.status_code", "ERROR");
        span.record("error.type", status.to_string().as_str());
    }
}

/// A DynamoDB call (`rpc.system=aws-api`).
pub fn dynamodb(method: &'static str, table: &str) -> Span {
    tracing::info_span!(
        "aws.call",
        otel.name = %format_args!("DynamoDB.{method}"),
        otel.kind = "client",
        otel.status_code = Empty,
        otel.status_description = Empty,
        rpc.system = "aws-api",
        rpc.service = "DynamoDB",
        rpc.method = method,
        db.system.name = "aws.dynamodb",
        aws.dynamodb.table_names = %table,
        aws.request_id = Empty,
        error.type = Empty,
    )
}

/// A call to another AWS API (Secrets Manager, SSM).
pub fn aws(service: &'static str, method: &'static str) -> Span {
    tracing::info_span!(
        "aws.call",
        otel.name = %format_args!("{service}.{method}"),
        otel.kind = "client",
        otel.status_code = Empty,
        otel.status_description = Empty,
        rpc.system = "aws-api",
        rpc.service = service,
        rpc.method = method,
        aws.request_id = Empty,
        error.type = Empty,
    )
}

/// A statement on a local SQLite table (`db.system.name=sqlite`).
pub fn sqlite(operation: &'static str, table: &str) -> Span {
    tracing::info_span!(
        "db.call",
        otel.name = %format_args!("{operation} {table}"),
        otel.kind = "client",
        otel.status_code = Empty,
        otel.status_description = Empty,
        db.system.name = "sqlite",
        db.operation.name = operation,
        db.collection.name = %table,
        error.type = Empty,
    )
}

/// Sends one message to `queue` (the enqueue, a redrive, a move to the DLQ). The message
/// carries this span's context ([`super::Carrier::of`]).
pub fn send(queue: &str) -> Span {
    tracing::info_span!(
        "messaging.send",
        otel.name = %format_args!("send {queue}"),
        otel.kind = "producer",
        otel.status_code = Empty,
        otel.status_description = Empty,
        messaging.system = MESSAGING_SYSTEM,
        messaging.operation.type = "send",
        messaging.operation.name = "SendMessage",
        messaging.destination.name = %queue,
        messaging.message.id = Empty,
        rpc.system = "aws-api",
        rpc.service = "SQS",
        rpc.method = "SendMessage",
        error.type = Empty,
    )
}

/// The queue's redrive policy moving a message to its DLQ after `maxReceiveCount` receives
/// (SQS does it on AWS, without a span; the local queue does it in the order's trace).
pub fn dead_letter(queue: &str, dlq: &str, message_id: &str, receive_count: i64) -> Span {
    tracing::info_span!(
        "messaging.dead_letter",
        otel.name = %format_args!("send {dlq}"),
        otel.kind = "producer",
        messaging.system = MESSAGING_SYSTEM,
        messaging.operation.type = "send",
        messaging.operation.name = "RedriveToDeadLetterQueue",
        messaging.destination.name = %dlq,
        messaging.message.id = %message_id,
        messaging.aws_sqs.source_queue = %queue,
        messaging.aws_sqs.receive_count = receive_count,
    )
}

/// A DLQ redrive moving one message back to `queue`, in the message's trace.
pub fn redrive(dlq: &str, queue: &str, message_id: &str) -> Span {
    tracing::info_span!(
        "messaging.redrive",
        otel.name = %format_args!("send {queue}"),
        otel.kind = "producer",
        messaging.system = MESSAGING_SYSTEM,
        messaging.operation.type = "send",
        messaging.operation.name = "StartMessageMoveTask",
        messaging.destination.name = %queue,
        messaging.message.id = %message_id,
        messaging.aws_sqs.source_queue = %dlq,
    )
}

/// Publishes one new order from the outbox; continue the create's trace with
/// [`super::Carrier::continue_in`] before logging in it. It runs in `function`'s invocation
/// but in the order's trace, so it names the function itself (as [`process`] does), and the
/// service map draws the hop create -> publisher -> queue. `correlation_id` is recorded when
/// the entry has one.
pub fn publish(function: &str, order_id: &dyn std::fmt::Display) -> Span {
    tracing::info_span!(
        "publish_order",
        faas.name = %function,
        otel.status_code = Empty,
        otel.status_description = Empty,
        error.type = Empty,
        order_id = %order_id,
        correlation_id = Empty,
    )
}

/// Processes one received message; continue the sender's trace with
/// [`super::Carrier::continue_in`] before logging in it. `order_id` and `correlation_id`
/// are recorded once the body is read.
pub fn process(function: &str, queue: &str, message_id: &str, receive_count: u32) -> Span {
    tracing::info_span!(
        "messaging.process",
        otel.name = %format_args!("process {queue}"),
        faas.name = %function,
        otel.kind = "consumer",
        otel.status_code = Empty,
        otel.status_description = Empty,
        messaging.system = MESSAGING_SYSTEM,
        messaging.operation.type = "process",
        messaging.destination.name = %queue,
        messaging.message.id = %message_id,
        messaging.aws_sqs.receive_count = i64::from(receive_count),
        error.type = Empty,
        message_id = %message_id,
        receive_count = receive_count,
        order_id = Empty,
        correlation_id = Empty,
    )
}

/// Records an injected fault on the current span as the event `chaos.fault`, so a failed
/// trace shows which fault was injected.
pub fn chaos_fault(fault: &'static str, detail: &str) {
    use opentelemetry::KeyValue;
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    Span::current().add_event(
        "chaos.fault",
        vec![
            KeyValue::new("chaos.fault", fault),
            KeyValue::new("chaos.detail", detail.to_owned()),
        ],
    );
}

/// Marks `span` failed: `error.type` is a closed name (for grouping), `message` says what.
pub fn fail(span: &Span, error_type: &str, message: impl std::fmt::Display) {
    span.record("otel.status_code", "ERROR");
    span.record("error.type", error_type);
    span.record("otel.status_description", tracing::field::display(message));
}

/// Runs `call` in `span` and marks the span failed when it returns `Err` (`error_type`
/// names the failure for grouping).
pub async fn in_span<T, E: std::fmt::Display>(
    span: Span,
    error_type: impl FnOnce(&E) -> &'static str,
    call: impl Future<Output = Result<T, E>>,
) -> Result<T, E> {
    use tracing::Instrument;
    let result = call.instrument(span.clone()).await;
    if let Err(e) = &result {
        fail(&span, error_type(e), e);
    }
    result
}
