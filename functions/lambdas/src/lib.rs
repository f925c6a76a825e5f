//! The AWS side of every Lambda binary: its configuration, the AWS clients built once per
//! instance (DynamoDB, SQS, Secrets Manager, SSM for chaos), put into the ports that
//! `order_functions` builds each function from. The binaries in `src/bin/` only call [`init`],
//! a builder and a serve loop.

use aws_config::{BehaviorVersion, SdkConfig};
use chaos::Chaos;
use chaos::aws::ChaosParameter;
use order_functions::lambda::Host;
use order_functions::{PageKeySource, Ports};
use orders::ports::{DependencyError, OrderCreated, OrderQueue, SystemClock};
use orders::settings::table::migration::Listing;
use orders::settings::{Function, env};
use orders_aws::{DynamoDbOrderStore, SqsOrderQueue};
use std::sync::Arc;
use telemetry::catalogue::SERVICE_NAME;
use telemetry::metrics::LambdaMetrics;

pub mod otlp_sigv4;
pub mod traces;

// Only with `--features mimalloc`, for the tuning record: the system allocator ships.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("environment variable {0} is not set; the template sets it for every function")]
    MissingEnv(&'static str),
    #[error("could not read the page token secret {arn}: {message}")]
    Secret { arn: String, message: String },
    #[error("could not set up EMF metrics: {0}")]
    Metrics(#[from] telemetry::metrics::MetricsError),
    #[error(transparent)]
    Build(#[from] order_functions::BuildError),
    /// A setting that is present but wrong; it names the variable and what it takes.
    #[error("{0}")]
    Setting(String),
}

/// What a Lambda main runs its function with, built once per instance.
pub struct Lambda {
    pub ports: Ports,
    /// The EMF backend and the tracer the serve loops flush around each invocation.
    pub host: Host,
}

/// JSON logs, traces, EMF metrics, the AWS clients and the chaos layer for `function`. Only
/// the publisher and the health check get a queue (the template gives the others no queue
/// URL).
pub async fn init(function: Function) -> Result<Lambda, InitError> {
    let aws = aws_config::load_defaults(BehaviorVersion::latest()).await;
    let (tracing, problem) = traces::tracer(function, &aws);
    telemetry::logs::init_lambda(SERVICE_NAME, Some(&tracing));
    if let Some(e) = problem {
        tracing::error!(error = %e, "traces will not be exported");
    }
    let environment = required_env(env::ENVIRONMENT)?;
    let metrics: &'static LambdaMetrics =
        telemetry::metrics::init_lambda(SERVICE_NAME, &environment)?;
    let table = required_env(env::ORDERS_TABLE)?;
    // Set only while a stack's table migrates from the first design (template.yaml).
    let listing = Listing::parse(std::env::var(env::ORDERS_LISTING).ok().as_deref())
        .map_err(InitError::Setting)?;
    let queue: Arc<dyn OrderQueue> = match function {
        Function::Health | Function::OrderPublisher => {
            let url = required_env(env::ORDERS_QUEUE_URL)?;
            Arc::new(SqsOrderQueue::new(aws_sdk_sqs::Client::new(&aws), url))
        }
        _ => Arc::new(NoQueue),
    };
    let ports = Ports {
        store: Arc::new(
            DynamoDbOrderStore::new(aws_sdk_dynamodb::Client::new(&aws), table)
                .with_listing(listing),
        ),
        queue,
        clock: Arc::new(SystemClock),
        chaos: chaos_layer(&aws),
        page_key: Arc::new(SecretsManagerKey(aws.clone())),
    };
    Ok(Lambda {
        ports,
        host: Host { metrics, tracing },
    })
}

pub fn required_env(name: &'static str) -> Result<String, InitError> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .ok_or(InitError::MissingEnv(name))
}

/// The chaos layer from the `CHAOS_*` flags, reading the live override from the SSM
/// parameter in `CHAOS_PARAMETER` when armed. Flags that do not parse disarm it: a typo must
/// not take the function down, and the error log names the flag.
pub fn chaos_layer(aws: &SdkConfig) -> Arc<Chaos> {
    let clock = Arc::new(SystemClock);
    let settings = match chaos::Settings::from_env() {
        Ok(s) => chaos::Settings {
            salt: sandbox_salt(),
            ..s
        },
        Err(e) => {
            tracing::error!(error = %e, "chaos flags are invalid; chaos stays disarmed");
            return Arc::new(Chaos::disarmed(clock));
        }
    };
    let live = settings
        .parameter
        .clone()
        .filter(|_| settings.armed)
        .map(|name| {
            Arc::new(ChaosParameter::new(aws_sdk_ssm::Client::new(aws), name))
                as Arc<dyn chaos::LiveSource>
        });
    Arc::new(Chaos::new(settings, live, clock))
}

/// One value per sandbox (its log stream is unique), mixed into the chaos seed: instances do
/// not replay each other's draws, nor does the sandbox that replaces one after a timeout.
fn sandbox_salt() -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    std::env::var("AWS_LAMBDA_LOG_STREAM_NAME")
        .unwrap_or_default()
        .hash(&mut h);
    h.finish()
}

/// The `nextToken` signing key in the Secrets Manager secret `PAGE_TOKEN_SECRET_ARN`; only
/// list-orders has one, and reads it once at init.
struct SecretsManagerKey(SdkConfig);

#[async_trait::async_trait]
impl PageKeySource for SecretsManagerKey {
    async fn page_key(&self) -> Result<Vec<u8>, order_functions::build::KeySourceError> {
        use aws_sdk_secretsmanager::error::{DisplayErrorContext, ProvideErrorMetadata};
        use tracing::Instrument;
        let arn = required_env(env::PAGE_TOKEN_SECRET_ARN)?;
        let client = aws_sdk_secretsmanager::Client::new(&self.0);
        // A CLIENT span of its own trace: it runs at init, before any invocation.
        let span = telemetry::trace::spans::aws("SecretsManager", "GetSecretValue");
        let secret = client
            .get_secret_value()
            .secret_id(&arn)
            .send()
            .instrument(span.clone())
            .await
            .map_err(|e| {
                let code = e.code().unwrap_or("SdkError").to_owned();
                let message = DisplayErrorContext(&e).to_string();
                telemetry::trace::spans::fail(&span, &code, &message);
                InitError::Secret {
                    arn: arn.clone(),
                    message,
                }
            })?;
        Ok(secret
            .secret_string()
            .map(|s| s.as_bytes().to_vec())
            .unwrap_or_default())
    }
}

/// The queue of a function the template gives no queue URL: its handler never publishes.
struct NoQueue;

#[async_trait::async_trait]
impl OrderQueue for NoQueue {
    async fn publish(&self, _: &OrderCreated) -> Result<String, DependencyError> {
        Err(DependencyError::failed(
            "SendMessage",
            "this function has no queue",
        ))
    }
    async fn ping(&self) -> Result<(), DependencyError> {
        Err(DependencyError::failed(
            "GetQueueAttributes",
            "this function has no queue",
        ))
    }
}

/// One invocation of the publisher: the new orders of a DynamoDB Streams batch published,
/// and every record not published (its send failed, or its item could not be read) reported
/// by sequence number, so the event source mapping retries it rather than drops it.
pub async fn publish_stream_batch(
    publisher: &orders::handlers::Publisher,
    event: &serde_json::Value,
    deadline: std::time::Instant,
) -> aws_lambda_events::event::streams::DynamoDbEventResponse {
    use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
    let records = orders_aws::stream_event(event);
    let mut failed: Vec<String> = Vec::new();
    for (sequence, e) in records.unreadable {
        tracing::error!(sequence, error = %e, "a new order's stream record could not be read");
        failed.push(sequence);
    }
    failed.extend(publisher.handle(records.entries, deadline).await.failed);
    let mut response = DynamoDbEventResponse::default();
    response.batch_item_failures = failed
        .into_iter()
        .map(|sequence| {
            let mut failure = DynamoDbBatchItemFailure::default();
            failure.item_identifier = Some(sequence);
            failure
        })
        .collect();
    response
}
