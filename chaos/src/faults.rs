//! The fault catalogue: what can be injected, with its caps. One struct is the deploy-time
//! flags (`CHAOS_*`), the live override's body, and what `workshop chaos on` sends.

use serde::{Deserialize, Serialize};

/// No injected latency may exceed this: longer than every function's timeout, shorter than
/// API Gateway's 30 s integration limit, so a latency fault shows timeouts, not a hung room.
pub const MAX_LATENCY_MS: u64 = 25_000;

/// Where a failure-rate fault fails the processor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FailureMode {
    /// Each record fails on its own (a batch item failure): SQS retries just that message.
    #[default]
    Record,
    /// The whole invocation fails (a function error): every message in the batch returns.
    Batch,
}

/// Which dependency a dependency fault hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dependency {
    /// Every store and queue call.
    #[default]
    All,
    /// The order store (DynamoDB on AWS, SQLite locally).
    Store,
    /// The order queue's send (SQS).
    Queue,
}

impl Dependency {
    pub fn hits(self, call: Dependency) -> bool {
        self == Dependency::All || self == call
    }
}

/// The faults to inject. Every field defaults to "off"; rates are probabilities in 0..=1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Faults {
    /// Share of processor records (or batches, by `processorFailureMode`) that fail.
    pub processor_failure_rate: f64,
    pub processor_failure_mode: FailureMode,
    /// Added to every processor invocation before it starts on its batch.
    pub processor_latency_ms: u64,
    /// Up to this much more, uniformly, on every injected latency.
    pub latency_jitter_ms: u64,
    /// Orders holding an item with this SKU always fail: a repeatable poison message.
    pub poison_sku: Option<String>,
    /// Share of processor invocations that sleep past their deadline (a Lambda timeout).
    pub timeout_rate: f64,
    /// Share of API requests answered with `apiErrorStatus` without running the handler.
    pub api_error_rate: f64,
    pub api_error_status: u16,
    /// Added to every API request before its handler runs.
    pub api_latency_ms: u64,
    /// Which calls the dependency faults hit.
    pub dependency: Dependency,
    /// Share of store/queue calls that fail before reaching the dependency.
    pub dependency_failure_rate: f64,
    /// Added to every store/queue call.
    pub dependency_latency_ms: u64,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            processor_failure_rate: 0.0,
            processor_failure_mode: FailureMode::Record,
            processor_latency_ms: 0,
            latency_jitter_ms: 0,
            poison_sku: None,
            timeout_rate: 0.0,
            api_error_rate: 0.0,
            api_error_status: 503,
            api_latency_ms: 0,
            dependency: Dependency::All,
            dependency_failure_rate: 0.0,
            dependency_latency_ms: 0,
        }
    }
}

/// A fault setting outside what the kit allows. Each names the field and the limit.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FaultError {
    #[error("{field} must be a rate between 0 and 1, got {value}")]
    Rate { field: &'static str, value: f64 },
    #[error("{field} is capped at {MAX_LATENCY_MS} ms, got {value} ms")]
    Latency { field: &'static str, value: u64 },
    #[error("{field} plus latencyJitterMs is capped at {MAX_LATENCY_MS} ms, got {value} ms")]
    LatencyWithJitter { field: &'static str, value: u64 },
    #[error("apiErrorStatus must be an HTTP error status (400-599), got {0}")]
    Status(u16),
    #[error("poisonSku must not be blank")]
    BlankSku,
}

impl Faults {
    /// Checks every rate, latency and status against its cap; the first problem is returned.
    pub fn validate(&self) -> Result<(), FaultError> {
        for (field, value) in [
            ("processorFailureRate", self.processor_failure_rate),
            ("timeoutRate", self.timeout_rate),
            ("apiErrorRate", self.api_error_rate),
            ("dependencyFailureRate", self.dependency_failure_rate),
        ] {
            if !(0.0..=1.0).contains(&value) {
                return Err(FaultError::Rate { field, value });
            }
        }
        for (field, value) in [
            ("processorLatencyMs", self.processor_latency_ms),
            ("latencyJitterMs", self.latency_jitter_ms),
            ("apiLatencyMs", self.api_latency_ms),
            ("dependencyLatencyMs", self.dependency_latency_ms),
        ] {
            if value > MAX_LATENCY_MS {
                return Err(FaultError::Latency { field, value });
            }
        }
        // Jitter adds to each base: the cap holds for the sum.
        for (field, base) in [
            ("processorLatencyMs", self.processor_latency_ms),
            ("apiLatencyMs", self.api_latency_ms),
            ("dependencyLatencyMs", self.dependency_latency_ms),
        ] {
            if base > 0 && base + self.latency_jitter_ms > MAX_LATENCY_MS {
                return Err(FaultError::LatencyWithJitter {
                    field,
                    value: base + self.latency_jitter_ms,
                });
            }
        }
        if !(400..=599).contains(&self.api_error_status) {
            return Err(FaultError::Status(self.api_error_status));
        }
        if self
            .poison_sku
            .as_deref()
            .is_some_and(|s| s.trim().is_empty())
        {
            return Err(FaultError::BlankSku);
        }
        Ok(())
    }

    /// True when nothing would be injected.
    pub fn is_quiet(&self) -> bool {
        self.processor_failure_rate == 0.0
            && self.processor_latency_ms == 0
            && self.poison_sku.is_none()
            && self.timeout_rate == 0.0
            && self.api_error_rate == 0.0
            && self.api_latency_ms == 0
            && self.dependency_failure_rate == 0.0
            && self.dependency_latency_ms == 0
    }

    /// The settings that differ from the defaults, as `field=value`, for logs and tables.
    pub fn summary(&self) -> String {
        let defaults = serde_json::to_value(Faults::default()).unwrap_or_default();
        let mine = serde_json::to_value(self).unwrap_or_default();
        let (Some(defaults), Some(mine)) = (defaults.as_object(), mine.as_object()) else {
            return String::new();
        };
        let mut parts: Vec<String> = mine
            .iter()
            .filter(|(k, v)| defaults.get(*k) != Some(*v))
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => format!("{k}={s}"),
                other => format!("{k}={other}"),
            })
            .collect();
        parts.sort();
        if parts.is_empty() {
            "none".to_owned()
        } else {
            parts.join(" ")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_inject_nothing_and_are_valid() {
        let f = Faults::default();
        assert!(f.is_quiet());
        assert_eq!(f.validate(), Ok(()));
        assert_eq!(f.summary(), "none");
    }

    #[test]
    fn caps_name_the_field() {
        let f = Faults {
            processor_failure_rate: 1.5,
            ..Faults::default()
        };
        assert_eq!(
            f.validate().unwrap_err().to_string(),
            "processorFailureRate must be a rate between 0 and 1, got 1.5"
        );
        let f = Faults {
            api_latency_ms: MAX_LATENCY_MS + 1,
            ..Faults::default()
        };
        assert!(
            f.validate()
                .unwrap_err()
                .to_string()
                .contains("apiLatencyMs")
        );
        let f = Faults {
            api_error_status: 200,
            ..Faults::default()
        };
        assert_eq!(f.validate(), Err(FaultError::Status(200)));
        let f = Faults {
            poison_sku: Some("  ".into()),
            ..Faults::default()
        };
        assert_eq!(f.validate(), Err(FaultError::BlankSku));
        let f = Faults {
            api_latency_ms: 20_000,
            latency_jitter_ms: 10_000,
            ..Faults::default()
        };
        assert_eq!(
            f.validate().unwrap_err().to_string(),
            "apiLatencyMs plus latencyJitterMs is capped at 25000 ms, got 30000 ms"
        );
    }

    #[test]
    fn json_is_camel_case_and_rejects_unknown_fields() {
        let f: Faults =
            serde_json::from_str(r#"{"processorFailureRate":0.3,"poisonSku":"BAD-1"}"#).unwrap();
        assert_eq!(f.processor_failure_rate, 0.3);
        assert_eq!(f.poison_sku.as_deref(), Some("BAD-1"));
        assert_eq!(f.summary(), "poisonSku=BAD-1 processorFailureRate=0.3");
        let e = serde_json::from_str::<Faults>(r#"{"failureRate":1}"#).unwrap_err();
        assert!(e.to_string().contains("unknown field `failureRate`"), "{e}");
    }
}
