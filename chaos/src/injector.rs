//! The injector: decides, at each injection point, whether a fault fires, and when it does,
//! logs it and counts it (`ChaosInjections` by `Fault`). Disarmed, it returns at once.

use crate::faults::{Dependency, FailureMode, Faults};
use crate::flags::Settings;
use crate::live::{Live, LiveSource};
use chrono::{DateTime, Utc};
use orders::domain::Order;
use orders::ports::{Clock, DependencyError};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use telemetry::catalogue::{DimensionValue, Fault};
use tracing::{error, warn};

/// How far past its deadline an injected timeout sleeps: the runtime cuts the invocation off
/// first; the margin only matters where nothing does (a unit test).
const PAST_DEADLINE: Duration = Duration::from_secs(1);

struct Cached {
    /// Tokio's clock, so tests can move it.
    read_at: tokio::time::Instant,
    live: Live,
}

struct Dice {
    /// What the sequence was seeded for: the seed and the override it belongs to (none for
    /// the flags), so the same seed on a new experiment starts the sequence again.
    key: (u64, Option<DateTime<Utc>>),
    rng: StdRng,
}

/// The chaos layer of one function instance (or of the whole local stack).
pub struct Chaos {
    armed: bool,
    flags: Faults,
    flags_seed: u64,
    salt: u64,
    live: Option<Arc<dyn LiveSource>>,
    cache_for: Duration,
    cache: Mutex<Option<Cached>>,
    clock: Arc<dyn Clock>,
    dice: Mutex<Dice>,
}

impl Chaos {
    /// Injects nothing, ever: the default of every function.
    pub fn disarmed(clock: Arc<dyn Clock>) -> Chaos {
        Chaos::new(Settings::default(), None, clock)
    }

    /// From the deploy-time flags and, if any, the live override's source. Disarmed flags make
    /// an injector that never reads the source.
    pub fn new(
        settings: Settings,
        live: Option<Arc<dyn LiveSource>>,
        clock: Arc<dyn Clock>,
    ) -> Chaos {
        let flags_seed = settings.seed.unwrap_or_else(rand::random);
        Chaos {
            armed: settings.armed,
            flags: settings.faults,
            flags_seed,
            salt: settings.salt,
            live,
            cache_for: settings.cache,
            cache: Mutex::new(None),
            clock,
            dice: Mutex::new(Dice {
                key: (flags_seed, None),
                rng: StdRng::seed_from_u64(flags_seed ^ settings.salt),
            }),
        }
    }

    pub fn armed(&self) -> bool {
        self.armed
    }

    /// The deploy-time faults (in force when no override is).
    pub fn flags(&self) -> &Faults {
        &self.flags
    }

    /// The faults in force now: none when disarmed or switched off, else the live override's
    /// while it has not expired, else the flags. Reads the source at most once per cache period;
    /// when it cannot be read, the last state read stays in force (expiry still applies).
    pub async fn active(&self) -> Option<Faults> {
        if !self.armed {
            return None;
        }
        let live = self.live_state().await;
        let now = self.clock.now();
        let (faults, seed) = live.effective(&self.flags, now);
        let faults = faults.filter(|f| !f.is_quiet())?.clone();
        let epoch = match &live {
            Live::On(o) if !o.expired(now) => Some(o.started_at),
            _ => None,
        };
        self.reseed((seed.unwrap_or(self.flags_seed), epoch));
        Some(faults)
    }

    async fn live_state(&self) -> Live {
        let Some(source) = &self.live else {
            return Live::Unset;
        };
        {
            let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(c) = cache
                .as_ref()
                .filter(|c| c.read_at.elapsed() < self.cache_for)
            {
                return c.live.clone();
            }
        }
        let read = source.read().await;
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        match read {
            Ok(live) => {
                *cache = Some(Cached {
                    read_at: tokio::time::Instant::now(),
                    live: live.clone(),
                });
                live
            }
            Err(e) => {
                // A failed read counts as a read: retried after the cache period, not on every
                // call (a missing or throttled parameter must not multiply the calls).
                error!(error = %e, "chaos: keeping the last override read");
                let live = cache.as_ref().map(|c| c.live.clone()).unwrap_or_default();
                *cache = Some(Cached {
                    read_at: tokio::time::Instant::now(),
                    live: live.clone(),
                });
                live
            }
        }
    }

    fn reseed(&self, key: (u64, Option<DateTime<Utc>>)) {
        let mut dice = self.dice.lock().unwrap_or_else(PoisonError::into_inner);
        if dice.key != key {
            *dice = Dice {
                key,
                rng: StdRng::seed_from_u64(key.0 ^ self.salt),
            };
        }
    }

    /// True with probability `rate` (never for 0, always for 1).
    fn roll(&self, rate: f64) -> bool {
        if rate <= 0.0 {
            return false;
        }
        let mut dice = self.dice.lock().unwrap_or_else(PoisonError::into_inner);
        dice.rng.random::<f64>() < rate
    }

    fn jitter(&self, up_to_ms: u64) -> u64 {
        if up_to_ms == 0 {
            return 0;
        }
        let mut dice = self.dice.lock().unwrap_or_else(PoisonError::into_inner);
        dice.rng.random_range(0..=up_to_ms)
    }

    /// Sleeps `base_ms` plus jitter, counted as `fault`; nothing when `base_ms` is 0.
    async fn delay(&self, fault: Fault, faults: &Faults, base_ms: u64, at: &str) {
        if base_ms == 0 {
            return;
        }
        let ms = base_ms + self.jitter(faults.latency_jitter_ms);
        injected(fault, &format!("{ms} ms of latency before {at}"));
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }

    /// Before an API handler: latency, then perhaps an error status instead of the handler.
    pub async fn api(&self) -> Option<u16> {
        let faults = self.active().await?;
        self.delay(
            Fault::ApiLatency,
            &faults,
            faults.api_latency_ms,
            "the API handler",
        )
        .await;
        if self.roll(faults.api_error_rate) {
            injected(
                Fault::ApiError,
                &format!("HTTP {} instead of the handler", faults.api_error_status),
            );
            return Some(faults.api_error_status);
        }
        None
    }

    /// Before a store or queue call named `operation`: latency, then perhaps a failure that
    /// looks like the dependency's own.
    pub async fn dependency(
        &self,
        call: Dependency,
        operation: &'static str,
    ) -> Result<(), DependencyError> {
        let Some(faults) = self.active().await else {
            return Ok(());
        };
        if !faults.dependency.hits(call) {
            return Ok(());
        }
        self.delay(
            Fault::DependencyLatency,
            &faults,
            faults.dependency_latency_ms,
            operation,
        )
        .await;
        if self.roll(faults.dependency_failure_rate) {
            injected(Fault::DependencyError, &format!("{operation} failed"));
            return Err(DependencyError::failed(
                operation,
                "injected fault (chaos): the dependency call was not made",
            ));
        }
        Ok(())
    }
}

/// Logs and counts one injection. The log line carries `fault`, so Logs Insights can find
/// every injection next to the failures it caused.
pub fn injected(fault: Fault, detail: &str) {
    warn!(
        kind = "chaos.injection",
        fault = fault.as_str(),
        "chaos: injected {}: {detail}",
        fault.as_str()
    );
    telemetry::trace::spans::chaos_fault(fault.as_str(), detail);
    telemetry::metrics::chaos_injection(fault);
}

/// A fault the chaos layer injected on purpose into the processor. The processor treats it
/// like the failure it imitates, so it runs the real retry and redrive paths.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("injected fault {}: {detail}", fault.as_str())]
pub struct InjectedFault {
    pub fault: Fault,
    pub detail: String,
}

impl InjectedFault {
    /// As the failure of the store call `operation`, which the processor counts under
    /// `ProcessingFailures` with `ErrorType=InjectedFault` (the message is the same).
    pub fn into_dependency_error(self, operation: &'static str) -> DependencyError {
        DependencyError::Injected {
            operation,
            fault: self.fault.as_str(),
            detail: self.detail,
        }
    }
}

fn fault(fault: Fault, detail: impl Into<String>) -> InjectedFault {
    let detail = detail.into();
    injected(fault, &detail);
    InjectedFault { fault, detail }
}

/// Where the processor may be slowed or failed: [`crate::wrap::processor_batch`] calls
/// `before_batch`, [`crate::wrap::ChaoticProcessorStore`] calls `on_record`.
impl Chaos {
    /// Before a batch: latency, a timeout (sleeping past `deadline`), or failing the whole
    /// batch (a function error: every message returns after the visibility timeout).
    pub async fn before_batch(&self, deadline: Instant) -> Result<(), InjectedFault> {
        let Some(faults) = self.active().await else {
            return Ok(());
        };
        self.delay(
            Fault::Latency,
            &faults,
            faults.processor_latency_ms,
            "the batch",
        )
        .await;
        if self.roll(faults.timeout_rate) {
            let e = fault(Fault::Timeout, "sleeping past the invocation's deadline");
            // The runtime will cut this invocation off, and its end-of-invocation flush with it.
            telemetry::metrics::flush_now();
            let until = deadline.max(Instant::now()) + PAST_DEADLINE;
            tokio::time::sleep_until(until.into()).await;
            return Err(e);
        }
        if faults.processor_failure_mode == FailureMode::Batch
            && self.roll(faults.processor_failure_rate)
        {
            return Err(fault(Fault::BatchFailure, "the whole batch fails"));
        }
        Ok(())
    }

    /// For each record, once its order is read and still pending: a poison SKU or a
    /// per-record failure.
    pub async fn on_record(&self, order: &Order) -> Result<(), InjectedFault> {
        let Some(faults) = self.active().await else {
            return Ok(());
        };
        if let Some(sku) = &faults.poison_sku
            && order.items.iter().any(|i| &i.sku == sku)
        {
            return Err(fault(
                Fault::PoisonMessage,
                format!("the order holds poison SKU {sku}"),
            ));
        }
        if faults.processor_failure_mode == FailureMode::Record
            && self.roll(faults.processor_failure_rate)
        {
            return Err(fault(Fault::RecordFailure, "this record fails"));
        }
        Ok(())
    }
}
