//! CloudWatch's alarm evaluation: M out of N, the evaluation range, missing-data treatment, the
//! premature-transition rule, and composite rules over child states.
//!
//! Model of partially missing data (from "Configuring how CloudWatch alarms treat missing data",
//! https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html,
//! sections "How alarm state is evaluated when data is missing" and "Avoiding premature
//! transitions to alarm state"):
//!
//! * The evaluator looks at the last R periods, the *evaluation range* (R = N + 2 here; the docs'
//!   example has N = 3, R = 5), newest last.
//! * No datapoint in the range is real: `missing` -> INSUFFICIENT_DATA, `ignore` -> keep the
//!   current state, `breaching` -> N breaching datapoints, `notBreaching` -> N good ones.
//! * At least N real datapoints in the range: the N most recent *real* datapoints are evaluated,
//!   reaching back past missing periods; the treatment is not used.
//! * Fewer than N real datapoints: all of them are evaluated, plus N - r filled datapoints.
//!   `breaching`/`notBreaching` fill with that verdict. `missing` and `ignore` fill with nothing:
//!   ALARM when the real breaching datapoints already reach M, OK when any real datapoint is
//!   within the threshold; otherwise (only breaching datapoints, fewer than M) the outcome is
//!   undecided: `ignore` keeps the current state, and `missing` applies the premature-transition
//!   rule (ALARM when the oldest breaching datapoint is at least M periods old, since every newer
//!   period is breaching or missing) and is INSUFFICIENT_DATA otherwise.
//!
//! The "any real datapoint within the threshold means OK" part and the requirement that all real
//! datapoints breach for the premature rule are what make the docs' rows `0 - X - X` (3 of 3: OK)
//! and `0 - X - -` (2 of 3, missing: OK) agree with their rows `- - X - -` and `- - - X -`
//! (ALARM); the prose rule alone would put the former two in ALARM.

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::model::{ComparisonOperator, CompositeAlarm, MetricAlarm, TreatMissingData};
use crate::state::AlarmState;

/// The outcome of one evaluation: the state the alarm should be in and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    pub state: AlarmState,
    pub reason: String,
}

fn plural(n: usize, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 { one } else { many }
}

/// The fixed terms of one metric alarm's evaluation: N, M (at most N), the comparison and the
/// threshold, which every verdict's reason quotes.
struct Terms {
    n: usize,
    m: usize,
    op: ComparisonOperator,
    threshold: f64,
}

impl Terms {
    fn breaches(&self, v: f64) -> bool {
        self.op.breaches(v, self.threshold)
    }

    /// ALARM when `breaching` reaches M, OK otherwise; `shown` are the real datapoints
    /// evaluated and `filled` the missing ones counted with the `fill_breaches` verdict.
    fn crossed(
        &self,
        breaching: usize,
        shown: &[f64],
        filled: usize,
        fill_breaches: bool,
    ) -> Evaluation {
        let Terms {
            n,
            m,
            op,
            threshold,
        } = *self;
        let state = if breaching >= m {
            AlarmState::Alarm
        } else {
            AlarmState::Ok
        };
        let values: Vec<String> = shown.iter().map(|v| readable(*v)).collect();
        let fill = if filled > 0 {
            format!(
                " ({filled} missing {} treated as {})",
                plural(filled, "datapoint", "datapoints"),
                if fill_breaches {
                    "breaching"
                } else {
                    "not breaching"
                }
            )
        } else {
            String::new()
        };
        let prefix = if state == AlarmState::Alarm {
            "Threshold Crossed"
        } else {
            "Threshold Not Crossed"
        };
        Evaluation {
            state,
            reason: format!(
                "{prefix}: {breaching} out of the last {n} datapoints [{}]{fill} {} {} the threshold ({threshold:?}) (minimum {m} {} for OK -> ALARM transition).",
                values.join(", "),
                plural(breaching, "was", "were"),
                op.phrase(),
                plural(m, "datapoint", "datapoints"),
            ),
        }
    }
}

/// A datapoint as the reason shows it: two decimals (`7.77`, not `7.770955000000001`), or
/// three significant digits for a value that two decimals would show as 0.
fn readable(v: f64) -> String {
    let two = (v * 100.0).round() / 100.0;
    if two != 0.0 || v == 0.0 || !v.is_finite() {
        return format!("{two:?}");
    }
    format!("{:?}", format!("{v:.2e}").parse::<f64>().unwrap_or(v))
}

/// Evaluates a metric alarm over its datapoints (oldest first, newest last; `None` = missing).
/// Only the last `alarm.evaluation_range()` datapoints are read; a shorter slice is a shorter
/// range (a stack that has just started).
pub fn evaluate(
    alarm: &MetricAlarm,
    datapoints: &[Option<f64>],
    previous: AlarmState,
) -> Evaluation {
    let range = &datapoints[datapoints.len().saturating_sub(alarm.evaluation_range())..];
    let n = alarm.n();
    let terms = Terms {
        n,
        m: alarm.m().min(n),
        op: alarm.comparison_operator,
        threshold: alarm.threshold,
    };
    let treat = alarm.effective_treat_missing_data();

    // Real datapoints with their age in periods (newest = 1).
    let real: Vec<(usize, f64)> = range
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.map(|v| (range.len() - i, v)))
        .collect();

    if real.is_empty() {
        return all_missing(&terms, treat, range.len(), previous);
    }

    if real.len() >= n {
        let last: Vec<f64> = real[real.len() - n..].iter().map(|(_, v)| *v).collect();
        let breaching = last.iter().filter(|v| terms.breaches(**v)).count();
        return terms.crossed(breaching, &last, 0, false);
    }

    let values: Vec<f64> = real.iter().map(|(_, v)| *v).collect();
    let real_breaching = values.iter().filter(|v| terms.breaches(**v)).count();
    let filled = n - real.len();
    match treat {
        TreatMissingData::Breaching => {
            terms.crossed(real_breaching + filled, &values, filled, true)
        }
        TreatMissingData::NotBreaching => terms.crossed(real_breaching, &values, filled, false),
        TreatMissingData::Missing | TreatMissingData::Ignore => {
            if real_breaching >= terms.m || real_breaching < real.len() {
                return terms.crossed(real_breaching, &values, 0, false);
            }
            // Only breaching datapoints, fewer than M: undecided.
            let oldest_age = real.first().map_or(0, |(age, _)| *age);
            undecided(&terms, treat, real_breaching, oldest_age, previous)
        }
    }
}

/// No real datapoint in the evaluation range (`range_len` periods): the treatment decides.
fn all_missing(
    terms: &Terms,
    treat: TreatMissingData,
    range_len: usize,
    previous: AlarmState,
) -> Evaluation {
    match treat {
        TreatMissingData::Missing => Evaluation {
            state: AlarmState::InsufficientData,
            reason: format!(
                "Insufficient Data: all {range_len} datapoints in the evaluation range were missing."
            ),
        },
        TreatMissingData::Ignore => Evaluation {
            state: previous,
            reason: format!(
                "Missing data ignored: all {range_len} datapoints in the evaluation range were missing, state kept at {previous}."
            ),
        },
        TreatMissingData::Breaching => terms.crossed(terms.n, &[], terms.n, true),
        TreatMissingData::NotBreaching => terms.crossed(0, &[], terms.n, false),
    }
}

/// Only breaching datapoints, fewer than M, under `missing` or `ignore`: `ignore` keeps the
/// current state; `missing` applies the premature-transition rule to the oldest one's age.
fn undecided(
    terms: &Terms,
    treat: TreatMissingData,
    real_breaching: usize,
    oldest_age: usize,
    previous: AlarmState,
) -> Evaluation {
    let Terms { n, m, .. } = *terms;
    match treat {
        TreatMissingData::Missing if oldest_age >= m => Evaluation {
            state: AlarmState::Alarm,
            reason: format!(
                "Threshold Crossed: the oldest breaching datapoint is {oldest_age} periods old (at least the {m} datapoints to alarm) and every newer datapoint is breaching or missing."
            ),
        },
        TreatMissingData::Missing => Evaluation {
            state: AlarmState::InsufficientData,
            reason: format!(
                "Insufficient Data: {real_breaching} breaching {} of {m} needed, the rest of the last {n} missing.",
                plural(real_breaching, "datapoint", "datapoints")
            ),
        },
        _ => Evaluation {
            state: previous,
            reason: format!(
                "Missing data ignored: {real_breaching} breaching {} of {m} needed, state kept at {previous}.",
                plural(real_breaching, "datapoint", "datapoints")
            ),
        },
    }
}

/// Evaluates a composite alarm: ALARM when its rule is TRUE over the children's current
/// states, OK otherwise. `state_of` answers for every referenced alarm (unknown alarms are best
/// reported as INSUFFICIENT_DATA, which is what a just-created alarm is in).
pub fn evaluate_composite(
    alarm: &CompositeAlarm,
    state_of: &dyn Fn(&str) -> AlarmState,
) -> Result<Evaluation> {
    let rule = alarm.rule()?;
    let fired = rule.eval(state_of);
    let children: Vec<String> = rule
        .references()
        .into_iter()
        .map(|name| {
            let state = state_of(&name);
            format!("{name} is {state}")
        })
        .collect();
    Ok(Evaluation {
        state: if fired {
            AlarmState::Alarm
        } else {
            AlarmState::Ok
        },
        reason: format!(
            "Rule {} evaluated to {}: {}.",
            alarm.alarm_rule,
            if fired { "TRUE" } else { "FALSE" },
            if children.is_empty() {
                "no alarms referenced".to_string()
            } else {
                children.join(", ")
            }
        ),
    })
}
