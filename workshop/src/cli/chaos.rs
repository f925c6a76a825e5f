//! `workshop chaos status|on|off|journal`. The fault flags of `chaos on` are built from
//! `chaos::FAULTS`, the one list of faults.

use super::{ConsoleArgs, DataArgs, Error, parse_duration};
use chaos::faults::{FaultKind, FaultSpec};
use chaos::{FAULTS, Faults};
use clap::{ArgMatches, Subcommand};
use serde_json::{Map, Value};
use std::time::Duration;
use workshop::chaos_cmd::{self, Target};
use workshop::stack::chaos::StartRequest;

#[derive(clap::Args)]
pub struct ChaosTarget {
    #[command(flatten)]
    console: ConsoleArgs,
    /// Use a deployed stack (its SSM parameter, see --parameter) instead of the local one.
    #[arg(long)]
    aws: bool,
    /// The SSM parameter (stack output ChaosParameterName); with --aws.
    #[arg(long, env = "CHAOS_PARAMETER", required_if_eq("aws", "true"))]
    parameter: Option<String>,
    /// Where the experiment journal is kept (the local stack's data dir; for --aws, any).
    #[command(flatten)]
    data: DataArgs,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

impl ChaosTarget {
    fn target(&self) -> Target<'_> {
        match (&self.parameter, self.aws) {
            (Some(parameter), true) => Target::Aws {
                parameter,
                data_dir: &self.data.data_dir,
            },
            _ => Target::Local {
                console: &self.console.console,
                data_dir: &self.data.data_dir,
            },
        }
    }
}

/// The faults of an override, one flag per entry of [`FAULTS`]; anything not given is off.
/// Caps are checked by the stack.
pub struct FaultArgs(Faults);

/// One fault's value as JSON, so [`Faults`]'s own deserializer checks it (and its errors read
/// as the API's).
fn fault_value(spec: &'static FaultSpec, raw: &str) -> Result<Value, String> {
    // The same parse (and words) as clap's own parsers for f64, u64 and u16.
    let value = match spec.kind {
        FaultKind::Rate => {
            let n = raw.parse::<f64>().map_err(|e| e.to_string())?;
            serde_json::Number::from_f64(n)
                .map(Value::Number)
                .ok_or_else(|| format!("{raw} is not a finite number"))?
        }
        FaultKind::Ms => Value::from(raw.parse::<u64>().map_err(|e| e.to_string())?),
        FaultKind::Int => {
            let n = raw.parse::<i64>().map_err(|e| e.to_string())?;
            Value::from(u16::try_from(n).map_err(|_| format!("{n} is not in 0..=65535"))?)
        }
        FaultKind::Text | FaultKind::Select => Value::from(raw),
    };
    let mut one = Map::new();
    one.insert(spec.name.to_owned(), value.clone());
    serde_json::from_value::<Faults>(Value::Object(one)).map_err(|e| e.to_string())?;
    Ok(value)
}

fn fault_arg(spec: &'static FaultSpec) -> clap::Arg {
    let id = spec.flag.replace('-', "_");
    clap::Arg::new(id.clone())
        .long(spec.flag)
        .value_name(id.to_uppercase())
        .help(spec.help.trim_end_matches('.'))
        .action(clap::ArgAction::Set)
        .value_parser(move |raw: &str| fault_value(spec, raw))
}

impl clap::Args for FaultArgs {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        FAULTS
            .iter()
            .fold(cmd, |cmd, spec| cmd.arg(fault_arg(spec)))
    }
    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

impl clap::FromArgMatches for FaultArgs {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let mut fields = Map::new();
        for spec in FAULTS {
            let id = spec.flag.replace('-', "_");
            if let Some(v) = matches.get_one::<Value>(&id) {
                fields.insert(spec.name.to_owned(), v.clone());
            }
        }
        serde_json::from_value(Value::Object(fields))
            .map(FaultArgs)
            .map_err(|e| clap::Error::raw(clap::error::ErrorKind::ValueValidation, e))
    }
    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
pub enum ChaosCommand {
    /// Whether chaos is armed, the flags, the live override and the running experiment.
    Status {
        #[command(flatten)]
        target: ChaosTarget,
    },
    /// Start an experiment: these faults replace the flags until it expires or is switched off.
    On {
        #[command(flatten)]
        target: ChaosTarget,
        #[command(flatten)]
        faults: FaultArgs,
        /// How long it lasts, with its unit: 90s, 15m or 1h (at most 4h). A forgotten
        /// experiment ends itself.
        #[arg(long = "for", default_value = "15m", value_parser = parse_duration)]
        lasting: Duration,
        /// Seed of the injector's choices, to repeat a run.
        #[arg(long)]
        seed: Option<u64>,
        /// What you expect to happen, for the journal.
        #[arg(long, default_value = "")]
        hypothesis: String,
        /// An alarm that must stay out of ALARM for steady state to hold (repeatable; default
        /// pipeline-unhealthy).
        #[arg(long = "steady-state")]
        steady_state: Vec<String>,
        /// Switch chaos off when this alarm goes to ALARM (local stack).
        #[arg(long)]
        stop_on: Option<String>,
    },
    /// The kill switch: no fault is injected (flags included) until the next `chaos on`.
    Off {
        #[command(flatten)]
        target: ChaosTarget,
    },
    /// Every experiment: hypothesis, faults, start, end, and whether steady state held.
    Journal {
        #[command(flatten)]
        target: ChaosTarget,
    },
}

pub async fn chaos(command: ChaosCommand) -> Result<String, Error> {
    match command {
        ChaosCommand::Status { target } => chaos_cmd::status(target.target(), target.json).await,
        ChaosCommand::Off { target } => chaos_cmd::stop(target.target(), target.json).await,
        ChaosCommand::Journal { target } => {
            chaos_cmd::show_journal(target.target(), target.json).await
        }
        ChaosCommand::On {
            target,
            faults,
            lasting,
            seed,
            hypothesis,
            steady_state,
            stop_on,
        } => {
            let req = StartRequest {
                faults: faults.0,
                seed,
                duration_seconds: Some(lasting.as_secs()),
                hypothesis,
                steady_state,
                stop_on,
            };
            chaos_cmd::start(target.target(), req, target.json).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Cli, Command};
    use super::*;
    use chaos::{Dependency, FailureMode};
    use clap::Parser;

    fn faults(args: &[&str]) -> Result<Faults, clap::Error> {
        let argv = ["workshop", "chaos", "on"].iter().chain(args);
        match Cli::try_parse_from(argv)?.command {
            Command::Chaos {
                command: ChaosCommand::On { faults, .. },
            } => Ok(faults.0),
            _ => unreachable!("parsed `chaos on`"),
        }
    }

    #[test]
    fn every_fault_flag_sets_its_field_and_the_rest_stay_off() {
        assert_eq!(faults(&[]).unwrap(), Faults::default());
        let f = faults(&[
            "--processor-failure-rate=0.3",
            "--processor-failure-mode=batch",
            "--processor-latency-ms=250",
            "--jitter-ms=50",
            "--poison-sku=POISON-1",
            "--timeout-rate=0.1",
            "--api-error-rate=1",
            "--api-error-status=500",
            "--api-latency-ms=100",
            "--dependency=queue",
            "--dependency-failure-rate=0.5",
            "--dependency-latency-ms=20",
        ])
        .unwrap();
        let want = Faults {
            processor_failure_rate: 0.3,
            processor_failure_mode: FailureMode::Batch,
            processor_latency_ms: 250,
            latency_jitter_ms: 50,
            poison_sku: Some("POISON-1".into()),
            timeout_rate: 0.1,
            api_error_rate: 1.0,
            api_error_status: 500,
            api_latency_ms: 100,
            dependency: Dependency::Queue,
            dependency_failure_rate: 0.5,
            dependency_latency_ms: 20,
        };
        assert_eq!(f, want);
    }

    #[test]
    fn bad_values_are_refused_with_the_flag_named() {
        let e = faults(&["--processor-failure-mode=bogus"]).unwrap_err();
        assert!(e.to_string().contains("--processor-failure-mode"), "{e}");
        assert!(e.to_string().contains("unknown variant `bogus`"), "{e}");
        assert!(faults(&["--api-latency-ms=soon"]).is_err());
    }
}
