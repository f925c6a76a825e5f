//! SQLite adapters for the local stack: [`SqliteOrderStore`] implements the order store port
//! and [`SqliteQueue`] a durable queue with SQS semantics (visibility timeout, receive count,
//! dead-letter queue, redrive) that also implements the order queue port.

mod db;
pub mod error;
pub mod queue;
pub mod store;

pub use error::SqliteError;
pub use queue::{DeadLetter, QueueConfig, QueueCounts, QueueStats, SqliteQueue};
pub use store::SqliteOrderStore;
