//! The AWS adapters' spans, on moto server: a published message carries its PRODUCER span's
//! context in both forms (what the processor continues), a redrive by copy keeps it, and
//! every DynamoDB call is a CLIENT span with its table, attempts and error code. The SDK's
//! retries are counted against a local server that always answers 500. (Without a tracer a
//! message carries no trace: `store_conformance.rs`, whose binary installs none.)

mod common;

use opentelemetry::trace::{SpanId, SpanKind, Status, TraceId};
use opentelemetry::{KeyValue, Value};
use orders::ports::{OrderCreated, OrderQueue, OrderStore};
use orders::settings::QUEUE;
use orders_aws::{DynamoDbOrderStore, RedriveMethod, RedriveOutcome, SqsConsumer, SqsDeadLetters};
use orders_aws::{SqsOrderQueue, provision::Queues};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::OnceLock;
use std::time::Duration;
use telemetry::trace::{Carrier, MemorySink, SpanData, Tracing};
use tracing::Instrument;
use uuid::Uuid;

/// One tracer for the whole test binary, installed as the global subscriber: a subscriber
/// per test thread races with tracing's per-callsite interest cache (a span first seen on a
/// thread without one can stay disabled for all). Each test works inside its own root span
/// and reads back the spans of its trace.
struct Global {
    tracing: Tracing,
    spans: MemorySink,
    /// Flushes one at a time, so a test never reads while another holds its spans.
    flushing: tokio::sync::Mutex<()>,
}

fn global() -> &'static Global {
    static GLOBAL: OnceLock<Global> = OnceLock::new();
    GLOBAL.get_or_init(|| {
        let (tracing, spans) = MemorySink::install_global("orders-aws-test")
            .expect("the only subscriber of this test binary");
        Global {
            tracing,
            spans,
            flushing: tokio::sync::Mutex::new(()),
        }
    })
}

/// A root span for one test, in a trace of its own.
fn root(name: &'static str) -> (tracing::Span, TraceId) {
    global();
    let span = tracing::info_span!("test", otel.name = name);
    let trace_id = telemetry::trace::ids(&span)
        .map(|(t, _)| TraceId::from_hex(&t).unwrap())
        .expect("the root span is in a trace");
    (span, trace_id)
}

/// The finished spans of `trace`, in the order they ended.
async fn spans_of(trace: TraceId) -> Vec<SpanData> {
    let g = global();
    let _one = g.flushing.lock().await;
    g.tracing.flush().await;
    g.spans.trace(&trace.to_string())
}

fn attribute<'a>(span: &'a SpanData, key: &str) -> Option<&'a Value> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| &kv.value)
}

fn named<'a>(spans: &'a [SpanData], name: &str) -> Vec<&'a SpanData> {
    spans.iter().filter(|s| s.name == name).collect()
}

fn order_created() -> OrderCreated {
    OrderCreated {
        order_id: Uuid::new_v4(),
        created_at: conformance::at(1),
        correlation_id: Some(format!("corr-{}", Uuid::new_v4())),
    }
}

/// The trace and span a carrier names, read from each form alone.
fn both_forms(carrier: &Carrier) -> [(TraceId, SpanId); 2] {
    let tp = Carrier::from_parts(carrier.traceparent.as_deref(), None)
        .context()
        .unwrap_or_else(|| panic!("no traceparent: {carrier:?}"));
    let xray = Carrier::from_parts(None, carrier.aws_trace_header.as_deref())
        .context()
        .unwrap_or_else(|| panic!("no AWSTraceHeader: {carrier:?}"));
    [
        (tp.trace_id(), tp.span_id()),
        (xray.trace_id(), xray.span_id()),
    ]
}

/// Publishes `msg` inside a root span of its own; returns the root's trace id.
async fn publish_in_a_trace(queue: &SqsOrderQueue, msg: &OrderCreated) -> (TraceId, String) {
    let (root, trace_id) = root("test.create");
    let id = queue.publish(msg).instrument(root).await.unwrap();
    (trace_id, id)
}

#[tokio::test]
async fn a_published_message_carries_its_producer_span_to_the_consumer() {
    let (client, queues) = common::fresh_queues().await;
    let queue = SqsOrderQueue::new(client.clone(), &queues.queue_url);
    let msg = order_created();
    let (trace_id, message_id) = publish_in_a_trace(&queue, &msg).await;

    let received = SqsConsumer::new(client, &queues.queue_url)
        .receive(10)
        .await
        .unwrap();
    assert_eq!(received.len(), 1);
    let got = &received[0];
    assert_eq!(got.message_id, message_id);

    let spans = spans_of(trace_id).await;
    let queue_name = queues.queue_url.rsplit('/').next().unwrap();
    let producers = named(&spans, &format!("send {queue_name}"));
    assert_eq!(producers.len(), 1, "{spans:#?}");
    let producer = producers[0];
    assert_eq!(producer.span_kind, SpanKind::Producer);
    assert_eq!(
        attribute(producer, "messaging.message.id"),
        Some(&Value::from(message_id.clone()))
    );
    assert_eq!(
        attribute(producer, "messaging.destination.name"),
        Some(&Value::from(queue_name.to_owned()))
    );
    // Both forms name the producer span itself, in the root's trace.
    for named in both_forms(&got.trace) {
        assert_eq!(named, (trace_id, producer.span_context.span_id()));
    }
    assert!(
        got.trace
            .aws_trace_header
            .as_deref()
            .is_some_and(|h| h.ends_with("Sampled=1")),
        "{:?}",
        got.trace
    );
}

/// Fails the one message on the queue `maxReceiveCount` times; the next receive moves it.
async fn dead_letter(client: &aws_sdk_sqs::Client, queues: &Queues) {
    for _ in 0..=QUEUE.max_receive_count {
        client
            .receive_message()
            .queue_url(&queues.queue_url)
            .visibility_timeout(0)
            .send()
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn a_redrive_by_copy_keeps_the_message_in_its_trace() {
    let (client, queues) = common::fresh_queues().await;
    let queue = SqsOrderQueue::new(client.clone(), &queues.queue_url);
    let msg = order_created();
    let (trace_id, _) = publish_in_a_trace(&queue, &msg).await;
    dead_letter(&client, &queues).await;

    let dlq = SqsDeadLetters::new(
        client.clone(),
        &queues.dlq_url,
        &queues.dlq_arn,
        &queues.queue_arn,
    )
    .with_redrive_method(RedriveMethod::Copy);
    let listed = dlq.list(10).await.unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    let before = both_forms(&listed[0].trace);
    assert_eq!(before[0].0, trace_id, "the DLQ shows the order's trace");

    assert_eq!(
        dlq.redrive().await.unwrap(),
        RedriveOutcome::Moved { count: 1 }
    );
    let received = SqsConsumer::new(client, &queues.queue_url)
        .receive(10)
        .await
        .unwrap();
    assert_eq!(received.len(), 1);
    assert_eq!(
        both_forms(&received[0].trace),
        before,
        "the copy names the same producer span in both forms"
    );
    // The copy itself is a send in the order's trace, under the first send.
    let spans = spans_of(trace_id).await;
    let queue_name = queues.queue_url.rsplit('/').next().unwrap();
    let sends = named(&spans, &format!("send {queue_name}"));
    assert_eq!(sends.len(), 2, "{spans:#?}");
    let (first, redrive) = (sends[0], sends[1]);
    assert_eq!(redrive.span_context.trace_id(), trace_id);
    assert_eq!(redrive.parent_span_id, first.span_context.span_id());
    assert_eq!(before[0].1, first.span_context.span_id());
}

#[tokio::test]
async fn every_dynamodb_call_is_a_client_span_of_the_table() {
    let (client, table) = common::fresh_table().await;
    let store = DynamoDbOrderStore::new(client.clone(), &table);
    let order = conformance::sample_order(conformance::at(5));
    let (root, trace_id) = root("test.request");
    let root_id = telemetry::trace::ids(&root).unwrap().1;
    // A table that does not exist: the span fails with DynamoDB's error code.
    let missing = DynamoDbOrderStore::new(client, format!("{table}-missing"));
    async {
        store.create(&order, None, "traces").await.unwrap();
        assert!(store.get(order.id).await.unwrap().is_some());
        assert!(missing.get(order.id).await.is_err());
    }
    .instrument(root)
    .await;

    let spans = spans_of(trace_id).await;
    // Without an Idempotency-Key the create is one conditional PutItem.
    let writes = named(&spans, "DynamoDB.PutItem");
    let reads = named(&spans, "DynamoDB.GetItem");
    assert_eq!((writes.len(), reads.len()), (1, 2), "{spans:#?}");
    for span in writes.iter().chain(&reads[..1]) {
        assert_eq!(span.span_kind, SpanKind::Client);
        assert_eq!(span.parent_span_id.to_string(), root_id);
        assert_eq!(
            attribute(span, "aws.dynamodb.table_names"),
            Some(&Value::from(table.clone()))
        );
        assert_eq!(attribute(span, "rpc.system"), Some(&Value::from("aws-api")));
        assert_eq!(attribute(span, "aws.sdk.attempts"), Some(&Value::I64(1)));
        assert_eq!(span.status, Status::Unset, "{span:#?}");
    }
    let failed = reads[1];
    assert!(matches!(failed.status, Status::Error { .. }), "{failed:#?}");
    assert_eq!(
        attribute(failed, "error.type"),
        Some(&Value::from("ResourceNotFoundException"))
    );
}

#[tokio::test]
async fn a_replayed_create_is_not_a_failed_span() {
    let (client, table) = common::fresh_table().await;
    let store = DynamoDbOrderStore::new(client, &table);
    let key = conformance::fresh_key("hash", conformance::at(3_600_000));
    let first = conformance::sample_order(conformance::at(0));
    let retry = conformance::sample_order(conformance::at(1));
    let (root, trace_id) = root("test.replay");
    async {
        store.create(&first, Some(&key), "traces").await.unwrap();
        store.create(&retry, Some(&key), "traces").await.unwrap();
    }
    .instrument(root)
    .await;

    let spans = spans_of(trace_id).await;
    let writes = named(&spans, "DynamoDB.TransactWriteItems");
    assert_eq!(writes.len(), 2, "{spans:#?}");
    let replay = writes[1];
    assert_eq!(
        attribute(replay, "error.type"),
        Some(&Value::from("TransactionCanceledException")),
        "{replay:#?}"
    );
    assert_eq!(replay.status, Status::Unset, "a replay is an answer");
}

/// A server that answers every request as DynamoDB does when it fails inside, for
/// `connections` connections.
fn failing_dynamodb(connections: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().take(connections) {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((name, value)) = line.split_once(':')
                    && name.eq_ignore_ascii_case("content-length")
                {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let answer = r#"{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"boom"}"#;
            let _ = write!(
                stream,
                "HTTP/1.1 500 Internal Server Error\r\ncontent-type: application/x-amz-json-1.0\r\nx-amzn-errortype: InternalServerError\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    url
}

#[tokio::test]
async fn the_sdk_retries_are_events_on_the_call_span() {
    let endpoint = failing_dynamodb(10);
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "AKIDTEST", "secret", None, None, "test",
        ))
        .endpoint_url(endpoint)
        .retry_config(
            aws_sdk_dynamodb::config::retry::RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(1))
                .with_max_backoff(Duration::from_millis(5)),
        )
        .build();
    let store = DynamoDbOrderStore::new(aws_sdk_dynamodb::Client::from_conf(config), "orders");
    let (root, trace_id) = root("test.retries");
    assert!(store.get(Uuid::new_v4()).instrument(root).await.is_err());

    let spans = spans_of(trace_id).await;
    let reads = named(&spans, "DynamoDB.GetItem");
    assert_eq!(reads.len(), 1, "{spans:#?}");
    let read = reads[0];
    assert_eq!(attribute(read, "aws.sdk.attempts"), Some(&Value::I64(3)));
    let retries: Vec<_> = read
        .events
        .iter()
        .filter(|e| e.name == "aws.retry")
        .map(|e| e.attributes.clone())
        .collect();
    assert_eq!(
        retries,
        vec![
            vec![KeyValue::new("aws.sdk.attempt", 2)],
            vec![KeyValue::new("aws.sdk.attempt", 3)],
        ]
    );
    assert_eq!(
        attribute(read, "error.type"),
        Some(&Value::from("InternalServerError"))
    );
}
