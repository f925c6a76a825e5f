use super::{metrics, request_info};
use crate::http::{ApiError, ErrorCode, answer, json};
use crate::ports::OrderStore;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, RequestExt, Response};
use std::sync::Arc;
use telemetry::catalogue::{LookupResult, Operation};
use tracing::{error, info};
use uuid::Uuid;

/// `GET /orders/{id}`.
pub struct GetOrder {
    store: Arc<dyn OrderStore>,
}

impl GetOrder {
    pub fn new(store: Arc<dyn OrderStore>) -> Self {
        GetOrder { store }
    }

    pub async fn handle(&self, req: Request) -> Response<Body> {
        let info = request_info(&req);
        let raw_id = req
            .path_parameters_ref()
            .and_then(|p| p.first("id"))
            .unwrap_or_default()
            .to_owned();
        let span = tracing::info_span!("get_order", correlation_id = %info.correlation_id, order_id = %raw_id);
        answer(&info.correlation_id, span, self.get(&raw_id)).await
    }

    async fn get(&self, raw_id: &str) -> Result<Response<Body>, ApiError> {
        let id = parse_id(raw_id)?;
        match metrics::timed(Operation::GetOrder, self.store.get(id)).await {
            Ok(Some(order)) => {
                telemetry::metrics::order_lookup(LookupResult::Found);
                info!(status = %order.status, "order found");
                Ok(json(StatusCode::OK, &order))
            }
            Ok(None) => {
                telemetry::metrics::order_lookup(LookupResult::NotFound);
                info!("order not found");
                Err(ApiError::new(
                    StatusCode::NOT_FOUND,
                    ErrorCode::NotFound,
                    format!("order {id} not found"),
                ))
            }
            Err(e) => {
                error!(error = %e, "could not read the order");
                Err(ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    ErrorCode::DependencyFailed,
                    "the order store is unavailable, try again",
                ))
            }
        }
    }
}

fn parse_id(raw: &str) -> Result<Uuid, ApiError> {
    // Only the canonical 8-4-4-4-12 form: one order has one URL.
    let id = Uuid::try_parse(raw)
        .ok()
        .filter(|_| raw.len() == 36)
        .ok_or_else(|| {
            ApiError::bad_request(
                ErrorCode::InvalidId,
                format!("order id {raw:?} is not a UUID"),
            )
        })?;
    Ok(id)
}
