//! The OTLP/HTTP exporter from the standard environment: `OTEL_EXPORTER_OTLP_ENDPOINT` (or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`), `OTEL_EXPORTER_OTLP_PROTOCOL` (`http/protobuf`,
//! the default and the only protocol spoken: gRPC would add a second HTTP/2 stack to every
//! Lambda), `OTEL_EXPORTER_OTLP_HEADERS`. The HTTP client is given by the host: plain HTTP
//! locally, SigV4-signed HTTPS to X-Ray on Lambda.

use super::{SpanData, SpanSink};
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::trace::SpanExporter as _;
use std::future::Future;
use std::pin::Pin;

pub const ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
pub const TRACES_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
pub const PROTOCOL: &str = "OTEL_EXPORTER_OTLP_PROTOCOL";
pub const HTTP_PROTOBUF: &str = "http/protobuf";

#[derive(Debug, thiserror::Error)]
pub enum OtlpError {
    #[error(
        "{PROTOCOL}={0} is not supported; this kit exports over http/protobuf (unset it, or set it to http/protobuf)"
    )]
    Protocol(String),
    #[error("could not build the OTLP exporter for {endpoint}: {message}")]
    Build { endpoint: String, message: String },
}

/// The traces endpoint named by the environment, when tracing export is asked for.
pub fn endpoint_from_env() -> Option<String> {
    let read = |name| {
        std::env::var(name)
            .ok()
            .filter(|v: &String| !v.trim().is_empty())
    };
    read(TRACES_ENDPOINT)
        .or_else(|| read(ENDPOINT).map(|base| format!("{}/v1/traces", base.trim_end_matches('/'))))
}

/// Checks `OTEL_EXPORTER_OTLP_PROTOCOL`.
pub fn protocol_from_env() -> Result<(), OtlpError> {
    match std::env::var(PROTOCOL) {
        Ok(p) if !p.trim().is_empty() && p.trim() != HTTP_PROTOBUF => Err(OtlpError::Protocol(p)),
        _ => Ok(()),
    }
}

/// An OTLP/HTTP protobuf sink posting to `endpoint` (a full `/v1/traces` URL) with `client`.
pub struct Otlp {
    endpoint: String,
    exporter: opentelemetry_otlp::SpanExporter,
}

impl Otlp {
    pub fn new<C>(
        endpoint: &str,
        client: C,
        resource: &opentelemetry_sdk::Resource,
    ) -> Result<Otlp, OtlpError>
    where
        C: opentelemetry_http::HttpClient + 'static,
    {
        protocol_from_env()?;
        let mut exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_http_client(client)
            .with_endpoint(endpoint)
            .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
            .with_timeout(super::FLUSH_TIMEOUT)
            .build()
            .map_err(|e| OtlpError::Build {
                endpoint: endpoint.to_owned(),
                message: e.to_string(),
            })?;
        exporter.set_resource(resource);
        Ok(Otlp {
            endpoint: endpoint.to_owned(),
            exporter,
        })
    }

    /// A plain-HTTP client (a collector on this machine or the local network).
    pub fn http_client() -> impl opentelemetry_http::HttpClient + 'static {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        opentelemetry_http::hyper::HyperClient::new(connector, super::FLUSH_TIMEOUT, None)
    }
}

impl SpanSink for Otlp {
    fn name(&self) -> &str {
        &self.endpoint
    }
    fn export(
        &self,
        batch: Vec<SpanData>,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + '_>> {
        Box::pin(async move { self.exporter.export(batch).await.map_err(|e| e.to_string()) })
    }
}
