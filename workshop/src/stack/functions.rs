//! The local stack's functions: the same handlers the Lambda binaries run, wired to the SQLite
//! adapters. Each pool's init builds the handler as a Lambda `main` would, once per instance.

use super::gateway::{HttpFunction, HttpPools};
use super::lambda::{FunctionPool, Init};
use super::metrics::MetricStore;
use lambda_http::{Body, Request, Response};
use orders::handlers::{CreateOrder, GetOrder, Health, ListOrders, ProcessOrders, Sweeper};
use orders::pagination::PageTokens;
use orders::ports::{Clock, OrderQueue, OrderStore};
use orders::settings::{Function, SweeperSettings};
use std::collections::HashMap;
use std::sync::Arc;

macro_rules! http_function {
    ($t:ty) => {
        impl HttpFunction for $t {
            fn call(
                self: Arc<Self>,
                req: Request,
            ) -> lambda_http::BoxFuture<'static, Response<Body>> {
                Box::pin(async move { self.handle(req).await })
            }
        }
    };
}

http_function!(CreateOrder);
http_function!(GetOrder);
http_function!(ListOrders);

impl HttpFunction for Health {
    fn call(self: Arc<Self>, _req: Request) -> lambda_http::BoxFuture<'static, Response<Body>> {
        Box::pin(async move { self.handle().await })
    }
}

/// What every function may be built from.
#[derive(Clone)]
pub struct Dependencies {
    pub store: Arc<dyn OrderStore>,
    pub queue: Arc<dyn OrderQueue>,
    pub clock: Arc<dyn Clock>,
    pub tokens: PageTokens,
    pub metrics: Arc<MetricStore>,
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
    pub processor: Arc<FunctionPool<ProcessOrders>>,
    pub sweeper: Arc<FunctionPool<Sweeper>>,
}

impl Functions {
    pub fn new(deps: &Dependencies, limits: &Limits, sweeper: SweeperSettings) -> Functions {
        let mut http: HttpPools = HashMap::new();
        let d = deps.clone();
        let create: Init<dyn HttpFunction> = Box::new(move || {
            Arc::new(CreateOrder::new(
                d.store.clone(),
                d.queue.clone(),
                d.clock.clone(),
            ))
        });
        http.insert(
            Function::CreateOrder,
            Arc::new(pool(&deps.metrics, Function::CreateOrder, limits, create)),
        );
        let d = deps.clone();
        let get: Init<dyn HttpFunction> =
            Box::new(move || Arc::new(GetOrder::new(d.store.clone())));
        http.insert(
            Function::GetOrder,
            Arc::new(pool(&deps.metrics, Function::GetOrder, limits, get)),
        );
        let d = deps.clone();
        let list: Init<dyn HttpFunction> =
            Box::new(move || Arc::new(ListOrders::new(d.store.clone(), d.tokens.clone())));
        http.insert(
            Function::ListOrders,
            Arc::new(pool(&deps.metrics, Function::ListOrders, limits, list)),
        );
        let d = deps.clone();
        let health: Init<dyn HttpFunction> =
            Box::new(move || Arc::new(Health::new(d.store.clone(), d.queue.clone())));
        http.insert(
            Function::Health,
            Arc::new(pool(&deps.metrics, Function::Health, limits, health)),
        );

        let d = deps.clone();
        let processor = Arc::new(pool(
            &deps.metrics,
            Function::OrderProcessor,
            limits,
            Box::new(move || Arc::new(ProcessOrders::new(d.store.clone(), d.clock.clone()))),
        ));
        let d = deps.clone();
        let sweeper = Arc::new(pool(
            &deps.metrics,
            Function::OrderSweeper,
            limits,
            Box::new(move || {
                Arc::new(Sweeper::new(
                    d.store.clone(),
                    d.queue.clone(),
                    d.clock.clone(),
                    sweeper,
                ))
            }),
        ));
        Functions {
            http,
            processor,
            sweeper,
        }
    }
}
