//! What every Lambda binary shares: reading its configuration, building AWS clients once per
//! instance, and the span each invocation is logged in. The binaries in `src/bin/` only wire
//! these to a handler from `orders::handlers`.

use aws_config::{BehaviorVersion, SdkConfig};
use chaos::aws::ChaosParameter;
use chaos::{Chaos, ChaoticQueue, ChaoticStore};
use orders::pagination::PageTokens;
use orders::ports::{OrderQueue, OrderStore, SystemClock};
use orders::settings::env;
use orders_aws::{DynamoDbOrderStore, SqsOrderQueue};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

// Only with `--features mimalloc`, for the tuning record: the system allocator ships.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The `service` stamped on every log line.
pub const SERVICE: &str = "orders";

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("environment variable {0} is not set; the template sets it for every function")]
    MissingEnv(&'static str),
    #[error("could not read the page token secret {arn}: {message}")]
    Secret { arn: String, message: String },
    #[error("the page token secret is too short: {0}")]
    WeakSecret(#[from] orders::pagination::WeakKey),
    #[error("could not set up EMF metrics: {0}")]
    Metrics(#[from] telemetry::metrics::MetricsError),
}

/// EMF metrics for this function (namespace, `Service` and `Environment` dimensions); wrap
/// each invocation in `metrics.invocation(..)` so its documents are flushed before it returns.
pub fn metrics() -> Result<&'static telemetry::metrics::LambdaMetrics, InitError> {
    let environment = required_env(env::ENVIRONMENT)?;
    Ok(telemetry::metrics::init_lambda(SERVICE, &environment)?)
}

pub fn required_env(name: &'static str) -> Result<String, InitError> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .ok_or(InitError::MissingEnv(name))
}

/// AWS configuration from the Lambda environment (region, credentials, and
/// `AWS_ENDPOINT_URL` when pointed at moto server or LocalStack).
pub async fn aws() -> SdkConfig {
    aws_config::load_defaults(BehaviorVersion::latest()).await
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

/// The order store, behind the chaos layer's dependency faults.
pub fn store(aws: &SdkConfig, chaos: &Arc<Chaos>) -> Result<Arc<dyn OrderStore>, InitError> {
    let table = required_env(env::ORDERS_TABLE)?;
    let store = Arc::new(DynamoDbOrderStore::new(
        aws_sdk_dynamodb::Client::new(aws),
        table,
    ));
    Ok(ChaoticStore::wrap(store, chaos))
}

/// The order queue, behind the chaos layer's dependency faults.
pub fn queue(aws: &SdkConfig, chaos: &Arc<Chaos>) -> Result<Arc<dyn OrderQueue>, InitError> {
    let url = required_env(env::ORDERS_QUEUE_URL)?;
    let queue = Arc::new(SqsOrderQueue::new(aws_sdk_sqs::Client::new(aws), url));
    Ok(ChaoticQueue::wrap(queue, chaos))
}

/// The invocation's deadline as an `Instant` (the context gives epoch milliseconds).
pub fn deadline(context: &lambda_runtime::Context) -> Instant {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    Instant::now() + Duration::from_millis(context.deadline.saturating_sub(now_ms))
}

/// The `nextToken` signing key, read once at init from Secrets Manager.
pub async fn page_tokens(aws: &SdkConfig) -> Result<PageTokens, InitError> {
    let arn = required_env(env::PAGE_TOKEN_SECRET_ARN)?;
    let client = aws_sdk_secretsmanager::Client::new(aws);
    let secret = client
        .get_secret_value()
        .secret_id(&arn)
        .send()
        .await
        .map_err(|e| InitError::Secret {
            arn: arn.clone(),
            message: aws_sdk_secretsmanager::error::DisplayErrorContext(&e).to_string(),
        })?;
    let key = secret
        .secret_string()
        .map(|s| s.as_bytes().to_vec())
        .unwrap_or_default();
    Ok(PageTokens::new(key)?)
}

static WARM: AtomicBool = AtomicBool::new(false);

/// The span every log line of one invocation is written in, carrying the flat keys of
/// DESIGN.md: function name, request id, X-Ray trace id and whether this is a cold start.
pub fn invocation_span(context: &lambda_runtime::Context) -> tracing::Span {
    let cold_start = !WARM.swap(true, Ordering::Relaxed);
    tracing::info_span!(
        "invocation",
        function_name = %context.env_config.function_name,
        function_request_id = %context.request_id,
        xray_trace_id = context.xray_trace_id.as_deref().unwrap_or(""),
        cold_start,
    )
}
