//! Where the local stack's log lines go: JSON lines to one file per function in the data dir
//! (what CloudWatch Logs would hold), and a short readable line to the terminal.

use serde_json::Value;
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use telemetry::logs::{LogRecord, LogSink};
use tracing::Level;

/// Log group for lines outside any function (the gateway, the event source).
pub const STACK_LOG: &str = "workshop";

/// The `kind` of an alarm state change's log line (the alarm loop writes it, the terminal
/// filter reads it).
pub const STATE_CHANGE: &str = "alarm.state_change";

/// Cheap to clone: the tracing layer and the EMF sink write through the same open files.
#[derive(Clone)]
pub struct LocalLogs(Arc<Files>);

struct Files {
    dir: PathBuf,
    files: Mutex<HashMap<String, File>>,
    terminal: bool,
}

impl LocalLogs {
    pub fn new(dir: &Path, terminal: bool) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        Ok(LocalLogs(Arc::new(Files {
            dir: dir.to_owned(),
            files: Mutex::new(HashMap::new()),
            terminal,
        })))
    }

    pub fn file_for(dir: &Path, function: &str) -> PathBuf {
        dir.join(format!("{function}.log"))
    }

    /// Appends one line to a log group's file (a function's, or `workshop`).
    pub fn append(&self, group: &str, line: &str) {
        let mut files = self.0.files.lock().unwrap_or_else(|p| p.into_inner());
        if !files.contains_key(group) {
            match OpenOptions::new()
                .create(true)
                .append(true)
                .open(Self::file_for(&self.0.dir, group))
            {
                Ok(f) => {
                    files.insert(group.to_owned(), f);
                }
                Err(e) => {
                    eprintln!("cannot open the log file for {group}: {e}");
                    return;
                }
            }
        }
        if let Some(f) = files.get_mut(group) {
            // One write per line, so a killed process leaves whole lines behind.
            let _ = f.write_all(format!("{line}\n").as_bytes());
        }
    }
}

/// `12:03:04.567 INFO  create-order    order created  order_id=… total=12.50`
pub fn readable(record: &LogRecord) -> String {
    let f = &record.fields;
    let time = f
        .get("timestamp")
        .and_then(Value::as_str)
        .and_then(|t| t.get(11..23))
        .unwrap_or("");
    let who = record.function_name.as_deref().unwrap_or(STACK_LOG);
    let message = f.get("message").and_then(Value::as_str).unwrap_or("");
    let mut line = format!("{time} {:<5} {who:<15} {message}", record.level.as_str());
    const SHOWN: [&str; 5] = [
        "order_id",
        "status",
        "error",
        "correlation_id",
        "message_id",
    ];
    for key in SHOWN {
        if let Some(v) = f.get(key) {
            let v = v
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| v.to_string());
            line.push_str(&format!("  {key}={v}"));
        }
    }
    line
}

impl LogSink for LocalLogs {
    fn write(&self, record: &LogRecord) {
        let group = record
            .function_name
            .as_deref()
            .unwrap_or(STACK_LOG)
            .to_owned();
        self.append(&group, &record.to_json());
        // The terminal shows INFO and above, without the per-invocation START/END noise.
        if self.0.terminal && for_terminal(record) {
            terminal_line(&readable(record));
        }
    }
}

/// What the terminal shows of the stack's log: what a person watches for (requests, orders,
/// state changes, chaos, errors). Every line stays in the JSON files; these stay out of the
/// terminal: DEBUG, Lambda's per-invocation START/END/REPORT lines (three functions run for
/// every order), and an alarm turning OK from INSUFFICIENT_DATA, which is each
/// alarm's first evaluation at start (one summary line says it instead).
pub fn for_terminal(record: &LogRecord) -> bool {
    let field = |k: &str| record.fields.get(k).and_then(Value::as_str).unwrap_or("");
    let platform_noise = matches!(
        field("type"),
        "platform.start" | "platform.end" | "platform.report"
    );
    let first_evaluation = field("kind") == STATE_CHANGE
        && field("from") == alarms::AlarmState::InsufficientData.as_str()
        && field("to") == alarms::AlarmState::Ok.as_str();
    record.level <= Level::INFO && !platform_noise && !first_evaluation
}

/// One line to the terminal. A closed stdout (`workshop up | head`) must not stop the stack:
/// the line is dropped, as it is in the log files' favour anyway.
pub fn terminal_line(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout().lock(), "{line}");
}
