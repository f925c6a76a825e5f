//! An OTLP/HTTP receiver (`POST /v1/traces`, protobuf) on a free loopback port: where the
//! traced twins of the functions export their spans. It decodes every request with the
//! official schema and counts the spans per `service.name`, so a traced run that exported
//! nothing (or something that is not OTLP) fails instead of measuring tracing off.

use crate::error::BenchError;
use axum::body::Bytes;
use axum::http::StatusCode;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use prost::Message as _;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// The running receiver; dropped, it stops.
pub struct OtlpSink {
    endpoint: String,
    spans: Arc<Mutex<BTreeMap<String, u64>>>,
    server: tokio::task::JoinHandle<()>,
}

impl OtlpSink {
    pub async fn start() -> Result<OtlpSink, BenchError> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| BenchError::step("binding the OTLP receiver on 127.0.0.1", e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| BenchError::step("binding the OTLP receiver on 127.0.0.1", e))?;
        let spans: Arc<Mutex<BTreeMap<String, u64>>> = Arc::default();
        let counts = spans.clone();
        let app = axum::Router::new().route(
            "/v1/traces",
            axum::routing::post(move |body: Bytes| {
                let counts = counts.clone();
                async move { receive(&counts, body) }
            }),
        );
        let server = tokio::spawn(async move {
            // Serving ends only when the task is aborted (on drop).
            let _ = axum::serve(listener, app).await;
        });
        Ok(OtlpSink {
            endpoint: format!("http://{addr}/v1/traces"),
            spans,
            server,
        })
    }

    /// The value of `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` for a function.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Spans received so far from `service` (a function's `service.name`).
    pub fn spans_of(&self, service: &str) -> u64 {
        let counts = self.spans.lock().unwrap_or_else(|p| p.into_inner());
        counts.get(service).copied().unwrap_or(0)
    }
}

impl Drop for OtlpSink {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Counts one request's spans; a body that is not an `ExportTraceServiceRequest` is refused
/// (400), which the exporter reports as a failed export.
fn receive(counts: &Mutex<BTreeMap<String, u64>>, body: Bytes) -> (StatusCode, Vec<u8>) {
    let Ok(request) = ExportTraceServiceRequest::decode(body) else {
        return (StatusCode::BAD_REQUEST, Vec::new());
    };
    let mut counts = counts.lock().unwrap_or_else(|p| p.into_inner());
    for rs in request.resource_spans {
        let service = rs
            .resource
            .iter()
            .flat_map(|r| &r.attributes)
            .find(|kv| kv.key == "service.name")
            .and_then(|kv| kv.value.as_ref()?.value.as_ref())
            .map(|v| match v {
                Value::StringValue(s) => s.clone(),
                other => format!("{other:?}"),
            })
            .unwrap_or_default();
        let n: usize = rs.scope_spans.iter().map(|ss| ss.spans.len()).sum();
        *counts.entry(service).or_default() += n as u64;
    }
    // An empty ExportTraceServiceResponse: everything accepted.
    (StatusCode::OK, Vec::new())
}
