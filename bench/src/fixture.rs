//! The AWS side of the runs: a moto server on loopback (never real AWS), the table, queues
//! and page-token secret the functions expect, seeded orders, and the environment a function
//! gets on Lambda.

use crate::error::BenchError;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::types::{DeleteRequest, PutRequest, WriteRequest};
use chrono::Utc;
use orders::domain::{LineItem, NewOrder, Order};
use orders::ports::OrderCreated;
use orders::settings::env;
use orders_aws::provision::{create_queues, create_table};
use std::collections::HashMap;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};
use uuid::Uuid;

/// A moto server of the run's own on a free loopback port.
pub struct Moto {
    _child: Child,
    pub url: String,
}

impl Moto {
    pub async fn start(moto_server: &Path) -> Result<Moto, BenchError> {
        let port = free_port()?;
        let child = Command::new(moto_server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| BenchError::step(format!("starting {}", moto_server.display()), e))?;
        wait_for_port(port, Duration::from_secs(60), "moto_server").await?;
        Ok(Moto {
            _child: child,
            url: format!("http://127.0.0.1:{port}"),
        })
    }

    /// An SDK configuration for this server (dummy credentials, fixed region).
    pub async fn sdk_config(&self) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(&self.url)
            .region(Region::new(REGION))
            .credentials_provider(aws_sdk_sqs::config::Credentials::new(
                "testing", "testing", None, None, "bench",
            ))
            .load()
            .await
    }
}

pub const REGION: &str = "us-east-1";
/// `MemorySize` of every function in `template.yaml`.
pub const MEMORY_MB: u32 = 128;

pub fn free_port() -> Result<u16, BenchError> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| BenchError::step("finding a free loopback port", e))
}

pub async fn wait_for_port(port: u16, patience: Duration, what: &str) -> Result<(), BenchError> {
    let started = Instant::now();
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        if started.elapsed() > patience {
            return Err(BenchError::step(
                format!("waiting for {what}"),
                format!("nothing answered on 127.0.0.1:{port} within {patience:?}"),
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

/// The resources of one set of runs: each function under test gets its own, so one run's
/// data (thousands of orders) does not slow the next one's queries on moto.
#[derive(Debug, Clone)]
pub struct Resources {
    pub table: String,
    pub queue_url: String,
    pub dlq_url: String,
    pub secret_arn: String,
}

pub async fn provision(aws: &SdkConfig, prefix: &str) -> Result<Resources, BenchError> {
    let table = format!("{prefix}-orders");
    create_table(&aws_sdk_dynamodb::Client::new(aws), &table)
        .await
        .map_err(|e| BenchError::step("creating the table on moto", e))?;
    let queues = create_queues(
        &aws_sdk_sqs::Client::new(aws),
        &format!("{prefix}-orders"),
        &format!("{prefix}-orders-dlq"),
    )
    .await
    .map_err(|e| BenchError::step("creating the queues on moto", e))?;
    let secret = aws_sdk_secretsmanager::Client::new(aws)
        .create_secret()
        .name(format!("{prefix}-page-token-key"))
        .secret_string(Uuid::new_v4().simple().to_string().repeat(2))
        .send()
        .await
        .map_err(sdk_step("creating the page token secret on moto"))?;
    Ok(Resources {
        table,
        queue_url: queues.queue_url,
        dlq_url: queues.dlq_url,
        secret_arn: secret.arn().unwrap_or_default().to_owned(),
    })
}

/// The environment Lambda and `template.yaml` give a function, pointed at moto. Chaos is
/// disarmed, as deployed by default.
pub fn function_env(moto: &Moto, r: &Resources, function: &str) -> Vec<(String, String)> {
    let pairs = [
        ("AWS_LAMBDA_FUNCTION_NAME", function.to_owned()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", MEMORY_MB.to_string()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
        (
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/{function}"),
        ),
        (
            "AWS_LAMBDA_LOG_STREAM_NAME",
            format!("bench/[$LATEST]{}", Uuid::new_v4().simple()),
        ),
        ("AWS_REGION", REGION.into()),
        ("AWS_DEFAULT_REGION", REGION.into()),
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ("AWS_SESSION_TOKEN", "testing".into()),
        (env::AWS_ENDPOINT_URL, moto.url.clone()),
        (env::SERVICE_NAME, telemetry::catalogue::SERVICE_NAME.into()),
        (env::ENVIRONMENT, "dev".into()),
        (env::ORDERS_TABLE, r.table.clone()),
        (env::ORDERS_QUEUE_URL, r.queue_url.clone()),
        (env::ORDERS_DLQ_URL, r.dlq_url.clone()),
        (env::PAGE_TOKEN_SECRET_ARN, r.secret_arn.clone()),
        ("CHAOS_ARMED", "false".into()),
    ];
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// A valid order body, as the README's example and `workshop load` send.
pub fn new_order(i: usize) -> NewOrder {
    NewOrder {
        customer_name: format!("Bench Customer {i}"),
        items: vec![
            LineItem {
                sku: "BOOK-42".into(),
                qty: 3,
                price: rust_decimal_cents(10),
            },
            LineItem {
                sku: "PEN-7".into(),
                qty: 1,
                price: rust_decimal_cents(20),
            },
        ],
    }
}

/// A new `PENDING` order, placed now (the publisher's input: it reads nothing else).
pub fn new_placed_order(i: usize) -> Order {
    Order::place(Uuid::new_v4(), new_order(i), Utc::now())
}

fn rust_decimal_cents(cents: i64) -> rust_decimal::Decimal {
    rust_decimal::Decimal::new(cents, 2)
}

/// Writes `n` PENDING orders as the DynamoDB adapter stores them, 25 to a `BatchWriteItem`
/// (moto copies a whole table on every transaction, so the adapter's `create` would make
/// seeding thousands quadratic); returns their messages.
pub async fn seed_orders(
    aws: &SdkConfig,
    r: &Resources,
    n: usize,
) -> Result<Vec<OrderCreated>, BenchError> {
    let client = aws_sdk_dynamodb::Client::new(aws);
    let orders: Vec<Order> = (0..n)
        .map(|i| Order::place(Uuid::new_v4(), new_order(i), Utc::now()))
        .collect();
    for chunk in orders.chunks(25) {
        let mut writes = Vec::with_capacity(chunk.len());
        for order in chunk {
            let put = PutRequest::builder()
                .set_item(Some(orders_aws::order_item(order)))
                .build()
                .map_err(|e| BenchError::step("seeding orders", e))?;
            writes.push(WriteRequest::builder().put_request(put).build());
        }
        let mut pending = HashMap::from([(r.table.clone(), writes)]);
        while !pending.is_empty() {
            let out = client
                .batch_write_item()
                .set_request_items(Some(pending))
                .send()
                .await
                .map_err(sdk_step("seeding orders on moto"))?;
            pending = out.unprocessed_items.unwrap_or_default();
            pending.retain(|_, w| !w.is_empty());
        }
    }
    Ok(orders
        .iter()
        .map(|order| OrderCreated {
            order_id: order.id,
            created_at: order.created_at,
            correlation_id: None,
        })
        .collect())
}

/// Keeps the table and queue of a create-order run small while it runs: every half second,
/// deletes what is there. moto copies the whole table on every `TransactWriteItems` and slows
/// with a queue's depth, so 10,000 creates would slow each call down (and grow moto's memory)
/// with their number, measuring moto instead of the function. Dropped, it stops.
pub struct Janitor(tokio::task::JoinHandle<()>);

impl Janitor {
    pub fn start(aws: &SdkConfig, r: &Resources) -> Janitor {
        let client = aws_sdk_dynamodb::Client::new(aws);
        let sqs = aws_sdk_sqs::Client::new(aws);
        let (table, queue) = (r.table.clone(), r.queue_url.clone());
        Janitor(tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(500)).await;
                // Best effort: a failed clear-out is retried on the next tick.
                let _ = clear(&client, &table).await;
                let _ = sqs.purge_queue().queue_url(&queue).send().await;
            }
        }))
    }
}

impl Drop for Janitor {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn clear(client: &aws_sdk_dynamodb::Client, table: &str) -> Result<(), BenchError> {
    let fail = |e| BenchError::step("janitor", e);
    let page = client
        .scan()
        .table_name(table)
        .projection_expression("#pk")
        .expression_attribute_names("#pk", orders::settings::table::PARTITION_KEY)
        .send()
        .await
        .map_err(|e| fail(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string()))?;
    for chunk in page.items().chunks(25) {
        let deletes = chunk
            .iter()
            .filter_map(|key| {
                let delete = DeleteRequest::builder()
                    .set_key(Some(key.clone()))
                    .build()
                    .ok()?;
                Some(WriteRequest::builder().delete_request(delete).build())
            })
            .collect();
        client
            .batch_write_item()
            .request_items(table, deletes)
            .send()
            .await
            .map_err(|e| fail(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string()))?;
    }
    Ok(())
}

/// An SDK call's error as a failed step, with its whole cause chain (the SDK's own `Display`
/// is only the outermost line).
fn sdk_step<E: std::error::Error>(step: &'static str) -> impl FnOnce(E) -> BenchError {
    move |e| BenchError::step(step, aws_sdk_dynamodb::error::DisplayErrorContext(e))
}
