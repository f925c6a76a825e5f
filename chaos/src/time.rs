//! Times as a person reads them, in the journal, the override and the CLI's output: RFC 3339
//! in UTC with milliseconds (`2026-12-02T11:20:47.123Z`), not chrono's default nanoseconds.
//! Reading accepts any RFC 3339 time, so files written before keep loading.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serializer};

/// `t` to the millisecond, what the files and the output keep: an override or an experiment
/// read back equals the one written.
pub fn to_ms(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap_or(t)
}

/// Now, to the millisecond.
pub fn now() -> DateTime<Utc> {
    to_ms(Utc::now())
}

/// `2026-12-02T11:20:47.123Z`.
pub fn rfc3339(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// `#[serde(with = "crate::time::millis")]` on a `DateTime<Utc>`.
pub mod millis {
    use super::*;

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&rfc3339(t))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        DateTime::<Utc>::deserialize(d)
    }
}

/// `#[serde(with = "crate::time::millis_opt")]` on an `Option<DateTime<Utc>>`.
pub mod millis_opt {
    use super::*;

    pub fn serialize<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_some(&rfc3339(t)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        Option::<DateTime<Utc>>::deserialize(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn times_read_to_the_millisecond_and_old_files_still_load() {
        let t = Utc.timestamp_nanos(1_764_674_447_123_456_789);
        assert_eq!(rfc3339(&t), "2025-12-02T11:20:47.123Z");
        #[derive(serde::Serialize, serde::Deserialize)]
        struct At {
            #[serde(with = "millis")]
            at: DateTime<Utc>,
            #[serde(default, with = "millis_opt")]
            end: Option<DateTime<Utc>>,
        }
        let json = serde_json::to_string(&At {
            at: t,
            end: Some(t),
        })
        .unwrap();
        assert_eq!(
            json,
            r#"{"at":"2025-12-02T11:20:47.123Z","end":"2025-12-02T11:20:47.123Z"}"#
        );
        let old: At =
            serde_json::from_str(r#"{"at":"2025-12-02T11:20:47.123456789+00:00"}"#).unwrap();
        assert_eq!(old.at, t);
        assert_eq!(old.end, None);
    }
}
