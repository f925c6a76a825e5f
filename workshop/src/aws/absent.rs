//! Without the `aws` feature: each AWS entry point says how to get it, and nothing else
//! changes (the default build compiles no AWS SDK).

use super::{Error, NotBuilt};
use crate::dlq::{Redriven, Row};
use crate::report::AlarmRow;
use crate::stack::backend::{BackendError, Wiring};
use crate::stack::cloudwatch::metric_store::MetricSummary;
use chaos::Live;

pub async fn wiring() -> Result<Wiring, BackendError> {
    Err(NotBuilt("--backend aws").into())
}

pub async fn cloudwatch_metrics(_minutes: i64) -> Result<Vec<MetricSummary>, Error> {
    Err(NotBuilt("--aws").into())
}

pub async fn cloudwatch_alarms() -> Result<Vec<AlarmRow>, Error> {
    Err(NotBuilt("--aws").into())
}

pub(crate) async fn dlq_rows(_limit: usize) -> Result<Vec<Row>, Error> {
    Err(NotBuilt("--backend aws").into())
}

pub async fn dlq_redrive() -> Result<Redriven, Error> {
    Err(NotBuilt("--backend aws").into())
}

pub async fn migrate_table() -> Result<String, Error> {
    Err(NotBuilt("migrate-table").into())
}

pub async fn chaos_read(_name: &str) -> Result<Live, Error> {
    Err(NotBuilt("--aws").into())
}

pub async fn chaos_write(_name: &str, _live: &Live) -> Result<(), Error> {
    Err(NotBuilt("--aws").into())
}
