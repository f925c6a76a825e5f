//! The shared conformance suite against the DynamoDB store and the SQS queue, on a moto
//! server this binary starts (see `common`), plus what only the AWS adapters have: the item
//! layout, provisioning, and the dead-letter queue's list and redrive.

mod common;

use aws_sdk_dynamodb::types::{AttributeValue, KeyType, ProjectionType, TimeToLiveStatus};
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use conformance::Delivered;
use orders::ports::{
    CreateOutcome, DependencyError, OrderCreated, OrderQueue, OrderStore, Outbox, SortOrder,
};
use orders::settings::{QUEUE, table};
use orders_aws::provision::{self, Provisioned, Queues};
use orders_aws::{
    DeadLetter, DynamoDbOrderStore, RedriveMethod, RedriveOutcome, SqsDeadLetters, SqsOrderQueue,
};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use uuid::Uuid;

/// A store on a fresh, empty table of its own.
async fn fresh() -> (DynamoDbOrderStore, ()) {
    let (client, name) = common::fresh_table().await;
    (DynamoDbOrderStore::new(client, name), ())
}

mod checks {
    // One #[tokio::test] per conformance check.
    conformance::store_tests!(super::fresh);
}

/// A store on a fresh table and the table's stream read as the outbox, as the local stack
/// reads it on `--backend aws`.
async fn fresh_outbox() -> (Arc<dyn OrderStore>, Arc<dyn Outbox>, ()) {
    let (client, name) = common::fresh_table().await;
    let outbox = orders_aws::StreamOutbox::open(&client, common::streams().await, &name)
        .await
        .unwrap_or_else(|e| panic!("open the stream of {name}: {e}"));
    (
        Arc::new(DynamoDbOrderStore::new(client, name)),
        Arc::new(outbox),
        (),
    )
}

mod outbox_checks {
    conformance::outbox_tests!(super::fresh_outbox);
}

async fn raw_item(
    client: &aws_sdk_dynamodb::Client,
    table_name: &str,
    pk: String,
) -> HashMap<String, AttributeValue> {
    client
        .get_item()
        .table_name(table_name)
        .key(table::PARTITION_KEY, AttributeValue::S(pk))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// The DynamoDB store beyond the shared suite.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_item_follows_the_table_design() {
    let (client, name) = common::fresh_table().await;
    let store = DynamoDbOrderStore::new(client.clone(), &name);
    let order = conformance::sample_order(conformance::at(42));
    store
        .create(&order, None, conformance::CORRELATION_ID)
        .await
        .unwrap();

    let pk = format!("{}{}", table::ORDER_PREFIX, order.id);
    let item = raw_item(&client, &name, pk.clone()).await;
    let s = |v: &str| AttributeValue::S(v.to_owned());
    assert_eq!(item[table::STATUS_ATTRIBUTE], s("PENDING"));
    let shard = table::shard_of(order.id);
    assert_eq!(
        item[table::STATUS_SHARD_ATTRIBUTE],
        s(&format!("PENDING#{shard:02}"))
    );
    assert_eq!(
        item[table::LIST_SHARD_ATTRIBUTE],
        s(&format!("ORDERS#{shard:02}"))
    );
    assert_eq!(item["correlationId"], s(conformance::CORRELATION_ID));
    assert_eq!(
        item[table::SORT_ATTRIBUTE],
        s(&format!("2026-01-01T00:00:00.042Z#{}", order.id))
    );
    // Money is a DynamoDB number holding the exact decimal, never a float's digits.
    assert_eq!(item["total"], AttributeValue::N("2469.62".into()));
    let AttributeValue::L(lines) = &item["items"] else {
        panic!("items is not a list: {:?}", item["items"]);
    };
    let AttributeValue::M(first) = &lines[0] else {
        panic!("a line is not a map");
    };
    assert!(
        matches!(&first["price"], AttributeValue::N(p) if p == "0.10" || p == "0.1"),
        "{:?}",
        first["price"]
    );

    // A status change moves the order to its new status's key, on the same shard.
    let moved = store
        .transition(&orders::ports::TransitionRequest {
            id: order.id,
            from: orders::domain::OrderStatus::Pending,
            to: orders::domain::OrderStatus::Confirmed,
            reason: None,
            at: conformance::at(43),
        })
        .await
        .unwrap();
    assert!(matches!(moved, orders::ports::Transition::Applied(_)));
    let item = raw_item(&client, &name, pk).await;
    assert_eq!(
        item[table::STATUS_SHARD_ATTRIBUTE],
        s(&format!("CONFIRMED#{shard:02}"))
    );
}

#[tokio::test]
async fn the_idempotency_record_carries_a_ttl() {
    let (client, name) = common::fresh_table().await;
    let store = DynamoDbOrderStore::new(client.clone(), &name);
    // Expiry with milliseconds: TTL seconds round up, never forgetting a key early.
    let key = conformance::fresh_key("hash", conformance::at(3_600_500));
    let order = conformance::sample_order(conformance::at(0));
    store
        .create(&order, Some(&key), conformance::CORRELATION_ID)
        .await
        .unwrap();
    let record = raw_item(
        &client,
        &name,
        format!("{}{}", table::IDEMPOTENCY_PREFIX, key.key),
    )
    .await;
    let want_secs = conformance::at(3_601_000).timestamp();
    assert_eq!(
        record[table::TTL_ATTRIBUTE],
        AttributeValue::N(want_secs.to_string())
    );
    assert_eq!(record["orderId"], AttributeValue::S(order.id.to_string()));
    assert_eq!(record["requestHash"], AttributeValue::S("hash".into()));
}

#[tokio::test]
async fn concurrent_requests_with_one_key_create_one_order() {
    let (store, ()) = fresh().await;
    let key = conformance::fresh_key("hash", conformance::at(3_600_000));
    let attempts: Vec<_> = (0..4)
        .map(|i| {
            let store = store.clone();
            let key = key.clone();
            tokio::spawn(async move {
                let order = conformance::sample_order(conformance::at(i));
                store
                    .create(&order, Some(&key), conformance::CORRELATION_ID)
                    .await
            })
        })
        .collect();
    let mut created = Vec::new();
    let mut replayed = Vec::new();
    for a in attempts {
        match a.await.unwrap().unwrap() {
            CreateOutcome::Created(o) => created.push(o.id),
            CreateOutcome::Replayed(o) => replayed.push(o.id),
            CreateOutcome::KeyConflict => panic!("same request, same key: not a conflict"),
        }
    }
    assert_eq!(created.len(), 1, "exactly one request creates");
    assert!(replayed.iter().all(|id| *id == created[0]), "{replayed:?}");
    let all = conformance::list_all(&store, None, SortOrder::Desc, 10, 1).await;
    assert_eq!(all.len(), 1);
}

/// A page is read back by key in BatchGetItems of at most 100 keys (the call's limit): a
/// store caller asking for more than the API's 100 still gets its page.
#[tokio::test]
async fn a_page_of_more_than_100_orders_is_read_in_batches() {
    let (store, ()) = fresh().await;
    for i in 0..120 {
        let order = conformance::sample_order(conformance::at(i));
        store
            .create(&order, None, conformance::CORRELATION_ID)
            .await
            .unwrap();
    }
    let page = store
        .list(&orders::ports::ListQuery {
            status: None,
            limit: 150,
            sort: SortOrder::Asc,
            cursor: None,
        })
        .await
        .unwrap();
    assert_eq!(page.orders.len(), 120);
    assert!(page.cursor.is_none());
    let times: Vec<_> = page.orders.iter().map(|o| o.created_at).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "oldest first");
}

#[tokio::test]
async fn a_missing_table_names_the_call_that_failed() {
    let client = common::dynamodb().await;
    let store = DynamoDbOrderStore::new(client, common::unique("no-such-table"));
    match store.ping().await {
        Err(DependencyError::Failed { operation, message }) => {
            assert_eq!(operation, "GetItem");
            assert!(message.contains("ResourceNotFound"), "{message}");
        }
        other => panic!("ping of a missing table: {other:?}"),
    }
    assert!(store.get(Uuid::new_v4()).await.is_err());
}

// ---------------------------------------------------------------------------------------------
// Provisioning: the table and queues match the settings the template uses.
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_table_matches_the_table_design() {
    let (client, name) = common::fresh_table().await;
    assert_eq!(
        provision::create_table(&client, &name).await.unwrap(),
        Provisioned::AlreadyExisted,
        "creating it again is harmless"
    );
    let desc = client
        .describe_table()
        .table_name(&name)
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    let keys = |schema: &[aws_sdk_dynamodb::types::KeySchemaElement]| {
        schema
            .iter()
            .map(|k| (k.attribute_name().to_owned(), k.key_type().clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        keys(desc.key_schema()),
        vec![(table::PARTITION_KEY.to_owned(), KeyType::Hash)]
    );
    let mut indexes: Vec<_> = desc
        .global_secondary_indexes()
        .iter()
        .map(|i| {
            (
                i.index_name().unwrap_or_default().to_owned(),
                keys(i.key_schema()),
                i.projection().and_then(|p| p.projection_type()).cloned(),
            )
        })
        .collect();
    indexes.sort_by(|a, b| a.0.cmp(&b.0));
    // The listing indexes are keys-only (pages are read back by key).
    let mut want: Vec<_> = [
        (
            table::STATUS_INDEX,
            table::STATUS_SHARD_ATTRIBUTE,
            ProjectionType::KeysOnly,
        ),
        (
            table::LIST_INDEX,
            table::LIST_SHARD_ATTRIBUTE,
            ProjectionType::KeysOnly,
        ),
    ]
    .into_iter()
    .map(|(index, partition, projection)| {
        (
            index.to_owned(),
            vec![
                (partition.to_owned(), KeyType::Hash),
                (table::SORT_ATTRIBUTE.to_owned(), KeyType::Range),
            ],
            Some(projection),
        )
    })
    .collect();
    want.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(indexes, want);
    let stream = desc
        .stream_specification()
        .expect("the table has a stream: the outbox");
    assert!(stream.stream_enabled());
    assert_eq!(
        stream.stream_view_type().map(|v| v.as_str()),
        Some(table::STREAM_VIEW)
    );

    let ttl = client
        .describe_time_to_live()
        .table_name(&name)
        .send()
        .await
        .unwrap()
        .time_to_live_description
        .unwrap();
    assert_eq!(ttl.attribute_name(), Some(table::TTL_ATTRIBUTE));
    assert_eq!(ttl.time_to_live_status(), Some(&TimeToLiveStatus::Enabled));
}

#[tokio::test]
async fn the_queues_match_the_queue_settings() {
    let (client, queues) = common::fresh_queues().await;
    let attrs = client
        .get_queue_attributes()
        .queue_url(&queues.queue_url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap();
    assert_eq!(
        attrs[&QueueAttributeName::VisibilityTimeout],
        QUEUE.visibility_timeout.as_secs().to_string()
    );
    assert_eq!(
        attrs[&QueueAttributeName::MessageRetentionPeriod],
        QUEUE.retention.as_secs().to_string()
    );
    let policy: serde_json::Value =
        serde_json::from_str(&attrs[&QueueAttributeName::RedrivePolicy]).unwrap();
    assert_eq!(policy["deadLetterTargetArn"], queues.dlq_arn.as_str());
    assert_eq!(
        policy["maxReceiveCount"].to_string().trim_matches('"'),
        QUEUE.max_receive_count.to_string()
    );
}

// ---------------------------------------------------------------------------------------------
// The SQS queue: the shared queue checks, and the DLQ.
// ---------------------------------------------------------------------------------------------

/// Receives and deletes everything now on the queue.
async fn drain(client: &aws_sdk_sqs::Client, queue_url: &str) -> Vec<Delivered> {
    let mut delivered = Vec::new();
    loop {
        let out = client
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .message_attribute_names("All")
            .send()
            .await
            .unwrap();
        let messages = out.messages.unwrap_or_default();
        if messages.is_empty() {
            return delivered;
        }
        for m in messages {
            let attributes: BTreeMap<String, String> = m
                .message_attributes()
                .into_iter()
                .flatten()
                .filter_map(|(k, v)| v.string_value().map(|s| (k.clone(), s.to_owned())))
                .collect();
            delivered.push(Delivered {
                body: m.body().unwrap_or_default().to_owned(),
                attributes,
            });
            client
                .delete_message()
                .queue_url(queue_url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
}

async fn fresh_queue() -> (SqsOrderQueue, aws_sdk_sqs::Client, Queues) {
    let (client, queues) = common::fresh_queues().await;
    let queue = SqsOrderQueue::new(client.clone(), &queues.queue_url);
    (queue, client, queues)
}

#[tokio::test]
async fn queue_run_all() {
    let (queue, client, queues) = fresh_queue().await;
    conformance::run_queue_all(&queue, || drain(&client, &queues.queue_url)).await;
}

#[tokio::test]
async fn messages_carry_the_order_id_attribute() {
    let (queue, client, queues) = fresh_queue().await;
    let msg = OrderCreated {
        order_id: Uuid::new_v4(),
        created_at: conformance::at(0),
        correlation_id: None,
    };
    queue.publish(&msg).await.unwrap();
    let got = drain(&client, &queues.queue_url).await;
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].attributes.get("orderId"),
        Some(&msg.order_id.to_string())
    );
}

/// This binary installs no tracer: the message carries no trace context.
#[tokio::test]
async fn without_a_tracer_a_message_carries_no_trace() {
    let (queue, client, queues) = fresh_queue().await;
    queue
        .publish(&OrderCreated {
            order_id: Uuid::new_v4(),
            created_at: conformance::at(0),
            correlation_id: None,
        })
        .await
        .unwrap();
    let received = orders_aws::SqsConsumer::new(client, &queues.queue_url)
        .receive(10)
        .await
        .unwrap();
    assert_eq!(received.len(), 1);
    assert!(received[0].trace.is_empty(), "{:?}", received[0].trace);
    assert!(!received[0].attributes.contains_key("traceparent"));
}

#[tokio::test]
async fn a_missing_queue_fails_ping_and_publish() {
    let (_, client, queues) = fresh_queue().await;
    let gone = SqsOrderQueue::new(client, format!("{}-missing", queues.queue_url));
    assert!(matches!(
        gone.ping().await,
        Err(DependencyError::Failed {
            operation: "GetQueueAttributes",
            ..
        })
    ));
    let msg = OrderCreated {
        order_id: Uuid::new_v4(),
        created_at: conformance::at(0),
        correlation_id: None,
    };
    assert!(matches!(
        gone.publish(&msg).await,
        Err(DependencyError::Failed {
            operation: "SendMessage",
            ..
        })
    ));
}

fn dead_letters(client: &aws_sdk_sqs::Client, queues: &Queues) -> SqsDeadLetters {
    SqsDeadLetters::new(
        client.clone(),
        &queues.dlq_url,
        &queues.dlq_arn,
        &queues.queue_arn,
    )
}

/// Publishes one message and fails it `maxReceiveCount` times (received, never deleted,
/// visible again at once); the next receive makes SQS move it to the DLQ.
async fn dead_letter_one(
    queue: &SqsOrderQueue,
    client: &aws_sdk_sqs::Client,
    queues: &Queues,
) -> OrderCreated {
    let msg = OrderCreated {
        order_id: Uuid::new_v4(),
        created_at: conformance::at(7),
        correlation_id: Some(format!("corr-{}", Uuid::new_v4())),
    };
    queue.publish(&msg).await.unwrap();
    let mut receives = 0;
    for _ in 0..=QUEUE.max_receive_count {
        let out = client
            .receive_message()
            .queue_url(&queues.queue_url)
            .visibility_timeout(0)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        receives += out.messages.unwrap_or_default().len();
    }
    assert_eq!(
        receives, QUEUE.max_receive_count as usize,
        "received maxReceiveCount times, then moved to the DLQ"
    );
    msg
}

fn assert_is(letter: &DeadLetter, msg: &OrderCreated) {
    let body: OrderCreated = serde_json::from_str(&letter.body).unwrap();
    assert_eq!(&body, msg);
    assert_eq!(
        letter.attributes.get("correlationId"),
        msg.correlation_id.as_ref()
    );
    assert_eq!(
        letter.attributes.get("orderId"),
        Some(&msg.order_id.to_string())
    );
    assert!(
        letter.receive_count >= 1,
        "the listing's own peek counts: {letter:?}"
    );
    assert!(!letter.message_id.is_empty());
    let age = chrono::Utc::now() - letter.sent_at;
    assert!(
        age >= chrono::Duration::zero() - chrono::Duration::minutes(1)
            && age < chrono::Duration::hours(1),
        "sent_at is the send time: {letter:?}"
    );
}

#[tokio::test]
async fn an_empty_dlq_lists_nothing() {
    let (_, client, queues) = fresh_queue().await;
    let dlq = dead_letters(&client, &queues);
    assert_eq!(dlq.list(10).await.unwrap(), vec![]);
    assert_eq!(dlq.approximate_count().await.unwrap(), 0);
}

#[tokio::test]
async fn failed_messages_reach_the_dlq_and_are_listed_without_being_consumed() {
    let (queue, client, queues) = fresh_queue().await;
    let a = dead_letter_one(&queue, &client, &queues).await;
    let b = dead_letter_one(&queue, &client, &queues).await;
    let dlq = dead_letters(&client, &queues);

    let listed = dlq.list(10).await.unwrap();
    assert_eq!(listed.len(), 2, "{listed:?}");
    for msg in [&a, &b] {
        let letter = listed
            .iter()
            .find(|l| l.body.contains(&msg.order_id.to_string()))
            .unwrap_or_else(|| panic!("{} not listed: {listed:?}", msg.order_id));
        assert_is(letter, msg);
    }
    // Listing is a peek: the messages are still there, and a limit is honoured.
    assert_eq!(dlq.list(10).await.unwrap().len(), 2);
    assert_eq!(dlq.list(1).await.unwrap().len(), 1);
    assert_eq!(dlq.approximate_count().await.unwrap(), 2);
    assert!(
        drain(&client, &queues.queue_url).await.is_empty(),
        "nothing left on the source queue"
    );
}

#[tokio::test]
async fn redrive_by_copy_moves_every_message_back() {
    let (queue, client, queues) = fresh_queue().await;
    let msgs = [
        dead_letter_one(&queue, &client, &queues).await,
        dead_letter_one(&queue, &client, &queues).await,
    ];
    let dlq = dead_letters(&client, &queues).with_redrive_method(RedriveMethod::Copy);
    assert_eq!(
        dlq.redrive().await.unwrap(),
        RedriveOutcome::Moved { count: 2 }
    );
    assert_eq!(dlq.list(10).await.unwrap(), vec![], "the DLQ is empty");

    let mut back = drain(&client, &queues.queue_url).await;
    back.sort_by(|x, y| x.body.cmp(&y.body));
    assert_eq!(back.len(), 2, "{back:?}");
    for msg in &msgs {
        let d = back
            .iter()
            .find(|d| d.body == serde_json::to_string(msg).unwrap())
            .unwrap_or_else(|| panic!("{} not redriven: {back:?}", msg.order_id));
        assert_eq!(
            d.attributes.get("correlationId"),
            msg.correlation_id.as_ref()
        );
        assert_eq!(d.attributes.get("orderId"), Some(&msg.order_id.to_string()));
    }
    assert_eq!(
        dlq.redrive().await.unwrap(),
        RedriveOutcome::Moved { count: 0 },
        "a second redrive finds nothing"
    );
}

/// Redriven messages start over: their receive count is reset, so they get the full
/// `maxReceiveCount` receives again.
#[tokio::test]
async fn redriven_messages_start_with_a_fresh_receive_count() {
    let (queue, client, queues) = fresh_queue().await;
    dead_letter_one(&queue, &client, &queues).await;
    let dlq = dead_letters(&client, &queues).with_redrive_method(RedriveMethod::Copy);
    dlq.redrive().await.unwrap();
    let out = client
        .receive_message()
        .queue_url(&queues.queue_url)
        .visibility_timeout(0)
        .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
        .send()
        .await
        .unwrap();
    let messages = out.messages.unwrap_or_default();
    assert_eq!(messages.len(), 1);
    assert_eq!(
        messages[0]
            .attributes()
            .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
            .map(String::as_str),
        Some("1")
    );
}

/// moto 5.2 does not implement `StartMessageMoveTask` (it answers a bare HTTP 500, not
/// `UnsupportedOperation`), so the default method fails there, and must lose nothing when it
/// does. Should a moto upgrade implement it, the task is started instead.
#[tokio::test]
async fn the_default_redrive_uses_the_move_task_and_loses_nothing_when_it_fails() {
    let (queue, client, queues) = fresh_queue().await;
    let msg = dead_letter_one(&queue, &client, &queues).await;
    let dlq = dead_letters(&client, &queues);
    match dlq.redrive().await {
        Ok(RedriveOutcome::Started { task_handle }) => assert!(!task_handle.is_empty()),
        Ok(other) => panic!("moto gave no UnsupportedOperation, so no copy: {other:?}"),
        Err(e) => {
            assert!(
                matches!(
                    &e,
                    DependencyError::Failed {
                        operation: "StartMessageMoveTask",
                        ..
                    }
                ),
                "{e}"
            );
            let listed = dlq.list(10).await.unwrap();
            assert_eq!(listed.len(), 1, "the message is still in the DLQ");
            assert_is(&listed[0], &msg);
        }
    }
}
