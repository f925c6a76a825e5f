//! Names and settings that cross a boundary (environment variables, routes, function and
//! queue settings), defined once. The local stack reads its defaults from here and
//! `template.yaml` must agree with them (a test checks it).

use std::time::Duration;

/// Environment variables the functions read.
pub mod env {
    /// Name of the DynamoDB table (AWS) holding orders.
    pub const ORDERS_TABLE: &str = "ORDERS_TABLE";
    /// URL of the SQS queue that carries `OrderCreated` messages.
    pub const ORDERS_QUEUE_URL: &str = "ORDERS_QUEUE_URL";
    /// URL of the dead-letter queue.
    pub const ORDERS_DLQ_URL: &str = "ORDERS_DLQ_URL";
    /// Service name stamped on every log line and metric.
    pub const SERVICE_NAME: &str = "SERVICE_NAME";
    /// dev / staging / prod / local.
    pub const ENVIRONMENT: &str = "ENVIRONMENT";
    /// ARN of the Secrets Manager secret holding the `nextToken` signing key (list-orders).
    pub const PAGE_TOKEN_SECRET_ARN: &str = "PAGE_TOKEN_SECRET_ARN";
    /// Endpoint override for every AWS client (moto server in tests, LocalStack for users);
    /// read by aws-config itself.
    pub const AWS_ENDPOINT_URL: &str = "AWS_ENDPOINT_URL";
}

/// The functions of the order system, as named in logs, metrics and the template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Function {
    CreateOrder,
    GetOrder,
    ListOrders,
    Health,
    OrderProcessor,
    OrderPublisher,
}

impl Function {
    pub const ALL: [Function; 6] = [
        Function::CreateOrder,
        Function::GetOrder,
        Function::ListOrders,
        Function::Health,
        Function::OrderProcessor,
        Function::OrderPublisher,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Function::CreateOrder => "create-order",
            Function::GetOrder => "get-order",
            Function::ListOrders => "list-orders",
            Function::Health => "health",
            Function::OrderProcessor => "order-processor",
            Function::OrderPublisher => "order-publisher",
        }
    }

    /// Lambda timeout. The API functions stay well under API Gateway's 30 s integration limit.
    pub fn timeout(self) -> Duration {
        match self {
            Function::OrderProcessor => PROCESSOR_TIMEOUT,
            Function::OrderPublisher => PUBLISHER_TIMEOUT,
            _ => Duration::from_secs(10),
        }
    }

    pub fn memory_mb(self) -> u32 {
        128
    }

    /// What invokes it: the invocation span's `faas.trigger` and kind.
    pub fn trigger(self) -> telemetry::trace::Trigger {
        use telemetry::trace::Trigger;
        match self {
            Function::OrderProcessor => Trigger::Queue,
            Function::OrderPublisher => Trigger::Stream,
            _ => Trigger::Http,
        }
    }

    /// Concurrent instances the local stack allows by default. On AWS the API functions share
    /// the account's unreserved pool and the processor is capped by the event source's
    /// `MaximumConcurrency`; the publisher runs once per stream shard (times
    /// `ParallelizationFactor`), and the local outbox is one shard.
    pub fn local_concurrency(self) -> usize {
        match self {
            Function::OrderProcessor => QUEUE.max_concurrency,
            Function::OrderPublisher => 1,
            _ => 10,
        }
    }
}

/// The processor's timeout; the queue's visibility timeout is six times it, as AWS advises.
pub const PROCESSOR_TIMEOUT: Duration = Duration::from_secs(5);

/// The orders queue and its event source mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueSettings {
    pub batch_size: usize,
    pub visibility_timeout: Duration,
    /// Receives before SQS moves a message to the DLQ.
    pub max_receive_count: u32,
    /// The event source mapping's `ScalingConfig.MaximumConcurrency`.
    pub max_concurrency: usize,
    /// How long messages are retained (4 days, SQS's default) and the DLQ's (14 days, the max).
    pub retention: Duration,
    pub dlq_retention: Duration,
}

pub const QUEUE: QueueSettings = QueueSettings {
    batch_size: 10,
    visibility_timeout: Duration::from_secs(6 * PROCESSOR_TIMEOUT.as_secs()),
    max_receive_count: 3,
    max_concurrency: 5,
    retention: Duration::from_secs(4 * 24 * 3600),
    dlq_retention: Duration::from_secs(14 * 24 * 3600),
};

/// The publisher's timeout: a batch of [`PUBLISHER.batch_size`] sends, ten at a time.
pub const PUBLISHER_TIMEOUT: Duration = Duration::from_secs(30);

/// The publisher and the event source that feeds it the outbox (the table's stream on AWS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublisherSettings {
    /// Entries per invocation (`BatchSize`).
    pub batch_size: u32,
    /// Concurrent batches per stream shard (`ParallelizationFactor`). A shard takes up to
    /// 1,000 writes/s; one batch of 100 sends, ten at a time, takes about 100 ms, so two
    /// batches at once keep up with a shard at full speed with room for slow sends.
    pub parallelization: u32,
    /// How long the local event source waits before reading an empty outbox again (Lambda
    /// polls a stream shard about four times a second; a local read costs nothing).
    pub idle_poll: Duration,
    /// How long a failing batch is retried before the event source gives it up and names it
    /// on the failure queue (`MaximumRecordAgeInSeconds`): 23 hours, inside the 24 hours the
    /// stream keeps a record, so what cannot be sent is named rather than trimmed unseen.
    /// The local outbox keeps an entry until it is sent.
    pub max_record_age: Duration,
}

pub const PUBLISHER: PublisherSettings = PublisherSettings {
    batch_size: 100,
    parallelization: 2,
    idle_poll: Duration::from_millis(100),
    max_record_age: Duration::from_secs(23 * 3600),
};

/// How long an `Idempotency-Key` is remembered.
pub const IDEMPOTENCY_TTL: Duration = Duration::from_secs(24 * 3600);

/// Largest accepted `POST /orders` body.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The HTTP API's routes, in API Gateway's `routeKey` form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    pub method: &'static str,
    /// Path template; `{id}` is a path parameter.
    pub path: &'static str,
    pub function: Function,
}

impl Route {
    pub fn key(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

pub const ROUTES: [Route; 4] = [
    Route {
        method: "POST",
        path: "/orders",
        function: Function::CreateOrder,
    },
    Route {
        method: "GET",
        path: "/orders",
        function: Function::ListOrders,
    },
    Route {
        method: "GET",
        path: "/orders/{id}",
        function: Function::GetOrder,
    },
    Route {
        method: "GET",
        path: "/health",
        function: Function::Health,
    },
];

/// The HTTP API's CORS configuration (`CorsConfiguration` of `OrdersApi` in `template.yaml`):
/// API Gateway answers preflights and adds the headers from it, and so does the local
/// gateway. Any origin: the API has no cookies and no credentials to protect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cors {
    pub allow_origins: &'static [&'static str],
    pub allow_methods: &'static [&'static str],
    /// Lowercase, as API Gateway sends them back.
    pub allow_headers: &'static [&'static str],
    pub expose_headers: &'static [&'static str],
    pub max_age_seconds: u32,
}

pub const CORS: Cors = Cors {
    allow_origins: &["*"],
    allow_methods: &["GET", "POST", "OPTIONS"],
    allow_headers: &[
        "content-type",
        crate::http::IDEMPOTENCY_HEADER,
        crate::http::CORRELATION_HEADER,
    ],
    expose_headers: &[
        "location",
        crate::http::CORRELATION_HEADER,
        crate::http::IDEMPOTENT_REPLAY_HEADER,
    ],
    max_age_seconds: 600,
};

/// The DynamoDB table design, shared by the DynamoDB adapter and `template.yaml`.
///
/// The names the local stack gives its queue, DLQ and table (on AWS they come from the
/// template); the SQLite queue and the local alarm set both read them from here.
pub mod local {
    pub const ORDERS_QUEUE: &str = "orders";
    pub const DEAD_LETTER_QUEUE: &str = "orders-dlq";
    pub const TABLE: &str = "orders";
}

/// One table. Items are orders (`pk = ORDER#<id>`) and idempotency records
/// (`pk = IDEMPOTENCY#<key>`, removed by TTL). Global secondary indexes, all sorted by
/// `createdAtId` (`<createdAt>#<id>`, so orders created in the same millisecond still have a
/// total order):
/// - `byStatusShard` on `statusShard = <status>#<shard>`, for `GET /orders?status=`;
/// - `byCreatedAtShard` on `listShard = ORDERS#<shard>`, for the list of every order without
///   a Scan.
///
/// The table's stream (new and old images) is the outbox: Lambda reads each new order from it
/// and the publisher sends its message, so no write marks an order published.
///
/// DynamoDB serves about 1,000 write units a second per partition key and cannot split a key
/// whose sort key only grows, so one key per status (or one for every order) would cap the
/// whole system near 330 orders/s. The shard, from the order id, spreads each key over
/// [`SHARDS`] partitions; a listing reads them all and merges them ([`crate::merge`]). Both
/// listing indexes are keys-only: a page is read back from the table by key, and a status
/// change writes only the index whose key it moves. `docs/table-design.md` has the figures.
pub mod table {
    use crate::capacity::{Index, Projection, Table};
    use crate::domain::OrderStatus;
    use uuid::Uuid;

    pub const PARTITION_KEY: &str = "pk";
    pub const ORDER_PREFIX: &str = "ORDER#";
    pub const IDEMPOTENCY_PREFIX: &str = "IDEMPOTENCY#";
    pub const SORT_ATTRIBUTE: &str = "createdAtId";
    pub const STATUS_ATTRIBUTE: &str = "status";
    pub const STATUS_SHARD_ATTRIBUTE: &str = "statusShard";
    pub const LIST_SHARD_ATTRIBUTE: &str = "listShard";
    pub const LIST_SHARD_PREFIX: &str = "ORDERS";
    pub const TTL_ATTRIBUTE: &str = "expiresAt";
    pub const STATUS_INDEX: &str = "byStatusShard";
    pub const LIST_INDEX: &str = "byCreatedAtShard";
    /// The table's stream (`StreamViewType`), the outbox. The publisher reads the new image;
    /// the old one lets a reader see what a write changed (the write-unit audit counts index
    /// writes from both). Lambda reads a stream at no charge either way.
    pub const STREAM_VIEW: &str = "NEW_AND_OLD_IMAGES";

    /// The global secondary indexes, both sorted by `createdAtId` and keys-only (a page is
    /// read back by key, and a status change writes only the index whose key it moves).
    /// `provision` creates them, `template.yaml` declares them (a test holds it to this), the
    /// capacity model prices them.
    pub const INDEXES: [Index; 2] = [
        Index {
            name: STATUS_INDEX,
            hash: STATUS_SHARD_ATTRIBUTE,
            range: SORT_ATTRIBUTE,
            projection: Projection::KeysOnly,
        },
        Index {
            name: LIST_INDEX,
            hash: LIST_SHARD_ATTRIBUTE,
            range: SORT_ATTRIBUTE,
            projection: Projection::KeysOnly,
        },
    ];

    /// The table and its indexes, as the capacity model sees them.
    pub const DESIGN: Table = Table {
        hash: PARTITION_KEY,
        indexes: &INDEXES,
    };

    /// Partitions each listing key is spread over. At 10,000 orders/s a `PENDING#<shard>` key
    /// takes 2 writes an order (entry and exit) over 32 shards: 625 units/s, under the 1,000
    /// a key can take. Changing it re-keys every order: it is part of the table's layout.
    pub const SHARDS: u32 = 32;

    /// The shard of an order: from the random bits of its (v4) id, so orders spread evenly
    /// and an order never moves.
    pub fn shard_of(id: Uuid) -> u32 {
        // The remainder is below SHARDS, which fits a u32.
        u32::try_from(id.as_u128() % u128::from(SHARDS)).unwrap_or(0)
    }

    /// `statusShard` of an order in `status` on `shard`: `PENDING#07`.
    pub fn status_key(status: OrderStatus, shard: u32) -> String {
        format!("{}#{shard:02}", status.as_str())
    }

    /// `listShard` of an order on `shard`: `ORDERS#07`.
    pub fn list_key(shard: u32) -> String {
        format!("{LIST_SHARD_PREFIX}#{shard:02}")
    }

    /// How the write load of a key of this design spreads (for
    /// [`crate::capacity::KeyLoad::hottest_spread`]): a listing index key's family (its
    /// value with the shard replaced by `*`) and the [`SHARDS`] keys that share it evenly,
    /// any other index key alone, and `None` for a table key, which only its own order writes.
    pub fn key_family(index: Option<&str>, key: &str) -> Option<(String, u32)> {
        let index = index?;
        let sharded = [STATUS_INDEX, LIST_INDEX].contains(&index);
        match key.rsplit_once('#') {
            Some((family, shard)) if sharded && shard.parse::<u32>().is_ok_and(|s| s < SHARDS) => {
                Some((format!("{family}#*"), SHARDS))
            }
            _ => Some((key.to_owned(), 1)),
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn orders_spread_evenly_over_the_shards_and_keys_name_them() {
            let mut count = [0u32; SHARDS as usize];
            for _ in 0..32_000 {
                count[shard_of(Uuid::new_v4()) as usize] += 1;
            }
            // 1,000 expected on each; 6 standard deviations either side.
            assert!(
                count.iter().all(|&c| (810..=1190).contains(&c)),
                "{count:?}"
            );
            let id = Uuid::parse_str("4f9c3b8e-2d1a-4c7e-9b6f-00000000002a").unwrap();
            assert_eq!(shard_of(id), 10);
            assert_eq!(status_key(OrderStatus::Pending, shard_of(id)), "PENDING#10");
            assert_eq!(list_key(3), "ORDERS#03");
            assert_eq!(
                key_family(Some(STATUS_INDEX), "PENDING#10"),
                Some(("PENDING#*".into(), SHARDS))
            );
            assert_eq!(
                key_family(Some("another"), "PENDING#10"),
                Some(("PENDING#10".into(), 1))
            );
            assert_eq!(key_family(None, "ORDER#x"), None);
        }
    }
}
