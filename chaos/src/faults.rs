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

/// How a fault's value is read and bounded (`rate`, `ms`, `int`, `text`, `select`: the console
/// form's input kinds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FaultKind {
    /// A probability in 0..=1.
    Rate,
    /// Milliseconds, capped at [`MAX_LATENCY_MS`].
    Ms,
    /// A whole number within `min..=max` (the API error status).
    Int,
    Text,
    /// One of `options`, the first being the default.
    Select,
}

/// One fault of [`Faults`]: its JSON field, `workshop chaos on` flag, `CHAOS_*` variable, caps
/// and the words each surface shows. [`FAULTS`] is the one list every surface is driven from.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FaultSpec {
    /// The [`Faults`] JSON field (camelCase).
    pub name: &'static str,
    /// The `workshop chaos on` flag, without `--`.
    pub flag: &'static str,
    pub env: &'static str,
    pub kind: FaultKind,
    /// The default, as the flag table prints it.
    pub default: &'static str,
    pub options: &'static [&'static str],
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// `workshop chaos on --help`.
    pub help: &'static str,
    /// The `CHAOS_*` table in chaos/README.md.
    pub meaning: &'static str,
    /// The console's form.
    pub label: &'static str,
    pub hint: Option<&'static str>,
}

const fn spec(
    name: &'static str,
    flag: &'static str,
    env: &'static str,
    kind: FaultKind,
    default: &'static str,
) -> FaultSpec {
    let (min, max) = match kind {
        FaultKind::Rate => (Some(0.0), Some(1.0)),
        FaultKind::Ms => (Some(0.0), Some(MAX_LATENCY_MS as f64)),
        FaultKind::Int => (Some(400.0), Some(599.0)),
        FaultKind::Text | FaultKind::Select => (None, None),
    };
    FaultSpec {
        name,
        flag,
        env,
        kind,
        default,
        options: &[],
        min,
        max,
        help: "",
        meaning: "",
        label: "",
        hint: None,
    }
}

impl FaultSpec {
    const fn says(
        mut self,
        help: &'static str,
        meaning: &'static str,
        label: &'static str,
    ) -> Self {
        self.help = help;
        self.meaning = meaning;
        self.label = label;
        self
    }
    const fn hint(mut self, hint: &'static str) -> Self {
        self.hint = Some(hint);
        self
    }
    const fn options(mut self, options: &'static [&'static str]) -> Self {
        self.options = options;
        self
    }
}

/// Every fault, in the order the CLI, the flag table and the console list them.
pub const FAULTS: &[FaultSpec] = &[
    spec(
        "processorFailureRate",
        "processor-failure-rate",
        "CHAOS_PROCESSOR_FAILURE_RATE",
        FaultKind::Rate,
        "0",
    )
    .says(
        "Share (0-1) of processor records (or batches, see --processor-failure-mode) that fail.",
        "Share (0-1) of processor records, or batches, that fail.",
        "Processor failure rate",
    )
    .hint("0–1, share of records (or batches) that fail"),
    spec(
        "processorFailureMode",
        "processor-failure-mode",
        "CHAOS_PROCESSOR_FAILURE_MODE",
        FaultKind::Select,
        "record",
    )
    .says(
        "record (a batch item failure) or batch (the whole invocation fails).",
        "`record`: a batch item failure; `batch`: the whole invocation fails.",
        "Failure mode",
    )
    .options(&["record", "batch"]),
    spec(
        "processorLatencyMs",
        "processor-latency-ms",
        "CHAOS_PROCESSOR_LATENCY_MS",
        FaultKind::Ms,
        "0",
    )
    .says(
        "Delay before each processor invocation works on its batch.",
        "Delay before each processor invocation works on its batch (cap 25000).",
        "Processor latency (ms)",
    ),
    spec(
        "latencyJitterMs",
        "jitter-ms",
        "CHAOS_LATENCY_JITTER_MS",
        FaultKind::Ms,
        "0",
    )
    .says(
        "Up to this much more on every injected delay.",
        "Up to this much more on every injected delay, uniformly (cap 25000).",
        "Latency jitter (ms)",
    ),
    spec(
        "poisonSku",
        "poison-sku",
        "CHAOS_POISON_SKU",
        FaultKind::Text,
        "unset",
    )
    .says(
        "Orders holding an item with this SKU always fail in the processor (they end in the DLQ).",
        "Orders with an item of this SKU always fail in the processor: they end in the DLQ.",
        "Poison SKU",
    )
    .hint("orders with this SKU always fail"),
    spec(
        "timeoutRate",
        "timeout-rate",
        "CHAOS_TIMEOUT_RATE",
        FaultKind::Rate,
        "0",
    )
    .says(
        "Share (0-1) of processor invocations that sleep past their deadline.",
        "Share (0-1) of processor invocations that sleep past their deadline (a timeout).",
        "Timeout rate",
    )
    .hint("0–1, processor invocations that time out"),
    spec(
        "apiErrorRate",
        "api-error-rate",
        "CHAOS_API_ERROR_RATE",
        FaultKind::Rate,
        "0",
    )
    .says(
        "Share (0-1) of API requests answered with --api-error-status.",
        "Share (0-1) of API requests answered with CHAOS_API_ERROR_STATUS.",
        "API error rate",
    )
    .hint("0–1, API requests answered with an error"),
    spec(
        "apiErrorStatus",
        "api-error-status",
        "CHAOS_API_ERROR_STATUS",
        FaultKind::Int,
        "503",
    )
    .says(
        "Status of an injected API error (400-599; default 503).",
        "Status of an injected API error (400-599).",
        "API error status",
    ),
    spec(
        "apiLatencyMs",
        "api-latency-ms",
        "CHAOS_API_LATENCY_MS",
        FaultKind::Ms,
        "0",
    )
    .says(
        "Delay before each API handler runs.",
        "Delay before each API handler runs (cap 25000).",
        "API latency (ms)",
    ),
    spec(
        "dependency",
        "dependency",
        "CHAOS_DEPENDENCY",
        FaultKind::Select,
        "all",
    )
    .says(
        "Which calls the dependency faults hit: store, queue or all.",
        "Which calls dependency faults hit: `store`, `queue` or `all`.",
        "Dependency",
    )
    .options(&["all", "store", "queue"]),
    spec(
        "dependencyFailureRate",
        "dependency-failure-rate",
        "CHAOS_DEPENDENCY_FAILURE_RATE",
        FaultKind::Rate,
        "0",
    )
    .says(
        "Share (0-1) of store/queue calls that fail.",
        "Share (0-1) of store/queue calls that fail before they are made.",
        "Dependency failure rate",
    )
    .hint("0–1, store/queue calls that fail"),
    spec(
        "dependencyLatencyMs",
        "dependency-latency-ms",
        "CHAOS_DEPENDENCY_LATENCY_MS",
        FaultKind::Ms,
        "0",
    )
    .says(
        "Delay before each store/queue call.",
        "Delay before each store/queue call (cap 25000).",
        "Dependency latency (ms)",
    ),
];

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
    fn the_fault_list_covers_every_field_with_its_default() {
        let defaults = serde_json::to_value(Faults::default()).unwrap();
        let fields: Vec<&str> = defaults
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let mut listed: Vec<&str> = FAULTS.iter().map(|f| f.name).collect();
        listed.sort_unstable();
        let mut fields = fields;
        fields.sort_unstable();
        assert_eq!(listed, fields);
        for f in FAULTS {
            let shown = match &defaults[f.name] {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Null => "unset".to_owned(),
                v => v.to_string().trim_end_matches(".0").to_owned(),
            };
            assert_eq!(shown, f.default, "{}", f.name);
            assert!(
                f.options.is_empty() || f.options[0] == f.default,
                "{}",
                f.name
            );
            assert!(!f.help.is_empty() && !f.meaning.is_empty() && !f.label.is_empty());
        }
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
