//! What every SDK call of this crate adds to its CLIENT span (`telemetry::trace::spans`): the
//! SDK's attempts (an `aws.retry` event per extra attempt, `aws.sdk.attempts` at the end), the
//! request id, and on an error its code as `error.type`.

use aws_sdk_dynamodb::config::interceptors::{
    BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::{BoxError, DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::RequestId;
use opentelemetry::KeyValue;
use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use tracing::{Instrument, Span};
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Counts the SDK's attempts of one operation onto its span. Attached per call
/// (`.customize().interceptor(..)`), so it always writes to that call's span, whatever span
/// the SDK's own instrumentation makes current inside the orchestrator. Every AWS SDK client
/// shares the smithy runtime, so the same interceptor serves DynamoDB and SQS.
#[derive(Debug)]
pub(crate) struct Attempts {
    span: Span,
    count: AtomicU32,
}

impl Attempts {
    pub(crate) fn new(span: &Span) -> Attempts {
        Attempts {
            span: span.clone(),
            count: AtomicU32::new(0),
        }
    }
}

impl Intercept for Attempts {
    fn name(&self) -> &'static str {
        "Attempts"
    }

    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let attempt = self.count.fetch_add(1, Ordering::Relaxed) + 1;
        if attempt > 1 {
            self.span.add_event(
                "aws.retry",
                vec![KeyValue::new("aws.sdk.attempt", i64::from(attempt))],
            );
        }
        Ok(())
    }

    fn read_after_execution(
        &self,
        _context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let attempts = self.count.load(Ordering::Relaxed);
        self.span
            .set_attribute("aws.sdk.attempts", i64::from(attempts));
        Ok(())
    }
}

/// Runs one SDK call (`send`, built with an [`Attempts`] on `span`) in `span`. An error marks
/// the span failed with its SDK error code as `error.type`, unless `handled` says the store
/// turns it into an answer (a failed condition): then it keeps `error.type` only, so an
/// idempotent replay or a duplicate message does not show as a failure.
pub(crate) async fn traced<T, E, R>(
    span: Span,
    handled: impl FnOnce(&E) -> bool,
    send: impl Future<Output = Result<T, SdkError<E, R>>>,
) -> Result<T, SdkError<E, R>>
where
    T: RequestId,
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
    SdkError<E, R>: RequestId,
{
    let result = send.instrument(span.clone()).await;
    let request_id = match &result {
        Ok(out) => out.request_id(),
        Err(e) => e.request_id(),
    };
    if let Some(id) = request_id {
        span.record("aws.request_id", id);
    }
    if let Err(e) = &result {
        let kind = error_type(e);
        if e.as_service_error().is_some_and(handled) {
            span.record("error.type", kind);
        } else {
            telemetry::trace::spans::fail(&span, kind, DisplayErrorContext(e));
        }
    }
    result
}

/// A closed name for an SDK error: the service's error code, or the kind of failure when
/// no answer came (`DispatchFailure` for a connection that failed, `TimeoutError`, ...).
pub(crate) fn error_type<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> &str {
    match err {
        SdkError::ServiceError(_) => err.code().unwrap_or("ServiceError"),
        SdkError::TimeoutError(_) => "TimeoutError",
        SdkError::DispatchFailure(_) => "DispatchFailure",
        SdkError::ResponseError(_) => "ResponseError",
        SdkError::ConstructionFailure(_) => "ConstructionFailure",
        _ => "SdkError",
    }
}

/// Never a handled error: any error fails the span.
pub(crate) fn none<E>(_: &E) -> bool {
    false
}

/// The span `make` builds when the current span is in a trace, else none: for calls that
/// run in a loop outside any request, where a root trace per call would be noise.
pub(crate) fn within_trace(make: impl FnOnce() -> Span) -> Span {
    if telemetry::trace::ids(&Span::current()).is_some() {
        make()
    } else {
        Span::none()
    }
}
