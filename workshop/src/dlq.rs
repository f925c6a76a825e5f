//! `workshop dlq list|redrive`. Local backend: reads the queue file in the data dir, so it
//! works whether or not the stack is running. `--backend aws`: the SQS dead-letter queue of a
//! deployed stack (`ORDERS_DLQ_URL`, `ORDERS_QUEUE_URL`) or of an emulator the stack provisioned.

use crate::data_dir::DataDir;
use crate::stack::backend::{Backend, EMULATOR_DLQ, EMULATOR_QUEUE, env_value};
use aws_config::BehaviorVersion;
use chrono::{DateTime, Utc};
use orders::domain::timestamp;
use orders::ports::SystemClock;
use orders::settings::{QUEUE, env};
use orders_aws::{RedriveMethod, RedriveOutcome, SqsDeadLetters};
use std::collections::BTreeMap;
use std::sync::Arc;

// Send + Sync: the console's control plane awaits these inside axum handlers.
type Error = Box<dyn std::error::Error + Send + Sync>;

/// One dead letter, whichever backend it came from.
struct Row {
    message_id: String,
    receive_count: u32,
    sent_at: DateTime<Utc>,
    body: String,
    attributes: BTreeMap<String, String>,
}

async fn sqs_dead_letters() -> Result<SqsDeadLetters, Error> {
    let aws = aws_config::load_defaults(BehaviorVersion::latest()).await;
    let sqs = aws_sdk_sqs::Client::new(&aws);
    let emulator = env_value(env::AWS_ENDPOINT_URL).is_some();
    let url_of = |name: &'static str| {
        let sqs = sqs.clone();
        async move {
            sqs.get_queue_url()
                .queue_name(name)
                .send()
                .await
                .map(|o| o.queue_url.unwrap_or_default())
        }
    };
    let (dlq_url, queue_url) = match (
        env_value(env::ORDERS_DLQ_URL),
        env_value(env::ORDERS_QUEUE_URL),
    ) {
        (Some(d), Some(q)) => (d, q),
        _ if emulator => (url_of(EMULATOR_DLQ).await?, url_of(EMULATOR_QUEUE).await?),
        _ => {
            return Err(format!(
                "--backend aws needs {} and {} (the stack outputs OrdersDlqUrl and OrdersQueueUrl), or {}",
                env::ORDERS_DLQ_URL,
                env::ORDERS_QUEUE_URL,
                env::AWS_ENDPOINT_URL
            )
            .into());
        }
    };
    let dlq_arn = orders_aws::provision::queue_arn(&sqs, &dlq_url).await?;
    let queue_arn = orders_aws::provision::queue_arn(&sqs, &queue_url).await?;
    // moto has no StartMessageMoveTask and answers it with a bare 500, so on an emulator the
    // messages are copied back instead; on AWS the move task does it.
    let method = if emulator {
        RedriveMethod::Copy
    } else {
        RedriveMethod::Auto
    };
    Ok(SqsDeadLetters::new(sqs, dlq_url, dlq_arn, queue_arn).with_redrive_method(method))
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
        Backend::Aws => sqs_dead_letters()
            .await?
            .list(limit)
            .await?
            .into_iter()
            .map(Row::from)
            .collect(),
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
        Backend::Aws => match sqs_dead_letters().await?.redrive().await? {
            RedriveOutcome::Moved { count } => Redriven {
                moved: Some(count),
                task_handle: None,
            },
            RedriveOutcome::Started { task_handle } => Redriven {
                moved: None,
                task_handle: Some(task_handle),
            },
        },
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
