//! The chaos scenarios of the workshop, on the local stack: each fault travels the real retry,
//! redrive, publisher and throttling paths, shows in the logs, metrics and alarms, and when it
//! ends the system heals with no accepted order lost.

mod common;

use common::{
    Stack, alarm_rows, alarm_state, chaos, chaos_json, dlq_rows, has_dimensions, injections,
    metrics, order, wait_for, workshop_ok,
};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::path::Path;

fn dlq_order_ids(data_dir: &Path) -> Vec<String> {
    dlq_rows(data_dir)
        .iter()
        .map(|r| r["body"]["orderId"].as_str().unwrap().to_owned())
        .collect()
}

fn redrive(data_dir: &Path) {
    workshop_ok(&["dlq", "redrive"], Some(data_dir));
}

/// Sum (or max, by `field`) of one series in `workshop metrics --json` rows; 0 when absent.
fn stat(rows: &[Value], name: &str, dims: &[(&str, &str)], field: &str) -> f64 {
    rows.iter()
        .filter(|r| r["name"] == name && has_dimensions(r, dims))
        .map(|r| r[field].as_f64().unwrap_or_default())
        .fold(0.0, |acc, v| {
            if field == "maximum" {
                acc.max(v)
            } else {
                acc + v
            }
        })
}

/// Creates `bodies` with `clients` concurrent clients; returns the accepted orders' ids.
async fn create_all(stack: &Stack, bodies: Vec<Value>, clients: usize) -> Vec<String> {
    let bodies = std::sync::Arc::new(std::sync::Mutex::new(bodies));
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (c, bodies) = (stack.client(), bodies.clone());
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            loop {
                let Some(body) = bodies.lock().unwrap().pop() else {
                    return ids;
                };
                let r = c.create(&body).await;
                assert_eq!(r.status, 201, "{}", r.text);
                ids.push(r.body["id"].as_str().unwrap().to_owned());
            }
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.extend(t.await.unwrap());
    }
    ids
}

/// Every PENDING order, through the API's status index, page by page.
async fn pending_ids(stack: &Stack) -> HashSet<String> {
    let orders = stack.client().pages("status=PENDING&limit=100").await;
    orders
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn statuses(stack: &Stack, ids: &[String]) -> HashMap<String, String> {
    let c = stack.client();
    let mut out = HashMap::new();
    for id in ids {
        let r = c.get(&format!("/orders/{id}")).await;
        assert_eq!(r.status, 200, "order {id} must exist: {}", r.text);
        out.insert(id.clone(), r.body["status"].as_str().unwrap().to_owned());
    }
    out
}

/// Outcome 1 (and the stop condition): at failure rate 1.0 every message is received exactly
/// maxReceiveCount times and dead-lettered, the DLQ alarm fires and stops the experiment; off
/// and redrive, and every order reaches its final status.
#[tokio::test(flavor = "multi_thread")]
async fn every_failing_message_is_dead_lettered_then_redrive_heals() {
    let dir = tempfile::tempdir().unwrap();
    let stack = Stack::start(dir.path(), &["--chaos-armed", "--visibility-timeout", "1"]);
    let experiment = chaos_json(
        &stack,
        &[
            "on",
            "--processor-failure-rate",
            "1",
            "--hypothesis",
            "every order that cannot be processed ends in the DLQ, none is lost",
            "--steady-state",
            "dlq-not-empty",
            "--stop-on",
            "dlq-not-empty",
        ],
    );
    assert_eq!(experiment["faults"]["processorFailureRate"], 1.0);

    let ids = create_all(&stack, (0..5).map(|_| order(2, "3.00")).collect(), 2).await;
    wait_for("five dead letters", async || {
        dlq_order_ids(dir.path()).len() == 5
    })
    .await;
    let dead: HashSet<String> = dlq_order_ids(dir.path()).into_iter().collect();
    assert_eq!(dead, ids.iter().cloned().collect());
    for id in &ids {
        let failures = injections(&stack, "order-processor", "RecordFailure")
            .into_iter()
            .filter(|l| l["order_id"] == id.as_str())
            .count();
        let max_receive_count = orders::settings::QUEUE.max_receive_count as usize;
        assert_eq!(failures, max_receive_count, "order {id}");
        // Each failure's log line says what SQS does next: again, until the last receive
        // sends it to the DLQ.
        let said: Vec<String> = stack
            .log("order-processor")
            .into_iter()
            .filter(|l| l["order_id"] == id.as_str() && l["level"] == "ERROR")
            .filter_map(|l| l["message"].as_str().map(str::to_owned))
            .filter(|m| m.starts_with("processing failed"))
            .collect();
        assert_eq!(said.len(), max_receive_count, "{said:#?}");
        let (last, earlier) = said.split_last().unwrap();
        assert!(last.contains("to the DLQ (no more retries)"), "{last}");
        assert!(
            earlier.iter().all(|m| m.contains("delivers it again")),
            "{earlier:#?}"
        );
    }
    assert!(
        statuses(&stack, &ids)
            .await
            .values()
            .all(|s| s == "PENDING")
    );

    // The DLQ alarm fires; it is the stop condition, so chaos switches itself off.
    wait_for("dlq-not-empty in ALARM", async || {
        alarm_state(&alarm_rows(&stack), "dlq-not-empty") == "ALARM"
    })
    .await;
    wait_for("the stop condition", async || {
        chaos_json(&stack, &["status"])["live"]["state"] == "off"
    })
    .await;
    let journal = chaos_json(&stack, &["journal"]);
    let entry = &journal.as_array().unwrap()[0];
    assert_eq!(entry["id"], experiment["id"]);
    assert_eq!(entry["endReason"], "stopCondition");
    assert_eq!(entry["steadyStateHeld"], false);
    assert!(
        entry["breaches"][0]
            .as_str()
            .unwrap()
            .starts_with("dlq-not-empty went to ALARM")
    );

    let (ok, out, _) = chaos(&stack, &["off"]);
    assert!(ok && out.starts_with("chaos off"), "{out}");
    redrive(dir.path());
    let c = stack.client();
    for id in &ids {
        assert_eq!(c.wait_final(id).await["status"], "CONFIRMED");
    }
    let rows = metrics(&stack);
    assert_eq!(
        stat(
            &rows,
            "ChaosInjections",
            &[("Fault", "RecordFailure")],
            "sum"
        ),
        15.0
    );
    assert_eq!(
        stat(
            &rows,
            "ProcessingFailures",
            &[("ErrorType", "InjectedFault")],
            "sum"
        ),
        15.0
    );
}

/// Outcome 2: at rate 0.3 with latency, 2,000 orders each end final or in the DLQ, none lost;
/// the retries and the injections are counted. After off and redrive, all are final.
#[tokio::test(flavor = "multi_thread")]
async fn a_partial_failure_rate_loses_no_order() {
    let dir = tempfile::tempdir().unwrap();
    let stack = Stack::start(dir.path(), &["--chaos-armed", "--visibility-timeout", "1"]);
    chaos_json(
        &stack,
        &[
            "on",
            "--processor-failure-rate",
            "0.3",
            "--processor-latency-ms",
            "20",
            "--jitter-ms",
            "30",
            "--seed",
            "7",
        ],
    );
    let ids = create_all(&stack, (0..2000).map(|_| order(1, "4.00")).collect(), 8).await;
    assert_eq!(ids.len(), 2000);

    // Settled: every order is final, or PENDING with its message in the DLQ.
    let c = stack.client();
    wait_for("every order final or dead-lettered", async || {
        let dead: HashSet<String> = dlq_order_ids(dir.path()).into_iter().collect();
        pending_ids(&stack).await.is_subset(&dead)
    })
    .await;
    let now = statuses(&stack, &ids).await;
    let dead: HashSet<String> = dlq_order_ids(dir.path()).into_iter().collect();
    let final_count = now.values().filter(|s| *s != "PENDING").count();
    assert_eq!(
        final_count + dead.len(),
        2000,
        "every order is final or in the DLQ"
    );
    assert!(!dead.is_empty(), "0.3^3 of 2,000 orders fail three times");

    let rows = metrics(&stack);
    let failures = stat(
        &rows,
        "ChaosInjections",
        &[("Fault", "RecordFailure")],
        "sum",
    );
    let logged = injections(&stack, "order-processor", "RecordFailure").len() as f64;
    assert_eq!(
        failures, logged,
        "every injection is both logged and counted"
    );
    assert!(failures > 400.0, "about 0.3 of ~2,850 receives: {failures}");
    assert_eq!(stat(&rows, "BatchItemFailures", &[], "sum"), failures);
    assert!(stat(&rows, "ChaosInjections", &[("Fault", "Latency")], "sum") > 0.0);
    let q = [("QueueName", "orders")];
    let received = stat(&rows, "NumberOfMessagesReceived", &q, "sum");
    let sent = stat(&rows, "NumberOfMessagesSent", &q, "sum");
    assert!(
        received > sent,
        "retries show as extra receives: {received} vs {sent} sent"
    );
    assert_eq!(
        stat(&rows, "OrdersProcessed", &[], "sum"),
        final_count as f64
    );

    chaos(&stack, &["off"]);
    redrive(dir.path());
    for id in &ids {
        c.wait_final(id).await;
    }
}

/// Outcome 3: a poison SKU sends exactly the orders holding it to the DLQ, every time.
#[tokio::test(flavor = "multi_thread")]
async fn a_poison_sku_dead_letters_exactly_its_orders_every_time() {
    let dir = tempfile::tempdir().unwrap();
    let stack = Stack::start(dir.path(), &["--chaos-armed", "--visibility-timeout", "1"]);
    chaos_json(&stack, &["on", "--poison-sku", "POISON-1"]);
    let poisoned = |i: usize| {
        json!({"customerName": "P", "items": [
            {"sku": "OK-1", "qty": 1, "price": 1.0},
            {"sku": if i.is_multiple_of(3) { "POISON-1" } else { "OK-2" }, "qty": 1, "price": 2.0}
        ]})
    };
    let c = stack.client();
    let mut expected = HashSet::new();
    let mut clean = Vec::new();
    for i in 0..12 {
        let r = c.create(&poisoned(i)).await;
        assert_eq!(r.status, 201, "{}", r.text);
        let id = r.body["id"].as_str().unwrap().to_owned();
        if i % 3 == 0 {
            expected.insert(id);
        } else {
            clean.push(id);
        }
    }
    for round in 0..2 {
        wait_for("the poisoned orders in the DLQ", async || {
            dlq_order_ids(dir.path()).len() == expected.len()
        })
        .await;
        let dead: HashSet<String> = dlq_order_ids(dir.path()).into_iter().collect();
        assert_eq!(dead, expected, "round {round}");
        for id in &clean {
            assert_eq!(c.wait_final(id).await["status"], "CONFIRMED");
        }
        // Still poisoned: a redrive brings them back to the DLQ.
        if round == 0 {
            redrive(dir.path());
            wait_for("the redrive to leave the DLQ", async || {
                dlq_order_ids(dir.path()).len() < expected.len()
            })
            .await;
        }
    }
    assert_eq!(
        injections(&stack, "order-processor", "PoisonMessage").len(),
        2 * expected.len() * orders::settings::QUEUE.max_receive_count as usize
    );
    chaos(&stack, &["off"]);
    redrive(dir.path());
    for id in &expected {
        assert_eq!(c.wait_final(id).await["status"], "CONFIRMED");
    }
}

/// Outcome 4: while every enqueue fails the orders are still accepted (create-order writes
/// only the table) and wait in the outbox, the publisher retrying them; once the fault ends
/// every one is published and processed.
#[tokio::test(flavor = "multi_thread")]
async fn the_publisher_sends_every_order_a_queue_fault_held_back() {
    let stack = Stack::fresh(&["--chaos-armed"]);
    chaos_json(
        &stack,
        &[
            "on",
            "--dependency",
            "queue",
            "--dependency-failure-rate",
            "1",
        ],
    );
    let ids = create_all(&stack, (0..20).map(|_| order(1, "2.50")).collect(), 4).await;
    // The publisher tries (and fails to send) the batch at least twice while the fault holds.
    wait_for("failed publishes", async || {
        stack
            .log("order-publisher")
            .iter()
            .filter(|l| l["kind"] == "chaos.injection")
            .count()
            >= 40
    })
    .await;
    assert!(
        statuses(&stack, &ids)
            .await
            .values()
            .all(|s| s == "PENDING")
    );
    let rows = metrics(&stack);
    assert!(stat(&rows, "PublishFailures", &[], "sum") >= 40.0);
    assert!(
        stat(
            &rows,
            "ChaosInjections",
            &[("Fault", "DependencyError")],
            "sum"
        ) >= 40.0
    );
    // How far behind the publisher is shows as its IteratorAge, as on AWS.
    let publisher = [("FunctionName", "order-publisher")];
    // Each failed batch is read again after the source's one-second back-off, so the
    // entries handed to the publisher are at least that old.
    assert!(stat(&rows, "IteratorAge", &publisher, "maximum") >= 1000.0);

    chaos(&stack, &["off"]);
    let c = stack.client();
    for id in &ids {
        assert_eq!(c.wait_final(id).await["status"], "CONFIRMED");
    }
    assert!(stat(&metrics(&stack), "OrdersPublished", &[], "sum") >= 20.0);
}

/// Outcome 5: processor latency under load drives its concurrency to the limit and past it
/// into throttles, in the AWS/Lambda metrics; nothing is lost.
#[tokio::test(flavor = "multi_thread")]
async fn processor_latency_under_load_hits_the_concurrency_limit_and_throttles() {
    let dir = tempfile::tempdir().unwrap();
    let stack = Stack::start(
        dir.path(),
        &[
            "--chaos-armed",
            "--visibility-timeout",
            "2",
            "--concurrency",
            "order-processor=2",
        ],
    );
    chaos_json(&stack, &["on", "--processor-latency-ms", "1500"]);
    let ids = create_all(&stack, (0..60).map(|_| order(1, "1.00")).collect(), 6).await;
    let processor = [("FunctionName", "order-processor")];
    wait_for("throttles at the limit", async || {
        let rows = metrics(&stack);
        stat(&rows, "Throttles", &processor, "sum") > 0.0
            && stat(&rows, "ConcurrentExecutions", &processor, "maximum") >= 2.0
    })
    .await;
    chaos(&stack, &["off"]);
    let c = stack.client();
    wait_for("every order final or dead-lettered", async || {
        let dead: HashSet<String> = dlq_order_ids(dir.path()).into_iter().collect();
        statuses(&stack, &ids)
            .await
            .iter()
            .all(|(id, s)| s != "PENDING" || dead.contains(id))
    })
    .await;
    // Throttled batches count receives too (as on AWS), so some may reach the DLQ.
    redrive(dir.path());
    for id in &ids {
        c.wait_final(id).await;
    }
    let rows = metrics(&stack);
    assert_eq!(
        stat(&rows, "ConcurrentExecutions", &processor, "maximum"),
        2.0,
        "at the limit, never past it"
    );
    assert!(stat(&rows, "Throttles", &processor, "sum") > 0.0);
    assert!(stat(&rows, "ChaosInjections", &[("Fault", "Latency")], "sum") > 0.0);
}

const ALL_FLAGS: [(&str, &str); 5] = [
    ("CHAOS_PROCESSOR_FAILURE_RATE", "1"),
    ("CHAOS_POISON_SKU", "SKU-0"),
    ("CHAOS_API_ERROR_RATE", "1"),
    ("CHAOS_DEPENDENCY_FAILURE_RATE", "1"),
    ("CHAOS_TIMEOUT_RATE", "1"),
];

/// Outcome 6, first half: disarmed, neither flags nor `chaos on` inject anything.
#[tokio::test(flavor = "multi_thread")]
async fn disarmed_no_configuration_injects_a_fault() {
    let dir = tempfile::tempdir().unwrap();
    let stack = Stack::start_with_env(dir.path(), &[], &ALL_FLAGS);
    let (ok, _, err) = chaos(&stack, &["on", "--processor-failure-rate", "1"]);
    assert!(!ok);
    assert!(
        err.contains("chaos is disarmed") && err.contains("--chaos-armed"),
        "{err}"
    );
    let status = chaos_json(&stack, &["status"]);
    assert_eq!(status["armed"], false);
    assert_eq!(
        status["flags"]["processorFailureRate"], 1.0,
        "the flags were read"
    );
    assert_eq!(status["active"], Value::Null);

    let c = stack.client();
    let ids = create_all(&stack, (0..5).map(|_| order(1, "1.00")).collect(), 1).await;
    for id in &ids {
        assert_eq!(c.wait_final(id).await["status"], "CONFIRMED");
    }
    assert_eq!(c.get("/health").await.status, 200);
    for f in orders::settings::Function::ALL {
        assert!(
            !stack
                .log(f.name())
                .iter()
                .any(|l| l["kind"] == "chaos.injection"),
            "{} injected a fault while disarmed",
            f.name()
        );
    }
    assert_eq!(stat(&metrics(&stack), "ChaosInjections", &[], "sum"), 0.0);
}

/// Outcome 6, second half (and the kill switch): an expired override injects nothing, and
/// `chaos off` silences even the deploy-time flags.
#[tokio::test(flavor = "multi_thread")]
async fn an_expired_override_injects_nothing_and_off_beats_the_flags() {
    let dir = tempfile::tempdir().unwrap();
    let stack = Stack::start(dir.path(), &["--chaos-armed"]);
    let c = stack.client();
    let experiment = chaos_json(
        &stack,
        &[
            "on",
            "--api-error-rate",
            "1",
            "--api-error-status",
            "502",
            "--for",
            "3s",
        ],
    );
    let r = c
        .send(
            c.http
                .post(format!("{}/orders", c.url))
                .header("content-type", "application/json")
                .header("x-correlation-id", "lab-07-api-error")
                .body(order(1, "1.00").to_string()),
        )
        .await;
    assert_eq!(r.status, 502, "{}", r.text);
    assert_eq!(r.body["code"], "INJECTED_FAULT");
    // An injected answer is still an answer of the API: it carries the correlation id.
    assert_eq!(r.headers["x-correlation-id"], "lab-07-api-error");
    wait_for("the override to expire", async || {
        chaos_json(&stack, &["status"])["live"]["state"] == "unset"
    })
    .await;
    let before = injections(&stack, "create-order", "ApiError").len();
    for _ in 0..5 {
        assert_eq!(c.create(&order(1, "1.00")).await.status, 201);
    }
    assert_eq!(injections(&stack, "create-order", "ApiError").len(), before);
    drop(stack);
    // The journal is read from the data dir: it outlives the stack.
    let out = workshop_ok(&["chaos", "journal", "--json"], Some(dir.path()));
    let journal: Value = serde_json::from_str(&out).unwrap();
    let entry = &journal.as_array().unwrap()[0];
    assert_eq!(entry["id"], experiment["id"]);
    assert_eq!(entry["endReason"], "expired");
    assert_eq!(entry["endedAt"], entry["expiresAt"]);

    // Armed with deploy-time flags: they apply until the kill switch.
    let dir = tempfile::tempdir().unwrap();
    let stack = Stack::start_with_env(
        dir.path(),
        &["--chaos-armed"],
        &[("CHAOS_API_ERROR_RATE", "1")],
    );
    let c = stack.client();
    assert_eq!(c.create(&order(1, "1.00")).await.status, 503);
    let (ok, out, _) = chaos(&stack, &["off"]);
    assert!(ok, "{out}");
    let r = c.create(&order(1, "1.00")).await;
    assert_eq!(r.status, 201, "{}", r.text);
}

/// Bad chaos requests get errors that name the problem.
#[tokio::test(flavor = "multi_thread")]
async fn bad_chaos_requests_are_refused_with_the_reason() {
    let stack = Stack::fresh(&["--chaos-armed"]);
    for (args, expected) in [
        (
            vec!["on", "--processor-failure-rate", "1.5"],
            "processorFailureRate must be a rate between 0 and 1, got 1.5",
        ),
        (
            vec!["on", "--api-latency-ms", "60000"],
            "apiLatencyMs is capped at 25000 ms",
        ),
        (
            vec!["on", "--api-error-rate", "1", "--stop-on", "no-such-alarm"],
            "no alarm named \"no-such-alarm\"",
        ),
        (
            vec!["on", "--api-error-rate", "1", "--for", "5h"],
            "an override must last between 1 second and 240 minutes",
        ),
        (
            vec!["on", "--processor-failure-mode", "sometimes"],
            "unknown variant `sometimes`",
        ),
        (vec!["on", "--for", "1m"], "no fault given"),
    ] {
        let (ok, _, err) = chaos(&stack, &args);
        assert!(!ok, "{args:?} was accepted");
        assert!(err.contains(expected), "{args:?}: {err}");
    }
    assert_eq!(chaos_json(&stack, &["status"])["live"]["state"], "unset");
}

/// A running experiment survives a crash of the stack until its expiry.
#[tokio::test(flavor = "multi_thread")]
async fn a_running_experiment_resumes_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let stack = Stack::start(dir.path(), &["--chaos-armed"]);
    let experiment = chaos_json(&stack, &["on", "--poison-sku", "BAD-1", "--for", "10m"]);
    stack.kill();
    let stack = Stack::start(dir.path(), &["--chaos-armed"]);
    let status = chaos_json(&stack, &["status"]);
    assert_eq!(status["live"]["state"], "on");
    assert_eq!(status["experiment"]["id"], experiment["id"]);
    assert_eq!(status["active"]["poisonSku"], "BAD-1");
    // Restarted disarmed, nothing is injected, whatever was saved.
    stack.kill();
    let stack = Stack::start(dir.path(), &[]);
    assert_eq!(chaos_json(&stack, &["status"])["active"], Value::Null);
}

/// The kill switch holds across a restart: the deploy-time flags stay silenced until the next
/// `chaos on`.
#[tokio::test(flavor = "multi_thread")]
async fn the_kill_switch_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let flags = [("CHAOS_API_ERROR_RATE", "1")];
    let stack = Stack::start_with_env(dir.path(), &["--chaos-armed"], &flags);
    assert_eq!(stack.client().create(&order(1, "1.00")).await.status, 503);
    let (ok, _, err) = chaos(&stack, &["off"]);
    assert!(ok, "{err}");
    stack.kill();
    let stack = Stack::start_with_env(dir.path(), &["--chaos-armed"], &flags);
    assert_eq!(chaos_json(&stack, &["status"])["live"]["state"], "off");
    assert_eq!(stack.client().create(&order(1, "1.00")).await.status, 201);
}
