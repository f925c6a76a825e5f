//! Where the evaluator reads datapoints from: the `MetricSource` trait (the local stack's metric
//! store implements it), an in-memory store with CloudWatch's statistics, and the fetch that
//! turns an alarm (single metric or metric math) into one value per period.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Duration, TimeZone, Utc};

use crate::error::{AlarmError, Result};
use crate::math::Expr;
use crate::model::{
    AlarmSource, Dimension, Metric, MetricAlarm, MetricQuery, MetricStat, QueryKind, Statistic,
};

/// A store of metric samples that can aggregate them per period.
pub trait MetricSource {
    /// One value per period in `[start, end)`, oldest first: period `i` covers
    /// `[start + i*period, start + (i+1)*period)`. `None` where the period holds no samples.
    fn datapoints(
        &self,
        stat: &MetricStat,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Vec<Option<f64>>;
}

/// Applies a statistic to the raw samples of one period; `None` when there are none.
///
/// Percentiles use the nearest-rank method over the raw values (the smallest value with at least
/// p% of samples at or below it), so p99 of 1..=100 is 99 and p100 is the maximum. CloudWatch
/// does not document its exact interpolation; nearest-rank never invents a value that was not
/// observed, which keeps tests exact.
pub fn compute_statistic(stat: Statistic, values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let n = values.len() as f64;
    Some(match stat {
        Statistic::SampleCount => n,
        Statistic::Sum => values.iter().sum(),
        Statistic::Average => values.iter().sum::<f64>() / n,
        Statistic::Minimum => values.iter().copied().fold(f64::INFINITY, f64::min),
        Statistic::Maximum => values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        Statistic::Percentile(p) => {
            let mut sorted = values.to_vec();
            sorted.sort_by(f64::total_cmp);
            // The epsilon keeps p99.9 of 1000 samples at rank 999: 99.9 is not exact in binary.
            let rank = ((p * n / 100.0) - 1e-9).ceil() as usize;
            sorted[rank.clamp(1, sorted.len()) - 1]
        }
    })
}

/// Raw samples in memory, keyed like CloudWatch: namespace, name and the exact dimension set.
#[derive(Debug, Default, Clone)]
pub struct InMemoryMetrics {
    series: BTreeMap<Metric, Vec<(DateTime<Utc>, f64)>>,
}

impl InMemoryMetrics {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn record(
        &mut self,
        namespace: &str,
        name: &str,
        dimensions: &[(&str, &str)],
        timestamp: DateTime<Utc>,
        value: f64,
    ) {
        let mut metric = Metric::new(namespace, name);
        metric.dimensions = dimensions
            .iter()
            .map(|(n, v)| Dimension::new(*n, *v))
            .collect();
        self.record_metric(&metric, timestamp, value);
    }

    pub fn record_metric(&mut self, metric: &Metric, timestamp: DateTime<Utc>, value: f64) {
        let key = Self::key(metric);
        self.series.entry(key).or_default().push((timestamp, value));
    }

    /// Drops the samples older than `before` (a retention bound), and the metrics left empty.
    pub fn prune(&mut self, before: DateTime<Utc>) {
        self.series.retain(|_, samples| {
            samples.retain(|(t, _)| *t >= before);
            !samples.is_empty()
        });
    }

    /// Every metric with its samples (time, value), for a store that keeps them on disk.
    pub fn series(&self) -> impl Iterator<Item = (&Metric, &[(DateTime<Utc>, f64)])> {
        self.series.iter().map(|(m, s)| (m, s.as_slice()))
    }

    /// Every metric that has at least one sample (for "is this metric emitted?" checks).
    pub fn metrics(&self) -> impl Iterator<Item = &Metric> {
        self.series.keys()
    }

    /// Raw samples of a metric in `[start, end)`.
    pub fn samples(&self, metric: &Metric, start: DateTime<Utc>, end: DateTime<Utc>) -> Vec<f64> {
        self.series
            .get(&Self::key(metric))
            .map(|s| {
                s.iter()
                    .filter(|(t, _)| *t >= start && *t < end)
                    .map(|(_, v)| *v)
                    .collect()
            })
            .unwrap_or_default()
    }

    fn key(metric: &Metric) -> Metric {
        Metric {
            namespace: metric.namespace.clone(),
            metric_name: metric.metric_name.clone(),
            dimensions: metric.sorted_dimensions(),
        }
    }
}

impl MetricSource for InMemoryMetrics {
    fn datapoints(
        &self,
        stat: &MetricStat,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Vec<Option<f64>> {
        let period = Duration::seconds(i64::from(stat.period.max(1)));
        let count = periods_between(start, end, stat.period);
        let mut buckets: Vec<Vec<f64>> = vec![Vec::new(); count];
        if let Some(samples) = self.series.get(&Self::key(&stat.metric)) {
            for (t, v) in samples {
                if *t < start || *t >= end {
                    continue;
                }
                let idx = ((*t - start).num_milliseconds() / period.num_milliseconds()) as usize;
                if let Some(b) = buckets.get_mut(idx) {
                    b.push(*v);
                }
            }
        }
        buckets
            .iter()
            .map(|b| compute_statistic(stat.stat, b))
            .collect()
    }
}

fn periods_between(start: DateTime<Utc>, end: DateTime<Utc>, period: u32) -> usize {
    let secs = (end - start).num_seconds().max(0);
    (secs / i64::from(period.max(1))) as usize
}

/// The end of the last complete period at `now`: CloudWatch aligns periods to the epoch and
/// evaluates only periods that have ended.
pub fn last_period_end(now: DateTime<Utc>, period: u32) -> Result<DateTime<Utc>> {
    let p = i64::from(period.max(1));
    let aligned = now.timestamp().div_euclid(p) * p;
    Utc.timestamp_opt(aligned, 0)
        .single()
        .ok_or_else(|| AlarmError::TimeRange(format!("cannot align {now} to {period}s")))
}

/// The alarm's datapoints over its evaluation range ending at the last complete period before
/// `now`, oldest first (newest last), ready for `evaluate`.
pub fn fetch_datapoints(
    alarm: &MetricAlarm,
    source: &dyn MetricSource,
    now: DateTime<Utc>,
) -> Result<Vec<Option<f64>>> {
    let period = alarm.period();
    let range = alarm.evaluation_range();
    let end = last_period_end(now, period)?;
    let start = end - Duration::seconds(i64::from(period) * range as i64);
    let mut points = match &alarm.source {
        AlarmSource::Metric(stat) => source.datapoints(stat, start, end),
        AlarmSource::Math(queries) => math_series(queries, source, start, end)?,
    };
    // A source that returns the wrong count must not shift which datapoint counts as newest.
    points.resize(range, None);
    Ok(points)
}

/// Evaluates metric math over `[start, end)` and returns the series of the ReturnData query.
pub fn math_series(
    queries: &[MetricQuery],
    source: &dyn MetricSource,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Vec<Option<f64>>> {
    let returned = queries
        .iter()
        .find(|q| q.return_data)
        .ok_or_else(|| AlarmError::UnknownId("(no query has ReturnData)".into()))?;
    let mut ctx = MathContext {
        queries,
        source,
        start,
        end,
        memo: HashMap::new(),
        visiting: HashSet::new(),
    };
    ctx.series(&returned.id)
}

struct MathContext<'a> {
    queries: &'a [MetricQuery],
    source: &'a dyn MetricSource,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    memo: HashMap<String, Vec<Option<f64>>>,
    visiting: HashSet<String>,
}

impl MathContext<'_> {
    fn series(&mut self, id: &str) -> Result<Vec<Option<f64>>> {
        if let Some(s) = self.memo.get(id) {
            return Ok(s.clone());
        }
        if !self.visiting.insert(id.to_string()) {
            return Err(AlarmError::Cycle(id.to_string()));
        }
        let query = self
            .queries
            .iter()
            .find(|q| q.id == id)
            .ok_or_else(|| AlarmError::UnknownId(id.to_string()))?;
        let series = match &query.kind {
            QueryKind::MetricStat(stat) => self.source.datapoints(stat, self.start, self.end),
            QueryKind::Expression(text) => {
                let expr = Expr::parse(text)?;
                let mut inputs = HashMap::new();
                for r in expr.references() {
                    let s = self.series(&r)?;
                    inputs.insert(r, s);
                }
                let len = inputs.values().map(Vec::len).max().unwrap_or_else(|| {
                    // A constant expression still yields one value per period.
                    let period = self.queries.iter().find_map(|q| match &q.kind {
                        QueryKind::MetricStat(s) => Some(s.period),
                        QueryKind::Expression(_) => None,
                    });
                    periods_between(self.start, self.end, period.unwrap_or(60))
                });
                (0..len)
                    .map(|i| {
                        expr.eval(&|name: &str| {
                            inputs
                                .get(name)
                                .map(|s| s.get(i).copied().flatten())
                                .ok_or_else(|| AlarmError::UnknownId(name.to_string()))
                        })
                    })
                    .collect::<Result<Vec<_>>>()?
            }
        };
        self.visiting.remove(id);
        self.memo.insert(id.to_string(), series.clone());
        Ok(series)
    }
}
