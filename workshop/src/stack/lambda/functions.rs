//! The local stack's functions: built by `order_functions` from the SQLite adapters, as the
//! Lambda binaries build them from the AWS ones. Each pool's init builds the function as a
//! Lambda `main` would, once per instance.

use super::pool::{FunctionPool, Init};
use crate::data_dir::DataDir;
use crate::stack::apigw::gateway::HttpPools;
use crate::stack::cloudwatch::metric_store::MetricStore;
use chaos::Chaos;
use order_functions::build::KeySourceError;
use order_functions::{HttpFunction, PageKeySource, Ports};
use orders::handlers::Publisher;
use orders::ports::{Clock, OrderQueue, OrderStore};
use orders::settings::{Function, ROUTES};
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::task::Poll;

/// What every function may be built from.
#[derive(Clone)]
pub struct Dependencies {
    /// The bare adapters: the builders put them behind `chaos`.
    pub store: Arc<dyn OrderStore>,
    pub queue: Arc<dyn OrderQueue>,
    pub clock: Arc<dyn Clock>,
    /// Where list-orders reads its `nextToken` signing key at init, as the Lambda reads it
    /// from Secrets Manager.
    pub secrets: DataDir,
    pub metrics: Arc<MetricStore>,
    pub chaos: Arc<Chaos>,
}

/// The page token key in the data directory.
struct DataDirKey(DataDir);

#[async_trait::async_trait]
impl PageKeySource for DataDirKey {
    async fn page_key(&self) -> Result<Vec<u8>, KeySourceError> {
        Ok(self.0.page_token_key()?)
    }
}

/// Runs a builder in the pool's (synchronous) init phase. The local ports never wait (the
/// key is a file read), so one poll completes it.
fn build_now<T, E: std::fmt::Display>(
    build: impl Future<Output = Result<T, E>>,
) -> Result<T, String> {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match std::pin::pin!(build).poll(&mut cx) {
        Poll::Ready(built) => built.map_err(|e| e.to_string()),
        Poll::Pending => Err("the function's init waited on a local port".to_owned()),
    }
}

/// Concurrency limits per function (defaults from `orders::settings`, overridable).
#[derive(Debug, Clone, Default)]
pub struct Limits(pub HashMap<Function, usize>);

impl Limits {
    pub fn of(&self, f: Function) -> usize {
        self.0
            .get(&f)
            .copied()
            .unwrap_or_else(|| f.local_concurrency())
    }
}

fn pool<H: ?Sized + Send + Sync + 'static>(
    metrics: &Arc<MetricStore>,
    f: Function,
    limits: &Limits,
    init: Init<H>,
) -> FunctionPool<H> {
    FunctionPool::new(f.name(), limits.of(f), f.timeout(), f.memory_mb(), init)
        .with_trigger(f.trigger())
        .with_metrics(metrics.clone())
}

pub struct Functions {
    pub http: HttpPools,
    pub processor: Arc<FunctionPool<chaos::ChaoticProcessor>>,
    pub publisher: Arc<FunctionPool<Publisher>>,
}

impl Functions {
    pub fn new(deps: &Dependencies, limits: &Limits) -> Functions {
        let ports = Ports {
            store: deps.store.clone(),
            queue: deps.queue.clone(),
            clock: deps.clock.clone(),
            chaos: deps.chaos.clone(),
            page_key: Arc::new(DataDirKey(deps.secrets.clone())),
        };
        let mut http: HttpPools = HashMap::new();
        for f in ROUTES.map(|r| r.function) {
            let p = ports.clone();
            let init: Init<dyn HttpFunction> = Box::new(move || build_now(p.http(f)));
            http.insert(f, Arc::new(pool(&deps.metrics, f, limits, init)));
        }
        let p = ports.clone();
        let processor = Arc::new(pool(
            &deps.metrics,
            Function::OrderProcessor,
            limits,
            Box::new(move || Ok(Arc::new(p.order_processor()))),
        ));
        let publisher = Arc::new(pool(
            &deps.metrics,
            Function::OrderPublisher,
            limits,
            Box::new(move || Ok(Arc::new(ports.order_publisher()))),
        ));
        Functions {
            http,
            processor,
            publisher,
        }
    }
}
