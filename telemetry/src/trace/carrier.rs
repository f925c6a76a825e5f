//! A trace context as it travels with a message: the W3C `traceparent` and the X-Ray
//! `AWSTraceHeader` (what Lambda, SQS and X-Ray read). The producer writes both from its
//! span; the consumer continues (or links to) the context they name.

use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The W3C trace context message attribute (and HTTP header).
pub const TRACEPARENT: &str = "traceparent";
/// The SQS system attribute X-Ray and Lambda read (`Root=1-…;Parent=…;Sampled=1`).
pub const AWS_TRACE_HEADER: &str = "AWSTraceHeader";

/// The context of one span, in the two forms a message carries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Carrier {
    pub traceparent: Option<String>,
    pub aws_trace_header: Option<String>,
}

impl Carrier {
    /// The context of `span`; empty when tracing is off (no OpenTelemetry layer).
    pub fn of(span: &Span) -> Carrier {
        Carrier::from_context(span.context().span().span_context())
    }

    pub fn from_context(cx: &SpanContext) -> Carrier {
        if !cx.is_valid() {
            return Carrier::default();
        }
        Carrier {
            traceparent: Some(traceparent(cx)),
            aws_trace_header: opentelemetry_aws::trace::xray_propagator::span_context_to_string(cx),
        }
    }

    /// From message attributes that may hold either form.
    pub fn from_parts(traceparent: Option<&str>, aws_trace_header: Option<&str>) -> Carrier {
        Carrier {
            traceparent: traceparent.filter(|s| !s.is_empty()).map(str::to_owned),
            aws_trace_header: aws_trace_header
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
        }
    }

    /// The `AWSTraceHeader` value: as received, or made from the `traceparent`.
    pub fn xray_header(&self) -> Option<String> {
        self.aws_trace_header.clone().or_else(|| {
            self.context().and_then(|cx| {
                opentelemetry_aws::trace::xray_propagator::span_context_to_string(&cx)
            })
        })
    }

    pub fn is_empty(&self) -> bool {
        self.context().is_none()
    }

    /// The remote span context named: `traceparent` first (it is exact), then the X-Ray
    /// header. `None` when neither parses.
    pub fn context(&self) -> Option<SpanContext> {
        self.traceparent
            .as_deref()
            .and_then(parse_traceparent)
            .or_else(|| {
                self.aws_trace_header
                    .as_deref()
                    .and_then(opentelemetry_aws::trace::xray_propagator::span_context_from_str)
            })
            .filter(SpanContext::is_valid)
    }

    /// Makes `span` a child of this context (a message's processing continues the trace
    /// that sent it). Must be called before anything is logged in `span`. Returns false
    /// when the carrier names no context.
    pub fn continue_in(&self, span: &Span) -> bool {
        match self.context() {
            Some(cx) => {
                let parent = opentelemetry::Context::new().with_remote_span_context(cx);
                span.set_parent(parent).is_ok()
            }
            None => false,
        }
    }

    /// Adds a link from `span` to this context (a republish or a batch that cannot have
    /// every record's trace as its parent).
    pub fn link_from(&self, span: &Span) {
        if let Some(cx) = self.context() {
            span.add_link(cx);
        }
    }
}

/// `00-<trace id>-<span id>-<flags>`.
pub fn traceparent(cx: &SpanContext) -> String {
    format!(
        "00-{}-{}-{:02x}",
        cx.trace_id(),
        cx.span_id(),
        cx.trace_flags().to_u8()
    )
}

/// Parses a version-00 `traceparent`; `None` for anything else.
pub fn parse_traceparent(value: &str) -> Option<SpanContext> {
    let mut parts = value.trim().split('-');
    let (version, trace, span, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if version != "00" || trace.len() != 32 || span.len() != 16 || flags.len() != 2 {
        return None;
    }
    let trace_id = TraceId::from_hex(trace).ok()?;
    let span_id = SpanId::from_hex(span).ok()?;
    let flags = u8::from_str_radix(flags, 16).ok()?;
    Some(SpanContext::new(
        trace_id,
        span_id,
        TraceFlags::new(flags),
        true,
        TraceState::default(),
    ))
}

/// The X-Ray form of a trace id: `1-<8 hex: epoch seconds>-<24 hex>`.
pub fn xray_trace_id(trace_id: TraceId) -> String {
    let hex = trace_id.to_string();
    format!("1-{}-{}", &hex[..8], &hex[8..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparent_round_trips_and_rejects_other_shapes() {
        let value = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let cx = parse_traceparent(value).unwrap();
        assert_eq!(traceparent(&cx), value);
        assert!(cx.is_sampled());
        assert!(
            parse_traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").is_none()
        );
        assert!(parse_traceparent("00-xyz-00f067aa0ba902b7-01").is_none());
        assert!(parse_traceparent("").is_none());
    }

    #[test]
    fn both_forms_name_the_same_context() {
        let cx =
            parse_traceparent("00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01").unwrap();
        let carrier = Carrier::from_context(&cx);
        assert_eq!(
            carrier.aws_trace_header.as_deref(),
            Some("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")
        );
        let from_xray = Carrier::from_parts(None, carrier.aws_trace_header.as_deref());
        assert_eq!(from_xray.context().unwrap().trace_id(), cx.trace_id());
        assert_eq!(from_xray.context().unwrap().span_id(), cx.span_id());
        assert_eq!(
            xray_trace_id(cx.trace_id()),
            "1-5759e988-bd862e3fe1be46a994272793"
        );
        assert!(Carrier::from_parts(Some(""), Some("junk")).is_empty());
    }
}
