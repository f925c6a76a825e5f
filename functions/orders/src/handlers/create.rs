use super::{metrics, request_info};
use crate::domain::{LineItem, Order};
use crate::http::{
    ApiError, ErrorCode, IDEMPOTENCY_HEADER, IDEMPOTENT_REPLAY_HEADER, answer, json,
};
use crate::ports::{Clock, CreateOutcome, IdempotencyKey, OrderStore};
use crate::settings::{IDEMPOTENCY_TTL, MAX_BODY_BYTES};
use crate::validation::parse_new_order;
use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, Response};
use rust_decimal::prelude::ToPrimitive;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use telemetry::catalogue::Operation;
use telemetry::metrics::Property;
use tracing::{error, info};
use uuid::Uuid;

/// Longest accepted `Idempotency-Key`.
pub const IDEMPOTENCY_KEY_MAX: usize = 255;

/// `POST /orders`: validate and write the order with its outbox entry, in one write. The
/// publisher sends its `OrderCreated` from the outbox, so the create path is one round trip
/// and an accepted order is published even if the queue is down when it is written: no
/// order stays `PENDING` for want of a message.
pub struct CreateOrder {
    store: Arc<dyn OrderStore>,
    clock: Arc<dyn Clock>,
}

impl CreateOrder {
    pub fn new(store: Arc<dyn OrderStore>, clock: Arc<dyn Clock>) -> Self {
        CreateOrder { store, clock }
    }

    pub async fn handle(&self, req: Request) -> Response<Body> {
        let info = request_info(&req);
        let span = tracing::info_span!(
            "create_order",
            correlation_id = %info.correlation_id,
            order_id = tracing::field::Empty,
        );
        answer(
            &info.correlation_id,
            span,
            self.create(&req, &info.correlation_id),
        )
        .await
    }

    async fn create(
        &self,
        req: &Request,
        correlation_id: &str,
    ) -> Result<Response<Body>, ApiError> {
        let new = parse_new_order(req.body().as_ref(), MAX_BODY_BYTES).inspect_err(|e| {
            metrics::validation_failure(e);
            info!(reason = %e, "order rejected");
        })?;
        let now = self.clock.now();
        let idempotency = idempotency_key(req, &new.customer_name, &new.items, now)?;
        let order = Order::place(Uuid::new_v4(), new, now);
        tracing::Span::current().record("order_id", tracing::field::display(order.id));
        telemetry::metrics::property(Property::OrderId, order.id);

        let outcome = metrics::timed(
            Operation::PutOrder,
            self.store
                .create(&order, idempotency.as_ref(), correlation_id),
        )
        .await
        .map_err(|e| {
            error!(error = %e, "could not write the order");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::DependencyFailed,
                "the order could not be saved; nothing was created, try again",
            )
        })?;
        match outcome {
            CreateOutcome::Created(order) => {
                telemetry::metrics::order_created(
                    order.total.to_f64().unwrap_or_default(),
                    order.items.len(),
                );
                info!(total = %order.total, lines = order.items.len(), "order created");
                Ok(created(&order, false))
            }
            CreateOutcome::Replayed(order) => {
                info!(replayed_order_id = %order.id, "idempotent retry: returning the original order");
                Ok(created(&order, true))
            }
            CreateOutcome::KeyConflict => Err(ApiError::new(
                StatusCode::CONFLICT,
                ErrorCode::IdempotencyKeyReused,
                "Idempotency-Key was already used with a different request body",
            )),
        }
    }
}

fn created(order: &Order, replayed: bool) -> Response<Body> {
    let mut response = json(StatusCode::CREATED, order);
    let headers = response.headers_mut();
    if let Ok(location) = HeaderValue::from_str(&format!("/orders/{}", order.id)) {
        headers.insert(header::LOCATION, location);
    }
    if replayed {
        headers.insert(IDEMPOTENT_REPLAY_HEADER, HeaderValue::from_static("true"));
    }
    response
}

fn idempotency_key(
    req: &Request,
    customer_name: &str,
    items: &[LineItem],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Option<IdempotencyKey>, ApiError> {
    let Some(value) = req.headers().get(IDEMPOTENCY_HEADER) else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .filter(|k| {
            !k.is_empty()
                && k.len() <= IDEMPOTENCY_KEY_MAX
                && k.bytes().all(|b| b.is_ascii_graphic())
        })
        .ok_or_else(|| {
            ApiError::bad_request(
                ErrorCode::InvalidHeader,
                format!(
                    "Idempotency-Key must be 1 to {IDEMPOTENCY_KEY_MAX} visible ASCII characters"
                ),
            )
        })?;
    // The fingerprint is of the validated request, so formatting differences (spaces, key
    // order, 1.5 vs 1.50) do not count as "another body".
    let canonical = serde_json::to_vec(&(customer_name, items)).unwrap_or_default();
    let request_hash = format!("{:x}", Sha256::digest(&canonical));
    let ttl = chrono::Duration::from_std(IDEMPOTENCY_TTL).unwrap_or(chrono::Duration::days(1));
    Ok(Some(IdempotencyKey {
        key: key.to_owned(),
        request_hash,
        expires_at: now + ttl,
    }))
}
