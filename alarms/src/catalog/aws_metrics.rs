//! The AWS service metrics the dashboards and alarms read: namespace, name, unit and dimension
//! keys, exactly as CloudWatch publishes them. The local stack records its imitation of these
//! metrics from the same definitions (re-exported as `dashboards::aws_metrics`), so a widget
//! and the metric it plots cannot disagree on a name or a dimension.

use telemetry::catalogue::Unit;

/// One AWS service metric. Dimension keys are listed in the order rows write them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AwsMetric {
    pub namespace: &'static str,
    pub name: &'static str,
    pub unit: Unit,
    pub dimensions: &'static [&'static str],
    pub description: &'static str,
}

const fn metric(
    namespace: &'static str,
    name: &'static str,
    unit: Unit,
    dimensions: &'static [&'static str],
    description: &'static str,
) -> AwsMetric {
    AwsMetric {
        namespace,
        name,
        unit,
        dimensions,
        description,
    }
}

/// `AWS/Lambda`, per function.
pub mod lambda {
    use super::{AwsMetric, Unit, metric};

    pub const NAMESPACE: &str = "AWS/Lambda";
    pub const FUNCTION_NAME: &str = "FunctionName";
    const DIMS: &[&str] = &[FUNCTION_NAME];

    pub const INVOCATIONS: AwsMetric = metric(
        NAMESPACE,
        "Invocations",
        Unit::Count,
        DIMS,
        "Invocations, successful or not (throttled ones excluded).",
    );
    pub const ERRORS: AwsMetric = metric(
        NAMESPACE,
        "Errors",
        Unit::Count,
        DIMS,
        "Invocations that ended in a function error (panic, Err, timeout).",
    );
    pub const THROTTLES: AwsMetric = metric(
        NAMESPACE,
        "Throttles",
        Unit::Count,
        DIMS,
        "Invocation requests refused for lack of concurrency.",
    );
    pub const DURATION: AwsMetric = metric(
        NAMESPACE,
        "Duration",
        Unit::Milliseconds,
        DIMS,
        "Handler run time per invocation.",
    );
    pub const CONCURRENT_EXECUTIONS: AwsMetric = metric(
        NAMESPACE,
        "ConcurrentExecutions",
        Unit::Count,
        DIMS,
        "Instances processing events at the same time.",
    );
    pub const ITERATOR_AGE: AwsMetric = metric(
        NAMESPACE,
        "IteratorAge",
        Unit::Milliseconds,
        DIMS,
        "Age of the last record of each batch a stream-triggered function received: how far the publisher is behind the table's stream.",
    );
}

/// `AWS/SQS`, per queue.
pub mod sqs {
    use super::{AwsMetric, Unit, metric};

    pub const NAMESPACE: &str = "AWS/SQS";
    pub const QUEUE_NAME: &str = "QueueName";
    const DIMS: &[&str] = &[QUEUE_NAME];

    pub const VISIBLE: AwsMetric = metric(
        NAMESPACE,
        "ApproximateNumberOfMessagesVisible",
        Unit::Count,
        DIMS,
        "Messages waiting to be received (the backlog).",
    );
    pub const NOT_VISIBLE: AwsMetric = metric(
        NAMESPACE,
        "ApproximateNumberOfMessagesNotVisible",
        Unit::Count,
        DIMS,
        "Messages received but not yet deleted (in flight).",
    );
    pub const AGE_OF_OLDEST: AwsMetric = metric(
        NAMESPACE,
        "ApproximateAgeOfOldestMessage",
        Unit::Seconds,
        DIMS,
        "Age of the oldest message in the queue.",
    );
    pub const SENT: AwsMetric = metric(
        NAMESPACE,
        "NumberOfMessagesSent",
        Unit::Count,
        DIMS,
        "Messages added to the queue (for a DLQ: moved there by the redrive policy).",
    );
    pub const RECEIVED: AwsMetric = metric(
        NAMESPACE,
        "NumberOfMessagesReceived",
        Unit::Count,
        DIMS,
        "Messages returned by ReceiveMessage (retries count again).",
    );
    pub const DELETED: AwsMetric = metric(
        NAMESPACE,
        "NumberOfMessagesDeleted",
        Unit::Count,
        DIMS,
        "Messages deleted after successful processing.",
    );
}

/// `AWS/ApiGateway` for an HTTP API, per API and stage.
pub mod api {
    use super::{AwsMetric, Unit, metric};

    pub const NAMESPACE: &str = "AWS/ApiGateway";
    pub const API_ID: &str = "ApiId";
    pub const STAGE: &str = "Stage";
    const DIMS: &[&str] = &[API_ID, STAGE];

    pub const COUNT: AwsMetric = metric(NAMESPACE, "Count", Unit::Count, DIMS, "Requests.");
    pub const ERRORS_4XX: AwsMetric = metric(
        NAMESPACE,
        "4xx",
        Unit::Count,
        DIMS,
        "Client errors (validation failures, unknown routes, throttling 429s).",
    );
    pub const ERRORS_5XX: AwsMetric = metric(
        NAMESPACE,
        "5xx",
        Unit::Count,
        DIMS,
        "Server errors (function errors, timeouts).",
    );
    pub const LATENCY: AwsMetric = metric(
        NAMESPACE,
        "Latency",
        Unit::Milliseconds,
        DIMS,
        "Time from request received to response sent, as the client sees it.",
    );
    pub const INTEGRATION_LATENCY: AwsMetric = metric(
        NAMESPACE,
        "IntegrationLatency",
        Unit::Milliseconds,
        DIMS,
        "Time the Lambda integration took.",
    );
}

/// `AWS/DynamoDB`, per table and operation.
pub mod dynamodb {
    use super::{AwsMetric, Unit, metric};

    pub const NAMESPACE: &str = "AWS/DynamoDB";
    pub const TABLE_NAME: &str = "TableName";
    pub const OPERATION: &str = "Operation";
    const DIMS: &[&str] = &[TABLE_NAME, OPERATION];

    /// The DynamoDB operations the order store calls (functions/store-aws), which are the
    /// `Operation` values DynamoDB publishes for this table and the local stack records.
    pub const OPERATIONS: &[&str] = &[
        "PutItem",
        "GetItem",
        "Query",
        "BatchGetItem",
        "UpdateItem",
        "TransactWriteItems",
    ];

    pub const LATENCY: AwsMetric = metric(
        NAMESPACE,
        "SuccessfulRequestLatency",
        Unit::Milliseconds,
        DIMS,
        "Server-side latency of successful requests.",
    );
    pub const THROTTLED_REQUESTS: AwsMetric = metric(
        NAMESPACE,
        "ThrottledRequests",
        Unit::Count,
        DIMS,
        "Requests rejected for exceeding throughput (on-demand tables: sudden spikes).",
    );
    pub const SYSTEM_ERRORS: AwsMetric = metric(
        NAMESPACE,
        "SystemErrors",
        Unit::Count,
        DIMS,
        "Requests that failed with an HTTP 500 from DynamoDB.",
    );
}

/// Every AWS service metric the kit reads.
pub const ALL: &[AwsMetric] = &[
    lambda::INVOCATIONS,
    lambda::ERRORS,
    lambda::THROTTLES,
    lambda::DURATION,
    lambda::CONCURRENT_EXECUTIONS,
    lambda::ITERATOR_AGE,
    sqs::VISIBLE,
    sqs::NOT_VISIBLE,
    sqs::AGE_OF_OLDEST,
    sqs::SENT,
    sqs::RECEIVED,
    sqs::DELETED,
    api::COUNT,
    api::ERRORS_4XX,
    api::ERRORS_5XX,
    api::LATENCY,
    api::INTEGRATION_LATENCY,
    dynamodb::LATENCY,
    dynamodb::THROTTLED_REQUESTS,
    dynamodb::SYSTEM_ERRORS,
];

/// The definition of `namespace`/`name`, if the kit reads it.
pub fn find(namespace: &str, name: &str) -> Option<&'static AwsMetric> {
    ALL.iter()
        .find(|m| m.namespace == namespace && m.name == name)
}
