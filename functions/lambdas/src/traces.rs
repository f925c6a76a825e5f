//! The tracer of a Lambda instance: OTLP/HTTP to the endpoint the environment names
//! (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` / `OTEL_EXPORTER_OTLP_ENDPOINT`). The template names
//! X-Ray's OTLP endpoint (`https://xray.<region>.amazonaws.com/v1/traces`): requests to it
//! are signed with SigV4 (service `xray`) with the function's credentials
//! ([`crate::otlp_sigv4`]). Any other `https` endpoint gets the same client unsigned, and an
//! `http` one (a collector) the plain client. Without an endpoint, spans are still made (log
//! lines carry their ids) and dropped at each flush.

use crate::otlp_sigv4::{OtlpHttps, XRAY_SERVICE, xray_region};
use aws_config::SdkConfig;
use opentelemetry::KeyValue;
use orders::settings::{Function, env};
use telemetry::catalogue::SERVICE_NAME;
use telemetry::trace::otlp::{self, Otlp, OtlpError};
use telemetry::trace::{FLUSH_TIMEOUT, SpanSink, Tracing};

/// The tracer for `function`, and why spans will not leave when an exporter cannot be built
/// (the caller logs it once the logger is up; the function still starts).
///
/// Each function is its own `service.name` (`create-order`, ...) in the `orders` namespace:
/// the trace map then draws one node per function, joined through the queue, rather than one
/// `orders` node for all six.
pub fn tracer(function: Function, aws: &SdkConfig) -> (Tracing, Option<OtlpError>) {
    let resource = telemetry::trace::resource(
        function.name(),
        vec![
            KeyValue::new("service.namespace", SERVICE_NAME),
            // Which stack: the dashboards' span queries narrow the account-wide aws/spans
            // log group to this one (dev and staging may share an account).
            KeyValue::new(
                "deployment.environment.name",
                std::env::var(env::ENVIRONMENT).unwrap_or_default(),
            ),
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
        match exporter(&endpoint, aws, &resource) {
            Ok(sink) => sinks.push(Box::new(sink)),
            Err(e) => problem = Some(e),
        }
    }
    (Tracing::new(resource, sinks), problem)
}

/// The OTLP sink for `endpoint`, with the client its address calls for.
fn exporter(
    endpoint: &str,
    aws: &SdkConfig,
    resource: &opentelemetry_sdk::Resource,
) -> Result<Otlp, OtlpError> {
    if let Some(region) = xray_region(endpoint) {
        let credentials = aws.credentials_provider().ok_or_else(|| OtlpError::Build {
            endpoint: endpoint.to_owned(),
            message: "no AWS credentials provider to sign requests to X-Ray with".to_owned(),
        })?;
        let client = OtlpHttps::signed(credentials, region, XRAY_SERVICE, FLUSH_TIMEOUT);
        return Otlp::new(endpoint, client, resource);
    }
    if endpoint.starts_with("https://") {
        return Otlp::new(endpoint, OtlpHttps::unsigned(FLUSH_TIMEOUT), resource);
    }
    Otlp::new(endpoint, Otlp::http_client(), resource)
}
