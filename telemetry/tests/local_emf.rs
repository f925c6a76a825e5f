//! The local-stack path: many functions in one process, each invocation's recordings routed to
//! its own documents by the task-local scope.

mod common;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use telemetry::catalogue::{DimensionValue, LookupResult, Operation, ProcessedStatus};
use telemetry::metrics::local::{self, Invocation, LocalMetrics};
use telemetry::metrics::{self as m, MetricsError, Property};

type Written = Arc<Mutex<Vec<(String, String)>>>;

/// The sink of the one installed backend; tests take only the lines of their own function
/// names, since they share it.
fn installed() -> Written {
    static SINK: OnceLock<Written> = OnceLock::new();
    SINK.get_or_init(|| {
        let written = Written::default();
        let sink = written.clone();
        LocalMetrics::new("orders", "local", move |function: &str, line: &str| {
            sink.lock()
                .unwrap()
                .push((function.to_owned(), line.to_owned()));
        })
        .unwrap()
        .install()
        .unwrap();
        written
    })
    .clone()
}

fn lines_of(written: &Written, function: &str) -> Vec<String> {
    written
        .lock()
        .unwrap()
        .iter()
        .filter(|(f, _)| f == function)
        .map(|(_, l)| l.clone())
        .collect()
}

#[tokio::test]
async fn every_metric_is_valid_and_written_for_its_function() {
    let written = installed();
    let out = local::scope(Invocation::new("t-everything", "req-1", true), async {
        common::record_everything();
        7
    })
    .await;
    assert_eq!(out, 7);
    let docs = common::check_lines(&lines_of(&written, "t-everything"));
    common::assert_cold_invocation_of_everything(&docs, "local", "req-1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_invocations_keep_their_own_metrics() {
    let written = installed();
    let gate = Arc::new(tokio::sync::Barrier::new(2));
    let run = |name: &'static str, status: ProcessedStatus, n: usize| {
        let gate = gate.clone();
        tokio::spawn(local::scope(
            Invocation::new(name, "r", false),
            async move {
                // Both invocations are inside their scopes at the same time.
                gate.wait().await;
                for _ in 0..n {
                    m::order_processed(status);
                    tokio::task::yield_now().await;
                }
                m::property(Property::CorrelationId, name);
            },
        ))
    };
    let a = run("t-proc-a", ProcessedStatus::Confirmed, 3);
    let b = run("t-proc-b", ProcessedStatus::PendingReview, 5);
    a.await.unwrap();
    b.await.unwrap();
    let a = common::check_lines(&lines_of(&written, "t-proc-a"));
    let b = common::check_lines(&lines_of(&written, "t-proc-b"));
    assert_eq!((a.len(), b.len()), (1, 1));
    assert_eq!(
        (&a[0]["Status"], &a[0]["OrdersProcessed"]),
        (&"CONFIRMED".into(), &3.into())
    );
    assert_eq!(
        (&b[0]["Status"], &b[0]["OrdersProcessed"]),
        (&"PENDING_REVIEW".into(), &5.into())
    );
    assert_eq!(a[0]["CorrelationId"], "t-proc-a");
    assert!(a[0].get("ColdStart").is_none());
}

#[tokio::test]
async fn handles_kept_across_invocations_follow_the_current_one() {
    let written = installed();
    let lookups = ::metrics::counter!("OrderLookups", "Result" => LookupResult::Found.as_str());
    local::scope(Invocation::new("t-handle-1", "r1", false), async {
        lookups.increment(1)
    })
    .await;
    local::scope(Invocation::new("t-handle-2", "r2", false), async {
        lookups.increment(2)
    })
    .await;
    // Outside any scope: dropped, not added to a later invocation.
    lookups.increment(100);
    local::scope(Invocation::new("t-handle-3", "r3", false), async {}).await;
    let one = common::check_lines(&lines_of(&written, "t-handle-1"));
    let two = common::check_lines(&lines_of(&written, "t-handle-2"));
    assert_eq!(one[0]["OrderLookups"], 1);
    assert_eq!(two[0]["OrderLookups"], 2);
    assert!(lines_of(&written, "t-handle-3").is_empty());
}

#[tokio::test]
async fn more_than_100_values_are_split_into_valid_documents() {
    let written = installed();
    local::scope(Invocation::new("t-many", "r", false), async {
        for i in 0..250u64 {
            m::dependency_latency(Operation::GetOrder, Duration::from_millis(i));
        }
        m::duplicate_skipped();
    })
    .await;
    let docs = common::check_lines(&lines_of(&written, "t-many"));
    let sizes: Vec<usize> = docs
        .iter()
        .filter_map(|d| d.get("DependencyLatency")?.as_array().map(Vec::len))
        .collect();
    assert_eq!(sizes, [100, 100, 50]);
    let skipped: Vec<_> = docs
        .iter()
        .filter(|d| d.get("DuplicatesSkipped").is_some())
        .collect();
    assert_eq!(skipped.len(), 1, "a counter is written once");
}

#[tokio::test]
async fn an_abandoned_invocation_writes_nothing() {
    let written = installed();
    let slow = local::scope(Invocation::new("t-timeout", "r", true), async {
        m::order_published();
        std::future::pending::<()>().await
    });
    // The emulator's timeout drops the future, as Lambda kills the sandbox before its flush.
    assert!(tokio::time::timeout(Duration::ZERO, slow).await.is_err());
    assert!(lines_of(&written, "t-timeout").is_empty());
}

#[test]
fn a_second_install_is_refused_and_bad_dimensions_too() {
    installed();
    let again = LocalMetrics::new("orders", "local", |_: &str, _: &str| {}).unwrap();
    assert!(matches!(
        again.install(),
        Err(MetricsError::AlreadyInstalled)
    ));
    assert!(matches!(
        LocalMetrics::new("orders", "1700000000000", |_: &str, _: &str| {}),
        Err(MetricsError::InvalidDimension { .. })
    ));
    let names: BTreeSet<_> = telemetry::catalogue::CATALOGUE
        .iter()
        .map(|d| d.name)
        .collect();
    assert!(names.contains("ColdStart"));
}
