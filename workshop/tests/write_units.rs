//! What an order costs DynamoDB in writes, counted rather than estimated: `workshop up
//! --backend aws` on moto server, orders through the API until they are final, then every
//! write the table's stream recorded (its item before and after) run through DynamoDB's index
//! rules (`orders::capacity`): the write units each order lands on the table and on each
//! index key, and the write rate of the hottest key at 10,000 orders/s.
//!
//! The stream cannot tell a transactional write (billed twice) from a plain one, so the orders
//! here carry no `Idempotency-Key`: every create is a plain conditional put.
#![cfg(feature = "aws")]

mod common;

use common::{Moto, eventually, has_dimensions, metrics, order};
use orders::capacity::{KeyLoad, Landing, Value, Write};
use orders::settings::table;
use std::collections::BTreeMap;
use std::time::Duration;

/// Enough orders that every status and every processing path of a confirmed order is seen
/// several times; the per-key rates come from the shard function's even spread, not from how
/// these few ids happen to fall.
const ORDERS: usize = 48;

const ORDERS_PER_SECOND: f64 = 10_000.0;

#[tokio::test(flavor = "multi_thread")]
async fn an_order_costs_6_write_units_and_no_key_takes_1000_a_second_at_10000_orders() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let stack = moto.up(dir.path());
    let c = stack.client();

    let mut ids = Vec::new();
    for n in 0..ORDERS {
        let r = c.create(&order(1 + n % 3, "1.00")).await;
        assert_eq!(r.status, 201, "{}", r.text);
        ids.push(r.body["id"].as_str().unwrap().to_owned());
    }
    for id in &ids {
        assert_eq!(c.wait_final(id).await["status"], "CONFIRMED");
    }

    let config = moto.sdk_config().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    let streams = orders_aws::stream::StreamsClient::new(&config);
    let table_name = workshop::stack::backend::EMULATOR_TABLE;
    let changes = orders_aws::stream::changes(&dynamodb, &streams, table_name)
        .await
        .unwrap();

    // Each order's writes, from its own item's changes.
    let mut per_order: BTreeMap<String, Vec<Landing>> = BTreeMap::new();
    for change in &changes {
        let item = change.after.as_ref().or(change.before.as_ref()).unwrap();
        let Some(Value::S(pk)) = item.get(table::PARTITION_KEY) else {
            panic!(
                "a change without a string {}: {item:?}",
                table::PARTITION_KEY
            );
        };
        let landings = table::DESIGN.write(Write {
            before: change.before.as_ref(),
            after: change.after.as_ref(),
            transactional: false,
        });
        per_order.entry(pk.clone()).or_default().extend(landings);
    }
    assert_eq!(
        per_order.keys().cloned().collect::<Vec<_>>(),
        {
            let mut keys: Vec<String> = ids
                .iter()
                .map(|id| format!("{}{id}", table::ORDER_PREFIX))
                .collect();
            keys.sort();
            keys
        },
        "the stream holds the writes of these orders and nothing else"
    );

    // Per order: the put (table 1, a status key 1, a list key 1) and PENDING -> CONFIRMED
    // (table 1, the status key's delete and put 2). Nothing marks an order published: the
    // stream is the outbox. The list index, keys-only, is not touched after the put.
    let mut load = KeyLoad::default();
    for landings in per_order.values() {
        let units = |index: Option<&str>| -> u32 {
            landings
                .iter()
                .filter(|l| l.index == index)
                .map(|l| l.units)
                .sum()
        };
        assert_eq!(
            (
                units(None),
                units(Some(table::STATUS_INDEX)),
                units(Some(table::LIST_INDEX)),
            ),
            (2, 3, 1),
            "{landings:#?}"
        );
        assert!(
            landings.iter().all(|l| l.index.is_none()
                || [table::STATUS_INDEX, table::LIST_INDEX].contains(&l.index.unwrap_or_default())),
            "{landings:#?}"
        );
        load.add_order(landings.clone());
    }
    let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
    let per_order = load.units_per_order();
    assert!(per_order <= 6.0, "{per_order} write units an order");
    assert!(close(per_order, 6.0), "{per_order}");

    // The hottest key at 10,000 orders/s: PENDING#<shard> takes each order's entry and exit,
    // 2 units an order over 32 keys, 625 units/s, under the 1,000 a key can take.
    let (index, family, rate) = load
        .hottest_spread(ORDERS_PER_SECOND, table::key_family)
        .unwrap();
    assert_eq!(
        (index, family.as_str()),
        (Some(table::STATUS_INDEX), "PENDING#*")
    );
    assert!(rate <= 1_000.0, "{family} takes {rate} units/s");
    assert!(close(rate, 625.0), "{rate}");
    let listing = |key: &str| -> f64 {
        let (_, _, rate) = load
            .hottest_spread(ORDERS_PER_SECOND, |i, k| {
                table::key_family(i, k).filter(|(f, _)| f == key)
            })
            .unwrap();
        rate
    };
    assert!(close(listing("CONFIRMED#*"), 312.5));
    assert!(close(listing("ORDERS#*"), 312.5));
    // The figures for BENCHMARKS.md (scripts/write-units.sh reads this line).
    eprintln!(
        "write-units: orders={ORDERS} units_per_order={per_order:.2} hottest={}:{family} rate={rate:.1}",
        index.unwrap_or("table")
    );
}

/// The store asks DynamoDB what every call consumed (ReturnConsumedCapacity) and records it by
/// operation, so the operations dashboard shows what each costs. moto reports a fixed figure
/// for the calls it implements it on (1 unit a put or a query, 0.5 a read by key, one a key of
/// a batch read; nothing for updates): the test checks the store records what it is told.
#[tokio::test(flavor = "multi_thread")]
async fn every_call_records_the_capacity_dynamodb_reports_by_operation() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let stack = moto.up(dir.path());
    let c = stack.client();
    let mut ids = Vec::new();
    for _ in 0..3 {
        let r = c.create(&order(1, "1.00")).await;
        assert_eq!(r.status, 201, "{}", r.text);
        ids.push(r.body["id"].as_str().unwrap().to_owned());
    }
    let listed = c.get("/orders?limit=10").await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert_eq!(c.get(&format!("/orders/{}", ids[0])).await.status, 200);

    let sum = |rows: &[serde_json::Value], name: &str, operation: &str| -> f64 {
        rows.iter()
            .filter(|r| r["name"] == name && has_dimensions(r, &[("Operation", operation)]))
            .filter_map(|r| r["sum"].as_f64())
            .sum()
    };
    eventually(common::PATIENCE, Duration::from_millis(250), async || {
        let rows = metrics(&stack);
        let puts = sum(&rows, "ConsumedWriteUnits", "PutOrder");
        // The list: a query on each of the 32 shards, then one batch read of the 3 orders.
        let list = sum(&rows, "ConsumedReadUnits", "QueryOrders");
        let get = sum(&rows, "ConsumedReadUnits", "GetOrder");
        let shards = f64::from(table::SHARDS);
        if puts == 3.0 && list == shards + 3.0 && get >= 0.5 {
            Ok(())
        } else {
            Err(format!("PutOrder writes {puts} (3), QueryOrders reads {list} ({}), GetOrder reads {get} (>= 0.5)", shards + 3.0))
        }
    })
    .await;
}
