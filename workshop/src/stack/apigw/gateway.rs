//! API Gateway HTTP API emulation: each HTTP request becomes a payload-format-2.0 event, is
//! deserialised by `lambda_http` and handed to the function through the same `Adapter` that
//! `lambda_http::run` uses on AWS, and the function's response is turned back into HTTP the
//! way API Gateway does it, errors included.

use crate::stack::cloudwatch::metric_store::MetricStore;
use crate::stack::lambda::pool::{FunctionPool, InvokeError};
use axum::body::Body as AxumBody;
use axum::extract::{Request as AxumRequest, State};
use axum::response::Response as AxumResponse;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use lambda_http::request::LambdaRequest;
use lambda_http::{Adapter, Body, Context, LambdaEvent, Request, Response, Service, service_fn};
use order_functions::HttpFunction;
use orders::settings::{CORS, Function, ROUTES, Route};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};
use telemetry::trace::TRACEPARENT;
use tracing::{Instrument, error, info};

/// API Gateway HTTP API's payload limit.
pub const MAX_PAYLOAD_BYTES: usize = 10 * 1024 * 1024;
use alarms::catalog::names::local::API_ID;

pub type HttpPools = HashMap<Function, Arc<FunctionPool<dyn HttpFunction>>>;

#[derive(Clone)]
pub struct Gateway {
    pools: Arc<HttpPools>,
    metrics: Arc<MetricStore>,
}

/// How long the function took, carried from `route` to the access log and the metrics.
#[derive(Clone, Copy)]
struct IntegrationLatency(std::time::Duration);

impl Gateway {
    pub fn new(pools: HttpPools, metrics: Arc<MetricStore>) -> Self {
        Gateway {
            pools: Arc::new(pools),
            metrics,
        }
    }

    pub fn router(self) -> axum::Router {
        axum::Router::new().fallback(serve).with_state(self)
    }
}

/// API Gateway's own error responses.
fn gateway_error(status: u16, message: &str, request_id: &str) -> AxumResponse {
    let mut response = AxumResponse::new(AxumBody::from(json!({ "message": message }).to_string()));
    *response.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    if let Ok(v) = http::HeaderValue::from_str(request_id) {
        headers.insert("apigw-requestid", v);
    }
    response
}

/// Matches a path against the route templates (`/orders/{id}`).
pub fn match_route(method: &str, path: &str) -> Option<(&'static Route, Map<String, Value>)> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    ROUTES.iter().find_map(|route| {
        if route.method != method {
            return None;
        }
        let template: Vec<&str> = route.path.split('/').collect();
        if template.len() != segments.len() {
            return None;
        }
        let mut params = Map::new();
        for (t, s) in template.iter().zip(&segments) {
            match t.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
                Some(name) if !s.is_empty() => {
                    let decoded = form_urlencoded::parse(format!("v={s}").as_bytes())
                        .next()
                        .map(|(_, v)| v.into_owned())
                        .unwrap_or_else(|| (*s).to_owned());
                    params.insert(name.to_owned(), Value::String(decoded));
                }
                Some(_) => return None,
                None if t == s => {}
                None => return None,
            }
        }
        Some((route, params))
    })
}

fn request_id() -> String {
    // API Gateway's request ids look like `Abc123defGHIjkl=`.
    let id: u128 = rand::random();
    let mut s = BASE64.encode(id.to_be_bytes());
    s.truncate(16);
    s.replace(['+', '/'], "x")
}

async fn serve(State(gw): State<Gateway>, req: AxumRequest) -> AxumResponse {
    let started = Instant::now();
    let api_request_id = request_id();
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    // API Gateway's SERVER span, the root of an order's trace (or the child of the client's
    // own trace, when the request carries a `traceparent`).
    let route = match_route(&method, &path).map(|(r, _)| r.path);
    let span = telemetry::trace::spans::http_server(&method, route, &path);
    let client_context = req.headers().get(TRACEPARENT).and_then(|v| v.to_str().ok());
    telemetry::trace::Carrier::from_parts(client_context, None).continue_in(&span);
    let request_headers = req.headers().clone();
    let mut response = if req.method() == http::Method::OPTIONS {
        // No route takes OPTIONS: the gateway answers CORS itself, no function runs.
        let (status, headers) = super::cors::options(&CORS, &request_headers);
        let mut r = AxumResponse::new(AxumBody::empty());
        *r.status_mut() = status;
        *r.headers_mut() = headers;
        r
    } else {
        let mut r = gw
            .route(req, &api_request_id)
            .instrument(span.clone())
            .await;
        super::cors::decorate(&CORS, &request_headers, r.headers_mut());
        r
    };
    if let Ok(v) = http::HeaderValue::from_str(&api_request_id) {
        response.headers_mut().insert("apigw-requestid", v);
    }
    let integration = response
        .extensions()
        .get::<IntegrationLatency>()
        .map(|i| i.0);
    gw.metrics
        .api_request(response.status().as_u16(), started.elapsed(), integration);
    telemetry::trace::spans::http_status(&span, response.status().as_u16());
    span.in_scope(|| {
        info!(
            kind = "apigw.access",
            request_id = %api_request_id,
            http_method = %method,
            path = %path,
            http_status = response.status().as_u16(),
            latency_ms = telemetry::round::ms(started.elapsed()),
            "{method} {path} {}",
            response.status().as_u16()
        )
    });
    response
}

impl Gateway {
    async fn route(&self, req: AxumRequest, api_request_id: &str) -> AxumResponse {
        let (parts, body) = req.into_parts();
        let Some((route, path_params)) = match_route(parts.method.as_str(), parts.uri.path())
        else {
            return gateway_error(404, "Not Found", api_request_id);
        };
        let Some(pool) = self.pools.get(&route.function).cloned() else {
            return gateway_error(404, "Not Found", api_request_id);
        };
        let body = match axum::body::to_bytes(body, MAX_PAYLOAD_BYTES).await {
            Ok(b) => b,
            Err(_) => return gateway_error(413, "Request Entity Too Large", api_request_id),
        };
        let event = v2_event(&parts, &body, route, path_params, api_request_id);
        let lambda_request: LambdaRequest = match serde_json::from_value(event) {
            Ok(r) => r,
            Err(e) => {
                error!(error = %e, "could not build the API Gateway event");
                return gateway_error(500, "Internal Server Error", api_request_id);
            }
        };
        let function_name = pool.name;
        let invoked = Instant::now();
        let outcome = pool
            .invoke(move |handler, invocation| {
                invoke_function(handler, invocation, function_name, lambda_request)
            })
            .await;
        let integration = IntegrationLatency(invoked.elapsed());
        let mut response = match outcome {
            Ok(payload) => to_http(&payload, api_request_id),
            // API Gateway answers 500 when Lambda throttles or the function fails, 503 when
            // the integration times out; the client never sees Lambda's own error.
            Err(
                InvokeError::Throttled { .. }
                | InvokeError::Crashed(_)
                | InvokeError::Failed(_)
                | InvokeError::InitFailed(_),
            ) => gateway_error(500, "Internal Server Error", api_request_id),
            Err(InvokeError::TimedOut(_)) => {
                gateway_error(503, "Service Unavailable", api_request_id)
            }
        };
        response.extensions_mut().insert(integration);
        response
    }
}

/// One invocation, as `lambda_http::run` performs it on AWS: the event goes through the
/// crate's `Adapter` (request conversion, Lambda context) and its response type.
fn invoke_function(
    handler: Arc<dyn HttpFunction>,
    invocation: crate::stack::lambda::pool::Invocation,
    function_name: &'static str,
    lambda_request: LambdaRequest,
) -> lambda_http::BoxFuture<'static, Result<Value, serde_json::Error>> {
    let config = lambda_http::lambda_runtime::Config {
        function_name: function_name.to_owned(),
        ..Default::default()
    };
    let mut headers = http::HeaderMap::new();
    let deadline_ms = SystemTime::now()
        .checked_add(
            invocation
                .deadline
                .saturating_duration_since(Instant::now()),
        )
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_millis())
        .unwrap_or_default();
    if let Ok(v) = http::HeaderValue::from_str(&deadline_ms.to_string()) {
        headers.insert("lambda-runtime-deadline-ms", v);
    }
    let context =
        Context::new(&invocation.request_id, Arc::new(config), &headers).unwrap_or_default();
    let service = service_fn(move |req: Request| {
        let handler = handler.clone();
        async move { Ok::<_, Infallible>(handler.call(req).await) }
    });
    let mut adapter: Adapter<'static, Response<Body>, _> = Adapter::from(service);
    // `service_fn` is always ready, so `call` needs no `poll_ready` first.
    let response = adapter.call(LambdaEvent::new(lambda_request, context));
    Box::pin(async move {
        match response.await {
            Ok(response) => serde_json::to_value(response),
            Err(never) => match never {},
        }
    })
}

fn v2_event(
    parts: &http::request::Parts,
    body: &[u8],
    route: &Route,
    path_params: Map<String, Value>,
    api_request_id: &str,
) -> Value {
    let mut headers = Map::new();
    let mut cookies = Vec::new();
    for (name, value) in &parts.headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        if name == http::header::COOKIE {
            cookies.extend(value.split(';').map(|c| Value::String(c.trim().to_owned())));
            continue;
        }
        // HTTP API joins repeated headers with commas.
        match headers.get_mut(name.as_str()) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&value);
            }
            _ => {
                headers.insert(name.as_str().to_owned(), Value::String(value));
            }
        }
    }
    let raw_query = parts.uri.query().unwrap_or_default();
    let mut query = Map::new();
    for (k, v) in form_urlencoded::parse(raw_query.as_bytes()) {
        // Repeated parameters are joined with commas, as HTTP API does.
        match query.get_mut(k.as_ref()) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&v);
            }
            _ => {
                query.insert(k.into_owned(), Value::String(v.into_owned()));
            }
        }
    }
    let (body, is_base64) = match std::str::from_utf8(body) {
        _ if body.is_empty() => (Value::Null, false),
        Ok(text) => (Value::String(text.to_owned()), false),
        Err(_) => (Value::String(BASE64.encode(body)), true),
    };
    let now = chrono::Utc::now();
    let host = headers
        .get("host")
        .and_then(Value::as_str)
        .unwrap_or("127.0.0.1")
        .to_owned();
    let user_agent = headers
        .get("user-agent")
        .cloned()
        .unwrap_or(Value::String(String::new()));
    json!({
        "version": "2.0",
        "routeKey": route.key(),
        "rawPath": parts.uri.path(),
        "rawQueryString": raw_query,
        "cookies": if cookies.is_empty() { Value::Null } else { Value::Array(cookies) },
        "headers": headers,
        "queryStringParameters": if query.is_empty() { Value::Null } else { Value::Object(query) },
        "pathParameters": if path_params.is_empty() { Value::Null } else { Value::Object(path_params) },
        "requestContext": {
            "accountId": "000000000000",
            "apiId": API_ID,
            "domainName": host,
            "domainPrefix": API_ID,
            "http": {
                "method": parts.method.as_str(),
                "path": parts.uri.path(),
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": user_agent,
            },
            "requestId": api_request_id,
            "routeKey": route.key(),
            "stage": "$default",
            "time": now.format("%d/%b/%Y:%H:%M:%S %z").to_string(),
            "timeEpoch": now.timestamp_millis(),
        },
        "body": body,
        "isBase64Encoded": is_base64,
    })
}

/// Turns the function's payload-2.0 response into HTTP, as API Gateway does.
fn to_http(payload: &Value, api_request_id: &str) -> AxumResponse {
    let Some(status) = payload
        .get("statusCode")
        .and_then(Value::as_u64)
        .and_then(|s| u16::try_from(s).ok())
        .and_then(|s| http::StatusCode::from_u16(s).ok())
    else {
        return gateway_error(500, "Internal Server Error", api_request_id);
    };
    let body = match payload.get("body").and_then(Value::as_str) {
        None => Vec::new(),
        Some(b) if payload.get("isBase64Encoded").and_then(Value::as_bool) == Some(true) => {
            match BASE64.decode(b) {
                Ok(bytes) => bytes,
                Err(_) => return gateway_error(500, "Internal Server Error", api_request_id),
            }
        }
        Some(b) => b.as_bytes().to_vec(),
    };
    let mut response = AxumResponse::new(AxumBody::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    if let Some(Value::Object(map)) = payload.get("headers") {
        for (k, v) in map {
            if let (Ok(name), Some(Ok(value))) = (
                http::HeaderName::from_bytes(k.as_bytes()),
                v.as_str().map(http::HeaderValue::from_str),
            ) {
                headers.append(name, value);
            }
        }
    }
    if let Some(Value::Array(cookies)) = payload.get("cookies") {
        for c in cookies.iter().filter_map(Value::as_str) {
            if let Ok(v) = http::HeaderValue::from_str(c) {
                headers.append(http::header::SET_COOKIE, v);
            }
        }
    }
    if let Ok(v) = http::HeaderValue::from_str(api_request_id) {
        headers.insert("apigw-requestid", v);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_like_api_gateway() {
        let (r, p) = match_route("GET", "/orders/abc").unwrap();
        assert_eq!(r.function, Function::GetOrder);
        assert_eq!(p["id"], "abc");
        assert_eq!(
            match_route("GET", "/orders").unwrap().0.function,
            Function::ListOrders
        );
        assert_eq!(
            match_route("POST", "/orders").unwrap().0.function,
            Function::CreateOrder
        );
        assert_eq!(
            match_route("GET", "/health").unwrap().0.function,
            Function::Health
        );
        assert!(match_route("DELETE", "/orders/abc").is_none());
        assert!(match_route("GET", "/orders/a/b").is_none());
        assert!(match_route("GET", "/nope").is_none());
    }
}
