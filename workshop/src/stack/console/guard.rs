//! What the control plane refuses: the requests a page on another site can make a browser
//! send to 127.0.0.1 while the attendee browses the web.
//!
//! - DNS rebinding: a hostile name that resolves to 127.0.0.1 reaches this port with its own
//!   name in `Host`. Only loopback names and IP addresses (which no DNS answer can put there)
//!   with the stack's port, and the names given with `--allow-host`, are answered.
//! - Cross-site requests (CSRF): a state-changing request with an `Origin` other than the
//!   console's own, or whose body is not `application/json` (a form or `text/plain` POST is
//!   what a browser sends without a preflight). Requests without an `Origin` come from the
//!   CLI, curl or Postman, not from a page.
//!
//! A refusal is `403 {"error","code"}`, logged with the offending header and counted
//! ([`Guard::refusals`], shown by `/api/about`).

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, Method, StatusCode, header};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// The flag of `workshop up` that adds a name to the accepted `Host`s.
pub const ALLOW_HOST_FLAG: &str = "--allow-host";

/// The names every stack answers to, with its port.
pub const LOOPBACK_NAMES: [&str; 3] = ["127.0.0.1", "localhost", "[::1]"];

/// Why a request was refused; each reason is a `code` of the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reason {
    Host,
    Origin,
    ContentType,
}

impl Reason {
    pub const ALL: [Reason; 3] = [Reason::Host, Reason::Origin, Reason::ContentType];

    pub const fn code(self) -> &'static str {
        match self {
            Reason::Host => "FORBIDDEN_HOST",
            Reason::Origin => "FORBIDDEN_ORIGIN",
            Reason::ContentType => "UNSUPPORTED_CONTENT_TYPE",
        }
    }
}

/// One refused request: the reason and the message naming the problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub reason: Reason,
    pub message: String,
}

/// A name given with `--allow-host`: `name` (any port: a tunnel may map the port) or
/// `name:port` (that port only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedHost {
    name: String,
    port: Option<u16>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "{ALLOW_HOST_FLAG} {given:?}: {problem}; give a host name or address as a browser puts it in the Host header, e.g. workshop-vm.example or workshop-vm.example:3001"
)]
pub struct AllowHostError {
    given: String,
    problem: &'static str,
}

impl std::str::FromStr for AllowedHost {
    type Err = AllowHostError;

    fn from_str(given: &str) -> Result<AllowedHost, AllowHostError> {
        let refuse = |problem| AllowHostError {
            given: given.to_owned(),
            problem,
        };
        if given.contains("://") || given.contains('/') {
            return Err(refuse("a host, not a URL"));
        }
        let (name, port) = split_host(given).ok_or_else(|| refuse("not a host[:port]"))?;
        if name.is_empty() || name == "*" || name.contains(['*', ' ', ',']) {
            return Err(refuse("one name, without wildcards"));
        }
        if name.contains(':') && !name.starts_with('[') {
            return Err(refuse(
                "an IPv6 address goes in brackets, as in [fd00::1]:3001",
            ));
        }
        Ok(AllowedHost {
            name: name.to_ascii_lowercase(),
            port,
        })
    }
}

/// `host[:port]` as a `Host` header carries it (`[v6]:port` for IPv6), or `None` when the port
/// is not a number.
fn split_host(value: &str) -> Option<(&str, Option<u16>)> {
    let (name, port) = if value.starts_with('[') {
        let end = value.find(']')?;
        let (name, rest) = value.split_at(end + 1);
        match rest {
            "" => (name, None),
            _ => (name, Some(rest.strip_prefix(':')?)),
        }
    } else {
        match value.rsplit_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (value, None),
        }
    };
    match port {
        None => Some((name, None)),
        Some(p) => p.parse().ok().map(|p| (name, Some(p))),
    }
}

/// The control plane's gate, one per stack.
#[derive(Debug)]
pub struct Guard {
    port: u16,
    allowed: Vec<AllowedHost>,
    refused: [AtomicU64; 3],
}

impl Guard {
    pub fn new(port: u16, allowed: Vec<AllowedHost>) -> Guard {
        Guard {
            port,
            allowed,
            refused: Default::default(),
        }
    }

    /// `Ok` when the request may be answered.
    pub fn check(&self, method: &Method, headers: &HeaderMap) -> Result<(), Refusal> {
        let host = self.host(headers)?;
        if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
            return Ok(());
        }
        if let Some(origin) = headers.get(header::ORIGIN) {
            let origin = origin.to_str().unwrap_or("");
            // The console's own pages, over http or through a TLS tunnel's https.
            let own = format!("http://{host}");
            let same = ["http://", "https://"].iter().any(|scheme| {
                origin
                    .get(..scheme.len())
                    .is_some_and(|s| s.eq_ignore_ascii_case(scheme))
                    && origin[scheme.len()..].eq_ignore_ascii_case(host)
            });
            if !same {
                return Err(Refusal {
                    reason: Reason::Origin,
                    message: format!(
                        "{method} from the page of origin {origin:?} refused: only the console's own pages ({own}) may change the stack"
                    ),
                });
            }
        }
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap_or("?"));
        let is_json = content_type
            .and_then(|v| v.split(';').next())
            .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"));
        if !is_json {
            return Err(Refusal {
                reason: Reason::ContentType,
                message: format!(
                    "{method} with content-type {} refused: requests that change the stack must send content-type: application/json",
                    content_type.map_or("(none)".to_owned(), |c| format!("{c:?}"))
                ),
            });
        }
        Ok(())
    }

    /// The request's `Host`, when it is one this stack answers to.
    fn host<'h>(&self, headers: &'h HeaderMap) -> Result<&'h str, Refusal> {
        let refuse = |message: String| Refusal {
            reason: Reason::Host,
            message,
        };
        let value = headers
            .get(header::HOST)
            .ok_or_else(|| refuse("a request without a Host header refused".to_owned()))?
            .to_str()
            .map_err(|_| refuse("a Host header that is not text refused".to_owned()))?;
        let (name, port) = split_host(value).ok_or_else(|| {
            refuse(format!(
                "Host {value:?} refused: not a host name with a port"
            ))
        })?;
        let name = name.to_ascii_lowercase();
        // A browser leaves out port 80.
        let ours = port.unwrap_or(80) == self.port;
        let ip_literal = name
            .strip_prefix('[')
            .and_then(|n| n.strip_suffix(']'))
            .unwrap_or(&name)
            .parse::<std::net::IpAddr>()
            .is_ok();
        let loopback = (LOOPBACK_NAMES.contains(&name.as_str()) || ip_literal) && ours;
        let allowed = self
            .allowed
            .iter()
            .any(|a| a.name == name && a.port.is_none_or(|p| port == Some(p)));
        if loopback || allowed {
            Ok(value)
        } else {
            Err(refuse(format!(
                "Host {value:?} refused: the control plane answers localhost:{port} and IP addresses such as 127.0.0.1:{port} (and the names given with {ALLOW_HOST_FLAG}); a page that reached it under another name is what DNS rebinding looks like",
                port = self.port
            )))
        }
    }

    fn count(&self, reason: Reason) {
        self.refused[reason as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// The requests refused since the stack started, by `code`.
    pub fn refusals(&self) -> Refusals {
        Refusals(
            Reason::ALL
                .iter()
                .map(|r| (r.code(), self.refused[*r as usize].load(Ordering::Relaxed)))
                .collect(),
        )
    }
}

/// The refused requests by `code`, as `/api/about` shows them.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Refusals(BTreeMap<&'static str, u64>);

/// The axum middleware: refuses before any route or asset is reached.
pub async fn enforce(State(guard): State<Arc<Guard>>, request: Request, next: Next) -> Response {
    match guard.check(request.method(), request.headers()) {
        Ok(()) => next.run(request).await,
        Err(refusal) => {
            guard.count(refusal.reason);
            let header = |name| {
                request
                    .headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned()
            };
            tracing::warn!(
                method = %request.method(),
                path = request.uri().path(),
                host = header(header::HOST),
                origin = header(header::ORIGIN),
                content_type = header(header::CONTENT_TYPE),
                code = refusal.reason.code(),
                "control plane refused a request: {}",
                refusal.message
            );
            (
                StatusCode::FORBIDDEN,
                axum::Json(
                    serde_json::json!({ "error": refusal.message, "code": refusal.reason.code() }),
                ),
            )
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.insert(name.clone(), HeaderValue::from_str(value).unwrap());
        }
        h
    }

    fn guard() -> Guard {
        Guard::new(
            3001,
            vec![
                "vm.example".parse().unwrap(),
                "tunnel.example:8443".parse().unwrap(),
            ],
        )
    }

    fn reason(method: Method, pairs: &[(header::HeaderName, &str)]) -> Option<Reason> {
        guard()
            .check(&method, &headers(pairs))
            .err()
            .map(|r| r.reason)
    }

    #[test]
    fn loopback_names_with_the_stacks_port_and_allowed_names_are_answered() {
        for host in [
            "127.0.0.1:3001",
            "localhost:3001",
            "LOCALHOST:3001",
            "[::1]:3001",
            "vm.example:4000",
            "vm.example",
            "tunnel.example:8443",
            // IP addresses: no DNS answer puts them in Host (a console on --host 0.0.0.0).
            "192.0.2.10:3001",
            "[fd00::1]:3001",
        ] {
            assert_eq!(reason(Method::GET, &[(header::HOST, host)]), None, "{host}");
        }
    }

    #[test]
    fn other_hosts_are_what_rebinding_looks_like_and_are_refused() {
        for host in [
            "evil.example:3001",
            "localhost:3002",
            "127.0.0.1",
            "localhost.evil.example:3001",
            "tunnel.example:3001",
            "localhost:30x1",
            "[::1",
            "127.0.0.1:3001.evil.example",
            "localhost.:3001",
            "192.0.2.10:3002",
        ] {
            assert_eq!(
                reason(Method::GET, &[(header::HOST, host)]),
                Some(Reason::Host),
                "{host}"
            );
        }
        assert_eq!(reason(Method::GET, &[]), Some(Reason::Host));
    }

    #[test]
    fn a_state_change_needs_json_and_no_foreign_origin() {
        let host = (header::HOST, "127.0.0.1:3001");
        let json = (header::CONTENT_TYPE, "application/json; charset=utf-8");
        // The CLI (no Origin) and the console (its own origin) are answered.
        assert_eq!(reason(Method::PUT, &[host.clone(), json.clone()]), None);
        let own = (header::ORIGIN, "http://127.0.0.1:3001");
        assert_eq!(
            reason(Method::DELETE, &[host.clone(), json.clone(), own]),
            None
        );
        // Through a TLS tunnel the page is https, under the tunnel's name.
        let tunnel = (header::HOST, "tunnel.example:8443");
        let https = (header::ORIGIN, "https://tunnel.example:8443");
        assert_eq!(reason(Method::PUT, &[tunnel, json.clone(), https]), None);
        // A cross-site page, even with a JSON body (it would have needed a preflight).
        for origin in ["http://evil.example", "null", "http://localhost:3001"] {
            let o = (header::ORIGIN, origin);
            assert_eq!(
                reason(Method::PUT, &[host.clone(), json.clone(), o]),
                Some(Reason::Origin),
                "{origin}"
            );
        }
        // What a form or a text/plain fetch sends without a preflight, and no type at all.
        for ct in [
            "application/x-www-form-urlencoded",
            "text/plain",
            "multipart/form-data; boundary=x",
            "application/jsonx",
        ] {
            let c = (header::CONTENT_TYPE, ct);
            assert_eq!(
                reason(Method::POST, &[host.clone(), c]),
                Some(Reason::ContentType),
                "{ct}"
            );
        }
        assert_eq!(
            reason(Method::POST, std::slice::from_ref(&host)),
            Some(Reason::ContentType)
        );
        // Reads need neither.
        let form = (header::CONTENT_TYPE, "text/plain");
        let evil = (header::ORIGIN, "http://evil.example");
        assert_eq!(reason(Method::GET, &[host, form, evil]), None);
    }

    #[test]
    fn allow_host_takes_a_name_and_refuses_urls_and_wildcards() {
        assert_eq!(
            "VM.example:3001".parse::<AllowedHost>(),
            Ok(AllowedHost {
                name: "vm.example".into(),
                port: Some(3001)
            })
        );
        for bad in [
            "http://vm.example",
            "vm.example/x",
            "*",
            "*.example",
            "",
            "vm:x",
            "fe80::1",
        ] {
            let err = bad.parse::<AllowedHost>().unwrap_err().to_string();
            assert!(err.contains(ALLOW_HOST_FLAG), "{err}");
        }
    }

    #[test]
    fn refusals_are_counted_by_code() {
        let g = guard();
        g.count(Reason::Host);
        g.count(Reason::Host);
        g.count(Reason::ContentType);
        let r = g.refusals();
        assert_eq!(r.0["FORBIDDEN_HOST"], 2);
        assert_eq!(r.0["FORBIDDEN_ORIGIN"], 0);
        assert_eq!(r.0["UNSUPPORTED_CONTENT_TYPE"], 1);
    }
}
