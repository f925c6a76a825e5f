//! Which adapters the local runtime runs on. `local` (the default): SQLite files in the data
//! dir. `aws`: DynamoDB and SQS through aws-config, so `AWS_ENDPOINT_URL` points it at moto
//! server or LocalStack (or, with a deployed stack's names, at AWS itself).

use super::sqs::event_source::Consumer;
use crate::data_dir::{DataDir, DataDirError};
use orders::ports::{Clock, OrderQueue, OrderStore, Outbox};
use orders::settings::{QueueSettings, env};
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Backend {
    /// SQLite files in the data dir: no AWS account, nothing else to install.
    #[default]
    Local,
    /// DynamoDB and SQS at AWS_ENDPOINT_URL (moto server, LocalStack) or a deployed stack.
    Aws,
}

/// Table and queue names `--backend aws` provisions on an emulator when none are given.
pub const EMULATOR_TABLE: &str = "orders-local";
pub const EMULATOR_QUEUE: &str = "orders-local";
pub const EMULATOR_DLQ: &str = "orders-local-dlq";

#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error(transparent)]
    Data(#[from] DataDirError),
    #[error(
        "--backend aws needs {} and {} (a deployed stack's outputs), or {} to provision them on an emulator",
        env::ORDERS_TABLE,
        env::ORDERS_QUEUE_URL,
        env::AWS_ENDPOINT_URL
    )]
    NoTarget,
    #[error("could not provision the emulator's table and queues: {0}")]
    Provision(String),
    #[error(transparent)]
    NotBuilt(#[from] crate::aws::NotBuilt),
}

pub struct Wiring {
    pub store: Arc<dyn OrderStore>,
    pub queue: Arc<dyn OrderQueue>,
    pub consumer: Arc<dyn Consumer>,
    /// The outbox the publisher is fed from: the SQLite store's, or an emulator's stream.
    /// `None` on a deployed stack, whose own publisher reads its stream (the local stack
    /// runs none, so no order is sent twice).
    pub outbox: Option<Arc<dyn Outbox>>,
    /// The local queue, whose gauges the stack samples into its metric store (SQS publishes
    /// its own to CloudWatch, so the aws backend has none).
    pub local_queue: Option<Arc<orders_sqlite::SqliteQueue>>,
    /// One line for the start-up banner.
    pub describe: String,
}

/// An environment variable, unset when empty (as a blank template parameter leaves it).
pub fn env_value(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

pub async fn wire(
    backend: Backend,
    data_dir: &DataDir,
    queue: &QueueSettings,
    clock: Arc<dyn Clock>,
) -> Result<Wiring, BackendError> {
    match backend {
        Backend::Local => {
            let store = Arc::new(data_dir.open_store()?);
            let q = Arc::new(data_dir.open_queue(queue, clock)?);
            Ok(Wiring {
                store: store.clone(),
                outbox: Some(store),
                queue: q.clone(),
                consumer: q.clone(),
                local_queue: Some(q),
                describe: format!("SQLite in {}", data_dir.path().display()),
            })
        }
        Backend::Aws => Ok(crate::aws::wiring().await?),
    }
}
