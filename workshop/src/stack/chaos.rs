//! The local stack's chaos control: the live override every local function reads, its expiry,
//! the kill switch, the stop-condition alarm and the experiment journal. `workshop chaos`
//! (and the console) drive it through the control plane on 127.0.0.1.

use super::cloudwatch::alarm_loop::LocalAlarms;
use alarms::AlarmState;
use chaos::journal::{EndReason, Experiment, Journal, JournalError};
use chaos::live::{Live, MemoryLive, Override, OverrideError};
use chaos::{Chaos, Faults, Settings};
use chrono::{DateTime, Utc};
use orders::ports::Clock;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::watch;
use tracing::{error, info, warn};

/// How often expiry and the stop condition are checked.
pub const TICK: Duration = Duration::from_secs(1);

/// Where an experiment ran, as the journal's `target` spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExperimentTarget {
    /// The local stack's live override.
    Local,
    /// A deployed stack's SSM parameter.
    Aws,
}

impl ExperimentTarget {
    pub const fn as_str(self) -> &'static str {
        match self {
            ExperimentTarget::Local => "local",
            ExperimentTarget::Aws => "aws",
        }
    }

    /// Whether this journal entry ran here.
    pub fn ran(self, experiment: &Experiment) -> bool {
        experiment.target == self.as_str()
    }
}

/// The experiment journal's file in the data dir.
pub const JOURNAL_FILE: &str = "chaos-journal.jsonl";

/// The experiment journal kept in `data_dir`.
pub fn journal_in(data_dir: &std::path::Path) -> Journal {
    Journal::new(data_dir.join(JOURNAL_FILE))
}

/// The steady state an experiment is judged by when it names none.
pub const DEFAULT_STEADY_STATE: &str = alarms::catalog::slug::PIPELINE_UNHEALTHY;

/// What `workshop chaos on` sends.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StartRequest {
    #[serde(default)]
    pub faults: Faults,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// How long the override lasts (default 15 minutes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<u64>,
    #[serde(default)]
    pub hypothesis: String,
    /// Alarms that must stay out of ALARM for steady state to hold (default: the composite).
    #[serde(default)]
    pub steady_state: Vec<String>,
    /// An alarm that switches chaos off when it goes to ALARM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_on: Option<String>,
}

impl StartRequest {
    /// The override this request puts in force from `now`, and its journal entry (steady state
    /// defaulting to the composite alarm). `target` is `local` or `aws`.
    pub fn begin(
        self,
        target: &str,
        now: DateTime<Utc>,
    ) -> Result<(Override, Experiment), OverrideError> {
        let id = format!(
            "{}-{}",
            now.format("%Y%m%dT%H%M%SZ"),
            &uuid::Uuid::new_v4().simple().to_string()[..6]
        );
        let o = Override::new(
            self.faults,
            self.seed,
            now,
            self.duration_seconds.map(Duration::from_secs),
            Some(id.clone()),
        )?;
        let steady_state = if self.steady_state.is_empty() {
            vec![DEFAULT_STEADY_STATE.to_owned()]
        } else {
            self.steady_state
        };
        let experiment = Experiment {
            id,
            hypothesis: self.hypothesis,
            target: target.to_owned(),
            faults: o.faults.clone(),
            seed: o.seed,
            steady_state,
            stop_on: self.stop_on,
            started_at: o.started_at,
            expires_at: o.expires_at,
            ended_at: None,
            end_reason: None,
            steady_state_held: None,
            breaches: Vec::new(),
            interrupted: false,
        };
        Ok((o, experiment))
    }
}

/// What `GET /api/chaos` answers and `workshop chaos status` prints.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ChaosStatus {
    pub armed: bool,
    /// The deploy-time flags (`CHAOS_*` in the stack's environment).
    pub flags: Faults,
    pub live: Live,
    /// What is injected right now (none when disarmed, off, or nothing is set).
    pub active: Option<Faults>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experiment: Option<Experiment>,
}

#[derive(Debug, thiserror::Error)]
pub enum ChaosControlError {
    #[error(
        "chaos is disarmed: restart the stack with `workshop up --chaos-armed` (or CHAOS_ARMED=true) to allow fault injection"
    )]
    Disarmed,
    #[error(transparent)]
    Invalid(#[from] OverrideError),
    #[error("no alarm named {0:?}; `workshop alarms` lists them")]
    UnknownAlarm(String),
    #[error(
        "the stop-condition alarm {0} is already in ALARM, so the experiment would stop at once; wait for it to return to OK (redrive the DLQ, let the period pass) or choose another"
    )]
    StopConditionFiring(String),
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error("cannot save the chaos state to {path}: {source}")]
    State {
        path: PathBuf,
        source: std::io::Error,
    },
}

pub struct LocalChaos {
    injector: Arc<Chaos>,
    live: Arc<MemoryLive>,
    state_file: PathBuf,
    journal: Journal,
    alarms: Arc<LocalAlarms>,
    clock: Arc<dyn Clock>,
    /// The running experiment; the lock also serialises start, stop and tick.
    current: Mutex<Option<Experiment>>,
}

impl LocalChaos {
    /// Builds the stack's injector from `settings`. An override saved by a previous run that
    /// has not expired yet is restored with its experiment; the rest starts unset.
    pub fn new(
        settings: Settings,
        data_dir: &std::path::Path,
        alarms: Arc<LocalAlarms>,
        clock: Arc<dyn Clock>,
    ) -> Result<LocalChaos, ChaosControlError> {
        let live = Arc::new(MemoryLive::default());
        let settings = Settings {
            // In-process: every read sees the latest state.
            cache: Duration::ZERO,
            ..settings
        };
        let injector = Arc::new(Chaos::new(
            settings,
            Some(live.clone() as Arc<dyn chaos::LiveSource>),
            clock.clone(),
        ));
        let me = LocalChaos {
            injector,
            live,
            state_file: data_dir.join("chaos.json"),
            journal: journal_in(data_dir),
            alarms,
            clock,
            current: Mutex::new(None),
        };
        me.restore()?;
        Ok(me)
    }

    /// The injector every local function is wired with.
    pub fn injector(&self) -> Arc<Chaos> {
        self.injector.clone()
    }

    pub fn journal(&self) -> Result<Vec<Experiment>, ChaosControlError> {
        Ok(self.journal.entries()?)
    }

    fn restore(&self) -> Result<(), ChaosControlError> {
        let saved = match std::fs::read_to_string(&self.state_file) {
            Err(_) => None,
            Ok(text) => match Live::parse(&text) {
                Ok(live) => Some(live),
                // Whether the kill switch was on is unknown: hold it on, the safe side, until
                // the next `chaos on`.
                Err(e) => {
                    warn!(
                        path = %self.state_file.display(),
                        error = %e,
                        "chaos: the saved state is damaged; chaos stays off until `workshop chaos on`"
                    );
                    Some(Live::Off {
                        since: self.clock.now(),
                    })
                }
            },
        };
        // The journal may also hold `workshop chaos --aws` experiments: not ours to end.
        let running = self
            .journal
            .entries()?
            .into_iter()
            .rfind(|e| e.running() && ExperimentTarget::Local.ran(e));
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        match (saved, running) {
            (Some(Live::On(o)), Some(mut e))
                if !o.expired(self.clock.now())
                    && o.experiment.as_deref() == Some(e.id.as_str()) =>
            {
                info!(experiment = %e.id, expires_at = %o.expires_at, "chaos: resuming the experiment of the previous run");
                e.interrupted = true;
                self.journal.record(&e)?;
                self.live.set(Live::On(o));
                *current = Some(e);
            }
            (saved, running) => {
                if let Some(mut e) = running {
                    // It ended while the stack was down, at its expiry at the latest; nothing
                    // evaluated the alarms meanwhile, so steady state is unknown.
                    e.interrupted = true;
                    let at = e.expires_at.min(self.clock.now());
                    let (held, breaches) = self.steady_state(&e, at);
                    e.end(at, EndReason::Expired, held, breaches);
                    self.journal.record(&e)?;
                }
                // The kill switch holds across restarts, until the next `chaos on`.
                let live = match saved {
                    Some(off @ Live::Off { .. }) => off,
                    _ => Live::Unset,
                };
                self.save(&live)?;
                self.live.set(live);
            }
        }
        Ok(())
    }

    fn save(&self, live: &Live) -> Result<(), ChaosControlError> {
        let state = |source| ChaosControlError::State {
            path: self.state_file.clone(),
            source,
        };
        let tmp = self.state_file.with_extension("json.tmp");
        std::fs::write(&tmp, live.to_json()).map_err(state)?;
        std::fs::rename(&tmp, &self.state_file).map_err(state)
    }

    pub async fn status(&self) -> ChaosStatus {
        let experiment = self
            .current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        ChaosStatus {
            armed: self.injector.armed(),
            flags: self.injector.flags().clone(),
            live: self.live.get(),
            active: self.injector.active().await,
            experiment,
        }
    }

    fn known_alarm(&self, name: &str) -> Result<(), ChaosControlError> {
        if self.alarms.view().alarms.contains_key(name) {
            Ok(())
        } else {
            Err(ChaosControlError::UnknownAlarm(name.to_owned()))
        }
    }

    /// Starts an experiment: its faults replace the flags until it expires, is switched off,
    /// or its stop-condition alarm fires. A running experiment ends as replaced.
    pub fn start(&self, req: StartRequest) -> Result<Experiment, ChaosControlError> {
        if !self.injector.armed() {
            return Err(ChaosControlError::Disarmed);
        }
        let (o, experiment) = req.begin(ExperimentTarget::Local.as_str(), self.clock.now())?;
        for name in experiment
            .steady_state
            .iter()
            .chain(experiment.stop_on.iter())
        {
            self.known_alarm(name)?;
        }
        if let Some(alarm) = &experiment.stop_on
            && self.in_alarm(alarm)
        {
            return Err(ChaosControlError::StopConditionFiring(alarm.clone()));
        }
        let now = o.started_at;
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(previous) = current.take() {
            self.finish(previous, now, EndReason::Replaced)?;
        }
        self.journal.record(&experiment)?;
        let live = Live::On(o);
        self.save(&live)?;
        self.live.set(live);
        warn!(kind = "chaos.start", experiment = %experiment.id, faults = %experiment.faults.summary(), expires_at = %experiment.expires_at, "chaos: experiment started");
        *current = Some(experiment.clone());
        Ok(experiment)
    }

    /// The kill switch: nothing is injected (flags included) until the next start. Works
    /// disarmed too, so it is always safe to call.
    pub fn stop(&self, reason: EndReason) -> Result<Option<Experiment>, ChaosControlError> {
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        let now = self.clock.now();
        let off = Live::Off { since: now };
        self.save(&off)?;
        self.live.set(off);
        warn!(
            kind = "chaos.stop",
            reason = reason.as_str(),
            "chaos: switched off"
        );
        match current.take() {
            Some(e) => Ok(Some(self.finish(e, now, reason)?)),
            None => Ok(None),
        }
    }

    fn finish(
        &self,
        mut e: Experiment,
        at: DateTime<Utc>,
        reason: EndReason,
    ) -> Result<Experiment, ChaosControlError> {
        let (held, breaches) = self.steady_state(&e, at);
        e.end(at, reason, held, breaches);
        self.journal.record(&e)?;
        info!(kind = "chaos.end", experiment = %e.id, reason = reason.as_str(), steady_state_held = ?held, "chaos: experiment ended");
        Ok(e)
    }

    /// Steady state held if no steady-state alarm was in ALARM at any time in the run.
    fn steady_state(&self, e: &Experiment, end: DateTime<Utc>) -> (Option<bool>, Vec<String>) {
        let view = self.alarms.view();
        let mut breaches = Vec::new();
        for name in &e.steady_state {
            let history: Vec<_> = view.history.iter().filter(|t| &t.alarm == name).collect();
            let at_start = history
                .iter()
                .rfind(|t| t.timestamp <= e.started_at)
                .map(|t| t.to);
            if at_start == Some(AlarmState::Alarm) {
                breaches.push(format!(
                    "{name} was already in ALARM when the experiment started"
                ));
            }
            for t in history.iter().filter(|t| {
                t.to == AlarmState::Alarm && t.timestamp > e.started_at && t.timestamp <= end
            }) {
                breaches.push(format!(
                    "{name} went to ALARM at {}: {}",
                    chaos::time::rfc3339(&t.timestamp),
                    t.reason
                ));
            }
        }
        if e.interrupted && breaches.is_empty() {
            let note =
                "the stack was down during the run: its alarms were not evaluated while it was";
            return (None, vec![note.to_owned()]);
        }
        (Some(breaches.is_empty()), breaches)
    }

    fn in_alarm(&self, alarm: &str) -> bool {
        self.alarms
            .view()
            .alarms
            .get(alarm)
            .is_some_and(|s| s.state == AlarmState::Alarm)
    }

    /// Ends an expired override, and switches chaos off when the stop-condition alarm fires.
    /// Under the same lock as `start` and `stop`, so it only ever ends the experiment it read.
    pub fn tick(&self) -> Result<(), ChaosControlError> {
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        let now = self.clock.now();
        if let Live::On(o) = self.live.get()
            && o.expired(now)
        {
            self.save(&Live::Unset)?;
            self.live.set(Live::Unset);
            warn!(
                kind = "chaos.expired",
                "chaos: the override expired; back to the flags"
            );
            if let Some(e) = current.take() {
                self.finish(e, o.expires_at, EndReason::Expired)?;
            }
            return Ok(());
        }
        let stop_on = current.as_ref().and_then(|e| e.stop_on.clone());
        if let Some(alarm) = stop_on.filter(|a| self.in_alarm(a)) {
            warn!(kind = "chaos.stop_condition", %alarm, "chaos: stop-condition alarm is in ALARM");
            let off = Live::Off { since: now };
            self.save(&off)?;
            self.live.set(off);
            if let Some(e) = current.take() {
                self.finish(e, now, EndReason::StopCondition)?;
            }
        }
        Ok(())
    }
}

pub async fn run(chaos: Arc<LocalChaos>, mut stop: watch::Receiver<bool>) {
    while !*stop.borrow() {
        if let Err(e) = chaos.tick() {
            error!(error = %e, "chaos: could not end the experiment");
        }
        tokio::select! {
            _ = tokio::time::sleep(TICK) => {}
            _ = stop.changed() => {}
        }
    }
}
