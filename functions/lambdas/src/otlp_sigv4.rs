//! The HTTPS client of the OTLP exporter on Lambda: spans go straight to the X-Ray OTLP
//! endpoint (`https://xray.<region>.amazonaws.com/v1/traces`), each request signed with
//! SigV4 for service `xray` with the function's own credentials; no collector layer, no
//! daemon. It reuses what the AWS SDK already links (hyper 1, hyper-util, rustls through
//! hyper-rustls), so it adds no second HTTP or TLS stack to the binary.
//!
//! The TLS setup (loading the system's root certificates) waits for the first export, which
//! runs after the first response is posted: it costs the cold start nothing.

use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningError, SigningSettings, sign};
use aws_sigv4::sign::v4;
use http::header::{HOST, HeaderValue};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use opentelemetry_http::hyper::HyperClient;
use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, SystemTime};

/// The service name X-Ray's OTLP endpoint verifies signatures for.
pub const XRAY_SERVICE: &str = "xray";

/// Credentials without an expiry (environment variables, as on Lambda) are read again after
/// this long, so a rotated key is picked up; those with one are refreshed this long before.
const CREDENTIALS_REFRESH: Duration = Duration::from_secs(300);

/// The region of an X-Ray OTLP endpoint (`https://xray.<region>.amazonaws.com[.cn]/...`),
/// which is how the exporter knows to sign; `None` for any other endpoint (a collector).
pub fn xray_region(endpoint: &str) -> Option<String> {
    let uri: http::Uri = endpoint.parse().ok()?;
    if uri.scheme_str() != Some("https") {
        return None;
    }
    let host = uri.host()?;
    let rest = host.strip_prefix("xray.")?;
    let region = rest
        .strip_suffix(".amazonaws.com")
        .or_else(|| rest.strip_suffix(".amazonaws.com.cn"))?;
    let valid = !region.is_empty()
        && region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    valid.then(|| region.to_owned())
}

#[derive(Debug, thiserror::Error)]
pub enum SigV4Error {
    #[error("no AWS credentials to sign the span export with: {0}")]
    Credentials(#[from] aws_credential_types::provider::error::CredentialsError),
    #[error("could not sign the span export: {0}")]
    Signing(String),
    #[error("could not set up TLS for the span export: {0}")]
    Tls(String),
}

impl From<SigningError> for SigV4Error {
    fn from(e: SigningError) -> Self {
        SigV4Error::Signing(e.to_string())
    }
}

impl From<v4::signing_params::BuildError> for SigV4Error {
    fn from(e: v4::signing_params::BuildError) -> Self {
        SigV4Error::Signing(e.to_string())
    }
}

type Https = HyperClient<HttpsConnector<HttpConnector>>;

/// Who signs, and for which region and service.
struct Signer {
    provider: SharedCredentialsProvider,
    region: String,
    service: &'static str,
    /// The credentials last read and when, reused until [`CREDENTIALS_REFRESH`] says.
    cached: Mutex<Option<(Credentials, SystemTime)>>,
}

impl Signer {
    async fn credentials(&self) -> Result<Credentials, SigV4Error> {
        let now = SystemTime::now();
        let cached = self
            .cached
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let Some((credentials, read_at)) = cached {
            let stale_at = match credentials.expiry() {
                Some(expiry) => expiry
                    .checked_sub(CREDENTIALS_REFRESH)
                    .unwrap_or(SystemTime::UNIX_EPOCH),
                None => read_at + CREDENTIALS_REFRESH,
            };
            if now < stale_at {
                return Ok(credentials);
            }
        }
        let credentials = self.provider.provide_credentials().await?;
        *self.cached.lock().unwrap_or_else(|p| p.into_inner()) = Some((credentials.clone(), now));
        Ok(credentials)
    }
}

/// An `opentelemetry_http::HttpClient` over HTTPS, signing each request with SigV4 when it
/// has a signer ([`OtlpHttps::signed`]), plain otherwise ([`OtlpHttps::unsigned`], for an
/// HTTPS collector).
pub struct OtlpHttps {
    signer: Option<Signer>,
    timeout: Duration,
    client: OnceLock<Result<Https, String>>,
}

impl std::fmt::Debug for OtlpHttps {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtlpHttps")
            .field("region", &self.signer.as_ref().map(|s| s.region.as_str()))
            .field("service", &self.signer.as_ref().map(|s| s.service))
            .finish()
    }
}

impl OtlpHttps {
    /// Signs every request for `service` in `region` with credentials from `provider` (the
    /// `SdkConfig`'s), read once and refreshed before they expire.
    pub fn signed(
        provider: SharedCredentialsProvider,
        region: impl Into<String>,
        service: &'static str,
        timeout: Duration,
    ) -> OtlpHttps {
        OtlpHttps {
            signer: Some(Signer {
                provider,
                region: region.into(),
                service,
                cached: Mutex::new(None),
            }),
            timeout,
            client: OnceLock::new(),
        }
    }

    pub fn unsigned(timeout: Duration) -> OtlpHttps {
        OtlpHttps {
            signer: None,
            timeout,
            client: OnceLock::new(),
        }
    }

    /// The connection pool, set up on first use. `https_or_http`: the tests' local server
    /// speaks plain HTTP; the exporter only hands this client `https` endpoints.
    fn client(&self) -> Result<&Https, SigV4Error> {
        self.client
            .get_or_init(|| {
                let connector = hyper_rustls::HttpsConnectorBuilder::new()
                    .with_provider_and_native_roots(rustls::crypto::aws_lc_rs::default_provider())
                    .map_err(|e| e.to_string())?
                    .https_or_http()
                    .enable_http1()
                    .build();
                Ok(HyperClient::new(connector, self.timeout, None))
            })
            .as_ref()
            .map_err(|e| SigV4Error::Tls(e.clone()))
    }
}

#[async_trait::async_trait]
impl HttpClient for OtlpHttps {
    async fn send_bytes(&self, mut request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        if let Some(signer) = &self.signer {
            let credentials = signer.credentials().await?;
            sign_request(
                &mut request,
                credentials,
                &signer.region,
                signer.service,
                SystemTime::now(),
            )?;
        }
        Ok(self.client()?.send_bytes(request).await?)
    }
}

/// Adds the SigV4 headers (`authorization`, `x-amz-date`, `x-amz-security-token` for
/// temporary credentials) to `request`, signing its method, path, headers and body. The
/// `host` header is set first from the URI, so what is signed is what goes on the wire.
pub fn sign_request(
    request: &mut Request<Bytes>,
    credentials: Credentials,
    region: &str,
    service: &str,
    time: SystemTime,
) -> Result<(), SigV4Error> {
    if !request.headers().contains_key(HOST)
        && let Some(authority) = request.uri().authority()
    {
        let host = HeaderValue::from_str(authority.as_str())
            .map_err(|e| SigV4Error::Signing(e.to_string()))?;
        request.headers_mut().insert(HOST, host);
    }
    let identity = credentials.into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(time)
        .settings(SigningSettings::default())
        .build()?
        .into();
    let uri = request.uri().to_string();
    let headers: Vec<(&str, &str)> = request
        .headers()
        .iter()
        .filter_map(|(name, value)| value.to_str().ok().map(|v| (name.as_str(), v)))
        .collect();
    let signable = SignableRequest::new(
        request.method().as_str(),
        uri,
        headers.into_iter(),
        SignableBody::Bytes(request.body()),
    )?;
    let (instructions, _signature) = sign(signable, &params)?.into_parts();
    instructions.apply_to_request_http1x(request);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;
    use std::sync::mpsc;

    /// What the local server received.
    #[derive(Debug)]
    struct Received {
        method: String,
        path: String,
        headers: BTreeMap<String, String>,
        body: Vec<u8>,
    }

    /// A one-request HTTP server on loopback: it answers 200 with an empty protobuf body (an
    /// OTLP success) and hands over what it received.
    fn one_request_server() -> (String, mpsc::Receiver<Received>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let Ok((mut stream, _)) = listener.accept() else {
                return;
            };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let mut parts = line.split_whitespace();
            let (method, path) = (
                parts.next().unwrap_or_default().to_owned(),
                parts.next().unwrap_or_default().to_owned(),
            );
            let mut headers = BTreeMap::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((name, value)) = line.split_once(':') {
                    headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
                }
            }
            let length = headers
                .get("content-length")
                .and_then(|l| l.parse().ok())
                .unwrap_or(0);
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                .unwrap();
            let _ = tx.send(Received {
                method,
                path,
                headers,
                body,
            });
        });
        (url, rx)
    }

    fn credentials() -> Credentials {
        Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            Some("session-token".to_owned()),
            None,
            "test",
        )
    }

    fn client() -> OtlpHttps {
        OtlpHttps::signed(
            SharedCredentialsProvider::new(credentials()),
            "eu-west-1",
            XRAY_SERVICE,
            Duration::from_secs(5),
        )
    }

    /// The headers the request's `authorization` says were signed.
    fn signed_headers(auth: &str) -> Vec<&str> {
        auth.split("SignedHeaders=")
            .nth(1)
            .and_then(|s| s.split(',').next())
            .unwrap_or_default()
            .split(';')
            .collect()
    }

    /// The signature X-Ray would compute from what arrived: the received method, path, the
    /// headers the request says it signed, and body, at the request's own `x-amz-date`.
    fn expected_signature(got: &Received, base: &str) -> String {
        let date = &got.headers["x-amz-date"];
        let time = chrono::NaiveDateTime::parse_from_str(date, "%Y%m%dT%H%M%SZ")
            .unwrap()
            .and_utc();
        let mut request = Request::builder()
            .method(got.method.as_str())
            .uri(format!("{base}{}", got.path));
        for name in signed_headers(&got.headers["authorization"]) {
            // The signer adds these two itself.
            if !["x-amz-date", "x-amz-security-token"].contains(&name) {
                request = request.header(name, &got.headers[name]);
            }
        }
        let mut request = request.body(Bytes::from(got.body.clone())).unwrap();
        sign_request(
            &mut request,
            credentials(),
            "eu-west-1",
            XRAY_SERVICE,
            SystemTime::from(time),
        )
        .unwrap();
        let auth = request.headers()["authorization"].to_str().unwrap();
        auth.rsplit("Signature=").next().unwrap().to_owned()
    }

    #[tokio::test]
    async fn a_request_arrives_signed_for_xray_with_its_body_intact() {
        let (base, received) = one_request_server();
        let body = Bytes::from_static(b"\x0a\x03spans, as protobuf bytes \x00\xff");
        let request = Request::post(format!("{base}/v1/traces"))
            .header("content-type", "application/x-protobuf")
            .body(body.clone())
            .unwrap();
        let response = client().send_bytes(request).await.unwrap();
        assert_eq!(response.status(), 200);

        let got = received.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(
            (got.method.as_str(), got.path.as_str()),
            ("POST", "/v1/traces")
        );
        assert_eq!(got.body, body.to_vec(), "the body arrives byte for byte");
        let auth = &got.headers["authorization"];
        let date = &got.headers["x-amz-date"];
        let scope = format!("AKIDEXAMPLE/{}/eu-west-1/xray/aws4_request", &date[..8]);
        assert!(
            auth.starts_with(&format!(
                "AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders="
            )),
            "{auth}"
        );
        let signed = signed_headers(auth);
        for header in ["content-type", "host", "x-amz-date", "x-amz-security-token"] {
            assert!(signed.contains(&header), "{header} is signed: {auth}");
        }
        assert_eq!(got.headers["x-amz-security-token"], "session-token");
        let signature = auth.rsplit("Signature=").next().unwrap();
        assert_eq!(signature.len(), 64, "{auth}");
        assert_eq!(
            signature,
            expected_signature(&got, &base),
            "the signature verifies over what arrived"
        );
    }

    /// One finished CLIENT span, as the tracer hands it to a sink.
    fn one_span() -> telemetry::trace::SpanData {
        use opentelemetry::trace::{
            SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
        };
        let now = SystemTime::now();
        telemetry::trace::SpanData {
            span_context: SpanContext::new(
                TraceId::from_hex("6b0f671d4d7b467850e3027a010b95e6").unwrap(),
                SpanId::from_hex("00f067aa0ba902b7").unwrap(),
                TraceFlags::SAMPLED,
                false,
                TraceState::default(),
            ),
            parent_span_id: SpanId::INVALID,
            parent_span_is_remote: false,
            span_kind: SpanKind::Client,
            name: "DynamoDB.GetItem".into(),
            start_time: now,
            end_time: now,
            attributes: vec![],
            dropped_attributes_count: 0,
            events: Default::default(),
            links: Default::default(),
            status: Status::Unset,
            instrumentation_scope: Default::default(),
        }
    }

    #[tokio::test]
    async fn spans_exported_through_the_otlp_sink_arrive_signed() {
        use telemetry::trace::SpanSink;
        let (base, received) = one_request_server();
        let resource = telemetry::trace::resource("orders", vec![]);
        let sink =
            telemetry::trace::otlp::Otlp::new(&format!("{base}/v1/traces"), client(), &resource)
                .unwrap();
        sink.export(vec![one_span()]).await.unwrap();

        let got = received.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(got.headers["content-type"], "application/x-protobuf");
        assert!(
            got.body
                .windows(b"DynamoDB.GetItem".len())
                .any(|w| w == b"DynamoDB.GetItem"),
            "the span is in the protobuf body"
        );
        assert!(got.headers["authorization"].contains("/eu-west-1/xray/aws4_request"));
        assert_eq!(
            got.headers["authorization"]
                .rsplit("Signature=")
                .next()
                .unwrap(),
            expected_signature(&got, &base)
        );
    }

    #[test]
    fn only_xray_endpoints_are_signed() {
        assert_eq!(
            xray_region("https://xray.eu-west-1.amazonaws.com/v1/traces").as_deref(),
            Some("eu-west-1")
        );
        assert_eq!(
            xray_region("https://xray.cn-north-1.amazonaws.com.cn/v1/traces").as_deref(),
            Some("cn-north-1")
        );
        for other in [
            "http://xray.eu-west-1.amazonaws.com/v1/traces",
            "http://127.0.0.1:4318/v1/traces",
            "https://collector.example.com/v1/traces",
            "https://xray.amazonaws.com/v1/traces",
            "https://logs.eu-west-1.amazonaws.com/v1/logs",
            "not a url",
        ] {
            assert_eq!(xray_region(other), None, "{other}");
        }
    }
}
