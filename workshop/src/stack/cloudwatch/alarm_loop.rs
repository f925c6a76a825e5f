//! The local CloudWatch alarm evaluator: evaluates the same alarm set as the template against
//! the local metric store, with CloudWatch's semantics (the `alarms` crate), and logs every
//! state change where the attendee sees it.

use super::metric_store::MetricStore;
use alarms::{Alarm, AlarmStatus, AlarmTracker, Transition};
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
    while !*stop.borrow() {
        for t in alarms.evaluate(&store) {
            let line = format!("alarm {} {:?} -> {:?}: {}", t.alarm, t.from, t.to, t.reason);
            if t.to == alarms::AlarmState::Alarm {
                warn!(kind = "alarm.state_change", alarm = %t.alarm, "{line}");
            } else {
                info!(kind = "alarm.state_change", alarm = %t.alarm, "{line}");
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(EVALUATE_EVERY) => {}
            _ = stop.changed() => {}
        }
    }
}
