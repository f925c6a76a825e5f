//! The API's response shapes: JSON bodies, and errors as
//! `{"error": "<plain words>", "code": "<MACHINE_CODE>", "details": [...]}`.

use crate::validation::{BodyError, FieldError};
use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};
use serde::Serialize;
use tracing::Instrument;

/// Header a client may set to follow its request through the logs; echoed on every response.
pub const CORRELATION_HEADER: &str = "x-correlation-id";
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";
/// Set on a response that replays an earlier request with the same `Idempotency-Key`.
pub const IDEMPOTENT_REPLAY_HEADER: &str = "idempotent-replayed";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    ValidationFailed,
    InvalidJson,
    PayloadTooLarge,
    InvalidId,
    InvalidQuery,
    InvalidNextToken,
    InvalidHeader,
    NotFound,
    IdempotencyKeyReused,
    DependencyFailed,
    Internal,
    /// The chaos layer failed this request on purpose (`CHAOS_API_ERROR_RATE`).
    InjectedFault,
}

impl ErrorCode {
    /// Every code the API can answer (`api/openapi.yaml` documents each, by operation).
    pub const ALL: [ErrorCode; 12] = [
        ErrorCode::ValidationFailed,
        ErrorCode::InvalidJson,
        ErrorCode::PayloadTooLarge,
        ErrorCode::InvalidId,
        ErrorCode::InvalidQuery,
        ErrorCode::InvalidNextToken,
        ErrorCode::InvalidHeader,
        ErrorCode::NotFound,
        ErrorCode::IdempotencyKeyReused,
        ErrorCode::DependencyFailed,
        ErrorCode::Internal,
        ErrorCode::InjectedFault,
    ];
}

#[cfg(test)]
mod tests {
    use super::ErrorCode;

    /// A new code must join `ALL` (the document and its test read it): the match below stops
    /// compiling when a variant is added, and its index must then find it in `ALL`.
    #[test]
    fn all_holds_every_code_once() {
        for (i, code) in ErrorCode::ALL.iter().enumerate() {
            let at = match code {
                ErrorCode::ValidationFailed => 0,
                ErrorCode::InvalidJson => 1,
                ErrorCode::PayloadTooLarge => 2,
                ErrorCode::InvalidId => 3,
                ErrorCode::InvalidQuery => 4,
                ErrorCode::InvalidNextToken => 5,
                ErrorCode::InvalidHeader => 6,
                ErrorCode::NotFound => 7,
                ErrorCode::IdempotencyKeyReused => 8,
                ErrorCode::DependencyFailed => 9,
                ErrorCode::Internal => 10,
                ErrorCode::InjectedFault => 11,
            };
            assert_eq!(at, i, "{code:?} is not where ALL lists it");
        }
    }
}

/// An error response: status, code, message, and the per-field problems if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: ErrorCode,
    pub message: String,
    pub details: Vec<FieldError>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    code: ErrorCode,
    #[serde(skip_serializing_if = "<[FieldError]>::is_empty")]
    details: &'a [FieldError],
}

impl ApiError {
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            details: Vec::new(),
        }
    }

    pub fn bad_request(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn with_details(mut self, details: Vec<FieldError>) -> Self {
        self.details = details;
        self
    }

    pub fn into_response(self) -> Response<Body> {
        json(
            self.status,
            &ErrorBody {
                error: &self.message,
                code: self.code,
                details: &self.details,
            },
        )
    }
}

impl From<BodyError> for ApiError {
    fn from(e: BodyError) -> Self {
        let message = e.to_string();
        match e {
            BodyError::TooLarge { .. } => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::PayloadTooLarge,
                message,
            ),
            BodyError::Empty | BodyError::NotAnObject => {
                ApiError::bad_request(ErrorCode::ValidationFailed, message)
            }
            BodyError::Malformed(_) => ApiError::bad_request(ErrorCode::InvalidJson, message),
            BodyError::Invalid(details) => {
                ApiError::bad_request(ErrorCode::ValidationFailed, message).with_details(details)
            }
        }
    }
}

/// Echoes the correlation id, so a client can quote it when asking about a request.
pub fn with_correlation(mut response: Response<Body>, correlation_id: &str) -> Response<Body> {
    if let Ok(v) = HeaderValue::from_str(correlation_id) {
        response.headers_mut().insert(CORRELATION_HEADER, v);
    }
    response
}

/// A handler's answer: its work run in its span, an `ApiError` turned into the error body,
/// and the correlation id echoed either way.
pub async fn answer(
    correlation_id: &str,
    span: tracing::Span,
    work: impl Future<Output = Result<Response<Body>, ApiError>>,
) -> Response<Body> {
    let response = work
        .instrument(span)
        .await
        .unwrap_or_else(ApiError::into_response);
    with_correlation(response, correlation_id)
}

/// A JSON response. Serialising our own response types cannot fail; if it ever did, the client
/// gets a 500 with a JSON body rather than a panic.
pub fn json<T: Serialize + ?Sized>(status: StatusCode, body: &T) -> Response<Body> {
    let (status, text) = match serde_json::to_string(body) {
        Ok(text) => (status, text),
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            r#"{"error":"internal error","code":"INTERNAL"}"#.to_owned(),
        ),
    };
    let mut response = Response::new(Body::Text(text));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}
