//! The invocation path: the `invocation` span every log line of a call is written in, and
//! the EMF scope its metrics are flushed from. Lambda, the local pool and the benches each
//! give the facts and a flusher; the span and the order of things are defined only here.

use std::future::Future;
use tracing::{Instrument, Span};

/// What is known of one invocation before it runs (the flat log keys of telemetry/README.md).
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    pub function_name: &'a str,
    pub request_id: &'a str,
    /// The X-Ray trace header Lambda passes (`Root=1-...;Parent=...;Sampled=1`), which the
    /// invocation's span continues; `None` locally, where the caller's span is the parent.
    pub trace_header: Option<&'a str>,
    pub cold_start: bool,
    pub trigger: telemetry::trace::Trigger,
}

/// Flushes one invocation's EMF documents when its call finishes.
pub trait Emf {
    fn scope<F: Future>(self, request_id: &str, call: F) -> impl Future<Output = F::Output>;
}

/// On Lambda: the documents go to stdout before the response is returned.
impl Emf for &telemetry::metrics::LambdaMetrics {
    fn scope<F: Future>(self, request_id: &str, call: F) -> impl Future<Output = F::Output> {
        self.invocation(request_id, call)
    }
}

/// In the local stack: the installed local backend's scope (a no-op without one).
impl Emf for telemetry::metrics::local::Invocation {
    fn scope<F: Future>(self, _request_id: &str, call: F) -> impl Future<Output = F::Output> {
        telemetry::metrics::local::scope(self, call)
    }
}

/// One invocation's span, made from its facts; [`Scope::run`] runs the call in it.
#[derive(Debug)]
pub struct Scope {
    span: Span,
    request_id: String,
}

impl Facts<'_> {
    pub fn scope(&self) -> Scope {
        let span = telemetry::trace::spans::invocation(
            self.function_name,
            self.request_id,
            self.cold_start,
            self.trigger,
        );
        if let Some(header) = self.trace_header {
            telemetry::trace::Carrier::from_parts(None, Some(header)).continue_in(&span);
        }
        Scope {
            span,
            request_id: self.request_id.to_owned(),
        }
    }
}

impl Scope {
    /// For what the host logs around the call (the local pool's START/END/REPORT lines).
    pub fn span(&self) -> &Span {
        &self.span
    }

    /// Runs `call` inside the span and the EMF scope of `emf`.
    pub fn run<E: Emf, F: Future>(
        self,
        emf: E,
        call: F,
    ) -> impl Future<Output = F::Output> + use<E, F> {
        let Scope { span, request_id } = self;
        async move {
            emf.scope(&request_id, async {
                // The EMF documents point at the trace: a spike on a dashboard leads to it.
                if let Some(trace_id) = telemetry::trace::current_trace_id() {
                    telemetry::metrics::property(telemetry::metrics::Property::TraceId, trace_id);
                }
                call.await
            })
            .await
        }
        .instrument(span)
    }
}

/// Runs one invocation: its span from `facts`, `call` inside it and inside `emf`'s scope.
pub fn run<E: Emf, F: Future>(
    facts: &Facts<'_>,
    emf: E,
    call: F,
) -> impl Future<Output = F::Output> + use<E, F> {
    facts.scope().run(emf, call)
}
