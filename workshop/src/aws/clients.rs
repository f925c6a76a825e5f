//! The AWS SDK clients of the CLI (feature `aws`): everything `--backend aws` and `--aws` do,
//! through aws-config (a developer's profile, or `AWS_ENDPOINT_URL` for an emulator).

use super::Error;
use crate::dlq::{Redriven, Row};
use crate::report::{AWS_NAMESPACES, AlarmRow};
use crate::stack::backend::{
    BackendError, EMULATOR_DLQ, EMULATOR_QUEUE, EMULATOR_TABLE, Wiring, env_value,
};
use crate::stack::cloudwatch::metric_store::MetricSummary;
use chaos::Live;
use chaos::aws::ChaosParameter;
use orders::settings::env;
use orders_aws::{
    DynamoDbOrderStore, RedriveMethod, RedriveOutcome, SqsConsumer, SqsDeadLetters, SqsOrderQueue,
};
use std::sync::Arc;

async fn config() -> aws_config::SdkConfig {
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}

/// `up --backend aws`: DynamoDB and SQS at `AWS_ENDPOINT_URL` (provisioned there when the
/// table and queue are not named) or a deployed stack's.
pub async fn wiring() -> Result<Wiring, BackendError> {
    let aws = config().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&aws);
    let sqs = aws_sdk_sqs::Client::new(&aws);
    let endpoint = env_value(env::AWS_ENDPOINT_URL);
    let provision = |e: orders_aws::ProvisionError| BackendError::Provision(e.to_string());
    let (table, queue_url) = match (
        env_value(env::ORDERS_TABLE),
        env_value(env::ORDERS_QUEUE_URL),
    ) {
        (Some(t), Some(q)) => (t, q),
        // Only an emulator is provisioned: real resources come from the template.
        _ if endpoint.is_some() => {
            orders_aws::provision::create_table(&dynamodb, EMULATOR_TABLE)
                .await
                .map_err(provision)?;
            let queues = orders_aws::provision::create_queues(&sqs, EMULATOR_QUEUE, EMULATOR_DLQ)
                .await
                .map_err(provision)?;
            (EMULATOR_TABLE.to_owned(), queues.queue_url)
        }
        _ => return Err(BackendError::NoTarget),
    };
    let describe = format!(
        "DynamoDB table {table} and SQS {queue_url} at {}",
        endpoint.as_deref().unwrap_or("AWS")
    );
    // On an emulator (named tables included) the stack publishes from the table's stream
    // itself; on AWS the deployed stack's publisher Lambda does it.
    let outbox: Option<Arc<dyn orders::ports::Outbox>> = if endpoint.is_some() {
        let streams = orders_aws::stream::StreamsClient::new(&aws);
        let opened = orders_aws::StreamOutbox::open(&dynamodb, streams, &table).await;
        Some(Arc::new(opened.map_err(|e| {
            BackendError::Provision(format!("the table's stream: {e}"))
        })?))
    } else {
        None
    };
    Ok(Wiring {
        outbox,
        store: Arc::new(DynamoDbOrderStore::new(dynamodb, table)),
        queue: Arc::new(SqsOrderQueue::new(sqs.clone(), queue_url.clone())),
        consumer: Arc::new(SqsConsumer::new(sqs, queue_url)),
        local_queue: None,
        describe,
    })
}

// --- CloudWatch: `metrics --aws`, `alarms --aws`, and steady state of `chaos --aws` ---------

/// The same rows from CloudWatch (ListMetrics, then GetMetricData with the four statistics
/// over the whole window as one period), so both tracks of the workshop see the same view.
pub async fn cloudwatch_metrics(minutes: i64) -> Result<Vec<MetricSummary>, Error> {
    let client = &aws_sdk_cloudwatch::Client::new(&config().await);
    use aws_sdk_cloudwatch::error::DisplayErrorContext;
    use aws_sdk_cloudwatch::types::{Metric, MetricDataQuery, MetricStat};
    let mut metrics: Vec<Metric> = Vec::new();
    for namespace in AWS_NAMESPACES {
        let mut pages = client
            .list_metrics()
            .namespace(namespace)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|e| format!("ListMetrics failed: {}", DisplayErrorContext(&e)))?;
            metrics.extend(page.metrics().iter().cloned());
        }
    }
    let end =
        aws_sdk_cloudwatch::primitives::DateTime::from_secs(chrono::Utc::now().timestamp() + 60);
    let start = aws_sdk_cloudwatch::primitives::DateTime::from_secs(
        chrono::Utc::now().timestamp() - minutes.max(1) * 60,
    );
    // One period covering the whole window (a multiple of 60 s, as CloudWatch requires).
    let period = i32::try_from(minutes.max(1) * 60 + 120).unwrap_or(i32::MAX);
    const STATS: [&str; 5] = ["SampleCount", "Sum", "Average", "Maximum", "Minimum"];
    let mut rows = Vec::new();
    // GetMetricData takes at most 500 queries: 5 per metric, so 100 metrics a call.
    for chunk in metrics.chunks(100) {
        let queries: Vec<MetricDataQuery> = chunk
            .iter()
            .enumerate()
            .flat_map(|(i, m)| {
                STATS.iter().enumerate().map(move |(s, stat)| {
                    MetricDataQuery::builder()
                        .id(format!("m{i}s{s}"))
                        .metric_stat(
                            MetricStat::builder()
                                .metric(m.clone())
                                .period(period)
                                .stat(*stat)
                                .build(),
                        )
                        .return_data(true)
                        .build()
                })
            })
            .collect();
        let out = client
            .get_metric_data()
            .set_metric_data_queries(Some(queries))
            .start_time(start)
            .end_time(end)
            .send()
            .await
            .map_err(|e| format!("GetMetricData failed: {}", DisplayErrorContext(&e)))?;
        let value = |id: String| -> f64 {
            out.metric_data_results()
                .iter()
                .find(|r| r.id() == Some(id.as_str()))
                .map(|r| r.values().iter().sum())
                .unwrap_or_default()
        };
        for (i, m) in chunk.iter().enumerate() {
            let samples = value(format!("m{i}s0"));
            if samples <= 0.0 {
                continue;
            }
            rows.push(MetricSummary {
                namespace: m.namespace().unwrap_or_default().to_owned(),
                name: m.metric_name().unwrap_or_default().to_owned(),
                dimensions: m
                    .dimensions()
                    .iter()
                    .map(|d| {
                        (
                            d.name().unwrap_or_default().to_owned(),
                            d.value().unwrap_or_default().to_owned(),
                        )
                    })
                    .collect(),
                samples: samples as usize,
                sum: value(format!("m{i}s1")),
                average: value(format!("m{i}s2")),
                minimum: value(format!("m{i}s4")),
                maximum: value(format!("m{i}s3")),
            });
        }
    }
    rows.sort_by(|a, b| {
        (&a.namespace, &a.name, &a.dimensions).cmp(&(&b.namespace, &b.name, &b.dimensions))
    });
    Ok(rows)
}

/// DescribeAlarms (metric and composite alarms), paginated.
pub async fn cloudwatch_alarms() -> Result<Vec<AlarmRow>, Error> {
    let client = &aws_sdk_cloudwatch::Client::new(&config().await);
    use aws_sdk_cloudwatch::error::DisplayErrorContext;
    use aws_sdk_cloudwatch::types::AlarmType;
    let mut rows = Vec::new();
    let mut pages = client
        .describe_alarms()
        .alarm_types(AlarmType::MetricAlarm)
        .alarm_types(AlarmType::CompositeAlarm)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page =
            page.map_err(|e| format!("DescribeAlarms failed: {}", DisplayErrorContext(&e)))?;
        let time = |t: Option<&aws_sdk_cloudwatch::primitives::DateTime>| {
            t.and_then(|t| {
                t.fmt(aws_sdk_cloudwatch::primitives::DateTimeFormat::DateTime)
                    .ok()
            })
        };
        // Metric and composite alarms are different SDK types with the same accessors.
        macro_rules! row {
            ($a:expr) => {
                AlarmRow {
                    name: $a.alarm_name().unwrap_or_default().to_owned(),
                    state: $a
                        .state_value()
                        .map(|s| s.as_str().to_owned())
                        .unwrap_or_default(),
                    reason: $a.state_reason().unwrap_or_default().to_owned(),
                    updated: time($a.state_updated_timestamp()),
                }
            };
        }
        rows.extend(page.metric_alarms().iter().map(|a| row!(a)));
        rows.extend(page.composite_alarms().iter().map(|a| row!(a)));
    }
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(rows)
}

// --- SQS: `dlq list|redrive --backend aws` -----------------------------------------------

async fn sqs_dead_letters() -> Result<SqsDeadLetters, Error> {
    let sqs = aws_sdk_sqs::Client::new(&config().await);
    let emulator = env_value(env::AWS_ENDPOINT_URL).is_some();
    let url_of = |name: &'static str| {
        let sqs = sqs.clone();
        async move {
            sqs.get_queue_url()
                .queue_name(name)
                .send()
                .await
                .map(|o| o.queue_url.unwrap_or_default())
        }
    };
    let (dlq_url, queue_url) = match (
        env_value(env::ORDERS_DLQ_URL),
        env_value(env::ORDERS_QUEUE_URL),
    ) {
        (Some(d), Some(q)) => (d, q),
        _ if emulator => (url_of(EMULATOR_DLQ).await?, url_of(EMULATOR_QUEUE).await?),
        _ => {
            return Err(format!(
                "--backend aws needs {} and {} (the stack outputs OrdersDlqUrl and OrdersQueueUrl), or {}",
                env::ORDERS_DLQ_URL,
                env::ORDERS_QUEUE_URL,
                env::AWS_ENDPOINT_URL
            )
            .into());
        }
    };
    let dlq_arn = orders_aws::provision::queue_arn(&sqs, &dlq_url).await?;
    let queue_arn = orders_aws::provision::queue_arn(&sqs, &queue_url).await?;
    // moto has no StartMessageMoveTask and answers it with a bare 500, so on an emulator the
    // messages are copied back instead; on AWS the move task does it.
    let method = if emulator {
        RedriveMethod::Copy
    } else {
        RedriveMethod::Auto
    };
    Ok(SqsDeadLetters::new(sqs, dlq_url, dlq_arn, queue_arn).with_redrive_method(method))
}

pub(crate) async fn dlq_rows(limit: usize) -> Result<Vec<Row>, Error> {
    Ok(sqs_dead_letters()
        .await?
        .list(limit)
        .await?
        .into_iter()
        .map(Row::from)
        .collect())
}

pub async fn dlq_redrive() -> Result<Redriven, Error> {
    Ok(match sqs_dead_letters().await?.redrive().await? {
        RedriveOutcome::Moved { count } => Redriven {
            moved: Some(count),
            task_handle: None,
        },
        RedriveOutcome::Started { task_handle } => Redriven {
            moved: None,
            task_handle: Some(task_handle),
        },
    })
}

// --- DynamoDB: `migrate-table`, the backfill between stages 2 and 3 ------------------------

/// Backfills a deployed stack's table (`orders_aws::migrate`); what it did, in words.
pub async fn migrate_table() -> Result<String, Error> {
    let (Some(table), Some(queue_url)) = (
        env_value(env::ORDERS_TABLE),
        env_value(env::ORDERS_QUEUE_URL),
    ) else {
        return Err(format!(
            "migrate-table needs {} and {}: the stack outputs OrdersTableName and OrdersQueueUrl",
            env::ORDERS_TABLE,
            env::ORDERS_QUEUE_URL
        )
        .into());
    };
    let aws = config().await;
    let queue = Arc::new(SqsOrderQueue::new(
        aws_sdk_sqs::Client::new(&aws),
        queue_url,
    ));
    let dynamodb = aws_sdk_dynamodb::Client::new(&aws);
    let r = orders_aws::migrate::backfill(&dynamodb, &table, queue).await?;
    let mut out = format!(
        "{table}: {} orders needed the backfill; {} given their shard keys, {} unpublished \
         orders sent to the queue, {} markers of processed orders removed",
        r.found, r.keyed, r.published, r.unmarked
    );
    if r.left == 0 {
        out.push_str(&format!(
            "\nnothing left: the next deploy may read the sharded indexes \
             (TableMigrationStage={})",
            orders::settings::table::migration::after_backfill().name
        ));
    } else {
        out.push_str(&format!(
            "\n{} orders still need it (a send failed): run migrate-table again",
            r.left
        ));
    }
    Ok(out)
}

// --- SSM: `chaos --aws`, the live override the deployed functions read ---------------------

async fn parameter(name: &str) -> ChaosParameter {
    ChaosParameter::new(aws_sdk_ssm::Client::new(&config().await), name)
}

pub async fn chaos_read(name: &str) -> Result<Live, Error> {
    Ok(parameter(name).await.read().await?)
}

pub async fn chaos_write(name: &str, live: &Live) -> Result<(), Error> {
    Ok(parameter(name).await.write(live).await?)
}
