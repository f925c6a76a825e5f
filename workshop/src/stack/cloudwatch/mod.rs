//! CloudWatch: the metric store (EMF and AWS service metrics), GetMetricData, the part of Logs
//! Insights the dashboards use, the alarm evaluator's loop, and the log files.

pub mod alarm_loop;
pub mod insights;
pub mod logs;
pub mod metric_data;
pub mod metric_store;
pub mod service_metrics;
