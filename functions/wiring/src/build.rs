//! One builder per function, from the ports its host supplies. The chaos layer is put in
//! front of the store, the queue, the API handlers and the processor here, and only here.

use crate::http::{Api, HttpFunction};
use chaos::{Chaos, ChaoticProcessor, ChaoticQueue, ChaoticStore};
use orders::handlers::{CreateOrder, GetOrder, Health, ListOrders, Publisher};
use orders::pagination::{PageTokens, WeakKey};
use orders::ports::{Clock, OrderQueue, OrderStore};
use orders::settings::Function;
use std::sync::Arc;
use std::time::Instant;
use telemetry::catalogue::Operation;

/// Where list-orders reads its `nextToken` signing key at init: Secrets Manager on Lambda,
/// the data directory locally.
#[async_trait::async_trait]
pub trait PageKeySource: Send + Sync {
    async fn page_key(&self) -> Result<Vec<u8>, KeySourceError>;
}

/// A key source's failure, in its own words (it names the secret or the file).
pub type KeySourceError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    PageKey(KeySourceError),
    #[error("the page token key is unusable: {0}")]
    WeakKey(#[from] WeakKey),
    #[error("{0} is not an HTTP function")]
    NotHttp(&'static str),
}

/// What every function may be built from. `store` and `queue` are the bare adapters: the
/// builders put them behind `chaos`.
#[derive(Clone)]
pub struct Ports {
    pub store: Arc<dyn OrderStore>,
    pub queue: Arc<dyn OrderQueue>,
    pub clock: Arc<dyn Clock>,
    pub chaos: Arc<Chaos>,
    pub page_key: Arc<dyn PageKeySource>,
}

impl Ports {
    /// The store behind the chaos layer's dependency faults (itself when disarmed).
    fn store(&self) -> Arc<dyn OrderStore> {
        ChaoticStore::wrap(self.store.clone(), &self.chaos)
    }

    fn queue(&self) -> Arc<dyn OrderQueue> {
        ChaoticQueue::wrap(self.queue.clone(), &self.chaos)
    }

    fn api<H>(&self, handler: H) -> Arc<Api<H>> {
        Arc::new(Api {
            handler,
            chaos: self.chaos.clone(),
        })
    }

    /// `POST /orders`.
    pub fn create_order(&self) -> Arc<dyn HttpFunction> {
        self.api(CreateOrder::new(self.store(), self.clock.clone()))
    }

    /// `GET /orders/{id}`.
    pub fn get_order(&self) -> Arc<dyn HttpFunction> {
        self.api(GetOrder::new(self.store()))
    }

    /// `GET /orders`: reads its page token key once, at init, and records how long that took.
    pub async fn list_orders(&self) -> Result<Arc<dyn HttpFunction>, BuildError> {
        let started = Instant::now();
        let key = self.page_key.page_key().await;
        telemetry::metrics::dependency_latency(Operation::GetSecret, started.elapsed());
        let tokens = PageTokens::new(key.map_err(BuildError::PageKey)?)?;
        Ok(self.api(ListOrders::new(self.store(), tokens)))
    }

    /// `GET /health`.
    pub fn health(&self) -> Arc<dyn HttpFunction> {
        self.api(Health::new(self.store(), self.queue()))
    }

    /// The HTTP function `function` (an `Err` for the processor and the publisher).
    pub async fn http(&self, function: Function) -> Result<Arc<dyn HttpFunction>, BuildError> {
        match function {
            Function::CreateOrder => Ok(self.create_order()),
            Function::GetOrder => Ok(self.get_order()),
            Function::ListOrders => self.list_orders().await,
            Function::Health => Ok(self.health()),
            Function::OrderProcessor | Function::OrderPublisher => {
                Err(BuildError::NotHttp(function.name()))
            }
        }
    }

    /// The SQS-triggered processor, wrapped from outside by the chaos layer's processor
    /// faults (batch latency, timeout and failure; poison and per-record failures).
    pub fn order_processor(&self) -> ChaoticProcessor {
        ChaoticProcessor::new(self.store(), self.clock.clone(), self.chaos.clone())
    }

    /// The stream-triggered publisher: sends each new order's message from the outbox,
    /// through the queue's dependency faults.
    pub fn order_publisher(&self) -> Publisher {
        Publisher::new(self.queue())
    }
}
