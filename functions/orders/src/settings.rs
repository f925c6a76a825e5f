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
    /// Which indexes create-order and list-orders use while a table moves from the first
    /// design (`sharded`, the default, or `unsharded`): `table::migration::Listing`.
    pub const ORDERS_LISTING: &str = "ORDERS_LISTING";
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

    /// Shard queries a listing keeps in flight. Each holds a connection of the SDK's pool
    /// for as long as the function lives: all 32 at once cost list-orders 1.9 MiB of peak
    /// memory (BENCHMARKS.md, table 2); 8 make a page's round four waves of queries.
    pub const SHARD_QUERIES_AT_ONCE: usize = 8;

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

    /// The move from the first design (three unsharded indexes of whole items: `byStatus` on
    /// `status`, `byCreatedAt` on `listPk = ORDERS`, the sparse `unpublished` marker index) to
    /// this one, one deploy per index created or deleted, as DynamoDB and CloudFormation
    /// require. `template.yaml`'s `TableMigrationStage` parameter names a stage; a stack
    /// created fresh is at [`migration::DONE`]. `docs/table-design.md` walks through it.
    pub mod migration {
        use super::{
            Index, LIST_INDEX, Projection, SORT_ATTRIBUTE, STATUS_ATTRIBUTE, STATUS_INDEX,
        };

        pub const LEGACY_STATUS_INDEX: &str = "byStatus";
        pub const LEGACY_LIST_INDEX: &str = "byCreatedAt";
        pub const LEGACY_MARKER_INDEX: &str = "unpublished";
        /// `listPk`: `ORDERS` on every order, the one key of `byCreatedAt`.
        pub const LEGACY_LIST_ATTRIBUTE: &str = "listPk";
        pub const LEGACY_LIST_KEY: &str = "ORDERS";
        /// Present while the first design had not yet sent an order's message.
        pub const LEGACY_MARKER_ATTRIBUTE: &str = "unpublished";

        /// The first design's indexes, as it declared them.
        pub const LEGACY_INDEXES: [Index; 3] = [
            Index {
                name: LEGACY_STATUS_INDEX,
                hash: STATUS_ATTRIBUTE,
                range: SORT_ATTRIBUTE,
                projection: Projection::All,
            },
            Index {
                name: LEGACY_LIST_INDEX,
                hash: LEGACY_LIST_ATTRIBUTE,
                range: SORT_ATTRIBUTE,
                projection: Projection::All,
            },
            Index {
                name: LEGACY_MARKER_INDEX,
                hash: LEGACY_MARKER_ATTRIBUTE,
                range: SORT_ATTRIBUTE,
                projection: Projection::All,
            },
        ];

        /// Which indexes the listing reads, and so which keys a new order must carry.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Listing {
            /// `byStatusShard` and `byCreatedAtShard`, merged over the shards.
            Sharded,
            /// `byStatus` and `byCreatedAt`, while the sharded ones are built and backfilled:
            /// new orders carry `listPk` too, so the old listing misses none of them.
            Unsharded,
        }

        impl Listing {
            pub fn as_str(self) -> &'static str {
                match self {
                    Listing::Sharded => "sharded",
                    Listing::Unsharded => "unsharded",
                }
            }

            /// The value of [`crate::settings::env::ORDERS_LISTING`]; unset is the design's.
            pub fn parse(value: Option<&str>) -> Result<Listing, String> {
                match value.map(str::trim) {
                    None | Some("") | Some("sharded") => Ok(Listing::Sharded),
                    Some("unsharded") => Ok(Listing::Unsharded),
                    Some(other) => Err(format!(
                        "{} is {other:?}: expected sharded or unsharded",
                        crate::settings::env::ORDERS_LISTING
                    )),
                }
            }
        }

        /// One stage: the indexes a stack has there, and what its functions read.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct Stage {
            /// The `TableMigrationStage` value.
            pub name: &'static str,
            pub indexes: &'static [&'static str],
            pub listing: Listing,
            /// What the deploy to this stage does, and what must come before it.
            pub step: &'static str,
        }

        pub const DONE: &str = "done";

        /// In deploy order: the first turns the table's stream on (the new functions need it,
        /// and reading the old indexes they need nothing else), each later one creates or
        /// deletes one index. The backfill (`workshop migrate-table`) runs between the third
        /// and the fourth.
        pub const STAGES: [Stage; 6] = [
            Stage {
                name: "1-stream",
                indexes: &[LEGACY_STATUS_INDEX, LEGACY_LIST_INDEX, LEGACY_MARKER_INDEX],
                listing: Listing::Unsharded,
                step: "turns the table's stream and the publisher on; the new functions read the old indexes",
            },
            Stage {
                name: "2-add-status-shards",
                indexes: &[
                    LEGACY_STATUS_INDEX,
                    LEGACY_LIST_INDEX,
                    LEGACY_MARKER_INDEX,
                    STATUS_INDEX,
                ],
                listing: Listing::Unsharded,
                step: "creates byStatusShard",
            },
            Stage {
                name: "3-add-list-shards",
                indexes: &[
                    LEGACY_STATUS_INDEX,
                    LEGACY_LIST_INDEX,
                    LEGACY_MARKER_INDEX,
                    STATUS_INDEX,
                    LIST_INDEX,
                ],
                listing: Listing::Unsharded,
                step: "creates byCreatedAtShard; then run `workshop migrate-table` until it reports nothing left",
            },
            Stage {
                name: "4-read-shards",
                indexes: &[
                    LEGACY_STATUS_INDEX,
                    LEGACY_LIST_INDEX,
                    STATUS_INDEX,
                    LIST_INDEX,
                ],
                listing: Listing::Sharded,
                step: "reads the sharded indexes and deletes unpublished (the backfill must be done)",
            },
            Stage {
                name: "5-drop-by-status",
                indexes: &[LEGACY_LIST_INDEX, STATUS_INDEX, LIST_INDEX],
                listing: Listing::Sharded,
                step: "deletes byStatus",
            },
            Stage {
                name: DONE,
                indexes: &[STATUS_INDEX, LIST_INDEX],
                listing: Listing::Sharded,
                step: "deletes byCreatedAt: the design of a stack created fresh",
            },
        ];

        /// The first stage that reads the sharded indexes: the backfill comes before it.
        pub fn after_backfill() -> &'static Stage {
            STAGES
                .iter()
                .find(|s| s.listing == Listing::Sharded)
                .unwrap_or(&STAGES[STAGES.len() - 1])
        }
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
        use std::collections::BTreeSet;

        /// CloudFormation creates or deletes one global secondary index per table update: a
        /// stage that changed two would fail its deploy.
        #[test]
        fn each_migration_stage_changes_one_index_and_ends_at_the_design() {
            use migration::{LEGACY_INDEXES, Listing, STAGES};
            let set = |s: &[&'static str]| s.iter().copied().collect::<BTreeSet<_>>();
            // Stage 1 changes no index: it turns the stream on, one table update of its own.
            let legacy: BTreeSet<_> = LEGACY_INDEXES.iter().map(|i| i.name).collect();
            assert_eq!(
                set(STAGES[0].indexes),
                legacy,
                "stage 1 has the first design's indexes"
            );
            for pair in STAGES.windows(2) {
                let (a, b) = (set(pair[0].indexes), set(pair[1].indexes));
                assert_eq!(
                    a.symmetric_difference(&b).count(),
                    1,
                    "{} to {}",
                    pair[0].name,
                    pair[1].name
                );
            }
            let last = STAGES.last().expect("stages");
            assert_eq!(last.name, migration::DONE);
            assert_eq!(set(last.indexes), INDEXES.iter().map(|i| i.name).collect());
            // A stage reads the indexes it has: the old pair while unsharded, the new pair after.
            for stage in STAGES {
                let has = set(stage.indexes);
                let reads = match stage.listing {
                    Listing::Unsharded => {
                        [migration::LEGACY_STATUS_INDEX, migration::LEGACY_LIST_INDEX]
                    }
                    Listing::Sharded => [STATUS_INDEX, LIST_INDEX],
                };
                assert!(
                    reads.iter().all(|i| has.contains(i)),
                    "{} reads {reads:?}",
                    stage.name
                );
            }
            // The marker index goes only once reads are sharded: the backfill, which publishes
            // the orders on it, runs before that deploy.
            let gone = STAGES
                .iter()
                .position(|s| !s.indexes.contains(&migration::LEGACY_MARKER_INDEX))
                .expect("the marker index is deleted");
            assert_eq!(STAGES[gone].listing, Listing::Sharded);
            assert!(
                STAGES[gone - 1].indexes.contains(&LIST_INDEX),
                "both shard indexes exist first"
            );
            assert_eq!(migration::after_backfill().name, STAGES[gone].name);
        }

        #[test]
        fn the_listing_setting_is_sharded_unless_named_and_refuses_a_typo() {
            use migration::Listing;
            assert_eq!(Listing::parse(None), Ok(Listing::Sharded));
            assert_eq!(Listing::parse(Some("")), Ok(Listing::Sharded));
            assert_eq!(Listing::parse(Some("unsharded")), Ok(Listing::Unsharded));
            for l in [Listing::Sharded, Listing::Unsharded] {
                assert_eq!(Listing::parse(Some(l.as_str())), Ok(l));
            }
            let e = Listing::parse(Some("legacy")).unwrap_err();
            assert!(
                e.contains("ORDERS_LISTING") && e.contains("\"legacy\""),
                "{e}"
            );
        }

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
