//! The tracer of a Lambda instance: OTLP/HTTP to the endpoint the environment names
//! (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` / `OTEL_EXPORTER_OTLP_ENDPOINT`). Without one, spans
//! are still made (log lines carry their ids) and dropped at each flush.

use aws_config::SdkConfig;
use opentelemetry::KeyValue;
use orders::settings::Function;
use telemetry::catalogue::SERVICE_NAME;
use telemetry::trace::otlp::{self, Otlp};
use telemetry::trace::{SpanSink, Tracing};

/// The tracer for `function`, and why spans will not leave when an exporter cannot be built
/// (the caller logs it once the logger is up; the function still starts).
pub fn tracer(function: Function, _aws: &SdkConfig) -> (Tracing, Option<otlp::OtlpError>) {
    let resource = telemetry::trace::resource(
        SERVICE_NAME,
        vec![
            KeyValue::new("cloud.provider", "aws"),
            KeyValue::new("cloud.platform", "aws_lambda"),
            KeyValue::new("faas.name", function.name()),
            KeyValue::new(
                "cloud.region",
                std::env::var("AWS_REGION").unwrap_or_default(),
            ),
        ],
    );
    let mut sinks: Vec<Box<dyn SpanSink>> = Vec::new();
    let mut problem = None;
    if let Some(endpoint) = otlp::endpoint_from_env() {
        match Otlp::new(&endpoint, Otlp::http_client(), &resource) {
            Ok(sink) => sinks.push(Box::new(sink)),
            Err(e) => problem = Some(e),
        }
    }
    (Tracing::new(resource, sinks), problem)
}
