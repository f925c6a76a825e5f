use super::{metrics, request_info};
use crate::domain::{Order, OrderStatus};
use crate::http::{ApiError, ErrorCode, answer, json};
use crate::pagination::PageTokens;
use crate::ports::{ListQuery, OrderStore, SortOrder};
use crate::validation::{FieldError, ProblemKind};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use std::sync::Arc;
use telemetry::catalogue::Operation;
use tracing::{error, info};

pub const DEFAULT_LIMIT: u32 = 20;
pub const MAX_LIMIT: u32 = 100;
const PARAMS: [&str; 4] = ["status", "limit", "sortOrder", "nextToken"];

/// `GET /orders?status=&limit=&sortOrder=&nextToken=`.
pub struct ListOrders {
    store: Arc<dyn OrderStore>,
    tokens: PageTokens,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ListBody<'a> {
    orders: &'a [Order],
    count: usize,
    next_token: Option<String>,
}

impl ListOrders {
    pub fn new(store: Arc<dyn OrderStore>, tokens: PageTokens) -> Self {
        ListOrders { store, tokens }
    }

    pub async fn handle(&self, req: Request) -> Response<Body> {
        let info = request_info(&req);
        let span = tracing::info_span!("list_orders", correlation_id = %info.correlation_id);
        answer(&info.correlation_id, span, self.list(&req)).await
    }

    async fn list(&self, req: &Request) -> Result<Response<Body>, ApiError> {
        let mut query = self.query(req)?;
        let page = metrics::timed(Operation::QueryOrders, self.store.list(&query))
            .await
            .map_err(|e| {
                error!(error = %e, "could not list orders");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    ErrorCode::DependencyFailed,
                    "the order store is unavailable, try again",
                )
            })?;
        query.cursor = None;
        let next_token = page
            .cursor
            .map(|c| self.tokens.issue(&c, query.status, query.sort));
        info!(
            count = page.orders.len(),
            more = next_token.is_some(),
            "orders listed"
        );
        Ok(json(
            StatusCode::OK,
            &ListBody {
                orders: &page.orders,
                count: page.orders.len(),
                next_token,
            },
        ))
    }

    fn query(&self, req: &Request) -> Result<ListQuery, ApiError> {
        let params = req.query_string_parameters();
        let mut problems = Vec::new();
        let mut problem = |field: &str, message: String| {
            problems.push(FieldError::new(ProblemKind::OutOfRange, field, message))
        };
        let mut seen: Vec<&str> = params.iter().map(|(k, _)| k).collect();
        seen.sort_unstable();
        seen.dedup();
        for key in &seen {
            if !PARAMS.contains(key) {
                problem(
                    key,
                    format!(
                        "{key} is not a known query parameter (use {})",
                        PARAMS.join(", ")
                    ),
                );
            } else if params.all(key).is_some_and(|v| v.len() > 1) {
                problem(key, format!("{key} must be given at most once"));
            }
        }
        let status = params.first("status").and_then(|s| {
            s.parse::<OrderStatus>()
                .map_err(|_| {
                    let all: Vec<_> = OrderStatus::ALL.iter().map(|s| s.as_str()).collect();
                    problem(
                        "status",
                        format!("status must be one of {} (got {s:?})", all.join(", ")),
                    )
                })
                .ok()
        });
        let limit = match params.first("limit") {
            None => Some(DEFAULT_LIMIT),
            Some(l) => l
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .or_else(|| {
                    problem(
                        "limit",
                        format!("limit must be a whole number from 1 to {MAX_LIMIT} (got {l:?})"),
                    );
                    None
                }),
        };
        let sort = match params.first("sortOrder") {
            None => Some(SortOrder::Desc),
            Some("asc") => Some(SortOrder::Asc),
            Some("desc") => Some(SortOrder::Desc),
            Some(other) => {
                problem(
                    "sortOrder",
                    format!("sortOrder must be asc or desc (got {other:?})"),
                );
                None
            }
        };
        if !problems.is_empty() {
            let message = problems
                .iter()
                .map(|p| p.message.as_str())
                .collect::<Vec<_>>()
                .join("; ");
            return Err(
                ApiError::bad_request(ErrorCode::InvalidQuery, message).with_details(problems)
            );
        }
        let (Some(limit), Some(sort)) = (limit, sort) else {
            return Err(ApiError::bad_request(
                ErrorCode::InvalidQuery,
                "invalid query",
            ));
        };
        let cursor = match params.first("nextToken") {
            None => None,
            Some(token) => Some(self.tokens.open(token, status, sort).map_err(|e| {
                info!(reason = %e, "nextToken rejected");
                ApiError::bad_request(ErrorCode::InvalidNextToken, e.to_string())
            })?),
        };
        Ok(ListQuery {
            status,
            limit,
            sort,
            cursor,
        })
    }
}
