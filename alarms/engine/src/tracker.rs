//! Alarm state over time: the current state of every alarm in a set and the history of its
//! transitions, for the console and `workshop alarms`.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{AlarmError, Result};
use crate::eval::{Evaluation, evaluate, evaluate_composite};
use crate::metrics::{MetricSource, fetch_datapoints};
use crate::model::Alarm;
use crate::state::AlarmState;

/// The reason CloudWatch gives a freshly created alarm.
pub const INITIAL_REASON: &str = "Unchecked: Initial alarm creation";

/// One state change, as DescribeAlarmHistory reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transition {
    pub alarm: String,
    #[serde(with = "rfc3339")]
    pub timestamp: DateTime<Utc>,
    pub from: AlarmState,
    pub to: AlarmState,
    pub reason: String,
}

/// An alarm's current state, with when it was entered and when it was last evaluated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlarmStatus {
    pub state: AlarmState,
    pub reason: String,
    #[serde(with = "rfc3339::option")]
    pub state_updated: Option<DateTime<Utc>>,
    #[serde(with = "rfc3339::option")]
    pub last_evaluated: Option<DateTime<Utc>>,
}

/// Holds an alarm set, evaluates it against a metric source and remembers transitions.
#[derive(Debug, Clone)]
pub struct AlarmTracker {
    /// Metric alarms first, then composites children-before-parents, so one pass sees every
    /// child's new state.
    alarms: Vec<Alarm>,
    status: BTreeMap<String, AlarmStatus>,
    history: Vec<Transition>,
}

impl AlarmTracker {
    /// Validates every alarm, rejects duplicate names, composites that reference unknown alarms
    /// and composite cycles. Every alarm starts in INSUFFICIENT_DATA, as in CloudWatch.
    pub fn new(alarms: impl IntoIterator<Item = Alarm>) -> Result<Self> {
        let alarms: Vec<Alarm> = alarms.into_iter().collect();
        let mut names = HashSet::new();
        for alarm in &alarms {
            match alarm {
                Alarm::Metric(a) => a.validate()?,
                Alarm::Composite(a) => a.validate()?,
            }
            if !names.insert(alarm.name().to_string()) {
                return Err(AlarmError::InvalidDefinition {
                    alarm: alarm.name().to_string(),
                    message: "duplicate alarm name".into(),
                });
            }
        }
        let ordered = order(alarms, &names)?;
        let status = ordered
            .iter()
            .map(|a| {
                (
                    a.name().to_string(),
                    AlarmStatus {
                        state: AlarmState::InsufficientData,
                        reason: INITIAL_REASON.to_string(),
                        state_updated: None,
                        last_evaluated: None,
                    },
                )
            })
            .collect();
        Ok(Self {
            alarms: ordered,
            status,
            history: Vec::new(),
        })
    }

    pub fn alarms(&self) -> &[Alarm] {
        &self.alarms
    }

    /// Resumes from a history kept elsewhere (oldest first), as CloudWatch keeps an alarm's
    /// state and history: each alarm of the set takes the state of its last transition, and
    /// transitions of alarms no longer in the set are dropped.
    pub fn restore(&mut self, history: impl IntoIterator<Item = Transition>) {
        for t in history {
            let Some(status) = self.status.get_mut(&t.alarm) else {
                continue;
            };
            status.state = t.to;
            status.reason = t.reason.clone();
            status.state_updated = Some(t.timestamp);
            self.history.push(t);
        }
    }

    pub fn state(&self, name: &str) -> Option<AlarmState> {
        self.status.get(name).map(|s| s.state)
    }

    pub fn status(&self, name: &str) -> Option<&AlarmStatus> {
        self.status.get(name)
    }

    /// Every alarm's status, by name.
    pub fn statuses(&self) -> &BTreeMap<String, AlarmStatus> {
        &self.status
    }

    /// All transitions, oldest first.
    pub fn history(&self) -> &[Transition] {
        &self.history
    }

    pub fn history_of<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Transition> + 'a {
        self.history.iter().filter(move |t| t.alarm == name)
    }

    /// Applies one evaluation; returns the transition when the state changed. Like CloudWatch's
    /// history, an unchanged state records nothing but refreshes the reason.
    pub fn record(
        &mut self,
        name: &str,
        evaluation: Evaluation,
        at: DateTime<Utc>,
    ) -> Result<Option<Transition>> {
        let status = self
            .status
            .get_mut(name)
            .ok_or_else(|| AlarmError::UnknownAlarm(name.to_string()))?;
        status.last_evaluated = Some(at);
        let from = status.state;
        status.reason = evaluation.reason.clone();
        if from == evaluation.state {
            return Ok(None);
        }
        status.state = evaluation.state;
        status.state_updated = Some(at);
        let t = Transition {
            alarm: name.to_string(),
            timestamp: at,
            from,
            to: evaluation.state,
            reason: evaluation.reason,
        };
        self.history.push(t.clone());
        Ok(Some(t))
    }

    /// Evaluates every alarm at `now` (metric alarms from `source`, then composites over the
    /// new states) and returns the transitions this round caused.
    pub fn evaluate_all(
        &mut self,
        source: &dyn MetricSource,
        now: DateTime<Utc>,
    ) -> Result<Vec<Transition>> {
        let mut changes = Vec::new();
        for i in 0..self.alarms.len() {
            let evaluation = match &self.alarms[i] {
                Alarm::Metric(a) => {
                    let points = fetch_datapoints(a, source, now)?;
                    let previous = self
                        .state(&a.alarm_name)
                        .unwrap_or(AlarmState::InsufficientData);
                    evaluate(a, &points, previous)
                }
                Alarm::Composite(a) => {
                    let status = &self.status;
                    evaluate_composite(a, &|name| {
                        status
                            .get(name)
                            .map_or(AlarmState::InsufficientData, |s| s.state)
                    })?
                }
            };
            let name = self.alarms[i].name().to_string();
            if let Some(t) = self.record(&name, evaluation, now)? {
                changes.push(t);
            }
        }
        Ok(changes)
    }
}

/// Metric alarms first, then composites in dependency order.
fn order(alarms: Vec<Alarm>, names: &HashSet<String>) -> Result<Vec<Alarm>> {
    let (mut ordered, mut pending): (Vec<Alarm>, Vec<Alarm>) = alarms
        .into_iter()
        .partition(|a| matches!(a, Alarm::Metric(_)));
    let mut done: HashSet<String> = ordered.iter().map(|a| a.name().to_string()).collect();
    let mut deps = BTreeMap::new();
    for a in &pending {
        if let Alarm::Composite(c) = a {
            let refs = c.rule()?.references();
            if let Some(unknown) = refs.iter().find(|r| !names.contains(*r)) {
                return Err(AlarmError::InvalidDefinition {
                    alarm: c.alarm_name.clone(),
                    message: format!("rule references unknown alarm {unknown:?}"),
                });
            }
            deps.insert(c.alarm_name.clone(), refs);
        }
    }
    while !pending.is_empty() {
        let (ready, rest): (Vec<Alarm>, Vec<Alarm>) = pending.into_iter().partition(|a| {
            deps.get(a.name())
                .is_none_or(|d| d.iter().all(|r| done.contains(r)))
        });
        if ready.is_empty() {
            let stuck = rest
                .first()
                .map_or_else(String::new, |a| a.name().to_string());
            return Err(AlarmError::CompositeCycle(stuck));
        }
        for a in &ready {
            done.insert(a.name().to_string());
        }
        ordered.extend(ready);
        pending = rest;
    }
    Ok(ordered)
}

/// RFC 3339 timestamps without chrono's serde feature, which would change chrono's entry in the
/// workspace lock file for every crate.
mod rfc3339 {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    /// Milliseconds, in UTC (`2026-12-02T11:20:47.123Z`), as CloudWatch shows them.
    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let s = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(serde::de::Error::custom)
    }

    pub mod option {
        use chrono::{DateTime, Utc};
        use serde::{Deserialize, Deserializer, Serializer};

        pub fn serialize<S: Serializer>(
            t: &Option<DateTime<Utc>>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => {
                    s.serialize_some(&t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
                }
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<DateTime<Utc>>, D::Error> {
            Option::<String>::deserialize(d)?
                .map(|s| {
                    DateTime::parse_from_rfc3339(&s)
                        .map(|t| t.with_timezone(&Utc))
                        .map_err(serde::de::Error::custom)
                })
                .transpose()
        }
    }
}
