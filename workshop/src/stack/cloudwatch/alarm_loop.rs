//! The local CloudWatch alarm evaluator: evaluates the same alarm set as the template against
//! the local metric store, with CloudWatch's semantics (the `alarms` crate), and logs every
//! state change where the attendee sees it.

use super::logs::STATE_CHANGE;
use super::metric_store::MetricStore;
use alarms::{Alarm, AlarmState, AlarmStatus, AlarmTracker, Transition};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::watch;
use tracing::{error, info, warn};

/// CloudWatch evaluates standard alarms every minute; locally more often, so a lab sees the
/// state change soon after the period it depends on closes. Periods stay as defined.
pub const EVALUATE_EVERY: Duration = Duration::from_secs(10);

pub struct LocalAlarms(Mutex<AlarmTracker>);

/// What `GET /api/alarms` answers and `workshop alarms` prints.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct AlarmsView {
    pub alarms: BTreeMap<String, AlarmStatus>,
    pub history: Vec<Transition>,
}

impl LocalAlarms {
    pub fn new(set: Vec<Alarm>) -> Result<Self, alarms::AlarmError> {
        Ok(LocalAlarms(Mutex::new(AlarmTracker::new(set)?)))
    }

    /// Resumes from the history kept in the data dir (see `AlarmTracker::restore`).
    pub fn restore(&self, history: Vec<Transition>) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .restore(history);
    }

    pub fn view(&self) -> AlarmsView {
        let tracker = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        AlarmsView {
            alarms: tracker.statuses().clone(),
            history: tracker.history().to_vec(),
        }
    }

    /// One evaluation round; returns its transitions.
    pub fn evaluate(&self, store: &MetricStore) -> Vec<Transition> {
        let mut tracker = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let now = chrono::Utc::now();
        match store.with(|metrics| tracker.evaluate_all(metrics, now)) {
            Ok(changes) => changes,
            Err(e) => {
                error!(error = %e, "alarm evaluation failed");
                Vec::new()
            }
        }
    }
}

pub async fn run(
    alarms: Arc<LocalAlarms>,
    store: Arc<MetricStore>,
    mut stop: watch::Receiver<bool>,
) {
    let mut first = true;
    while !*stop.borrow() {
        let changes = alarms.evaluate(&store);
        for t in &changes {
            log_transition(t);
        }
        if !changes.is_empty() {
            let store = store.clone();
            let _ = tokio::task::spawn_blocking(move || store.record_transitions(&changes)).await;
        }
        if std::mem::take(&mut first) {
            summary(&alarms.view());
        }
        tokio::select! {
            _ = tokio::time::sleep(EVALUATE_EVERY) => {}
            _ = stop.changed() => {}
        }
    }
}

/// Every state change goes to the stack's JSON log with its reason; the terminal shows the
/// ones a person acts on (see `logs::for_terminal`).
fn log_transition(t: &Transition) {
    let line = format!("alarm {} {} -> {}: {}", t.alarm, t.from, t.to, t.reason);
    let (from, to) = (t.from.as_str(), t.to.as_str());
    if t.to == AlarmState::Alarm {
        warn!(kind = STATE_CHANGE, alarm = %t.alarm, from, to, "{line}");
    } else {
        info!(kind = STATE_CHANGE, alarm = %t.alarm, from, to, "{line}");
    }
}

/// One line after the first evaluation round: how many alarms, in which states.
fn summary(view: &AlarmsView) {
    let count = |state: AlarmState| view.alarms.values().filter(|a| a.state == state).count();
    let (ok, alarm, insufficient) = (
        count(AlarmState::Ok),
        count(AlarmState::Alarm),
        count(AlarmState::InsufficientData),
    );
    info!(
        kind = "alarm.summary",
        ok,
        alarm,
        insufficient_data = insufficient,
        "alarms: {} evaluated every {} s: {ok} OK, {alarm} ALARM, {insufficient} INSUFFICIENT_DATA (`workshop alarms` lists them)",
        view.alarms.len(),
        EVALUATE_EVERY.as_secs()
    );
}
