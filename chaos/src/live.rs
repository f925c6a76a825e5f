//! The live override: faults turned on and off without a redeploy. Locally the stack holds it
//! (`workshop chaos` talks to the control plane); on AWS it is an SSM parameter that the
//! functions read through a short cache (`workshop chaos --aws` writes it).

use crate::faults::{FaultError, Faults};
use async_trait::async_trait;
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use serde::{Deserialize, Serialize};
use std::sync::{PoisonError, RwLock};
use std::time::Duration;

/// How long an override lasts unless told otherwise: a forgotten experiment ends itself.
pub const DEFAULT_EXPIRY: Duration = Duration::from_secs(15 * 60);
/// The longest an override may last.
pub const MAX_EXPIRY: Duration = Duration::from_secs(4 * 3600);

/// The override's state, as stored (JSON, `state` tagged).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "state", rename_all = "camelCase")]
pub enum Live {
    /// No override: the deploy-time flags apply.
    #[default]
    Unset,
    /// The kill switch: nothing is injected, flags included, until the next `On`.
    #[serde(rename_all = "camelCase")]
    Off {
        #[serde(with = "crate::time::millis")]
        since: DateTime<Utc>,
    },
    /// These faults replace the flags until `expires_at`; after it, as if `Unset`.
    On(Override),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Override {
    pub faults: Faults,
    /// Seed of the injector's choices while this override holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    #[serde(with = "crate::time::millis")]
    pub started_at: DateTime<Utc>,
    #[serde(with = "crate::time::millis")]
    pub expires_at: DateTime<Utc>,
    /// The journal entry this override belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experiment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OverrideError {
    #[error(transparent)]
    Fault(#[from] FaultError),
    #[error("an override must last between 1 second and {max} minutes, got {seconds} seconds", max = MAX_EXPIRY.as_secs() / 60)]
    Expiry { seconds: u64 },
    #[error(
        "no fault given: an experiment injects at least one (e.g. processorFailureRate 0.3; \
         `workshop chaos on --help` and GET /api/chaos/faults list them)"
    )]
    NoFault,
}

impl Override {
    /// A validated override from `now` for `lasting` (capped; `None` = [`DEFAULT_EXPIRY`]).
    pub fn new(
        faults: Faults,
        seed: Option<u64>,
        now: DateTime<Utc>,
        lasting: Option<Duration>,
        experiment: Option<String>,
    ) -> Result<Override, OverrideError> {
        faults.validate()?;
        if faults == Faults::default() {
            return Err(OverrideError::NoFault);
        }
        let lasting = lasting.unwrap_or(DEFAULT_EXPIRY);
        if lasting.is_zero() || lasting > MAX_EXPIRY {
            return Err(OverrideError::Expiry {
                seconds: lasting.as_secs(),
            });
        }
        let now = crate::time::to_ms(now);
        let expires_at = now + ChronoDuration::from_std(lasting).unwrap_or(ChronoDuration::zero());
        Ok(Override {
            faults,
            seed,
            started_at: now,
            expires_at,
            experiment,
        })
    }

    pub fn expired(&self, now: DateTime<Utc>) -> bool {
        now >= self.expires_at
    }
}

impl Live {
    /// The faults this state puts in force at `now` over the deploy-time `flags`, and the seed
    /// the override brings (if any).
    pub fn effective<'a>(
        &'a self,
        flags: &'a Faults,
        now: DateTime<Utc>,
    ) -> (Option<&'a Faults>, Option<u64>) {
        match self {
            Live::Unset => (Some(flags), None),
            Live::Off { .. } => (None, None),
            Live::On(o) if o.expired(now) => (Some(flags), None),
            Live::On(o) => (Some(&o.faults), o.seed),
        }
    }

    pub fn parse(text: &str) -> Result<Live, serde_json::Error> {
        serde_json::from_str(text)
    }

    pub fn to_json(&self) -> String {
        // Serialising this enum of plain data cannot fail.
        serde_json::to_string(self).unwrap_or_else(|_| r#"{"state":"unset"}"#.to_owned())
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("could not read the live chaos override from {source_name}: {message}")]
pub struct SourceError {
    pub source_name: String,
    pub message: String,
}

/// Where a function reads the live override from.
#[async_trait]
pub trait LiveSource: Send + Sync {
    async fn read(&self) -> Result<Live, SourceError>;
}

/// An override held in memory: the local stack's (the control plane writes it) and tests'.
#[derive(Debug, Default)]
pub struct MemoryLive(RwLock<Live>);

impl MemoryLive {
    pub fn new(live: Live) -> Self {
        MemoryLive(RwLock::new(live))
    }
    pub fn set(&self, live: Live) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = live;
    }
    pub fn get(&self) -> Live {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

#[async_trait]
impl LiveSource for MemoryLive {
    async fn read(&self) -> Result<Live, SourceError> {
        Ok(self.get())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn faults() -> Faults {
        Faults {
            processor_failure_rate: 1.0,
            ..Faults::default()
        }
    }

    #[test]
    fn json_round_trip_and_shape() {
        let now = DateTime::parse_from_rfc3339("2026-11-24T10:00:00Z")
            .unwrap()
            .to_utc();
        let on = Live::On(Override::new(faults(), Some(7), now, None, Some("e1".into())).unwrap());
        let text = on.to_json();
        assert!(text.starts_with(r#"{"state":"on","faults":{"#), "{text}");
        assert!(
            text.contains(r#""expiresAt":"2026-11-24T10:15:00.000Z""#),
            "{text}"
        );
        assert_eq!(Live::parse(&text).unwrap(), on);
        assert_eq!(Live::parse(r#"{"state":"unset"}"#).unwrap(), Live::Unset);
        assert!(matches!(
            Live::parse(r#"{"state":"off","since":"2026-11-24T10:00:00Z"}"#).unwrap(),
            Live::Off { .. }
        ));
    }

    #[test]
    fn expiry_is_bounded() {
        let now = Utc::now();
        let none = Override::new(Faults::default(), None, now, None, None).unwrap_err();
        assert_eq!(none, OverrideError::NoFault);
        let e = Override::new(faults(), None, now, Some(Duration::ZERO), None).unwrap_err();
        assert_eq!(e, OverrideError::Expiry { seconds: 0 });
        assert!(Override::new(faults(), None, now, Some(MAX_EXPIRY * 2), None).is_err());
        let bad = Faults {
            timeout_rate: -0.1,
            ..Faults::default()
        };
        assert!(matches!(
            Override::new(bad, None, now, None, None),
            Err(OverrideError::Fault(_))
        ));
    }

    #[test]
    fn what_is_in_force() {
        let now = Utc::now();
        let flags = Faults {
            api_error_rate: 0.5,
            ..Faults::default()
        };
        assert_eq!(Live::Unset.effective(&flags, now).0, Some(&flags));
        assert_eq!(Live::Off { since: now }.effective(&flags, now).0, None);
        let o = Override::new(faults(), Some(3), now, Some(Duration::from_secs(60)), None).unwrap();
        let on = Live::On(o.clone());
        assert_eq!(on.effective(&flags, now), (Some(&o.faults), Some(3)));
        let later = now + ChronoDuration::seconds(60);
        assert_eq!(on.effective(&flags, later), (Some(&flags), None));
    }
}
