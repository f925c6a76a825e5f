//! Where the handlers' events become business metrics (names, units and dimensions are in
//! `telemetry::catalogue`, the one catalogue).

use crate::domain::OrderStatus;
use crate::handlers::ProcessingFailure;
use crate::validation::{BodyError, ProblemKind};
use std::future::Future;
use std::time::Instant;
use telemetry::catalogue::{Operation, ProcessedStatus, ProcessingError, ValidationReason};

/// Runs one dependency call and records its latency under `operation`, success or not.
pub async fn timed<T>(operation: Operation, call: impl Future<Output = T>) -> T {
    let started = Instant::now();
    let out = call.await;
    telemetry::metrics::dependency_latency(operation, started.elapsed());
    out
}

/// One `ValidationFailures` count per rejected request, by the kind of its first problem.
pub fn validation_failure(e: &BodyError) {
    let reason = match e {
        BodyError::TooLarge { .. } => ValidationReason::TooLarge,
        BodyError::Malformed(_) => ValidationReason::MalformedJson,
        BodyError::Empty => ValidationReason::MissingField,
        BodyError::NotAnObject => ValidationReason::WrongType,
        BodyError::Invalid(problems) => match problems.first().map(|p| p.kind) {
            Some(ProblemKind::MissingField) => ValidationReason::MissingField,
            Some(ProblemKind::WrongType) => ValidationReason::WrongType,
            Some(ProblemKind::UnknownField) => ValidationReason::UnknownField,
            Some(ProblemKind::OutOfRange) | None => ValidationReason::OutOfRange,
        },
    };
    telemetry::metrics::validation_failure(reason);
}

pub fn processed(status: OrderStatus) {
    let status = match status {
        OrderStatus::Confirmed => ProcessedStatus::Confirmed,
        OrderStatus::PendingReview => ProcessedStatus::PendingReview,
        OrderStatus::PendingApproval => ProcessedStatus::PendingApproval,
        // The processor never moves an order to PENDING.
        OrderStatus::Pending => return,
    };
    telemetry::metrics::order_processed(status);
}

pub fn processing_failure(e: &ProcessingFailure) {
    telemetry::metrics::processing_failure(match e {
        ProcessingFailure::MalformedMessage(_) => ProcessingError::MalformedMessage,
        ProcessingFailure::OrderNotFound(_) => ProcessingError::OrderNotFound,
        ProcessingFailure::Dependency(_) => ProcessingError::DependencyFailure,
        ProcessingFailure::Injected(_) => ProcessingError::InjectedFault,
    });
}
