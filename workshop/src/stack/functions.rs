//! The local stack's functions: the same handlers the Lambda binaries run, wired to the SQLite
//! adapters. Each pool's init builds the handler as a Lambda `main` would, once per instance.

use super::gateway::{HttpFunction, HttpPools};
use super::lambda::{FunctionPool, Init};
use super::metrics::MetricStore;
use crate::data_dir::DataDir;
use chaos::Chaos;
use lambda_http::{Body, Request, Response};
use orders::handlers::{CreateOrder, GetOrder, Health, ListOrders, Sweeper};
use orders::pagination::PageTokens;
use orders::ports::{Clock, OrderQueue, OrderStore};
use orders::settings::{Function, SweeperSettings};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;
use telemetry::catalogue::Operation;

/// An API function as its Lambda `main` runs it: the handler behind the chaos layer's API
/// faults, inside the invocation (injected latency counts in its duration and concurrency).
struct Api<H> {
    handler: H,
    chaos: Arc<Chaos>,
}

impl<H> Api<H> {
    fn new(handler: H, chaos: &Arc<Chaos>) -> Arc<Self> {
        Arc::new(Api {
            handler,
            chaos: chaos.clone(),
        })
    }
}

macro_rules! http_function {
    ($t:ty, |$h:ident, $req:ident| $call:expr) => {
        impl HttpFunction for Api<$t> {
            fn call(
                self: Arc<Self>,
                $req: Request,
            ) -> lambda_http::BoxFuture<'static, Response<Body>> {
                Box::pin(async move {
                    let $h = &self.handler;
                    chaos::wrap::http(&self.chaos, $call).await
                })
            }
        }
    };
}

http_function!(CreateOrder, |h, req| h.handle(req));
http_function!(GetOrder, |h, req| h.handle(req));
http_function!(ListOrders, |h, req| h.handle(req));
http_function!(Health, |h, req| h.handle(req));

/// What every function may be built from.
#[derive(Clone)]
pub struct Dependencies {
    pub store: Arc<dyn OrderStore>,
    pub queue: Arc<dyn OrderQueue>,
    pub clock: Arc<dyn Clock>,
    /// Where list-orders reads its `nextToken` signing key at init, as the Lambda reads it
    /// from Secrets Manager.
    pub secrets: DataDir,
    pub metrics: Arc<MetricStore>,
    /// The chaos layer; the store and queue above are already behind it.
    pub chaos: Arc<Chaos>,
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
        .with_metrics(metrics.clone())
}

pub struct Functions {
    pub http: HttpPools,
    pub processor: Arc<FunctionPool<chaos::ChaoticProcessor>>,
    pub sweeper: Arc<FunctionPool<Sweeper>>,
}

impl Functions {
    pub fn new(deps: &Dependencies, limits: &Limits, sweeper: SweeperSettings) -> Functions {
        let mut http: HttpPools = HashMap::new();
        let d = deps.clone();
        let create: Init<dyn HttpFunction> = Box::new(move || {
            Ok(Api::new(
                CreateOrder::new(d.store.clone(), d.queue.clone(), d.clock.clone()),
                &d.chaos,
            ))
        });
        http.insert(
            Function::CreateOrder,
            Arc::new(pool(&deps.metrics, Function::CreateOrder, limits, create)),
        );
        let d = deps.clone();
        let get: Init<dyn HttpFunction> =
            Box::new(move || Ok(Api::new(GetOrder::new(d.store.clone()), &d.chaos)));
        http.insert(
            Function::GetOrder,
            Arc::new(pool(&deps.metrics, Function::GetOrder, limits, get)),
        );
        let d = deps.clone();
        let list: Init<dyn HttpFunction> = Box::new(move || {
            let started = Instant::now();
            let key = d.secrets.page_token_key();
            telemetry::metrics::dependency_latency(Operation::GetSecret, started.elapsed());
            let tokens = PageTokens::new(key.map_err(|e| e.to_string())?)
                .map_err(|e| format!("the page token key is unusable: {e}"))?;
            Ok(Api::new(ListOrders::new(d.store.clone(), tokens), &d.chaos))
        });
        http.insert(
            Function::ListOrders,
            Arc::new(pool(&deps.metrics, Function::ListOrders, limits, list)),
        );
        let d = deps.clone();
        let health: Init<dyn HttpFunction> = Box::new(move || {
            Ok(Api::new(
                Health::new(d.store.clone(), d.queue.clone()),
                &d.chaos,
            ))
        });
        http.insert(
            Function::Health,
            Arc::new(pool(&deps.metrics, Function::Health, limits, health)),
        );

        let d = deps.clone();
        let processor = Arc::new(pool(
            &deps.metrics,
            Function::OrderProcessor,
            limits,
            Box::new(move || {
                Ok(Arc::new(chaos::ChaoticProcessor::new(
                    d.store.clone(),
                    d.clock.clone(),
                    d.chaos.clone(),
                )))
            }),
        ));
        let d = deps.clone();
        let sweeper = Arc::new(pool(
            &deps.metrics,
            Function::OrderSweeper,
            limits,
            Box::new(move || {
                Ok(Arc::new(Sweeper::new(
                    d.store.clone(),
                    d.queue.clone(),
                    d.clock.clone(),
                    sweeper,
                )))
            }),
        ));
        Functions {
            http,
            processor,
            sweeper,
        }
    }
}
