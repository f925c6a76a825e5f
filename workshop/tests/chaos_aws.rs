//! `workshop chaos --aws` against moto server: the CLI writes the override into the SSM
//! parameter the deployed functions read, reads it back, switches it off, and journals the
//! experiment in the local data dir.

mod common;

use common::{Moto, outcome};
use serde_json::Value;

fn run(moto: &Moto, args: &[&str]) -> (bool, String, String) {
    outcome(moto.workshop().args(args))
}

/// Runs a command that must fail, and fail saying `reason`.
fn refused(moto: &Moto, args: &[&str], reason: &str) {
    let (ok, _, err) = run(moto, args);
    assert!(!ok, "{args:?} was accepted");
    assert!(err.contains(reason), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn chaos_on_and_off_write_the_parameter_the_functions_read() {
    let moto = Moto::start();
    let parameter = "/order-kit-test/chaos";
    let ssm = aws_sdk_ssm::Client::new(&moto.sdk_config().await);
    // As the template creates it.
    chaos::aws::ChaosParameter::new(ssm.clone(), parameter)
        .create()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let aws = ["--aws", "--parameter", parameter, "--data-dir", data];

    let (ok, out, err) = run(
        &moto,
        &[&["chaos", "status"][..], &aws, &["--json"]].concat(),
    );
    assert!(ok, "{err}");
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap()["state"],
        "unset"
    );

    // The steady-state alarm, as the template names it (`<stack>-dlq-not-empty`).
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&moto.sdk_config().await);
    cloudwatch
        .put_metric_alarm()
        .alarm_name("order-kit-test-dlq-not-empty")
        .namespace("AWS/SQS")
        .metric_name("ApproximateNumberOfMessagesVisible")
        .statistic(aws_sdk_cloudwatch::types::Statistic::Maximum)
        .period(60)
        .evaluation_periods(1)
        .threshold(0.0)
        .comparison_operator(aws_sdk_cloudwatch::types::ComparisonOperator::GreaterThanThreshold)
        .send()
        .await
        .unwrap();

    let on = [
        &[
            "chaos",
            "on",
            "--processor-failure-rate",
            "0.5",
            "--poison-sku",
            "BAD-1",
        ][..],
        &["--steady-state", "dlq-not-empty"],
        &[
            "--for",
            "20m",
            "--hypothesis",
            "the DLQ catches the poison",
            "--json",
        ],
        &aws,
    ]
    .concat();
    let (ok, out, err) = run(&moto, &on);
    assert!(ok, "{err}");
    let experiment: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(experiment["target"], "aws");

    // What the functions will read: the same override, with the experiment's id and expiry.
    let stored = ssm.get_parameter().name(parameter).send().await.unwrap();
    let live: Value = serde_json::from_str(stored.parameter().unwrap().value().unwrap()).unwrap();
    assert_eq!(live["state"], "on");
    assert_eq!(live["faults"]["processorFailureRate"], 0.5);
    assert_eq!(live["faults"]["poisonSku"], "BAD-1");
    assert_eq!(live["experiment"], experiment["id"]);
    assert_eq!(live["expiresAt"], experiment["expiresAt"]);

    let (ok, out, _) = run(&moto, &[&["chaos", "status"][..], &aws].concat());
    assert!(ok && out.contains("poisonSku=BAD-1"), "{out}");

    let (ok, out, err) = run(&moto, &[&["chaos", "off"][..], &aws].concat());
    assert!(ok, "{err}");
    assert!(out.starts_with("chaos off."), "{out}");
    let stored = ssm.get_parameter().name(parameter).send().await.unwrap();
    let live: Value = serde_json::from_str(stored.parameter().unwrap().value().unwrap()).unwrap();
    assert_eq!(live["state"], "off");

    let (ok, out, err) = run(
        &moto,
        &[&["chaos", "journal"][..], &aws, &["--json"]].concat(),
    );
    assert!(ok, "{err}");
    let journal: Vec<Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(journal.len(), 1);
    assert_eq!(journal[0]["id"], experiment["id"]);
    assert_eq!(journal[0]["hypothesis"], "the DLQ catches the poison");
    assert_eq!(journal[0]["endReason"], "switchedOff");
    // The steady-state alarm never left its state during the run.
    assert_eq!(journal[0]["steadyStateHeld"], true, "{}", journal[0]);

    // A steady state that names no deployed alarm cannot be judged: unknown, and said so.
    let (ok, _, err) = run(
        &moto,
        &[&["chaos", "on", "--api-error-rate", "0.1"][..], &aws].concat(),
    );
    assert!(ok, "{err}");
    let (ok, _, err) = run(&moto, &[&["chaos", "off"][..], &aws].concat());
    assert!(ok, "{err}");
    let (_, out, _) = run(
        &moto,
        &[&["chaos", "journal"][..], &aws, &["--json"]].concat(),
    );
    let journal: Vec<Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(journal[1]["steadyStateHeld"], Value::Null);
    assert!(
        journal[1]["breaches"][0]
            .as_str()
            .unwrap()
            .contains("no alarm named pipeline-unhealthy")
    );

    // Nothing on AWS would watch a stop condition: refused, not silently ignored.
    refused(
        &moto,
        &[&["chaos", "on", "--stop-on", "dlq-not-empty"][..], &aws].concat(),
        "--stop-on works on the local stack only",
    );

    // Bad input is refused before anything is written.
    refused(
        &moto,
        &[&["chaos", "on", "--timeout-rate", "2"][..], &aws].concat(),
        "timeoutRate must be a rate between 0 and 1",
    );
    refused(&moto, &["chaos", "on", "--aws"], "--parameter");
}
