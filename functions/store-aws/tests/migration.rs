//! The move from the first table design (`table::migration`) on moto: a table holding orders
//! as the first design wrote them, at the stage where both sharded indexes exist and the
//! functions still read the old ones; then the backfill; then the sharded listing. Nothing is
//! missed, repeated or left unpublished on the way.

mod common;

use aws_sdk_dynamodb::types::AttributeValue;
use orders::domain::{Order, OrderStatus};
use orders::ports::{ListQuery, OrderCreated, OrderStore, SortOrder};
use orders::settings::table::{self, migration};
use orders_aws::migrate::{self, BackfillReport};
use orders_aws::{DynamoDbOrderStore, SqsOrderQueue};
use std::collections::BTreeSet;
use std::sync::Arc;
use uuid::Uuid;

/// A fresh table with the indexes of `stage`.
async fn table_at(stage: &str) -> (aws_sdk_dynamodb::Client, String) {
    let stage = migration::STAGES
        .iter()
        .find(|s| s.name == stage)
        .unwrap_or_else(|| panic!("no stage {stage}"));
    let client = common::dynamodb().await;
    let name = common::unique("migrating");
    orders_aws::provision::create_table_at(&client, &name, stage)
        .await
        .unwrap_or_else(|e| panic!("create table {name}: {e}"));
    (client, name)
}

/// An order as the first design wrote it: `listPk`, no shard keys, and the marker while its
/// message had not been sent.
async fn put_legacy(
    client: &aws_sdk_dynamodb::Client,
    table_name: &str,
    order: &Order,
    marked: bool,
) {
    let mut item = orders_aws::order_item(order);
    assert!(item.remove(table::STATUS_SHARD_ATTRIBUTE).is_some());
    assert!(item.remove(table::LIST_SHARD_ATTRIBUTE).is_some());
    item.insert(
        migration::LEGACY_LIST_ATTRIBUTE.to_owned(),
        AttributeValue::S(migration::LEGACY_LIST_KEY.to_owned()),
    );
    if marked {
        item.insert(
            migration::LEGACY_MARKER_ATTRIBUTE.to_owned(),
            AttributeValue::S("1".to_owned()),
        );
    }
    client
        .put_item()
        .table_name(table_name)
        .set_item(Some(item))
        .send()
        .await
        .unwrap_or_else(|e| panic!("put a first-design order: {e:?}"));
}

fn order(ms: i64, status: OrderStatus) -> Order {
    let mut o = conformance::sample_order(conformance::at(ms));
    o.status = status;
    if status == OrderStatus::PendingReview {
        o.status_reason = Some("total above the review threshold".into());
    }
    o
}

/// Every id of a listing, page by page, from `first` on (`None`: the start).
async fn walk_from(
    store: &dyn OrderStore,
    status: Option<OrderStatus>,
    sort: SortOrder,
    limit: u32,
    first: Option<String>,
) -> Vec<Uuid> {
    let mut ids = Vec::new();
    let mut cursor = first;
    for _ in 0..1000 {
        let page = store
            .list(&ListQuery {
                status,
                limit,
                sort,
                cursor: cursor.take(),
            })
            .await
            .unwrap_or_else(|e| panic!("list {status:?} {sort:?} by {limit}: {e}"));
        ids.extend(page.orders.iter().map(|o| o.id));
        match page.cursor {
            Some(c) => cursor = Some(c),
            None => return ids,
        }
    }
    panic!("the listing never ended");
}

async fn walk(
    store: &dyn OrderStore,
    status: Option<OrderStatus>,
    sort: SortOrder,
    limit: u32,
) -> Vec<Uuid> {
    walk_from(store, status, sort, limit, None).await
}

/// The ids of the OrderCreated messages on the queue, every one received.
async fn sent(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<Uuid> {
    let mut ids = Vec::new();
    let mut empty = 0;
    while empty < 2 {
        let out = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .expect("receive");
        let messages = out.messages.unwrap_or_default();
        if messages.is_empty() {
            empty += 1;
        }
        for m in messages {
            let body: OrderCreated =
                serde_json::from_str(m.body().unwrap_or_default()).expect("an OrderCreated");
            ids.push(body.order_id);
            sqs.delete_message()
                .queue_url(url)
                .receipt_handle(m.receipt_handle().unwrap_or_default())
                .send()
                .await
                .expect("delete");
        }
    }
    ids
}

/// `orders` newest first (the listing's order), optionally of one status.
fn expected(orders: &[Order], status: Option<OrderStatus>, sort: SortOrder) -> Vec<Uuid> {
    let mut v: Vec<&Order> = orders
        .iter()
        .filter(|o| status.is_none_or(|s| o.status == s))
        .collect();
    v.sort_by_key(|o| (o.created_at, o.id));
    if sort == SortOrder::Desc {
        v.reverse();
    }
    v.into_iter().map(|o| o.id).collect()
}

#[tokio::test]
async fn a_migrating_table_lists_every_order_at_each_stage_and_the_backfill_sends_what_was_left() {
    let (client, name) = table_at("3-add-list-shards").await;
    let (sqs, queues) = common::fresh_queues().await;

    // What the first design left: processed orders, pending ones whose message went out, three
    // whose message never did (the marker), and one processed whose marker outlived its send.
    let mut orders = Vec::new();
    let mut unsent = BTreeSet::new();
    for i in 0..12 {
        let status = match i % 4 {
            0 | 1 => OrderStatus::Pending,
            2 => OrderStatus::Confirmed,
            _ => OrderStatus::PendingReview,
        };
        let o = order(i * 10, status);
        let marked = i == 0 || i == 4 || i == 8 || i == 2;
        if marked && status == OrderStatus::Pending {
            unsent.insert(o.id);
        }
        put_legacy(&client, &name, &o, marked).await;
        orders.push(o);
    }
    assert_eq!(unsent.len(), 3);

    // Stages 1 and 2: the new code, reading the old indexes.
    let old_reads =
        DynamoDbOrderStore::new(client.clone(), &name).with_listing(migration::Listing::Unsharded);
    for i in 0..5 {
        let o = conformance::sample_order(conformance::at(i * 10 + 5));
        old_reads
            .create(&o, None, conformance::CORRELATION_ID)
            .await
            .expect("create");
        orders.push(o);
    }
    // The processor moves an old order (the update sets its status key, not its list key).
    let moved = orders[1].id;
    old_reads
        .transition(&conformance::from_pending(
            moved,
            OrderStatus::Confirmed,
            None,
            conformance::at(500),
        ))
        .await
        .expect("transition");
    orders[1].status = OrderStatus::Confirmed;

    for sort in [SortOrder::Desc, SortOrder::Asc] {
        assert_eq!(
            walk(&old_reads, None, sort, 4).await,
            expected(&orders, None, sort),
            "unsharded, every order, {sort:?}"
        );
        for status in [OrderStatus::Pending, OrderStatus::Confirmed] {
            assert_eq!(
                walk(&old_reads, Some(status), sort, 3).await,
                expected(&orders, Some(status), sort),
                "unsharded, {status:?}, {sort:?}"
            );
        }
    }

    // The backfill: keys for the 12 old orders, a message for each of the three never sent.
    let queue = Arc::new(SqsOrderQueue::new(sqs.clone(), queues.queue_url.clone()));
    let report = migrate::backfill(&client, &name, queue.clone())
        .await
        .expect("backfill");
    assert_eq!(
        report,
        BackfillReport {
            found: 12,
            keyed: 12,
            published: 3,
            unmarked: 1,
            left: 0
        }
    );
    let messages = sent(&sqs, &queues.queue_url).await;
    assert_eq!(messages.len(), 3, "one message each: {messages:?}");
    assert_eq!(messages.into_iter().collect::<BTreeSet<_>>(), unsent);

    // Stage 3 on: the sharded listing has every order once, in order, at every page size tried.
    let new_reads = DynamoDbOrderStore::new(client.clone(), &name);
    for sort in [SortOrder::Desc, SortOrder::Asc] {
        for limit in [1, 5, 100] {
            assert_eq!(
                walk(&new_reads, None, sort, limit).await,
                expected(&orders, None, sort),
                "sharded, by {limit}, {sort:?}"
            );
        }
        for status in [
            OrderStatus::Pending,
            OrderStatus::Confirmed,
            OrderStatus::PendingReview,
        ] {
            assert_eq!(
                walk(&new_reads, Some(status), sort, 2).await,
                expected(&orders, Some(status), sort),
                "sharded, {status:?}, {sort:?}"
            );
        }
    }

    // A reader paging across the deploy that switches the reads goes on where it was.
    let first = old_reads
        .list(&ListQuery {
            status: None,
            limit: 6,
            sort: SortOrder::Desc,
            cursor: None,
        })
        .await
        .expect("first page");
    let mut across: Vec<Uuid> = first.orders.iter().map(|o| o.id).collect();
    across.extend(walk_from(&new_reads, None, SortOrder::Desc, 6, first.cursor).await);
    assert_eq!(
        across,
        expected(&orders, None, SortOrder::Desc),
        "a walk begun on the old indexes"
    );

    // Run again: nothing to do, nothing sent twice.
    let again = migrate::backfill(&client, &name, queue)
        .await
        .expect("backfill again");
    assert_eq!(again, BackfillReport::default());
    assert!(
        sent(&sqs, &queues.queue_url).await.is_empty(),
        "nothing sent twice"
    );
}

#[tokio::test]
async fn every_stage_of_the_migration_can_be_provisioned_and_the_first_reads_the_old_indexes() {
    // Each stage's table is what the template declares there (template_defaults holds it to
    // the same list); at stage 1 only the first design's indexes exist.
    for stage in migration::STAGES {
        let client = common::dynamodb().await;
        let name = common::unique("stage");
        orders_aws::provision::create_table_at(&client, &name, &stage)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", stage.name));
        let described = client
            .describe_table()
            .table_name(&name)
            .send()
            .await
            .expect("describe");
        let indexes: BTreeSet<String> = described
            .table()
            .map(|t| {
                t.global_secondary_indexes()
                    .iter()
                    .filter_map(|i| i.index_name().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(
            indexes,
            stage.indexes.iter().map(|i| (*i).to_owned()).collect(),
            "{}",
            stage.name
        );
    }
    let (client, name) = table_at("1-stream").await;
    let store =
        DynamoDbOrderStore::new(client.clone(), &name).with_listing(migration::Listing::Unsharded);
    let old = order(0, OrderStatus::Pending);
    put_legacy(&client, &name, &old, false).await;
    let new = conformance::sample_order(conformance::at(10));
    store
        .create(&new, None, conformance::CORRELATION_ID)
        .await
        .expect("create");
    assert_eq!(
        walk(&store, None, SortOrder::Desc, 10).await,
        vec![new.id, old.id]
    );
    assert_eq!(
        walk(&store, Some(OrderStatus::Pending), SortOrder::Asc, 10).await,
        vec![old.id, new.id]
    );
}
