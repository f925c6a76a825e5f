//! CloudWatch: the metric store (EMF and AWS service metrics), GetMetricData, the part of Logs
//! Insights the dashboards use, the alarm evaluator's loop, and the log files. The datapoints
//! and the alarm history are kept in the data dir (`metric_file`), the logs in `logs/`.

pub mod alarm_loop;
pub mod insights;
pub mod logs;
pub mod metric_data;
pub mod metric_file;
pub mod metric_store;
pub mod service_metrics;
