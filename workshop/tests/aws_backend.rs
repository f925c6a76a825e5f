//! The end-to-end flow with the AWS adapters: `workshop up --backend aws` against moto server
//! (DynamoDB and SQS as AWS speaks them). Nothing here can reach real AWS: the endpoint is a
//! loopback moto server and the credentials are dummies.

mod common;

use common::{Moto, is_uuid, order};
use std::collections::HashSet;

#[tokio::test(flavor = "multi_thread")]
async fn the_order_flow_runs_on_dynamodb_and_sqs() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let stack = moto.up(dir.path());
    assert!(
        stack.banner.contains("DynamoDB table orders-local"),
        "{}",
        stack.banner
    );
    let c = stack.client();

    let h = c.get("/health").await;
    assert_eq!(h.status, 200, "{}", h.text);

    let cases = [
        (order(2, "0.10"), "CONFIRMED"),
        (order(11, "1.00"), "PENDING_REVIEW"),
        (order(1, "10000.01"), "PENDING_APPROVAL"),
    ];
    let mut ids = Vec::new();
    for (body, expected) in cases {
        let r = c.create(&body).await;
        assert_eq!(r.status, 201, "{}", r.text);
        let id = r.body["id"].as_str().unwrap().to_owned();
        assert!(is_uuid(&id));
        assert_eq!(c.wait_final(&id).await["status"], expected);
        ids.push(id);
    }
    assert!(
        c.get("/orders/00000000-0000-0000-0000-000000000000")
            .await
            .status
            == 404
    );

    // Idempotency on DynamoDB's conditional transaction.
    let body = r#"{"customerName":"Idem","items":[{"sku":"A","qty":1,"price":1}]}"#;
    let a = c.post_raw(body, &[("Idempotency-Key", "k-1")]).await;
    let b = c.post_raw(body, &[("Idempotency-Key", "k-1")]).await;
    assert_eq!((a.status, b.status), (201, 201));
    assert_eq!(a.body["id"], b.body["id"]);
    let conflict = c
        .post_raw(
            r#"{"customerName":"Other","items":[{"sku":"A","qty":1,"price":1}]}"#,
            &[("Idempotency-Key", "k-1")],
        )
        .await;
    assert_eq!(conflict.status, 409);
    ids.push(a.body["id"].as_str().unwrap().to_owned());

    // Newest first across pages of the list index, each order once.
    let first = c.get("/orders?limit=3").await;
    assert_eq!(first.status, 200, "{}", first.text);
    let token = first.body["nextToken"]
        .as_str()
        .expect("a second page")
        .to_owned();
    let second = c
        .get(&format!(
            "/orders?limit=3&nextToken={}",
            token.replace('=', "%3D")
        ))
        .await;
    assert_eq!(second.status, 200, "{}", second.text);
    let listed: Vec<String> = first.body["orders"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second.body["orders"].as_array().unwrap())
        .map(|o| o["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(listed.len(), 4);
    assert_eq!(
        listed.iter().collect::<HashSet<_>>(),
        ids.iter().collect::<HashSet<_>>()
    );
    assert_eq!(listed[0], ids[3], "newest first");
    let review = c.get("/orders?status=PENDING_REVIEW").await;
    assert_eq!(review.body["count"], 1);

    // The orders are in DynamoDB (not in a local file), each with its final status.
    let dynamodb = aws_sdk_dynamodb::Client::new(&moto.sdk_config().await);
    let scan = dynamodb
        .scan()
        .table_name(workshop::stack::backend::EMULATOR_TABLE)
        .send()
        .await
        .unwrap();
    let statuses: Vec<String> = scan
        .items()
        .iter()
        .filter_map(|item| item.get("status").and_then(|v| v.as_s().ok()).cloned())
        .collect();
    assert_eq!(statuses.len(), 4, "{statuses:?}");
    assert!(!statuses.iter().any(|s| s == "PENDING"), "{statuses:?}");
    assert!(
        !dir.path().join("orders.db").exists(),
        "nothing written to SQLite"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn dlq_commands_work_on_sqs() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    // Starting the stack provisions the emulator's queues.
    let _stack = moto.up(dir.path());

    let sqs = aws_sdk_sqs::Client::new(&moto.sdk_config().await);
    let dlq_url = sqs
        .get_queue_url()
        .queue_name(workshop::stack::backend::EMULATOR_DLQ)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    sqs.send_message().queue_url(&dlq_url).message_body(r#"{"orderId":"00000000-0000-0000-0000-000000000001","createdAt":"2026-01-01T00:00:00.000Z"}"#).send().await.unwrap();

    let run = |args: &[&str]| {
        let out = common::succeed(
            moto.workshop()
                .args(args)
                .args(["--backend", "aws", "--data-dir"])
                .arg(dir.path()),
        );
        String::from_utf8(out).unwrap()
    };
    let listed: serde_json::Value = serde_json::from_str(&run(&["dlq", "list", "--json"])).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(
        listed[0]["body"]["orderId"],
        "00000000-0000-0000-0000-000000000001"
    );
    assert!(run(&["dlq", "redrive"]).contains("Redrove 1 message"));
    let listed: serde_json::Value = serde_json::from_str(&run(&["dlq", "list", "--json"])).unwrap();
    assert!(listed.as_array().unwrap().is_empty());
}

#[test]
fn without_a_target_the_aws_backend_refuses_to_start_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let out = common::workshop()
        .args([
            "up",
            "--port",
            "0",
            "--quiet",
            "--backend",
            "aws",
            "--data-dir",
        ])
        .arg(dir.path())
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("ORDERS_TABLE")
        .env_remove("ORDERS_QUEUE_URL")
        // Dummy credentials: even a mistake here could not reach a real account.
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("ORDERS_TABLE") && err.contains("AWS_ENDPOINT_URL"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn workshop_metrics_reads_the_same_view_from_cloudwatch() {
    use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
    let moto = Moto::start();
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&moto.sdk_config().await);
    let dim = |k: &str, v: &str| Dimension::builder().name(k).value(v).build();
    for value in [1.0, 1.0, 1.0] {
        cloudwatch
            .put_metric_data()
            .namespace("OrderKit")
            .metric_data(
                MetricDatum::builder()
                    .metric_name("OrdersCreated")
                    .dimensions(dim("Service", "orders"))
                    .dimensions(dim("Environment", "dev"))
                    .unit(StandardUnit::Count)
                    .value(value)
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }
    cloudwatch
        .put_metric_data()
        .namespace("AWS/Lambda")
        .metric_data(
            MetricDatum::builder()
                .metric_name("Invocations")
                .dimensions(dim("FunctionName", "order-kit-dev-create-order"))
                .value(7.0)
                .build(),
        )
        .send()
        .await
        .unwrap();

    let rows = moto.workshop_json(&["metrics", "--aws", "--json", "--minutes", "10"]);
    let created = rows
        .iter()
        .find(|r| r["name"] == "OrdersCreated")
        .expect("OrdersCreated row");
    assert_eq!(created["namespace"], "OrderKit");
    assert_eq!(created["sum"], 3.0);
    assert_eq!(created["samples"], 3);
    let invocations = rows
        .iter()
        .find(|r| r["name"] == "Invocations")
        .expect("Invocations row");
    assert_eq!(invocations["sum"], 7.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn workshop_alarms_reads_alarm_states_from_cloudwatch() {
    use aws_sdk_cloudwatch::types::{ComparisonOperator, Statistic};
    let moto = Moto::start();
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&moto.sdk_config().await);
    cloudwatch
        .put_metric_alarm()
        .alarm_name("order-kit-dev-dlq-not-empty")
        .namespace("AWS/SQS")
        .metric_name("ApproximateNumberOfMessagesVisible")
        .statistic(Statistic::Maximum)
        .period(60)
        .evaluation_periods(1)
        .threshold(0.0)
        .comparison_operator(ComparisonOperator::GreaterThanThreshold)
        .send()
        .await
        .unwrap();
    cloudwatch
        .set_alarm_state()
        .alarm_name("order-kit-dev-dlq-not-empty")
        .state_value(aws_sdk_cloudwatch::types::StateValue::Alarm)
        .state_reason("Threshold Crossed: 1 datapoint [3.0] was greater than the threshold (0.0).")
        .send()
        .await
        .unwrap();

    let rows = moto.workshop_json(&["alarms", "--aws", "--json"]);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["name"], "order-kit-dev-dlq-not-empty");
    assert_eq!(rows[0]["state"], "ALARM");
    assert!(
        rows[0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("Threshold Crossed")
    );
}

/// `workshop migrate-table`, as docs/table-design.md has an instructor run it between stages 2
/// and 3: on a table holding an order of the first design, still unpublished, it keys and
/// sends it and says nothing is left; a second run finds nothing; without the stack's names
/// it says which it needs.
#[tokio::test(flavor = "multi_thread")]
async fn migrate_table_backfills_a_first_design_table_once() {
    use aws_sdk_dynamodb::types::AttributeValue;
    use orders::settings::table::{self, migration};
    let moto = Moto::start();
    let aws = moto.sdk_config().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&aws);
    let sqs = aws_sdk_sqs::Client::new(&aws);
    let stage = migration::STAGES[2];
    orders_aws::provision::create_table_at(&dynamodb, "migrating", &stage)
        .await
        .unwrap();
    let queues = orders_aws::provision::create_queues(&sqs, "migrating", "migrating-dlq")
        .await
        .unwrap();
    let line: orders::domain::LineItem =
        serde_json::from_str(r#"{"sku":"A","qty":1,"price":1}"#).unwrap();
    let new = orders::domain::NewOrder {
        customer_name: "Ada".into(),
        items: vec![line],
    };
    let placed = orders::domain::Order::place(uuid::Uuid::new_v4(), new, chrono::Utc::now());
    let mut item = orders_aws::order_item(&placed);
    item.remove(table::STATUS_SHARD_ATTRIBUTE);
    item.remove(table::LIST_SHARD_ATTRIBUTE);
    for (name, value) in [
        (migration::LEGACY_LIST_ATTRIBUTE, migration::LEGACY_LIST_KEY),
        (migration::LEGACY_MARKER_ATTRIBUTE, "1"),
    ] {
        item.insert(name.to_owned(), AttributeValue::S(value.to_owned()));
    }
    dynamodb
        .put_item()
        .table_name("migrating")
        .set_item(Some(item))
        .send()
        .await
        .unwrap();

    let run = || {
        let out = common::succeed(
            moto.workshop()
                .arg("migrate-table")
                .env("ORDERS_TABLE", "migrating")
                .env("ORDERS_QUEUE_URL", &queues.queue_url),
        );
        String::from_utf8(out).unwrap()
    };
    let first = run();
    assert!(
        first.contains("1 orders needed the backfill; 1 given their shard keys, 1 unpublished"),
        "{first}"
    );
    assert!(first.contains("nothing left"), "{first}");
    let received = sqs
        .receive_message()
        .queue_url(&queues.queue_url)
        .wait_time_seconds(2)
        .send()
        .await
        .unwrap();
    let bodies: Vec<&str> = received
        .messages()
        .iter()
        .filter_map(|m| m.body())
        .collect();
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    assert!(bodies[0].contains(&placed.id.to_string()), "{bodies:?}");
    let again = run();
    assert!(again.contains("0 orders needed the backfill"), "{again}");

    let refused = moto.workshop().arg("migrate-table").output().unwrap();
    assert!(!refused.status.success());
    let e = String::from_utf8_lossy(&refused.stderr);
    assert!(
        e.contains("ORDERS_TABLE") && e.contains("OrdersTableName"),
        "{e}"
    );
}
