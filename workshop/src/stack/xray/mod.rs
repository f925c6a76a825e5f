//! X-Ray, locally: the span store every function's spans land in, and the queries behind
//! the console's Traces page, its service map and `workshop traces`.

pub mod query;
pub mod store;

use crate::data_dir::DataDir;
use std::time::Duration;
use telemetry::trace::otlp::{self, Otlp, OtlpError};
use telemetry::trace::{SpanSink, Tracing};

/// How often the stack's spans are written to the store (and to an OTLP endpoint): often
/// enough that a trace shows in the console the moment its order is processed.
pub const FLUSH_EVERY: Duration = Duration::from_millis(250);

#[derive(Debug, thiserror::Error)]
pub enum TracerError {
    #[error(transparent)]
    Store(#[from] store::SpanStoreError),
    #[error(transparent)]
    Otlp(#[from] OtlpError),
}

/// The stack's tracer: every span to the data dir's span store and, when
/// `OTEL_EXPORTER_OTLP_ENDPOINT` (or `..._TRACES_ENDPOINT`) is set, to that collector too.
pub fn tracer(data_dir: &DataDir) -> Result<(Tracing, store::SpanStore), TracerError> {
    let spans = store::SpanStore::open(&data_dir.traces_file())?;
    let resource = telemetry::trace::resource(
        telemetry::catalogue::SERVICE_NAME,
        vec![
            opentelemetry::KeyValue::new("cloud.provider", "aws"),
            opentelemetry::KeyValue::new("deployment.environment.name", "local"),
        ],
    );
    let mut sinks: Vec<Box<dyn SpanSink>> = vec![Box::new(spans.clone())];
    if let Some(endpoint) = otlp::endpoint_from_env() {
        sinks.push(Box::new(Otlp::new(
            &endpoint,
            Otlp::http_client(),
            &resource,
        )?));
    }
    Ok((Tracing::new(resource, sinks), spans))
}
