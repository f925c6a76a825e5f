//! The span store: every finished span of the stack, in `traces.db` in the data dir, so
//! traces survive a restart. Bounded: past [`MAX_SPANS`] the oldest spans go. Written by the
//! stack's tracer (it is a [`SpanSink`]) and by CLI commands that act on the queue (a
//! redrive), read by the console and `workshop traces`.

use opentelemetry::trace::{SpanKind, Status};
use opentelemetry::{Array, Value as OtelValue};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};
use telemetry::trace::{SpanData, SpanSink};

/// Spans kept; a burst of load keeps the last few thousand orders' traces.
pub const MAX_SPANS: i64 = 50_000;

const DDL: &str = "
    CREATE TABLE IF NOT EXISTS spans (
        trace_id       TEXT NOT NULL,
        span_id        TEXT NOT NULL,
        parent_span_id TEXT NOT NULL,       -- '' for a root
        name           TEXT NOT NULL,
        kind           TEXT NOT NULL,       -- server, client, producer, consumer, internal
        order_id       TEXT,                -- the span's order_id attribute, if any
        start_ns       INTEGER NOT NULL,    -- unix ns
        end_ns         INTEGER NOT NULL,
        status         TEXT NOT NULL,       -- UNSET, OK, ERROR
        status_message TEXT NOT NULL,
        attributes     TEXT NOT NULL,       -- JSON object
        events         TEXT NOT NULL,       -- JSON array of {name, time_ns, attributes}
        links          TEXT NOT NULL,       -- JSON array of {trace_id, span_id}
        PRIMARY KEY (trace_id, span_id)
    );
    CREATE INDEX IF NOT EXISTS spans_by_start ON spans (start_ns);
    CREATE INDEX IF NOT EXISTS spans_by_order ON spans (order_id) WHERE order_id IS NOT NULL;
";

#[derive(Debug, thiserror::Error)]
pub enum SpanStoreError {
    #[error("span store {path}: {message}")]
    Open { path: String, message: String },
    #[error("span store: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("span store: the query task stopped: {0}")]
    Task(String),
}

/// One span as the store keeps it and the console shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredSpan {
    pub trace_id: String,
    pub span_id: String,
    /// Empty for a root span.
    pub parent_span_id: String,
    pub name: String,
    pub kind: String,
    pub start_ns: i64,
    pub end_ns: i64,
    pub duration_ms: f64,
    pub status: String,
    pub status_message: String,
    pub attributes: Map<String, Value>,
    pub events: Vec<Value>,
    pub links: Vec<Value>,
}

impl StoredSpan {
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).and_then(Value::as_str)
    }
    pub fn is_error(&self) -> bool {
        self.status == "ERROR"
    }
}

#[derive(Clone)]
pub struct SpanStore {
    conn: Arc<Mutex<Connection>>,
}

impl std::fmt::Debug for SpanStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SpanStore")
    }
}

impl SpanStore {
    pub fn open(path: &Path) -> Result<SpanStore, SpanStoreError> {
        let open = || -> Result<Connection, rusqlite::Error> {
            let conn = Connection::open(path)?;
            // WAL: the stack writes while a CLI command or the console reads.
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", "NORMAL")?;
            conn.busy_timeout(std::time::Duration::from_secs(5))?;
            conn.execute_batch(DDL)?;
            Ok(conn)
        };
        let conn = open().map_err(|e| SpanStoreError::Open {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        Ok(SpanStore {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, rusqlite::Error> + Send + 'static,
    ) -> impl Future<Output = Result<T, SpanStoreError>> + Send + 'static {
        let conn = self.conn.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                let mut conn = conn.lock().unwrap_or_else(|p| p.into_inner());
                f(&mut conn)
            })
            .await
            .map_err(|e| SpanStoreError::Task(e.to_string()))?
            .map_err(SpanStoreError::from)
        }
    }

    /// Adds finished spans (a span seen again replaces the older copy) and trims the store.
    pub async fn insert(&self, spans: Vec<StoredSpan>) -> Result<(), SpanStoreError> {
        self.with(move |conn| {
            let tx = conn.transaction()?;
            {
                let mut stmt = tx.prepare_cached(
                    "INSERT OR REPLACE INTO spans (trace_id, span_id, parent_span_id, name, kind,
                         order_id, start_ns, end_ns, status, status_message, attributes, events, links)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                )?;
                for s in &spans {
                    stmt.execute(params![
                        s.trace_id,
                        s.span_id,
                        s.parent_span_id,
                        s.name,
                        s.kind,
                        s.attr("order_id"),
                        s.start_ns,
                        s.end_ns,
                        s.status,
                        s.status_message,
                        Value::Object(s.attributes.clone()).to_string(),
                        Value::Array(s.events.clone()).to_string(),
                        Value::Array(s.links.clone()).to_string(),
                    ])?;
                }
            }
            let count: i64 = tx.query_row("SELECT count(*) FROM spans", [], |r| r.get(0))?;
            if count > MAX_SPANS {
                tx.execute(
                    "DELETE FROM spans WHERE rowid IN
                         (SELECT rowid FROM spans ORDER BY start_ns LIMIT ?1)",
                    [count - MAX_SPANS],
                )?;
            }
            tx.commit()
        })
        .await
    }

    /// Every span of `trace_id`, by start time.
    pub async fn trace(&self, trace_id: &str) -> Result<Vec<StoredSpan>, SpanStoreError> {
        let trace_id = trace_id.to_owned();
        self.with(move |conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM spans WHERE trace_id = ?1 ORDER BY start_ns, span_id"
            ))?;
            stmt.query_map([trace_id], row)?.collect()
        })
        .await
    }

    /// The traces that hold a span of `order_id`, newest first.
    pub async fn traces_of_order(&self, order_id: &str) -> Result<Vec<String>, SpanStoreError> {
        let order_id = order_id.to_owned();
        self.with(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT trace_id FROM spans WHERE order_id = ?1
                 GROUP BY trace_id ORDER BY max(start_ns) DESC",
            )?;
            stmt.query_map([order_id], |r| r.get(0))?.collect()
        })
        .await
    }

    /// The spans that started at or after `since_ns` (at most `limit`, newest first), for
    /// the trace list and the service map.
    pub async fn since(
        &self,
        since_ns: i64,
        limit: i64,
    ) -> Result<Vec<StoredSpan>, SpanStoreError> {
        self.with(move |conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM spans WHERE start_ns >= ?1 ORDER BY start_ns DESC LIMIT ?2"
            ))?;
            stmt.query_map(params![since_ns, limit], row)?.collect()
        })
        .await
    }

    /// Whether the store holds a span of `trace_id`.
    pub async fn has_trace(&self, trace_id: &str) -> Result<bool, SpanStoreError> {
        let trace_id = trace_id.to_owned();
        self.with(move |conn| {
            conn.query_row(
                "SELECT 1 FROM spans WHERE trace_id = ?1 LIMIT 1",
                [trace_id],
                |_| Ok(()),
            )
            .optional()
            .map(|found| found.is_some())
        })
        .await
    }
}

const COLUMNS: &str = "trace_id, span_id, parent_span_id, name, kind, start_ns, end_ns, status,
    status_message, attributes, events, links";

fn row(r: &rusqlite::Row<'_>) -> Result<StoredSpan, rusqlite::Error> {
    let json = |i: usize| -> Result<Value, rusqlite::Error> {
        let text: String = r.get(i)?;
        serde_json::from_str(&text).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
        })
    };
    let start_ns: i64 = r.get(5)?;
    let end_ns: i64 = r.get(6)?;
    Ok(StoredSpan {
        trace_id: r.get(0)?,
        span_id: r.get(1)?,
        parent_span_id: r.get(2)?,
        name: r.get(3)?,
        kind: r.get(4)?,
        start_ns,
        end_ns,
        duration_ms: (end_ns - start_ns) as f64 / 1e6,
        status: r.get(7)?,
        status_message: r.get(8)?,
        attributes: match json(9)? {
            Value::Object(m) => m,
            _ => Map::new(),
        },
        events: match json(10)? {
            Value::Array(a) => a,
            _ => Vec::new(),
        },
        links: match json(11)? {
            Value::Array(a) => a,
            _ => Vec::new(),
        },
    })
}

fn unix_ns(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

fn value(v: &OtelValue) -> Value {
    match v {
        OtelValue::Bool(b) => json!(b),
        OtelValue::I64(i) => json!(i),
        OtelValue::F64(f) => json!(f),
        OtelValue::String(s) => json!(s.as_str()),
        OtelValue::Array(Array::String(a)) => {
            json!(a.iter().map(|s| s.as_str()).collect::<Vec<_>>())
        }
        other => json!(other.to_string()),
    }
}

/// A finished SDK span in the store's shape.
pub fn from_sdk(span: &SpanData) -> StoredSpan {
    let start_ns = unix_ns(span.start_time);
    let end_ns = unix_ns(span.end_time).max(start_ns);
    let attributes: Map<String, Value> = span
        .attributes
        .iter()
        .map(|kv| (kv.key.as_str().to_owned(), value(&kv.value)))
        .collect();
    let events = span
        .events
        .iter()
        .map(|e| {
            let attrs: Map<String, Value> = e
                .attributes
                .iter()
                .map(|kv| (kv.key.as_str().to_owned(), value(&kv.value)))
                .collect();
            json!({ "name": e.name, "time_ns": unix_ns(e.timestamp), "attributes": attrs })
        })
        .collect();
    let links = span
        .links
        .iter()
        .map(|l| {
            json!({
                "trace_id": l.span_context.trace_id().to_string(),
                "span_id": l.span_context.span_id().to_string(),
            })
        })
        .collect();
    let (status, status_message) = match &span.status {
        Status::Unset => ("UNSET", String::new()),
        Status::Ok => ("OK", String::new()),
        Status::Error { description } => ("ERROR", description.to_string()),
    };
    let parent = span.parent_span_id;
    StoredSpan {
        trace_id: span.span_context.trace_id().to_string(),
        span_id: span.span_context.span_id().to_string(),
        parent_span_id: if parent == opentelemetry::trace::SpanId::INVALID {
            String::new()
        } else {
            parent.to_string()
        },
        name: span.name.to_string(),
        kind: match span.span_kind {
            SpanKind::Server => "server",
            SpanKind::Client => "client",
            SpanKind::Producer => "producer",
            SpanKind::Consumer => "consumer",
            SpanKind::Internal => "internal",
        }
        .to_owned(),
        start_ns,
        end_ns,
        duration_ms: (end_ns - start_ns) as f64 / 1e6,
        status: status.to_owned(),
        status_message,
        attributes,
        events,
        links,
    }
}

impl SpanSink for SpanStore {
    fn name(&self) -> &str {
        "local span store"
    }
    fn export(
        &self,
        batch: Vec<SpanData>,
    ) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + '_>> {
        let spans: Vec<StoredSpan> = batch.iter().map(from_sdk).collect();
        Box::pin(async move { self.insert(spans).await.map_err(|e| e.to_string()) })
    }
}
