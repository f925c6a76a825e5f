//! `workshop chaos`: turn faults on and off, live, on the local stack (through its control
//! plane) or on AWS (the SSM parameter the functions read), and read the experiment journal.

use crate::report::{AlarmRow, console_call};
use crate::stack::chaos::{ChaosStatus, ExperimentTarget, StartRequest, journal_in};
use crate::stack::console::routes;
use chaos::journal::{EndReason, Experiment, Journal};
use chaos::live::Live;
use chrono::{DateTime, Utc};
use std::path::Path;

type Error = Box<dyn std::error::Error>;

/// Where the faults are switched.
pub enum Target<'a> {
    /// A running local stack's control plane; its journal is read from the data dir, so it
    /// stays readable after the stack stopped.
    Local {
        console: &'a str,
        data_dir: &'a Path,
    },
    /// The deployed stack's SSM parameter (output `ChaosParameterName`); the journal is kept
    /// in the data dir of the machine that runs the command.
    Aws {
        parameter: &'a str,
        data_dir: &'a Path,
    },
}

fn journal(data_dir: &Path) -> Result<Journal, Error> {
    std::fs::create_dir_all(data_dir)
        .map_err(|e| format!("cannot create {}: {e}", data_dir.display()))?;
    Ok(journal_in(data_dir))
}

/// A local stack's journal: from a data dir where a stack has run, never a new empty one.
fn local_journal(data_dir: &Path) -> Result<Journal, Error> {
    let dir = crate::data_dir::DataDir::existing(data_dir)?;
    Ok(journal_in(dir.path()))
}

/// The AWS calls' errors are `Send + Sync`; this module's need not be.
fn send(e: crate::aws::Error) -> Error {
    e
}

fn json<T: serde::Serialize>(value: &T) -> Result<String, Error> {
    Ok(serde_json::to_string_pretty(value)?)
}

pub async fn start(target: Target<'_>, req: StartRequest, as_json: bool) -> Result<String, Error> {
    let experiment: Experiment = match target {
        Target::Local { console, .. } => {
            console_call(console, routes::CHAOS_START, "", Some(&req)).await?
        }
        Target::Aws {
            parameter: name,
            data_dir,
        } => {
            if req.stop_on.is_some() {
                return Err(
                    "--stop-on works on the local stack only: on AWS nothing would watch \
                     the alarm (watch `workshop alarms --aws` and run `workshop chaos off --aws`)"
                        .into(),
                );
            }
            let journal = journal(data_dir)?;
            let (o, e) = req.begin(ExperimentTarget::Aws.as_str(), Utc::now())?;
            // The parameter first: if it cannot be written, nothing changed and the journal
            // still tells the truth.
            crate::aws::chaos_write(name, &Live::On(o))
                .await
                .map_err(send)?;
            end_running_aws(&journal, EndReason::Replaced).await?;
            journal.record(&e)?;
            e
        }
    };
    if as_json {
        return json(&experiment);
    }
    Ok(format!(
        "chaos on: {}\nexperiment {} until {} ({})\n`workshop chaos off` ends it now.",
        experiment.faults.summary(),
        experiment.id,
        chaos::time::rfc3339(&experiment.expires_at),
        if ExperimentTarget::Aws.ran(&experiment) {
            "functions deployed with ChaosArmed=true pick it up within CHAOS_CACHE_SECONDS"
        } else {
            "the local stack applies it at once"
        }
    ))
}

pub async fn stop(target: Target<'_>, as_json: bool) -> Result<String, Error> {
    let ended: Option<Experiment> = match target {
        Target::Local { console, .. } => {
            console_call(console, routes::CHAOS_STOP, "", None::<&()>).await?
        }
        Target::Aws {
            parameter: name,
            data_dir,
        } => {
            crate::aws::chaos_write(
                name,
                &Live::Off {
                    since: chaos::time::now(),
                },
            )
            .await
            .map_err(send)?;
            end_running_aws(&journal(data_dir)?, EndReason::SwitchedOff).await?
        }
    };
    if as_json {
        return json(&ended);
    }
    Ok(match ended {
        Some(e) => format!("chaos off.\n{}", describe(&e)),
        None => "chaos off (no experiment was running).".to_owned(),
    })
}

/// Ends the journal's running AWS experiment, judging steady state from CloudWatch's alarms.
async fn end_running_aws(
    journal: &Journal,
    reason: EndReason,
) -> Result<Option<Experiment>, Error> {
    let Some(mut e) = journal
        .entries()?
        .into_iter()
        .rfind(|e| e.running() && ExperimentTarget::Aws.ran(e))
    else {
        return Ok(None);
    };
    let now = Utc::now();
    // Past its expiry the functions had already stopped injecting.
    let (at, reason) = if e.expires_at <= now {
        (e.expires_at, EndReason::Expired)
    } else {
        (now, reason)
    };
    let (held, breaches) = match crate::aws::cloudwatch_alarms().await {
        Ok(rows) => steady_state_from_alarms(&e, &rows),
        Err(err) => (None, vec![format!("could not read the alarms: {err}")]),
    };
    e.end(at, reason, held, breaches);
    journal.record(&e)?;
    Ok(Some(e))
}

/// CloudWatch keeps no local history here: steady state broke if a steady-state alarm is in
/// ALARM now; it is unknown if one changed state during the run (see its history).
pub fn steady_state_from_alarms(e: &Experiment, rows: &[AlarmRow]) -> (Option<bool>, Vec<String>) {
    let mut breaches = Vec::new();
    let mut unknown = false;
    for name in &e.steady_state {
        let suffix = format!("-{name}");
        let matching: Vec<&AlarmRow> = rows
            .iter()
            .filter(|r| &r.name == name || r.name.ends_with(&suffix))
            .collect();
        if matching.is_empty() {
            return (
                None,
                vec![format!(
                    "no alarm named {name} (or <stack>-{name}) in CloudWatch"
                )],
            );
        }
        for row in matching {
            if row.state == "ALARM" {
                breaches.push(format!("{} is in ALARM: {}", row.name, row.reason));
            } else if row
                .updated
                .as_deref()
                .and_then(|u| DateTime::parse_from_rfc3339(u).ok())
                .is_some_and(|u| u.to_utc() > e.started_at)
            {
                unknown = true;
            }
        }
    }
    if !breaches.is_empty() {
        (Some(false), breaches)
    } else if unknown {
        (
            None,
            vec!["a steady-state alarm changed state during the run; see its history".into()],
        )
    } else {
        (Some(true), breaches)
    }
}

pub async fn status(target: Target<'_>, as_json: bool) -> Result<String, Error> {
    match target {
        Target::Local { console, .. } => {
            let s: ChaosStatus =
                console_call(console, routes::CHAOS_STATUS, "", None::<&()>).await?;
            if as_json {
                return json(&s);
            }
            let live = match &s.live {
                Live::Unset => "no override (the flags apply)".to_owned(),
                Live::Off { since } => {
                    format!("switched off since {}", chaos::time::rfc3339(since))
                }
                Live::On(o) => format!("override until {}", chaos::time::rfc3339(&o.expires_at)),
            };
            let mut out = format!(
                "armed:  {}\nflags:  {}\nlive:   {live}\nactive: {}",
                if s.armed {
                    "yes"
                } else {
                    "no (workshop up --chaos-armed)"
                },
                s.flags.summary(),
                s.active
                    .as_ref()
                    .map_or("nothing".to_owned(), |f| f.summary()),
            );
            if let Some(e) = &s.experiment {
                out.push('\n');
                out.push_str(&describe(e));
            }
            Ok(out)
        }
        Target::Aws {
            parameter: name, ..
        } => {
            let live = crate::aws::chaos_read(name).await.map_err(send)?;
            if as_json {
                return json(&live);
            }
            Ok(match live {
                Live::Unset => format!("{name}: no override (the deploy-time flags apply)"),
                Live::Off { since } => format!(
                    "{name}: switched off since {}",
                    chaos::time::rfc3339(&since)
                ),
                Live::On(o) if o.expired(Utc::now()) => {
                    format!(
                        "{name}: override expired at {}",
                        chaos::time::rfc3339(&o.expires_at)
                    )
                }
                Live::On(o) => format!(
                    "{name}: {} until {}",
                    o.faults.summary(),
                    chaos::time::rfc3339(&o.expires_at)
                ),
            })
        }
    }
}

pub async fn journal_entries(target: Target<'_>) -> Result<Vec<Experiment>, Error> {
    match target {
        Target::Local { data_dir, .. } => Ok(local_journal(data_dir)?
            .entries()?
            .into_iter()
            .filter(|e| ExperimentTarget::Local.ran(e))
            .collect()),
        Target::Aws { data_dir, .. } => Ok(journal(data_dir)?
            .entries()?
            .into_iter()
            .filter(|e| ExperimentTarget::Aws.ran(e))
            .collect()),
    }
}

pub async fn show_journal(target: Target<'_>, as_json: bool) -> Result<String, Error> {
    let entries = journal_entries(target).await?;
    if as_json {
        return json(&entries);
    }
    if entries.is_empty() {
        return Ok(
            "no experiments yet: `workshop chaos on --hypothesis \"...\"` starts one".into(),
        );
    }
    Ok(entries
        .iter()
        .map(describe)
        .collect::<Vec<_>>()
        .join("\n\n"))
}

/// One journal entry in words.
pub fn describe(e: &Experiment) -> String {
    let end = match (e.ended_at, e.end_reason) {
        (Some(at), Some(reason)) => {
            format!("ended {} ({})", chaos::time::rfc3339(&at), reason.as_str())
        }
        _ => format!("running, expires {}", chaos::time::rfc3339(&e.expires_at)),
    };
    let held = match e.steady_state_held {
        Some(true) => "held".to_owned(),
        Some(false) => format!("BROKEN: {}", e.breaches.join("; ")),
        None if e.running() => "to be judged at the end".to_owned(),
        None => format!("unknown: {}", e.breaches.join("; ")),
    };
    format!(
        "experiment {} [{}]\n  hypothesis:   {}\n  faults:       {}\n  started:      {}\n  {end}\n  steady state ({}): {held}",
        e.id,
        e.target,
        if e.hypothesis.is_empty() {
            "(none given)"
        } else {
            &e.hypothesis
        },
        e.faults.summary(),
        chaos::time::rfc3339(&e.started_at),
        e.steady_state.join(", "),
    )
}
