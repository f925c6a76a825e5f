//! `workshop dlq list|redrive` for the local stack: reads the queue file in the data dir, so it
//! works whether or not the stack is running.

use crate::data_dir::{DataDir, DataDirError};
use orders::ports::SystemClock;
use orders::settings::QUEUE;
use orders_sqlite::SqliteQueue;
use std::sync::Arc;

fn open(dir: &DataDir) -> Result<SqliteQueue, DataDirError> {
    dir.open_queue(&QUEUE, Arc::new(SystemClock))
}

pub async fn list(
    dir: &DataDir,
    limit: usize,
    as_json: bool,
) -> Result<String, Box<dyn std::error::Error>> {
    let messages = open(dir)?.dlq_list(limit).await?;
    if as_json {
        let rows: Vec<_> = messages
            .iter()
            .map(|m| {
                serde_json::json!({
                    "messageId": m.message_id,
                    "receiveCount": m.receive_count,
                    "sentAt": orders::domain::timestamp::format(&m.sent_at),
                    "movedAt": orders::domain::timestamp::format(&m.moved_at),
                    "body": serde_json::from_str::<serde_json::Value>(&m.body).unwrap_or_else(|_| m.body.clone().into()),
                    "attributes": m.attributes,
                })
            })
            .collect();
        return Ok(serde_json::to_string_pretty(&rows)?);
    }
    if messages.is_empty() {
        return Ok("The DLQ is empty.".to_owned());
    }
    let mut out = format!("{} message(s) in the DLQ:\n", messages.len());
    out.push_str(&format!(
        "{:<36}  {:>8}  {:<24}  BODY\n",
        "MESSAGE ID", "RECEIVES", "MOVED AT"
    ));
    for m in &messages {
        out.push_str(&format!(
            "{:<36}  {:>8}  {:<24}  {}\n",
            m.message_id,
            m.receive_count,
            orders::domain::timestamp::format(&m.moved_at),
            m.body
        ));
    }
    Ok(out.trim_end().to_owned())
}

pub async fn redrive(dir: &DataDir) -> Result<usize, Box<dyn std::error::Error>> {
    Ok(open(dir)?.redrive().await?)
}
