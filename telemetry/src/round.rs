//! Figures as a person reads them in a log line: milliseconds with two decimals
//! (`"latency_ms":2.48`, not `2.4846730000000004`). Metrics keep their full precision; only
//! what is written for people is rounded.

use std::time::Duration;

/// A duration in milliseconds, to two decimals.
pub fn ms(d: Duration) -> f64 {
    two_decimals(d.as_secs_f64() * 1000.0)
}

/// `x` to two decimals.
pub fn two_decimals(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_figures_have_two_decimals() {
        assert_eq!(ms(Duration::from_nanos(2_484_673)), 2.48);
        assert_eq!(ms(Duration::from_nanos(2_486_000)), 2.49);
        assert_eq!(two_decimals(7.770955000000001), 7.77);
        assert_eq!(
            serde_json::json!(ms(Duration::from_micros(1500))).to_string(),
            "1.5"
        );
    }
}
