use crate::http::CORRELATION_HEADER;
use lambda_http::{Request, RequestExt};

/// What the handlers log about the request that reached them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestInfo {
    /// The client's `x-correlation-id`, or API Gateway's request id when it sent none.
    pub correlation_id: String,
    pub request_id: String,
}

pub fn request_info(req: &Request) -> RequestInfo {
    let request_id = req
        .lambda_context_ref()
        .map(|c| c.request_id.clone())
        .unwrap_or_default();
    let api_request_id = match req.request_context_ref() {
        Some(lambda_http::request::RequestContext::ApiGatewayV2(ctx)) => ctx.request_id.clone(),
        _ => None,
    };
    let from_header = req
        .headers()
        .get(CORRELATION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty() && v.len() <= 128)
        .map(str::to_owned);
    RequestInfo {
        correlation_id: from_header
            .or(api_request_id)
            .unwrap_or_else(|| request_id.clone()),
        request_id,
    }
}
