//! The deploy-time flags: `CHAOS_*` environment variables, read once at init. [`all`] lists
//! them (the faults' from [`crate::faults::FAULTS`]); `chaos/README.md` prints the list and a
//! test keeps the two equal.

use crate::faults::{FAULTS, FaultError, FaultKind, Faults};
use serde_json::{Map, Value};
use std::time::Duration;

/// The master switch. Unless it is `true`, nothing is injected, whatever else is set.
pub const ARMED: &str = "CHAOS_ARMED";
/// Seed of the injector's random choices, so a run can be repeated.
pub const SEED: &str = "CHAOS_SEED";
/// SSM parameter holding the live override (AWS). Unset: no live override.
pub const PARAMETER: &str = "CHAOS_PARAMETER";
/// How long a function trusts its last read of the live override.
pub const CACHE_SECONDS: &str = "CHAOS_CACHE_SECONDS";

/// The live override's cache when `CHAOS_CACHE_SECONDS` is unset: a flip reaches every warm
/// instance within this, for one GetParameter per instance per period.
pub const DEFAULT_CACHE: Duration = Duration::from_secs(5);
pub const MAX_CACHE: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagKind {
    Switch,
    Number,
    Text,
}

/// One environment flag: its name, the [`Faults`] field it sets (if any), its default and
/// what it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flag {
    pub name: &'static str,
    pub field: Option<&'static str>,
    pub kind: FlagKind,
    pub default: &'static str,
    pub meaning: &'static str,
}

/// The flags that are not faults.
pub const SETTINGS: &[Flag] = &[
    Flag {
        name: ARMED,
        field: None,
        kind: FlagKind::Switch,
        default: "false",
        meaning: "Master switch. Unless `true`, no flag and no live override injects anything.",
    },
    Flag {
        name: SEED,
        field: None,
        kind: FlagKind::Number,
        default: "random",
        meaning: "Seed of the injector's random choices (a live override may bring its own).",
    },
    Flag {
        name: PARAMETER,
        field: None,
        kind: FlagKind::Text,
        default: "unset",
        meaning: "SSM parameter holding the live override (AWS; `workshop chaos --aws` writes it).",
    },
    Flag {
        name: CACHE_SECONDS,
        field: None,
        kind: FlagKind::Number,
        default: "5",
        meaning: "Seconds a function trusts its last read of the live override (1-300).",
    },
];

/// Every flag: [`SETTINGS`], then one per fault of [`FAULTS`].
pub fn all() -> impl Iterator<Item = Flag> {
    SETTINGS.iter().copied().chain(FAULTS.iter().map(|f| Flag {
        name: f.env,
        field: Some(f.name),
        kind: match f.kind {
            FaultKind::Rate | FaultKind::Ms | FaultKind::Int => FlagKind::Number,
            FaultKind::Text | FaultKind::Select => FlagKind::Text,
        },
        default: f.default,
        meaning: f.meaning,
    }))
}

/// What the flags say: whether chaos is armed, the faults deployed with the function, the
/// seed and the live override's cache.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub armed: bool,
    pub faults: Faults,
    pub seed: Option<u64>,
    pub parameter: Option<String>,
    pub cache: Duration,
    /// Mixed into every seed: one value per Lambda sandbox, so instances (and the sandbox that
    /// replaces one after an injected timeout) do not replay the same draws in lockstep.
    pub salt: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            armed: false,
            faults: Faults::default(),
            seed: None,
            parameter: None,
            cache: DEFAULT_CACHE,
            salt: 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FlagError {
    #[error("{flag} must be `true` or `false`, got {value:?}")]
    Switch { flag: &'static str, value: String },
    #[error("{flag} must be a number, got {value:?}")]
    Number { flag: &'static str, value: String },
    #[error("{flag} is not valid: {message}")]
    Invalid { flag: &'static str, message: String },
    #[error("{flag}: {source}")]
    Fault {
        flag: &'static str,
        source: FaultError,
    },
}

fn number(flag: &'static str, value: &str) -> Result<Value, FlagError> {
    let bad = || FlagError::Number {
        flag,
        value: value.to_owned(),
    };
    if let Ok(n) = value.parse::<u64>() {
        return Ok(Value::from(n));
    }
    let n = value.parse::<f64>().map_err(|_| bad())?;
    serde_json::Number::from_f64(n)
        .map(Value::Number)
        .ok_or_else(bad)
}

impl Settings {
    /// From the process environment.
    pub fn from_env() -> Result<Settings, FlagError> {
        Settings::from_vars(|name| std::env::var(name).ok())
    }

    /// From any lookup (tests, the local stack's own environment). Empty values count as unset.
    pub fn from_vars(lookup: impl Fn(&str) -> Option<String>) -> Result<Settings, FlagError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let mut settings = Settings::default();
        if let Some(v) = get(ARMED) {
            settings.armed = match v.trim().to_ascii_lowercase().as_str() {
                "true" => true,
                "false" => false,
                _ => {
                    return Err(FlagError::Switch {
                        flag: ARMED,
                        value: v,
                    });
                }
            };
        }
        if let Some(v) = get(SEED) {
            settings.seed = Some(v.trim().parse().map_err(|_| FlagError::Number {
                flag: SEED,
                value: v.clone(),
            })?);
        }
        settings.parameter = get(PARAMETER);
        if let Some(v) = get(CACHE_SECONDS) {
            let secs: u64 = v.trim().parse().map_err(|_| FlagError::Number {
                flag: CACHE_SECONDS,
                value: v.clone(),
            })?;
            if secs == 0 || secs > MAX_CACHE.as_secs() {
                return Err(FlagError::Invalid {
                    flag: CACHE_SECONDS,
                    message: format!("must be 1-{}, got {secs}", MAX_CACHE.as_secs()),
                });
            }
            settings.cache = Duration::from_secs(secs);
        }

        let mut fields = Map::new();
        for flag in all() {
            let (Some(field), Some(v)) = (flag.field, get(flag.name)) else {
                continue;
            };
            let v = v.trim();
            let value = match flag.kind {
                FlagKind::Number => number(flag.name, v)?,
                _ => Value::from(v),
            };
            // One field at a time, so an error names the flag that caused it.
            let mut one = Map::new();
            one.insert(field.to_owned(), value.clone());
            serde_json::from_value::<Faults>(Value::Object(one)).map_err(|e| {
                FlagError::Invalid {
                    flag: flag.name,
                    message: e.to_string(),
                }
            })?;
            fields.insert(field.to_owned(), value);
        }
        settings.faults =
            serde_json::from_value(Value::Object(fields)).map_err(|e| FlagError::Invalid {
                flag: "CHAOS_*",
                message: e.to_string(),
            })?;
        settings
            .faults
            .validate()
            .map_err(|source| FlagError::Fault {
                flag: flag_of(&source),
                source,
            })?;
        Ok(settings)
    }
}

/// The flag behind a fault error's field.
fn flag_of(e: &FaultError) -> &'static str {
    let field = match e {
        FaultError::Rate { field, .. }
        | FaultError::Latency { field, .. }
        | FaultError::LatencyWithJitter { field, .. } => *field,
        FaultError::Status(_) => "apiErrorStatus",
        FaultError::BlankSku => "poisonSku",
    };
    FAULTS
        .iter()
        .find(|f| f.name == field)
        .map_or("CHAOS_*", |f| f.env)
}

/// The flags as the Markdown table in `chaos/README.md`.
pub fn markdown_table() -> String {
    let mut out = String::from("| Flag | Default | What it does |\n|---|---|---|\n");
    for f in all() {
        out.push_str(&format!(
            "| `{}` | {} | {} |\n",
            f.name, f.default, f.meaning
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faults::{Dependency, FailureMode};
    use std::collections::HashMap;

    fn parse(vars: &[(&str, &str)]) -> Result<Settings, FlagError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::from_vars(|k| map.get(k).cloned())
    }

    #[test]
    fn nothing_set_is_disarmed_and_quiet() {
        let s = parse(&[]).unwrap();
        assert!(!s.armed);
        assert!(s.faults.is_quiet());
        assert_eq!(s.cache, DEFAULT_CACHE);
    }

    #[test]
    fn every_fault_flag_sets_its_field() {
        let s = parse(&[
            ("CHAOS_ARMED", "TRUE"),
            ("CHAOS_SEED", "42"),
            ("CHAOS_PROCESSOR_FAILURE_RATE", "0.3"),
            ("CHAOS_PROCESSOR_FAILURE_MODE", "batch"),
            ("CHAOS_PROCESSOR_LATENCY_MS", "250"),
            ("CHAOS_LATENCY_JITTER_MS", "50"),
            ("CHAOS_POISON_SKU", "POISON-1"),
            ("CHAOS_TIMEOUT_RATE", "0.1"),
            ("CHAOS_API_ERROR_RATE", "1"),
            ("CHAOS_API_ERROR_STATUS", "500"),
            ("CHAOS_API_LATENCY_MS", "100"),
            ("CHAOS_DEPENDENCY", "queue"),
            ("CHAOS_DEPENDENCY_FAILURE_RATE", "0.5"),
            ("CHAOS_DEPENDENCY_LATENCY_MS", "20"),
            ("CHAOS_PARAMETER", "/orders/dev/chaos"),
            ("CHAOS_CACHE_SECONDS", "10"),
        ])
        .unwrap();
        assert!(s.armed);
        assert_eq!(s.seed, Some(42));
        let f = &s.faults;
        assert_eq!(f.processor_failure_rate, 0.3);
        assert_eq!(f.processor_failure_mode, FailureMode::Batch);
        assert_eq!(f.processor_latency_ms, 250);
        assert_eq!(f.latency_jitter_ms, 50);
        assert_eq!(f.poison_sku.as_deref(), Some("POISON-1"));
        assert_eq!(f.timeout_rate, 0.1);
        assert_eq!(f.api_error_rate, 1.0);
        assert_eq!(f.api_error_status, 500);
        assert_eq!(f.api_latency_ms, 100);
        assert_eq!(f.dependency, Dependency::Queue);
        assert_eq!(f.dependency_failure_rate, 0.5);
        assert_eq!(f.dependency_latency_ms, 20);
        assert_eq!(s.parameter.as_deref(), Some("/orders/dev/chaos"));
        assert_eq!(s.cache, Duration::from_secs(10));
        // Every fault flag of the table was exercised above.
        assert_eq!(all().filter(|f| f.field.is_some()).count(), 12);
    }

    #[test]
    fn bad_values_name_the_flag() {
        let e = parse(&[("CHAOS_ARMED", "yes")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "CHAOS_ARMED must be `true` or `false`, got \"yes\""
        );
        let e = parse(&[("CHAOS_PROCESSOR_FAILURE_RATE", "lots")]).unwrap_err();
        assert!(
            e.to_string().starts_with("CHAOS_PROCESSOR_FAILURE_RATE"),
            "{e}"
        );
        let e = parse(&[("CHAOS_PROCESSOR_FAILURE_RATE", "2")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "CHAOS_PROCESSOR_FAILURE_RATE: processorFailureRate must be a rate between 0 and 1, got 2"
        );
        let e = parse(&[("CHAOS_DEPENDENCY", "disk")]).unwrap_err();
        assert!(
            e.to_string().starts_with("CHAOS_DEPENDENCY is not valid"),
            "{e}"
        );
        let e = parse(&[("CHAOS_API_LATENCY_MS", "90000")]).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("CHAOS_API_LATENCY_MS: apiLatencyMs is capped"),
            "{e}"
        );
        let e = parse(&[("CHAOS_CACHE_SECONDS", "0")]).unwrap_err();
        assert!(e.to_string().contains("must be 1-300"), "{e}");
    }

    #[test]
    fn the_readme_table_is_current() {
        let readme = include_str!("../README.md");
        assert!(
            readme.contains(&markdown_table()),
            "chaos/README.md's flag table is stale; paste chaos::flags::markdown_table():\n{}",
            markdown_table()
        );
    }
}
