//! The control plane's routes, defined once: the router serves them, the CLI calls them, and
//! a test checks the console's `api.js` against them both ways.

/// The HTTP methods the control plane answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Method {
    Get,
    Post,
    Put,
    Delete,
}

impl Method {
    pub const fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
        }
    }

    pub fn filter(self) -> axum::routing::MethodFilter {
        use axum::routing::MethodFilter;
        match self {
            Method::Get => MethodFilter::GET,
            Method::Post => MethodFilter::POST,
            Method::Put => MethodFilter::PUT,
            Method::Delete => MethodFilter::DELETE,
        }
    }

    pub fn http(self) -> reqwest::Method {
        match self {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
            Method::Delete => reqwest::Method::DELETE,
        }
    }
}

/// One control-plane endpoint: a method on a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Route {
    pub method: Method,
    pub path: &'static str,
}

const fn route(method: Method, path: &'static str) -> Route {
    Route { method, path }
}

pub const ABOUT: Route = route(Method::Get, "/api/about");
pub const DASHBOARDS: Route = route(Method::Get, "/api/dashboards");
pub const METRIC_DATA: Route = route(Method::Post, "/api/metric-data");
pub const LOGS: Route = route(Method::Get, "/api/logs");
pub const FUNCTIONS: Route = route(Method::Get, "/api/functions");
pub const DLQ: Route = route(Method::Get, "/api/dlq");
pub const DLQ_REDRIVE: Route = route(Method::Post, "/api/dlq/redrive");
pub const METRICS: Route = route(Method::Get, "/api/metrics");
pub const ALARMS: Route = route(Method::Get, "/api/alarms");
pub const CHAOS_STATUS: Route = route(Method::Get, "/api/chaos");
pub const CHAOS_START: Route = route(Method::Put, "/api/chaos");
pub const CHAOS_STOP: Route = route(Method::Delete, "/api/chaos");
pub const CHAOS_JOURNAL: Route = route(Method::Get, "/api/chaos/journal");
pub const CHAOS_FAULTS: Route = route(Method::Get, "/api/chaos/faults");
/// Recent traces (`?order_id=&function=&error=&min_duration_ms=&minutes=&limit=`).
pub const TRACES: Route = route(Method::Get, "/api/traces");
/// One trace with its log lines (`?id=` a trace id, either form, or an order id).
pub const TRACE: Route = route(Method::Get, "/api/trace");
/// The service map (`?minutes=`).
pub const SERVICE_MAP: Route = route(Method::Get, "/api/service-map");

/// The routes only the CLI calls (`workshop metrics`); the console calls all the others.
pub const CLI_ONLY: &[Route] = &[METRICS];

/// Every route, in the order the router adds them.
pub const ALL: &[Route] = &[
    ABOUT,
    DASHBOARDS,
    METRIC_DATA,
    LOGS,
    FUNCTIONS,
    DLQ,
    DLQ_REDRIVE,
    METRICS,
    ALARMS,
    CHAOS_STATUS,
    CHAOS_START,
    CHAOS_STOP,
    CHAOS_JOURNAL,
    CHAOS_FAULTS,
    TRACES,
    TRACE,
    SERVICE_MAP,
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// `(method, path)` of every `request('METHOD', '/api/...')` in `api.js`, query left off.
    fn api_js_routes(js: &str) -> BTreeSet<(String, String)> {
        js.split("request('")
            .skip(1)
            .filter_map(|rest| {
                let (method, rest) = rest.split_once('\'')?;
                let rest = rest.trim_start_matches(|c: char| c == ',' || c.is_whitespace());
                let rest = rest.strip_prefix(['\'', '`'])?;
                let end = rest.find(['\'', '`', '?', '$'])?;
                Some((method.to_owned(), rest[..end].to_owned()))
            })
            .collect()
    }

    #[test]
    fn the_console_calls_exactly_the_routes_the_stack_serves() {
        let js = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/console/api.js"));
        let console = api_js_routes(js);
        let served: BTreeSet<(String, String)> = ALL
            .iter()
            .filter(|r| !CLI_ONLY.contains(r))
            .map(|r| (r.method.as_str().to_owned(), r.path.to_owned()))
            .collect();
        let missing: Vec<_> = served.difference(&console).collect();
        let unknown: Vec<_> = console.difference(&served).collect();
        assert!(missing.is_empty(), "api.js does not call {missing:?}");
        assert!(
            unknown.is_empty(),
            "api.js calls routes the stack does not serve: {unknown:?}"
        );
    }

    #[test]
    fn the_extractor_reads_queries_and_templates() {
        let js = "a: () => request('GET', `/api/logs?query=${q}`),\n b: (x) => request('PUT', '/api/chaos', x),";
        let got: Vec<_> = api_js_routes(js).into_iter().collect();
        assert_eq!(
            got,
            [
                ("GET".to_owned(), "/api/logs".to_owned()),
                ("PUT".to_owned(), "/api/chaos".to_owned())
            ]
        );
    }
}
