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
];
