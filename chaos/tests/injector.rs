//! The injector's decisions at every injection point: armed or not, flags or override,
//! expiry, kill switch, seed and cache.

use async_trait::async_trait;
use chaos::live::{Live, LiveSource, MemoryLive, Override, SourceError};
use chaos::{Chaos, Dependency, FailureMode, Faults, Settings};
use chrono::{DateTime, Utc};
use orders::domain::Order;
use orders::ports::{Clock, ManualClock};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use telemetry::catalogue::Fault;

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-24T10:00:00Z")
        .unwrap()
        .to_utc()
}

/// Every fault at full strength (latencies left out so the tests do not sleep).
fn everything() -> Faults {
    Faults {
        processor_failure_rate: 1.0,
        poison_sku: Some("POISON".into()),
        api_error_rate: 1.0,
        api_error_status: 500,
        dependency_failure_rate: 1.0,
        ..Faults::default()
    }
}

fn order(sku: &str) -> Order {
    serde_json::from_value(serde_json::json!({
        "id": "6f1c1d1e-8a0b-4c5d-9e2f-3a4b5c6d7e8f",
        "customerName": "Ada",
        "items": [{"sku": sku, "qty": 1, "price": 1.00}],
        "status": "PENDING",
        "total": 1.00,
        "itemCount": 1,
        "createdAt": "2026-11-24T10:00:00.000Z",
        "updatedAt": "2026-11-24T10:00:00.000Z"
    }))
    .unwrap()
}

fn settings(armed: bool, faults: Faults) -> Settings {
    Settings {
        armed,
        faults,
        seed: Some(1),
        ..Settings::default()
    }
}

fn chaos(armed: bool, flags: Faults, live: Live, clock: Arc<ManualClock>) -> Chaos {
    let source: Arc<dyn LiveSource> = Arc::new(MemoryLive::new(live));
    Chaos::new(settings(armed, flags), Some(source), clock)
}

/// Armed with no flags, reading `source` at most once per `cache`.
fn caching(source: Arc<dyn LiveSource>, cache: Duration, clock: Arc<dyn Clock>) -> Chaos {
    let settings = Settings {
        armed: true,
        cache,
        ..Settings::default()
    };
    Chaos::new(settings, Some(source), clock)
}

fn on(faults: Faults, minutes: u64) -> Live {
    Live::On(
        Override::new(
            faults,
            None,
            t0(),
            Some(Duration::from_secs(minutes * 60)),
            None,
        )
        .unwrap(),
    )
}

/// Which injection points fire: (api status, dependency fails, record fails, poison fails).
async fn fired(c: &Chaos) -> (Option<u16>, bool, bool, bool) {
    (
        c.api().await,
        c.dependency(Dependency::Store, "GetOrder").await.is_err(),
        c.on_record(&order("OK")).await.is_err(),
        c.on_record(&order("POISON")).await.is_err(),
    )
}

const NOTHING: (Option<u16>, bool, bool, bool) = (None, false, false, false);

#[tokio::test]
async fn disarmed_nothing_injects_whatever_is_configured() {
    let clock = Arc::new(ManualClock::new(t0()));
    let c = chaos(false, everything(), on(everything(), 15), clock.clone());
    assert_eq!(fired(&c).await, NOTHING);
    assert!(c.before_batch(Instant::now()).await.is_ok());
    assert_eq!(c.active().await, None);
    let c = Chaos::disarmed(clock);
    assert_eq!(fired(&c).await, NOTHING);
}

#[tokio::test]
async fn an_expired_override_injects_nothing() {
    let clock = Arc::new(ManualClock::new(t0()));
    let c = chaos(true, Faults::default(), on(everything(), 15), clock.clone());
    assert_eq!(fired(&c).await, (Some(500), true, true, true));
    clock.advance(Duration::from_secs(15 * 60));
    assert_eq!(fired(&c).await, NOTHING);
}

#[tokio::test]
async fn armed_flags_apply_until_the_kill_switch() {
    let clock = Arc::new(ManualClock::new(t0()));
    let flags = Faults {
        poison_sku: Some("POISON".into()),
        ..Faults::default()
    };
    let c = chaos(true, flags.clone(), Live::Unset, clock.clone());
    assert_eq!(fired(&c).await, (None, false, false, true));
    let c = chaos(true, flags, Live::Off { since: t0() }, clock);
    assert_eq!(fired(&c).await, NOTHING);
}

#[tokio::test]
async fn an_override_replaces_the_flags_while_it_lasts() {
    let clock = Arc::new(ManualClock::new(t0()));
    let flags = Faults {
        api_error_rate: 1.0,
        ..Faults::default()
    };
    let dependency = Faults {
        dependency: Dependency::Queue,
        dependency_failure_rate: 1.0,
        ..Faults::default()
    };
    let c = chaos(true, flags, on(dependency, 1), clock.clone());
    assert_eq!(c.api().await, None);
    assert!(c.dependency(Dependency::Store, "GetOrder").await.is_ok());
    let e = c
        .dependency(Dependency::Queue, "SendMessage")
        .await
        .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("SendMessage failed: injected fault"),
        "{e}"
    );
    clock.advance(Duration::from_secs(60));
    assert_eq!(c.api().await, Some(503));
}

#[tokio::test]
async fn batch_mode_fails_the_invocation_not_the_record() {
    let clock = Arc::new(ManualClock::new(t0()));
    let faults = Faults {
        processor_failure_rate: 1.0,
        processor_failure_mode: FailureMode::Batch,
        ..Faults::default()
    };
    let c = chaos(true, faults, Live::Unset, clock);
    let e = c
        .before_batch(Instant::now() + Duration::from_secs(5))
        .await
        .unwrap_err();
    assert_eq!(e.fault, Fault::BatchFailure);
    assert!(c.on_record(&order("OK")).await.is_ok());
}

#[tokio::test(start_paused = true)]
async fn a_timeout_sleeps_past_the_deadline() {
    let clock = Arc::new(ManualClock::new(t0()));
    let faults = Faults {
        timeout_rate: 1.0,
        ..Faults::default()
    };
    let c = chaos(true, faults, Live::Unset, clock);
    let started = tokio::time::Instant::now();
    let deadline = Instant::now() + Duration::from_secs(5);
    let e = c.before_batch(deadline).await.unwrap_err();
    assert_eq!(e.fault, Fault::Timeout);
    assert!(started.elapsed() >= Duration::from_secs(5));
}

#[tokio::test(start_paused = true)]
async fn latency_is_fixed_plus_bounded_jitter() {
    let clock = Arc::new(ManualClock::new(t0()));
    let faults = Faults {
        api_latency_ms: 200,
        latency_jitter_ms: 100,
        ..Faults::default()
    };
    let c = chaos(true, faults, Live::Unset, clock);
    for _ in 0..20 {
        let started = tokio::time::Instant::now();
        assert_eq!(c.api().await, None);
        let slept = started.elapsed();
        assert!(
            slept >= Duration::from_millis(200) && slept <= Duration::from_millis(300),
            "{slept:?}"
        );
    }
}

async fn decisions(seed: u64) -> Vec<bool> {
    let clock = Arc::new(ManualClock::new(t0()));
    let faults = Faults {
        processor_failure_rate: 0.5,
        ..Faults::default()
    };
    let c = Chaos::new(
        Settings {
            armed: true,
            faults,
            seed: Some(seed),
            ..Settings::default()
        },
        None,
        clock,
    );
    let mut out = Vec::new();
    for _ in 0..200 {
        out.push(c.on_record(&order("OK")).await.is_err());
    }
    out
}

#[tokio::test]
async fn a_seed_repeats_the_sequence_and_the_rate_holds() {
    let a = decisions(42).await;
    assert_eq!(a, decisions(42).await);
    assert_ne!(a, decisions(43).await);
    let failed = a.iter().filter(|f| **f).count();
    assert!((60..=140).contains(&failed), "{failed} of 200 at rate 0.5");
}

struct Counting(AtomicUsize, Live);

#[async_trait]
impl LiveSource for Counting {
    async fn read(&self) -> Result<Live, SourceError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(self.1.clone())
    }
}

#[tokio::test(start_paused = true)]
async fn the_override_is_read_at_most_once_per_cache_period() {
    let clock = Arc::new(ManualClock::new(t0()));
    let source = Arc::new(Counting(AtomicUsize::new(0), on(everything(), 15)));
    let c = caching(source.clone(), Duration::from_secs(5), clock);
    for _ in 0..10 {
        assert_eq!(c.api().await, Some(500));
    }
    assert_eq!(source.0.load(Ordering::SeqCst), 1);
    tokio::time::advance(Duration::from_secs(6)).await;
    assert_eq!(c.api().await, Some(500));
    assert_eq!(source.0.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn the_same_seed_on_a_new_experiment_repeats_the_sequence() {
    let clock = Arc::new(ManualClock::new(t0()));
    let live = Arc::new(MemoryLive::default());
    let c = caching(live.clone(), Duration::ZERO, clock.clone());
    let half = Faults {
        processor_failure_rate: 0.5,
        ..Faults::default()
    };
    let mut runs = Vec::new();
    for _ in 0..2 {
        let o = Override::new(half.clone(), Some(7), clock.now(), None, None).unwrap();
        live.set(Live::On(o));
        let mut decisions = Vec::new();
        for _ in 0..50 {
            decisions.push(c.on_record(&order("OK")).await.is_err());
        }
        runs.push(decisions);
        live.set(Live::Off { since: clock.now() });
        clock.advance(Duration::from_secs(1));
    }
    assert_eq!(runs[0], runs[1]);
}

struct Broken(AtomicUsize);

#[async_trait]
impl LiveSource for Broken {
    async fn read(&self) -> Result<Live, SourceError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Err(SourceError {
            source_name: "SSM parameter /x".into(),
            message: "ParameterNotFound".into(),
        })
    }
}

#[tokio::test(start_paused = true)]
async fn a_failing_source_is_not_asked_again_within_the_cache_period() {
    let clock = Arc::new(ManualClock::new(t0()));
    let source = Arc::new(Broken(AtomicUsize::new(0)));
    let c = caching(source.clone(), Duration::from_secs(5), clock);
    for _ in 0..10 {
        assert_eq!(c.api().await, None);
    }
    assert_eq!(source.0.load(Ordering::SeqCst), 1);
}
