//! The table's change stream (DynamoDB Streams), read back as what each write did to an item:
//! its image before and after, in the capacity model's terms (`orders::capacity`). With the
//! model's index rules, that says which table and index keys every write landed on, so the
//! write units of a real run can be counted rather than estimated.

use crate::store::sdk_error;
use aws_sdk_dynamodbstreams::types::{AttributeValue as StreamValue, Record, ShardIteratorType};
use orders::capacity::{Item as ModelItem, Value};
use orders::ports::DependencyError;
use std::collections::HashMap;

/// The DynamoDB Streams client `changes` reads with (built from the same `SdkConfig`).
pub use aws_sdk_dynamodbstreams::Client as StreamsClient;

/// One write, as the stream recorded it (`NEW_AND_OLD_IMAGES`): no image before an insert,
/// none after a delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub before: Option<ModelItem>,
    pub after: Option<ModelItem>,
}

/// The most records one `GetRecords` returns (the API's own maximum).
pub(crate) const RECORDS_PER_CALL: i32 = 1000;

/// Every change the table's stream holds, oldest first per shard, read from the start
/// (`TRIM_HORIZON`) up to the first empty read. `Failed` if the table has no stream.
///
/// A reader for tests and measurements on an emulator, where every record is readable as soon
/// as its write returns. DynamoDB Streams on AWS may answer an open shard with empty reads
/// before later records; a consumer there polls on instead (a Lambda event source does).
pub async fn changes(
    dynamodb: &aws_sdk_dynamodb::Client,
    streams: &aws_sdk_dynamodbstreams::Client,
    table: &str,
) -> Result<Vec<Change>, DependencyError> {
    let arn = stream_arn(dynamodb, table).await?;
    let shards = shard_ids(streams, &arn).await?;
    let mut changes = Vec::new();
    for shard in shards {
        let iterator = streams
            .get_shard_iterator()
            .stream_arn(&arn)
            .shard_id(&shard)
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await
            .map_err(|e| sdk_error("GetShardIterator", e))?
            .shard_iterator;
        for record in read_on(streams, iterator).await? {
            let Some(data) = record.dynamodb else {
                continue;
            };
            changes.push(Change {
                before: data.old_image.map(item),
                after: data.new_image.map(item),
            });
        }
    }
    Ok(changes)
}

fn item(image: HashMap<String, StreamValue>) -> ModelItem {
    image.into_iter().map(|(k, v)| (k, value(v))).collect()
}

/// A stream value as the model sizes it. Sets are sized like lists of their members (the
/// kit writes none).
fn value(v: StreamValue) -> Value {
    match v {
        StreamValue::S(s) => Value::S(s),
        StreamValue::N(n) => Value::N(n),
        StreamValue::B(b) => Value::B(b.as_ref().len()),
        StreamValue::Bool(b) => Value::Bool(b),
        StreamValue::Null(_) => Value::Null,
        StreamValue::L(l) => Value::L(l.into_iter().map(value).collect()),
        StreamValue::M(m) => Value::M(item(m)),
        StreamValue::Ss(ss) => Value::L(ss.into_iter().map(Value::S).collect()),
        StreamValue::Ns(ns) => Value::L(ns.into_iter().map(Value::N).collect()),
        StreamValue::Bs(bs) => Value::L(bs.iter().map(|b| Value::B(b.as_ref().len())).collect()),
        // A type this SDK does not know yet: sized as nothing rather than guessed.
        _ => Value::Null,
    }
}

/// The ARN of `table`'s latest stream (`Failed` if it has none).
pub(crate) async fn stream_arn(
    dynamodb: &aws_sdk_dynamodb::Client,
    table: &str,
) -> Result<String, DependencyError> {
    let described = dynamodb
        .describe_table()
        .table_name(table)
        .send()
        .await
        .map_err(|e| sdk_error("DescribeTable", e))?;
    let arn = described
        .table
        .and_then(|t| t.latest_stream_arn)
        .ok_or_else(|| {
            DependencyError::failed("DescribeTable", format!("table {table} has no stream"))
        })?;
    Ok(arn)
}

/// Every shard of the stream `arn`, following `DescribeStream`'s pages.
pub(crate) async fn shard_ids(
    streams: &aws_sdk_dynamodbstreams::Client,
    arn: &str,
) -> Result<Vec<String>, DependencyError> {
    let mut shards = Vec::new();
    let mut start: Option<String> = None;
    loop {
        let out = streams
            .describe_stream()
            .stream_arn(arn)
            .set_exclusive_start_shard_id(start.take())
            .send()
            .await
            .map_err(|e| sdk_error("DescribeStream", e))?;
        let description = out.stream_description;
        let last = description
            .as_ref()
            .and_then(|d| d.last_evaluated_shard_id.clone());
        shards.extend(
            description
                .and_then(|d| d.shards)
                .unwrap_or_default()
                .into_iter()
                .filter_map(|s| s.shard_id),
        );
        match last {
            Some(id) => start = Some(id),
            None => break,
        }
    }
    Ok(shards)
}

/// Every record from `iterator` on, page by page. An open shard always hands back a next
/// iterator: the read stops at the first empty page, which is "caught up with what is there
/// now".
pub(crate) async fn read_on(
    streams: &aws_sdk_dynamodbstreams::Client,
    mut iterator: Option<String>,
) -> Result<Vec<Record>, DependencyError> {
    let mut all = Vec::new();
    while let Some(it) = iterator.take() {
        let out = streams
            .get_records()
            .shard_iterator(it)
            .limit(RECORDS_PER_CALL)
            .send()
            .await
            .map_err(|e| sdk_error("GetRecords", e))?;
        let records = out.records.unwrap_or_default();
        if records.is_empty() {
            break;
        }
        all.extend(records);
        iterator = out.next_shard_iterator;
    }
    Ok(all)
}
