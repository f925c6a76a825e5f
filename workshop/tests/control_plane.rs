//! The control plane refuses what a web page on another site can make a browser send to
//! 127.0.0.1 (DNS rebinding, cross-site forms), and keeps answering the console and the CLI.

mod common;

use common::{
    PATIENCE, Stack, chaos_json, dlq_rows, eventually, read_log, up_args, wait_for, workshop,
};
use serde_json::{Value, json};
use std::time::Duration;

const EVIL: &str = "http://evil.example";

/// The request as a hostile page makes a browser send it: `Host` and `Origin` as given.
async fn forged(
    method: reqwest::Method,
    url: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .request(method, url)
        .body(body.to_owned());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.expect("the control plane answers");
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// A GET under the `Host` a rebinding page would send.
async fn get_as(url: &str, host: &str) -> (u16, Value) {
    forged(reqwest::Method::GET, url, &[("host", host)], "").await
}

fn port_of(url: &str) -> &str {
    url.rsplit(':').next().unwrap()
}

async fn get_json(url: String) -> Value {
    let reply = reqwest::get(url).await.expect("the control plane answers");
    reply.json().await.expect("a JSON answer")
}

async fn chaos_active(console: &str) -> bool {
    !get_json(format!("{console}/api/chaos")).await["active"].is_null()
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_a_hostile_page_can_send_are_refused_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let stack = Stack::start(dir.path(), &["--chaos-armed", "--visibility-timeout", "1"]);
    let console = stack.console.clone();
    let rebound = format!("evil.example:{}", port_of(&console));
    let json_type = ("content-type", "application/json");

    // A message in the DLQ (a poison order) and an experiment running: what a page would
    // like to move or stop.
    chaos_json(&stack, &["on", "--poison-sku", "POISON-1"]);
    let order =
        json!({"customerName": "P", "items": [{"sku": "POISON-1", "qty": 1, "price": 5.0}]});
    assert_eq!(stack.client().create(&order).await.status, 201);
    wait_for("the poison order in the DLQ", async || {
        dlq_rows(dir.path()).len() == 1
    })
    .await;

    let refused = |code: &'static str| {
        move |(status, body): (u16, Value)| {
            assert_eq!(status, 403, "{body}");
            assert_eq!(body["code"], code, "{body}");
            assert!(
                body["error"].as_str().is_some_and(|e| !e.is_empty()),
                "{body}"
            );
        }
    };
    // DNS rebinding: the attacker's name in Host, on every kind of request.
    let host = ("host", rebound.as_str());
    refused("FORBIDDEN_HOST")(
        forged(
            reqwest::Method::DELETE,
            &format!("{console}/api/chaos"),
            &[host, json_type],
            "",
        )
        .await,
    );
    assert!(
        chaos_active(&console).await,
        "a rebinding DELETE stopped the experiment"
    );
    for path in [
        "/api/dlq",
        "/api/logs?query=fields%20%40message",
        "/api/alarms",
        "/",
    ] {
        let (status, body) = get_as(&format!("{console}{path}"), host.1).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (403, Some("FORBIDDEN_HOST")),
            "{path}: {body}"
        );
        assert!(
            !body.to_string().contains("POISON-1"),
            "{path} leaked the DLQ: {body}"
        );
    }
    // The CLI keeps working: it stops the experiment.
    chaos_json(&stack, &["off"]);
    assert!(!chaos_active(&console).await);
    let start = json!({"faults": {"poisonSku": "POISON-2"}, "durationSeconds": 300}).to_string();
    refused("FORBIDDEN_HOST")(
        forged(
            reqwest::Method::PUT,
            &format!("{console}/api/chaos"),
            &[host, json_type],
            &start,
        )
        .await,
    );
    // A foreign Origin with a JSON body (it would need a preflight the stack never grants).
    refused("FORBIDDEN_ORIGIN")(
        forged(
            reqwest::Method::PUT,
            &format!("{console}/api/chaos"),
            &[("origin", EVIL), json_type],
            &start,
        )
        .await,
    );
    assert!(
        !chaos_active(&console).await,
        "a forged PUT started an experiment"
    );
    // A plain cross-site form POST, and a text/plain one: no preflight in a browser.
    refused("FORBIDDEN_ORIGIN")(
        forged(
            reqwest::Method::POST,
            &format!("{console}/api/dlq/redrive"),
            &[
                ("origin", EVIL),
                ("content-type", "application/x-www-form-urlencoded"),
            ],
            "go=1",
        )
        .await,
    );
    refused("UNSUPPORTED_CONTENT_TYPE")(
        forged(
            reqwest::Method::POST,
            &format!("{console}/api/dlq/redrive"),
            &[("content-type", "text/plain")],
            "{}",
        )
        .await,
    );
    assert_eq!(
        dlq_rows(dir.path()).len(),
        1,
        "a forged redrive moved the DLQ"
    );

    // Counted, by code, and logged with the offending header.
    let about = get_json(format!("{console}/api/about")).await;
    assert_eq!(
        about["refused"],
        json!({"FORBIDDEN_HOST": 6, "FORBIDDEN_ORIGIN": 2, "UNSUPPORTED_CONTENT_TYPE": 1}),
        "{about}"
    );
    let logged = eventually(PATIENCE, Duration::from_millis(250), async || {
        let lines: Vec<Value> = read_log(dir.path(), "workshop")
            .into_iter()
            .filter(|l| l["code"] == "FORBIDDEN_HOST")
            .collect();
        if lines.len() == 6 {
            Ok(lines)
        } else {
            Err(format!("{} refusal lines", lines.len()))
        }
    })
    .await;
    assert!(
        logged.iter().all(|l| l["host"] == rebound.as_str()),
        "{logged:?}"
    );

    // The console's own requests (its Origin, JSON) still change the stack.
    let own = console.as_str();
    let (status, body) = forged(
        reqwest::Method::POST,
        &format!("{console}/api/dlq/redrive"),
        &[("origin", own), json_type],
        "",
    )
    .await;
    assert_eq!((status, body["moved"].as_u64()), (200, Some(1)), "{body}");
    let (status, body) = forged(
        reqwest::Method::PUT,
        &format!("{console}/api/chaos"),
        &[("origin", own), json_type],
        &start,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(chaos_active(&console).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn allow_host_adds_a_name_and_refuses_a_url() {
    let stack = Stack::fresh(&["--allow-host", "workshop-vm.example"]);
    let (status, body) = get_as(
        &format!("{}/api/about", stack.console),
        "workshop-vm.example:8443",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // Only that name: another is still refused.
    let (status, body) = get_as(
        &format!("{}/api/about", stack.console),
        "other-vm.example:8443",
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("FORBIDDEN_HOST")),
        "{body}"
    );

    let dir = tempfile::tempdir().unwrap();
    let out = workshop()
        .args(up_args("0", "0"))
        .arg(dir.path())
        .args(["--allow-host", "http://vm.example"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("--allow-host") && err.contains("a host, not a URL"),
        "{err}"
    );
}
