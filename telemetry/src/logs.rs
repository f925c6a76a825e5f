//! A `tracing` layer that turns each event into one flat JSON object: the event's fields plus
//! the fields of every span it happened in (outermost first, so an inner `order_id` wins).
//! Where the object goes is up to a [`LogSink`]: stdout on Lambda, per-function files and a
//! readable terminal line on the local stack.

use serde_json::{Map, Value};
use std::fmt::Write as _;
use std::io::Write as _;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber, span};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

/// The level variables, in the order Lambda's advanced logging controls and Rust read them.
pub const LEVEL_VARS: [&str; 2] = ["AWS_LAMBDA_LOG_LEVEL", "RUST_LOG"];

/// One log line, ready to write.
#[derive(Debug, Clone)]
pub struct LogRecord {
    pub level: Level,
    /// The Lambda function the event belongs to, when it happened inside an invocation.
    pub function_name: Option<String>,
    /// All keys, flat, including `timestamp`, `level` and `message`.
    pub fields: Map<String, Value>,
}

impl LogRecord {
    pub fn to_json(&self) -> String {
        Value::Object(self.fields.clone()).to_string()
    }
}

pub trait LogSink: Send + Sync + 'static {
    fn write(&self, record: &LogRecord);
}

/// Writes each record as a JSON line to stdout, as Lambda's JSON log format expects.
#[derive(Debug, Default, Clone, Copy)]
pub struct Stdout;

impl LogSink for Stdout {
    fn write(&self, record: &LogRecord) {
        let mut out = std::io::stdout().lock();
        // A log line that cannot be written has nowhere else to go.
        let _ = writeln!(out, "{}", record.to_json());
    }
}

/// The filter: `AWS_LAMBDA_LOG_LEVEL` (set by Lambda's advanced logging controls), then
/// `RUST_LOG`, then INFO.
pub fn env_filter() -> EnvFilter {
    let from_env = LEVEL_VARS.iter().find_map(|var| {
        let value = std::env::var(var).ok()?;
        // Lambda says FATAL where tracing says error.
        let value = value.replace("FATAL", "error").replace("fatal", "error");
        EnvFilter::try_new(value.to_lowercase()).ok()
    });
    from_env.unwrap_or_else(|| EnvFilter::new("info"))
}

#[derive(Default)]
struct SpanFields {
    fields: Map<String, Value>,
    /// `trace_id`, `span_id`, `xray_trace_id`, read once from the OpenTelemetry layer.
    trace: std::sync::OnceLock<Option<[(&'static str, String); 3]>>,
}

/// Span fields with a dot are OpenTelemetry attributes (`http.route`, `otel.kind`): they go
/// on the span, not on every log line, which keeps the kit's flat keys.
fn is_log_key(name: &str) -> bool {
    !name.contains('.')
}

struct JsonVisitor<'a>(&'a mut Map<String, Value>);

impl Visit for JsonVisitor<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let mut text = String::new();
        let _ = write!(text, "{value:?}");
        self.0.insert(field.name().to_owned(), Value::String(text));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0
            .insert(field.name().to_owned(), Value::String(value.to_owned()));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }
}

/// The JSON layer. `service` is stamped on every line; inside a traced span, so are
/// `trace_id`, `span_id` and `xray_trace_id`.
pub struct JsonLayer<K> {
    service: String,
    sink: K,
    /// The subscriber this layer is part of, to ask the OpenTelemetry layer for span ids.
    dispatch: std::sync::OnceLock<tracing::dispatcher::WeakDispatch>,
}

impl<K: LogSink> JsonLayer<K> {
    pub fn new(service: impl Into<String>, sink: K) -> Self {
        JsonLayer {
            service: service.into(),
            sink,
            dispatch: std::sync::OnceLock::new(),
        }
    }

    fn trace_ids(&self, id: &span::Id) -> Option<[(&'static str, String); 3]> {
        let dispatch = self.dispatch.get()?.upgrade()?;
        let cx = tracing_opentelemetry::get_otel_context(id, &dispatch)?;
        use opentelemetry::trace::TraceContextExt;
        let sc = cx.span().span_context().clone();
        sc.is_valid().then(|| {
            [
                ("trace_id", sc.trace_id().to_string()),
                ("span_id", sc.span_id().to_string()),
                ("xray_trace_id", crate::trace::xray_trace_id(sc.trace_id())),
            ]
        })
    }
}

impl<S, K> Layer<S> for JsonLayer<K>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    K: LogSink,
{
    fn on_register_dispatch(&self, subscriber: &tracing::Dispatch) {
        let _ = self.dispatch.set(subscriber.downgrade());
    }

    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = SpanFields::default();
        attrs.record(&mut JsonVisitor(&mut fields.fields));
        fields.fields.retain(|k, _| is_log_key(k));
        span.extensions_mut().insert(fields);
    }

    fn on_record(&self, id: &span::Id, values: &span::Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut ext = span.extensions_mut();
        if let Some(fields) = ext.get_mut::<SpanFields>() {
            values.record(&mut JsonVisitor(&mut fields.fields));
            fields.fields.retain(|k, _| is_log_key(k));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let meta = event.metadata();
        let mut fields = Map::new();
        fields.insert(
            "timestamp".into(),
            Value::String(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
        );
        fields.insert("level".into(), Value::String(meta.level().to_string()));
        fields.insert("message".into(), Value::String(String::new()));
        fields.insert("service".into(), Value::String(self.service.clone()));
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                if let Some(span_fields) = span.extensions().get::<SpanFields>() {
                    for (k, v) in &span_fields.fields {
                        fields.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        // The ids of the nearest span the tracer knows (a DEBUG span of the SDK is not
        // traced, its traced parent is).
        for span in ctx.event_scope(event).into_iter().flatten() {
            // Read outside the extensions lock: the OpenTelemetry layer takes it too.
            let cached = span
                .extensions()
                .get::<SpanFields>()
                .and_then(|f| f.trace.get().cloned());
            let ids = match cached {
                Some(ids) => ids,
                None => {
                    let ids = self.trace_ids(&span.id());
                    if let Some(f) = span.extensions().get::<SpanFields>() {
                        let _ = f.trace.set(ids.clone());
                    }
                    ids
                }
            };
            if let Some(ids) = ids {
                for (k, v) in ids {
                    fields.insert(k.into(), Value::String(v));
                }
                break;
            }
        }
        event.record(&mut JsonVisitor(&mut fields));
        fields.insert("target".into(), Value::String(meta.target().to_owned()));
        let function_name = fields
            .get("function_name")
            .and_then(Value::as_str)
            .map(str::to_owned);
        self.sink.write(&LogRecord {
            level: *meta.level(),
            function_name,
            fields,
        });
    }
}

/// Installs the JSON logger for a Lambda binary (JSON lines on stdout, level from the
/// environment) and, when given, the tracer's layer. Call once, first thing in `main`.
pub fn init_lambda(service: &str, tracing: Option<&crate::trace::Tracing>) {
    // A second install in one process (tests) keeps the first subscriber.
    let _ = install(JsonLayer::new(service, Stdout), tracing);
}

/// Installs `json` (filtered by the level variables) and the tracer's layer (all INFO spans,
/// whatever the log level: a quiet log must not hide traces) as the global subscriber.
/// Fails when a subscriber is already installed.
pub fn install<K: LogSink>(
    json: JsonLayer<K>,
    tracing: Option<&crate::trace::Tracing>,
) -> Result<(), tracing_subscriber::util::TryInitError> {
    use tracing_subscriber::util::SubscriberInitExt as _;
    subscriber(json, env_filter(), tracing).try_init()
}

/// What [`install`] installs, with `filter` for the log lines, not installed: for a caller
/// that sets it per thread (the warm benches).
pub fn subscriber<K: LogSink>(
    json: JsonLayer<K>,
    filter: EnvFilter,
    tracing: Option<&crate::trace::Tracing>,
) -> impl tracing::Subscriber + Send + Sync + 'static {
    use tracing_subscriber::prelude::*;
    let otel = tracing.map(|t| t.layer().with_filter(crate::trace::spans_only()));
    tracing_subscriber::registry()
        .with(json.with_filter(filter))
        .with(otel)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use tracing_subscriber::prelude::*;

    #[derive(Clone, Default)]
    struct Collect(Arc<Mutex<Vec<LogRecord>>>);
    impl LogSink for Collect {
        fn write(&self, record: &LogRecord) {
            self.0.lock().unwrap().push(record.clone());
        }
    }

    #[test]
    fn events_carry_flat_keys_from_their_spans() {
        let sink = Collect::default();
        let subscriber =
            tracing_subscriber::registry().with(JsonLayer::new("orders", sink.clone()));
        tracing::subscriber::with_default(subscriber, || {
            let outer = tracing::info_span!(
                "invocation",
                function_name = "create-order",
                cold_start = true
            );
            let _o = outer.enter();
            let inner = tracing::info_span!("create_order", order_id = tracing::field::Empty);
            let _i = inner.enter();
            inner.record("order_id", "o-1");
            tracing::info!(total = 5, "order created");
        });
        let records = sink.0.lock().unwrap();
        let r = &records[0];
        assert!(!r.fields.contains_key("trace_id"), "no tracer, no trace id");
        assert_eq!(r.function_name.as_deref(), Some("create-order"));
        let f = &r.fields;
        assert_eq!(f["message"], "order created");
        assert_eq!(f["level"], "INFO");
        assert_eq!(f["service"], "orders");
        assert_eq!(f["order_id"], "o-1");
        assert_eq!(f["cold_start"], true);
        assert_eq!(f["total"], 5);
        assert!(f["timestamp"].as_str().unwrap().ends_with('Z'));
    }
}
