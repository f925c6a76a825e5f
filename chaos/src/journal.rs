//! The experiment journal: each chaos run's hypothesis, faults, start, end and whether steady
//! state held, readable after the fact. An append-only JSON-lines file: every change appends
//! the whole entry again and the last line of an id wins, so a crash loses at most the line
//! being written.

use crate::faults::Faults;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::io::Write as _;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum EndReason {
    /// `workshop chaos off`, the kill switch.
    SwitchedOff,
    /// The override's expiry passed.
    Expired,
    /// The stop-condition alarm went to ALARM.
    StopCondition,
    /// Another experiment started.
    Replaced,
}

impl EndReason {
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::SwitchedOff => "switched off",
            EndReason::Expired => "expired",
            EndReason::StopCondition => "stop condition",
            EndReason::Replaced => "replaced",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Experiment {
    pub id: String,
    pub hypothesis: String,
    /// `local` or `aws`.
    pub target: String,
    pub faults: Faults,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// The alarms that define steady state: it held if none of them was in ALARM.
    pub steady_state: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_on: Option<String>,
    #[serde(with = "crate::time::millis")]
    pub started_at: DateTime<Utc>,
    #[serde(with = "crate::time::millis")]
    pub expires_at: DateTime<Utc>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::time::millis_opt"
    )]
    pub ended_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_reason: Option<EndReason>,
    /// Unknown until the experiment ends (or when the alarms' history could not be read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steady_state_held: Option<bool>,
    /// What broke steady state: `alarm went to ALARM at time: reason`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub breaches: Vec<String>,
    /// The local stack restarted during the run: its alarms were not evaluated while it was down,
    /// so steady state can only be judged unknown (unless a later breach was seen).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub interrupted: bool,
}

impl Experiment {
    pub fn running(&self) -> bool {
        self.ended_at.is_none()
    }

    pub fn end(
        &mut self,
        at: DateTime<Utc>,
        reason: EndReason,
        held: Option<bool>,
        breaches: Vec<String>,
    ) {
        self.ended_at = Some(crate::time::to_ms(at));
        self.end_reason = Some(reason);
        self.steady_state_held = held;
        self.breaches = breaches;
    }
}

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("cannot write the chaos journal {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read the chaos journal {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
}

#[derive(Debug, Clone)]
pub struct Journal {
    path: PathBuf,
}

impl Journal {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Journal { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn record(&self, e: &Experiment) -> Result<(), JournalError> {
        let write = |source| JournalError::Write {
            path: self.path.clone(),
            source,
        };
        let mut line = serde_json::to_string(e).map_err(|e| write(std::io::Error::other(e)))?;
        line.push('\n');
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(&self.path)
            .map_err(write)?;
        // After a crash mid-write the file may end in a torn line: start on a line of our own,
        // so the torn one stays alone (and skipped) instead of swallowing this entry.
        if ends_torn(&mut file).map_err(write)? {
            line.insert(0, '\n');
        }
        file.write_all(line.as_bytes()).map_err(write)?;
        file.sync_data().map_err(write)
    }

    /// Every experiment, oldest first, each as last recorded. A line that is not an entry (torn
    /// by a crash while writing, or edited by hand) is skipped with a warning: the journal
    /// must never stop the stack from starting.
    pub fn entries(&self) -> Result<Vec<Experiment>, JournalError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(JournalError::Read {
                    path: self.path.clone(),
                    source,
                });
            }
        };
        let mut out: Vec<Experiment> = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let e: Experiment = match serde_json::from_str(line) {
                Ok(e) => e,
                Err(err) => {
                    tracing::warn!(path = %self.path.display(), line = i + 1, error = %err, "skipping a chaos journal line that is not an entry");
                    continue;
                }
            };
            match out.iter_mut().find(|x| x.id == e.id) {
                Some(slot) => *slot = e,
                None => out.push(e),
            }
        }
        Ok(out)
    }
}

fn ends_torn(file: &mut std::fs::File) -> std::io::Result<bool> {
    use std::io::{Read, Seek, SeekFrom};
    if file.metadata()?.len() == 0 {
        return Ok(false);
    }
    file.seek(SeekFrom::End(-1))?;
    let mut last = [0u8; 1];
    file.read_exact(&mut last)?;
    Ok(last[0] != b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn experiment(id: &str) -> Experiment {
        let now = crate::time::now();
        Experiment {
            id: id.into(),
            hypothesis: "the DLQ catches every failing order".into(),
            target: "local".into(),
            faults: Faults::default(),
            seed: Some(1),
            steady_state: vec!["pipeline-unhealthy".into()],
            stop_on: None,
            started_at: now,
            expires_at: now,
            ended_at: None,
            end_reason: None,
            steady_state_held: None,
            breaches: Vec::new(),
            interrupted: false,
        }
    }

    #[test]
    fn last_record_of_an_id_wins_and_order_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::new(dir.path().join("journal.jsonl"));
        assert!(j.entries().unwrap().is_empty());
        let mut a = experiment("a");
        j.record(&a).unwrap();
        j.record(&experiment("b")).unwrap();
        a.end(
            crate::time::now(),
            EndReason::Expired,
            Some(false),
            vec!["x went to ALARM".into()],
        );
        j.record(&a).unwrap();
        let all = j.entries().unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0], a);
        assert!(!all[0].running());
        assert!(all[1].running());
    }

    #[test]
    fn a_torn_line_costs_only_itself() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        let j = Journal::new(&path);
        j.record(&experiment("a")).unwrap();
        // A crash while writing "b".
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str("{\"id\":\"b\",\"hypo");
        std::fs::write(&path, &text).unwrap();
        assert_eq!(j.entries().unwrap().len(), 1);
        // The next record starts on its own line and both entries survive.
        j.record(&experiment("c")).unwrap();
        let ids: Vec<String> = j.entries().unwrap().into_iter().map(|e| e.id).collect();
        assert_eq!(ids, ["a", "c"]);
        std::fs::write(
            &path,
            format!("garbage\n{}", std::fs::read_to_string(&path).unwrap()),
        )
        .unwrap();
        assert_eq!(j.entries().unwrap().len(), 2);
    }
}
