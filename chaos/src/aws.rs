//! The live chaos override on AWS: one SSM parameter holding `chaos::Live` as JSON. The
//! functions read it (`ssm:GetParameter` only, through the injector's short cache); the
//! operator's `workshop chaos --aws` writes it with their own credentials.

use crate::live::{Live, LiveSource, SourceError};
use async_trait::async_trait;
use aws_sdk_ssm::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_ssm::operation::RequestId;
use aws_sdk_ssm::types::ParameterType;
use telemetry::trace::spans;
use tracing::{Instrument, Span};

/// The value of a parameter with no override: the deploy-time flags apply.
pub const UNSET: &str = r#"{"state":"unset"}"#;

#[derive(Debug, Clone)]
pub struct ChaosParameter {
    client: aws_sdk_ssm::Client,
    name: String,
}

impl ChaosParameter {
    pub fn new(client: aws_sdk_ssm::Client, name: impl Into<String>) -> Self {
        ChaosParameter {
            client,
            name: name.into(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    fn error(&self, message: impl std::fmt::Display) -> SourceError {
        SourceError {
            source_name: format!("SSM parameter {}", self.name),
            message: message.to_string(),
        }
    }

    /// One `GetParameter`, a CLIENT span in the invocation that asked (the injector's cache
    /// asks at most every `CHAOS_CACHE_SECONDS`).
    pub async fn read(&self) -> Result<Live, SourceError> {
        let span = spans::aws("SSM", "GetParameter");
        let call = self.client.get_parameter().name(&self.name).send();
        let out = traced(span, call)
            .await
            .map_err(|e| self.error(DisplayErrorContext(e)))?;
        let value = out
            .parameter()
            .and_then(|p| p.value())
            .ok_or_else(|| self.error("the parameter has no value"))?;
        Live::parse(value).map_err(|e| self.error(format!("not a chaos override ({e}): {value}")))
    }

    /// Replaces the override (the parameter must exist: the template creates it).
    pub async fn write(&self, live: &Live) -> Result<(), SourceError> {
        self.put(&live.to_json(), false).await
    }

    /// Creates the parameter with no override, as the template does; for emulators.
    pub async fn create(&self) -> Result<(), SourceError> {
        self.put(UNSET, true).await
    }

    async fn put(&self, value: &str, create: bool) -> Result<(), SourceError> {
        let mut put = self
            .client
            .put_parameter()
            .name(&self.name)
            .value(value)
            .overwrite(!create);
        if create {
            put = put.r#type(ParameterType::String);
        }
        traced(spans::aws("SSM", "PutParameter"), put.send())
            .await
            .map_err(|e| self.error(DisplayErrorContext(e)))?;
        Ok(())
    }
}

/// Runs one SSM call in `span`: its request id, and on an error the SDK's error code as
/// `error.type` (`ParameterNotFound`, `AccessDeniedException`, or `DispatchFailure` when no
/// answer came).
async fn traced<T, E, R>(
    span: Span,
    call: impl Future<Output = Result<T, SdkError<E, R>>>,
) -> Result<T, SdkError<E, R>>
where
    T: RequestId,
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
    SdkError<E, R>: RequestId,
{
    let result = call.instrument(span.clone()).await;
    let request_id = match &result {
        Ok(out) => out.request_id(),
        Err(e) => e.request_id(),
    };
    if let Some(id) = request_id {
        span.record("aws.request_id", id);
    }
    if let Err(e) = &result {
        let kind = match e {
            SdkError::ServiceError(_) => e.code().unwrap_or("ServiceError"),
            SdkError::TimeoutError(_) => "TimeoutError",
            SdkError::DispatchFailure(_) => "DispatchFailure",
            _ => "SdkError",
        };
        spans::fail(&span, kind, DisplayErrorContext(e));
    }
    result
}

#[async_trait]
impl LiveSource for ChaosParameter {
    async fn read(&self) -> Result<Live, SourceError> {
        ChaosParameter::read(self).await
    }
}
