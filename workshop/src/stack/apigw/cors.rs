//! CORS as an HTTP API with a `CorsConfiguration` answers it ([`orders::settings::CORS`], the
//! same definition `template.yaml` holds):
//!
//! - a preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) is answered by
//!   the gateway, never by a function: `204` with the configured origin, methods, headers and
//!   max age when the origin, the method and every requested header are allowed; `204`
//!   without any `access-control-*` header when not, so the browser refuses the call;
//! - any other `OPTIONS` is `204` without CORS headers (no route takes `OPTIONS`);
//! - every other response to a request with an `Origin` carries `access-control-allow-origin`
//!   and `access-control-expose-headers`, the function's own `access-control-*` headers
//!   dropped (API Gateway ignores them once CORS is configured); without an `Origin`, none.
//!
//! What AWS documents, and what captures of real answers show, is written down in
//! `docs/architecture.md` ("The local gateway's CORS").

use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use orders::settings::Cors;

/// The gateway's answer to an `OPTIONS` request.
pub fn options(cors: &Cors, request: &HeaderMap) -> (StatusCode, HeaderMap) {
    let mut out = HeaderMap::new();
    if let Some(origin) = allowed_origin(cors, request)
        && let Some(method) = request.get(header::ACCESS_CONTROL_REQUEST_METHOD)
        && allows_method(cors, method)
        && allows_headers(cors, request)
    {
        out.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        insert_list(
            &mut out,
            header::ACCESS_CONTROL_ALLOW_METHODS,
            &sorted(cors.allow_methods),
        );
        insert_list(
            &mut out,
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            cors.allow_headers,
        );
        out.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from(cors.max_age_seconds),
        );
        if !cors.allow_origins.contains(&"*") {
            out.insert(header::VARY, HeaderValue::from_static("origin"));
        }
    }
    (StatusCode::NO_CONTENT, out)
}

/// The CORS headers of an answer to a request that is not `OPTIONS`.
pub fn decorate(cors: &Cors, request: &HeaderMap, response: &mut HeaderMap) {
    let theirs: Vec<HeaderName> = response
        .keys()
        .filter(|k| k.as_str().starts_with("access-control-"))
        .cloned()
        .collect();
    for k in theirs {
        response.remove(k);
    }
    let Some(origin) = allowed_origin(cors, request) else {
        return;
    };
    response.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    insert_list(
        response,
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        cors.expose_headers,
    );
    if !cors.allow_origins.contains(&"*") {
        response.append(header::VARY, HeaderValue::from_static("origin"));
    }
}

/// `*`, or the request's origin when it is listed; `None` without an allowed `Origin`.
fn allowed_origin(cors: &Cors, request: &HeaderMap) -> Option<HeaderValue> {
    let origin = request.get(header::ORIGIN)?;
    if cors.allow_origins.contains(&"*") {
        return Some(HeaderValue::from_static("*"));
    }
    let given = origin.to_str().ok()?;
    cors.allow_origins
        .iter()
        .any(|o| o.eq_ignore_ascii_case(given))
        .then(|| origin.clone())
}

fn allows_method(cors: &Cors, requested: &HeaderValue) -> bool {
    let Ok(requested) = requested.to_str() else {
        return false;
    };
    // OPTIONS itself is never what a preflight asks for.
    requested != Method::OPTIONS.as_str()
        && cors
            .allow_methods
            .iter()
            .any(|m| *m == "*" || *m == requested)
}

/// Every header of `Access-Control-Request-Headers` is allowed (names are case-insensitive).
fn allows_headers(cors: &Cors, request: &HeaderMap) -> bool {
    if cors.allow_headers.contains(&"*") {
        return true;
    }
    request
        .get_all(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .iter()
        .all(|v| {
            v.to_str().is_ok_and(|list| {
                list.split(',')
                    .map(str::trim)
                    .filter(|h| !h.is_empty())
                    .all(|h| cors.allow_headers.iter().any(|a| a.eq_ignore_ascii_case(h)))
            })
        })
}

fn sorted(list: &[&'static str]) -> Vec<&'static str> {
    let mut v = list.to_vec();
    v.sort_unstable();
    v
}

fn insert_list(headers: &mut HeaderMap, name: HeaderName, list: &[&str]) {
    if let Ok(v) = HeaderValue::from_str(&list.join(",")) {
        headers.insert(name, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use orders::settings::CORS;

    fn request(pairs: &[(&str, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    HeaderName::from_bytes(k.as_bytes()).unwrap(),
                    HeaderValue::from_str(v).unwrap(),
                )
            })
            .collect()
    }

    fn get<'h>(h: &'h HeaderMap, name: &str) -> Option<&'h str> {
        h.get(name).map(|v| v.to_str().unwrap())
    }

    #[test]
    fn an_allowed_preflight_gets_the_configuration() {
        let (status, h) = options(
            &CORS,
            &request(&[
                ("origin", "http://app.example"),
                ("access-control-request-method", "POST"),
                (
                    "access-control-request-headers",
                    "Content-Type, Idempotency-Key",
                ),
            ]),
        );
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert_eq!(get(&h, "access-control-allow-origin"), Some("*"));
        assert_eq!(
            get(&h, "access-control-allow-methods"),
            Some("GET,OPTIONS,POST")
        );
        assert_eq!(
            get(&h, "access-control-allow-headers"),
            Some("content-type,idempotency-key,x-correlation-id")
        );
        assert_eq!(get(&h, "access-control-max-age"), Some("600"));
        assert_eq!(get(&h, "access-control-expose-headers"), None);
        assert_eq!(get(&h, "vary"), None);
    }

    #[test]
    fn a_preflight_outside_the_configuration_gets_no_cors_headers() {
        for asked in [
            vec![
                ("access-control-request-method", "POST"),
                ("access-control-request-headers", "content-type,x-evil"),
            ],
            vec![("access-control-request-method", "DELETE")],
            vec![("access-control-request-method", "OPTIONS")],
            // Not a preflight at all.
            vec![],
        ] {
            let mut pairs = vec![("origin", "http://app.example")];
            pairs.extend(asked.iter().copied());
            let (status, h) = options(&CORS, &request(&pairs));
            assert_eq!(status, StatusCode::NO_CONTENT);
            assert!(h.is_empty(), "{asked:?}: {h:?}");
        }
    }

    #[test]
    fn answers_carry_origin_and_exposed_headers_only_for_a_cross_origin_request() {
        let mut response = request(&[
            ("location", "/orders/1"),
            ("access-control-allow-origin", "http://lambda-says.example"),
        ]);
        decorate(
            &CORS,
            &request(&[("origin", "http://app.example")]),
            &mut response,
        );
        assert_eq!(get(&response, "access-control-allow-origin"), Some("*"));
        assert_eq!(
            get(&response, "access-control-expose-headers"),
            Some("location,x-correlation-id,idempotent-replayed")
        );
        let mut response = request(&[("access-control-allow-origin", "*")]);
        decorate(&CORS, &request(&[]), &mut response);
        assert!(response.is_empty(), "{response:?}");
    }

    #[test]
    fn listed_origins_are_echoed_and_vary_by_origin() {
        let cors = Cors {
            allow_origins: &["https://shop.example"],
            ..CORS
        };
        let shop = request(&[
            ("origin", "https://shop.example"),
            ("access-control-request-method", "GET"),
        ]);
        let (_, h) = options(&cors, &shop);
        assert_eq!(
            get(&h, "access-control-allow-origin"),
            Some("https://shop.example")
        );
        assert_eq!(get(&h, "vary"), Some("origin"));
        let other = request(&[
            ("origin", "https://evil.example"),
            ("access-control-request-method", "GET"),
        ]);
        assert!(options(&cors, &other).1.is_empty());
    }
}
