//! Creates the table and the queues the adapters expect, on an emulator (moto server,
//! LocalStack) or a test account. On AWS, `template.yaml` owns these resources; this code
//! builds the same shapes from the same settings, so the two cannot disagree on a name.

use aws_sdk_dynamodb::client::Waiters as _;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::operation::create_table::CreateTableError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
    TimeToLiveSpecification, TimeToLiveStatus,
};
use aws_sdk_sqs::types::QueueAttributeName;
use orders::capacity as table_design;
use orders::settings::QUEUE;
use orders::settings::table::{self, migration};
use std::collections::HashMap;
use std::time::Duration;

/// How long `create_table` waits for a new table to become `ACTIVE` (instant on emulators,
/// seconds on AWS).
const TABLE_ACTIVE_WAIT: Duration = Duration::from_secs(300);

#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error("{operation} failed: {message}")]
    Failed {
        operation: &'static str,
        message: String,
    },
    #[error("{operation} answered without {what}")]
    Incomplete {
        operation: &'static str,
        what: &'static str,
    },
}

fn failed<E: std::error::Error>(operation: &'static str, err: E) -> ProvisionError {
    ProvisionError::Failed {
        operation,
        message: DisplayErrorContext(err).to_string(),
    }
}

/// Whether a resource was made now or was there already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provisioned {
    Created,
    AlreadyExisted,
}

/// The SDK's projection for one of the design's.
fn projection(p: table_design::Projection) -> Projection {
    match p {
        table_design::Projection::All => Projection::builder()
            .projection_type(ProjectionType::All)
            .build(),
        table_design::Projection::KeysOnly => Projection::builder()
            .projection_type(ProjectionType::KeysOnly)
            .build(),
        table_design::Projection::Include(attributes) => Projection::builder()
            .projection_type(ProjectionType::Include)
            .set_non_key_attributes(Some(attributes.iter().map(|a| (*a).to_owned()).collect()))
            .build(),
    }
}

fn key(name: &str, key_type: KeyType) -> Result<KeySchemaElement, ProvisionError> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(key_type)
        .build()
        .map_err(|e| failed("CreateTable", e))
}

fn string_attribute(name: &str) -> Result<AttributeDefinition, ProvisionError> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(|e| failed("CreateTable", e))
}

/// Creates the orders table (on-demand, `pk` only, the indexes and the stream of
/// `settings::table`), waits until it is active, and turns on TTL for idempotency records.
/// The stream is the outbox the publisher reads.
/// An existing table of that name is left as it is (TTL is still ensured).
pub async fn create_table(
    client: &aws_sdk_dynamodb::Client,
    table_name: &str,
) -> Result<Provisioned, ProvisionError> {
    create_table_with(client, table_name, &table::INDEXES).await
}

/// [`create_table`] with the indexes a stack has at `stage` of `table::migration` (what a
/// migration test starts from).
pub async fn create_table_at(
    client: &aws_sdk_dynamodb::Client,
    table_name: &str,
    stage: &migration::Stage,
) -> Result<Provisioned, ProvisionError> {
    let indexes = stage
        .indexes
        .iter()
        .map(|name| {
            table::INDEXES
                .iter()
                .chain(migration::LEGACY_INDEXES.iter())
                .find(|i| i.name == *name)
                .copied()
                .ok_or_else(|| ProvisionError::Failed {
                    operation: "CreateTable",
                    message: format!("stage {} names no known index {name}", stage.name),
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    create_table_with(client, table_name, &indexes).await
}

async fn create_table_with(
    client: &aws_sdk_dynamodb::Client,
    table_name: &str,
    design: &[table_design::Index],
) -> Result<Provisioned, ProvisionError> {
    // Key attributes once each: the indexes share the sort key.
    let mut names = std::collections::BTreeSet::from([table::PARTITION_KEY, table::SORT_ATTRIBUTE]);
    names.extend(design.iter().map(|i| i.hash));
    let attributes = names
        .into_iter()
        .map(string_attribute)
        .collect::<Result<Vec<_>, _>>()?;
    let mut indexes = Vec::new();
    for index in design {
        indexes.push(
            GlobalSecondaryIndex::builder()
                .index_name(index.name)
                .key_schema(key(index.hash, KeyType::Hash)?)
                .key_schema(key(index.range, KeyType::Range)?)
                .projection(projection(index.projection))
                .build()
                .map_err(|e| failed("CreateTable", e))?,
        );
    }
    let created = client
        .create_table()
        .table_name(table_name)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key(table::PARTITION_KEY, KeyType::Hash)?)
        .set_attribute_definitions(Some(attributes))
        .set_global_secondary_indexes(Some(indexes))
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::from(table::STREAM_VIEW))
                .build()
                .map_err(|e| failed("CreateTable", e))?,
        )
        .send()
        .await;
    let outcome = match created {
        Ok(_) => Provisioned::Created,
        Err(e)
            if matches!(
                e.as_service_error(),
                Some(CreateTableError::ResourceInUseException(_))
            ) =>
        {
            Provisioned::AlreadyExisted
        }
        Err(e) => return Err(failed("CreateTable", e)),
    };
    client
        .wait_until_table_exists()
        .table_name(table_name)
        .wait(TABLE_ACTIVE_WAIT)
        .await
        .map_err(|e| failed("DescribeTable", e))?;
    ensure_ttl(client, table_name).await?;
    Ok(outcome)
}

async fn ensure_ttl(
    client: &aws_sdk_dynamodb::Client,
    table_name: &str,
) -> Result<(), ProvisionError> {
    let current = client
        .describe_time_to_live()
        .table_name(table_name)
        .send()
        .await
        .map_err(|e| failed("DescribeTimeToLive", e))?;
    let on = current.time_to_live_description.is_some_and(|d| {
        d.attribute_name() == Some(table::TTL_ATTRIBUTE)
            && matches!(
                d.time_to_live_status(),
                Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
            )
    });
    if on {
        // Enabling it again is a ValidationException.
        return Ok(());
    }
    client
        .update_time_to_live()
        .table_name(table_name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(table::TTL_ATTRIBUTE)
                .enabled(true)
                .build()
                .map_err(|e| failed("UpdateTimeToLive", e))?,
        )
        .send()
        .await
        .map_err(|e| failed("UpdateTimeToLive", e))?;
    Ok(())
}

/// The orders queue and its dead-letter queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queues {
    pub queue_url: String,
    pub queue_arn: String,
    pub dlq_url: String,
    pub dlq_arn: String,
}

/// Creates (or finds, `CreateQueue` being idempotent for equal attributes) the DLQ and the
/// queue, with the visibility timeout, retention and redrive policy of `settings::QUEUE`.
pub async fn create_queues(
    client: &aws_sdk_sqs::Client,
    queue_name: &str,
    dlq_name: &str,
) -> Result<Queues, ProvisionError> {
    let secs = |d: Duration| d.as_secs().to_string();
    let dlq_url = create_queue(
        client,
        dlq_name,
        HashMap::from([(
            QueueAttributeName::MessageRetentionPeriod,
            secs(QUEUE.dlq_retention),
        )]),
    )
    .await?;
    let dlq_arn = queue_arn(client, &dlq_url).await?;
    let redrive_policy = serde_json::json!({
        "deadLetterTargetArn": dlq_arn,
        "maxReceiveCount": QUEUE.max_receive_count,
    });
    let queue_url = create_queue(
        client,
        queue_name,
        HashMap::from([
            (
                QueueAttributeName::VisibilityTimeout,
                secs(QUEUE.visibility_timeout),
            ),
            (
                QueueAttributeName::MessageRetentionPeriod,
                secs(QUEUE.retention),
            ),
            (
                QueueAttributeName::RedrivePolicy,
                redrive_policy.to_string(),
            ),
        ]),
    )
    .await?;
    let queue_arn = queue_arn(client, &queue_url).await?;
    Ok(Queues {
        queue_url,
        queue_arn,
        dlq_url,
        dlq_arn,
    })
}

async fn create_queue(
    client: &aws_sdk_sqs::Client,
    name: &str,
    attributes: HashMap<QueueAttributeName, String>,
) -> Result<String, ProvisionError> {
    const OP: &str = "CreateQueue";
    let out = client
        .create_queue()
        .queue_name(name)
        .set_attributes(Some(attributes))
        .send()
        .await
        .map_err(|e| failed(OP, e))?;
    out.queue_url.ok_or(ProvisionError::Incomplete {
        operation: OP,
        what: "a queue URL",
    })
}

/// The ARN of the queue at `queue_url`.
pub async fn queue_arn(
    client: &aws_sdk_sqs::Client,
    queue_url: &str,
) -> Result<String, ProvisionError> {
    const OP: &str = "GetQueueAttributes";
    let out = client
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| failed(OP, e))?;
    out.attributes
        .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
        .ok_or(ProvisionError::Incomplete {
            operation: OP,
            what: "QueueArn",
        })
}
