//! `workshop dlq list|redrive`. Local backend: reads the queue file in the data dir, so it
//! works whether or not the stack is running. `--backend aws`: the SQS dead-letter queue of a
//! deployed stack (`ORDERS_DLQ_URL`, `ORDERS_QUEUE_URL`) or of an emulator the stack provisioned.

use crate::data_dir::DataDir;
use crate::stack::backend::Backend;
use chrono::{DateTime, Utc};
use orders::domain::timestamp;
use orders::ports::SystemClock;
use orders::settings::QUEUE;
use std::collections::BTreeMap;
use std::sync::Arc;

// Send + Sync: the console's control plane awaits these inside axum handlers.
pub(crate) type Error = Box<dyn std::error::Error + Send + Sync>;

/// One dead letter, whichever backend it came from.
pub(crate) struct Row {
    pub message_id: String,
    pub receive_count: u32,
    pub sent_at: DateTime<Utc>,
    pub body: String,
    pub attributes: BTreeMap<String, String>,
}

/// The fields both DLQ adapters report, under the same names.
macro_rules! row_from {
    ($t:ty) => {
        impl From<$t> for Row {
            fn from(m: $t) -> Row {
                Row {
                    message_id: m.message_id,
                    receive_count: m.receive_count,
                    sent_at: m.sent_at,
                    body: m.body,
                    attributes: m.attributes,
                }
            }
        }
    };
}
row_from!(orders_sqlite::DeadLetter);
#[cfg(feature = "aws")]
row_from!(orders_aws::DeadLetter);

async fn rows(backend: Backend, dir: &DataDir, limit: usize) -> Result<Vec<Row>, Error> {
    let local = || dir.open_queue(&QUEUE, Arc::new(SystemClock));
    Ok(match backend {
        Backend::Local => local()?
            .dlq_list(limit)
            .await?
            .into_iter()
            .map(Row::from)
            .collect(),
        Backend::Aws => crate::aws::dlq_rows(limit).await?,
    })
}

/// The message's trace in X-Ray form (`1-…`), from the context it carries: where its order's
/// trace (retries, the move to the DLQ) is found.
fn trace_id(m: &Row) -> Option<String> {
    let carrier = telemetry::trace::Carrier::from_parts(
        m.attributes
            .get(telemetry::trace::TRACEPARENT)
            .map(String::as_str),
        m.attributes
            .get(telemetry::trace::AWS_TRACE_HEADER)
            .map(String::as_str),
    );
    carrier
        .context()
        .map(|cx| telemetry::trace::xray_trace_id(cx.trace_id()))
}

fn as_json_rows(messages: &[Row]) -> Vec<serde_json::Value> {
    messages
        .iter()
        .map(|m| {
            serde_json::json!({
                "messageId": m.message_id,
                "traceId": trace_id(m),
                "receiveCount": m.receive_count,
                "sentAt": timestamp::format(&m.sent_at),
                "body": serde_json::from_str::<serde_json::Value>(&m.body).unwrap_or_else(|_| m.body.clone().into()),
                "attributes": m.attributes,
            })
        })
        .collect()
}

/// The DLQ's messages as `dlq list --json` prints them (the console's DLQ panel).
pub async fn messages(
    backend: Backend,
    dir: &DataDir,
    limit: usize,
) -> Result<Vec<serde_json::Value>, Error> {
    Ok(as_json_rows(&rows(backend, dir, limit).await?))
}

pub async fn list(
    backend: Backend,
    dir: &DataDir,
    limit: usize,
    as_json: bool,
) -> Result<String, Error> {
    let messages = rows(backend, dir, limit).await?;
    if as_json {
        return Ok(serde_json::to_string_pretty(&as_json_rows(&messages))?);
    }
    if messages.is_empty() {
        return Ok("The DLQ is empty.".to_owned());
    }
    let mut out = format!("{} message(s) in the DLQ:\n", messages.len());
    out.push_str(&format!(
        "{:<36}  {:>8}  {:<24}  {:<35}  BODY\n",
        "MESSAGE ID", "RECEIVES", "SENT AT", "TRACE ID"
    ));
    for m in &messages {
        out.push_str(&format!(
            "{:<36}  {:>8}  {:<24}  {:<35}  {}\n",
            m.message_id,
            m.receive_count,
            timestamp::format(&m.sent_at),
            trace_id(m).unwrap_or_else(|| "-".into()),
            m.body
        ));
    }
    Ok(out.trim_end().to_owned())
}

/// What a redrive did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Redriven {
    /// Messages moved back, when the move is done.
    pub moved: Option<usize>,
    /// SQS's move task, when it moves them in the background.
    pub task_handle: Option<String>,
}

pub async fn redrive_messages(backend: Backend, dir: &DataDir) -> Result<Redriven, Error> {
    Ok(match backend {
        Backend::Local => Redriven {
            moved: Some(
                dir.open_queue(&QUEUE, Arc::new(SystemClock))?
                    .redrive()
                    .await?,
            ),
            task_handle: None,
        },
        Backend::Aws => crate::aws::dlq_redrive().await?,
    })
}

pub async fn redrive(backend: Backend, dir: &DataDir) -> Result<String, Error> {
    Ok(match redrive_messages(backend, dir).await? {
        Redriven {
            task_handle: Some(task_handle),
            ..
        } => format!(
            "Started a message move task from the DLQ to the orders queue ({task_handle}); \
             SQS moves the messages in the background."
        ),
        Redriven { moved, .. } => format!(
            "Redrove {} message(s) from the DLQ to the orders queue.",
            moved.unwrap_or(0)
        ),
    })
}
