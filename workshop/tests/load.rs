//! `workshop load` at a fixed rate for a fixed time: it reports what it sent, the latency
//! percentiles and the errors, and its counts agree with the local stack's own API metrics.

mod common;

use common::{Stack, metrics, succeed, workshop};
use serde_json::Value;

/// The API Gateway rows of one metric.
fn api<'a>(rows: &'a [Value], name: &'a str) -> impl Iterator<Item = &'a Value> {
    rows.iter()
        .filter(move |r| r["namespace"] == "AWS/ApiGateway" && r["name"] == name)
}

fn sum(rows: &[Value], name: &str) -> f64 {
    api(rows, name).map(|r| r["sum"].as_f64().unwrap()).sum()
}

fn max(rows: &[Value], name: &str) -> f64 {
    api(rows, name)
        .map(|r| r["maximum"].as_f64().unwrap())
        .fold(0.0, f64::max)
}

#[test]
fn load_reports_what_it_sent_and_agrees_with_the_api_metrics() {
    // Room for every request at once: this test is about what load reports, and a throttle
    // (500) on a machine busy with other work would not be one of its findings.
    let stack = Stack::fresh(&[
        "--concurrency",
        "create-order=200",
        "--concurrency",
        "get-order=200",
        "--concurrency",
        "list-orders=200",
    ]);
    let out = succeed(
        workshop()
            .args([
                "load",
                "--url",
                &stack.url,
                "--rate",
                "40",
                "--duration",
                "5s",
            ])
            .args(["--mix", "create=6,get=3,list=1", "--json", "--quiet"]),
    );
    let s: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(s["sent"], 200);
    assert_eq!(s["completed"], 200, "{s}");
    assert_eq!(s["transportErrors"], 0);
    let by_op = &s["byOperation"];
    assert_eq!(
        by_op["create"].as_u64().unwrap()
            + by_op["get"].as_u64().unwrap()
            + by_op["list"].as_u64().unwrap(),
        200
    );
    let by_status = s["byStatus"].as_object().unwrap();
    assert_eq!(
        by_status["201"], by_op["create"],
        "every create accepted: {s}"
    );
    let l = &s["latency"];
    for k in ["p50Ms", "p90Ms", "p99Ms", "maxMs"] {
        assert!(l[k].as_f64().unwrap() > 0.0, "{k}: {l}");
    }
    assert!(
        l["p50Ms"].as_f64() <= l["p90Ms"].as_f64() && l["p99Ms"].as_f64() <= l["maxMs"].as_f64()
    );
    let histogram: u64 = s["histogram"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b[1].as_u64().unwrap())
        .sum();
    assert_eq!(histogram, 200);

    // The stack counted the same requests and the same errors.
    let rows = metrics(&stack);
    assert_eq!(sum(&rows, "Count"), 200.0);
    let client_4xx: u64 = by_status
        .iter()
        .filter(|(k, _)| k.starts_with('4'))
        .map(|(_, v)| v.as_u64().unwrap())
        .sum();
    assert_eq!(sum(&rows, "4xx"), client_4xx as f64);
    assert_eq!(sum(&rows, "5xx"), 0.0);
    // The server's view of a request is part of the client's.
    assert!(max(&rows, "Latency") <= l["maxMs"].as_f64().unwrap());

    let text = workshop()
        .args([
            "load",
            "--url",
            &stack.url,
            "--rate",
            "10",
            "--duration",
            "1s",
            "--quiet",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.starts_with("10 requests to http://"), "{text}");
    assert!(text.contains("latency from schedule: p50"), "{text}");

    let bad = workshop()
        .args(["load", "--rate", "0", "--duration", "1s"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--rate must be above 0"));
}

/// Against a target that never answers, the run still ends by itself and says what happened:
/// a few requests started (the concurrency cap), the rest never sent, none completed.
#[test]
fn load_against_a_hung_target_stops_by_itself() {
    // Accepts connections (the kernel does) but never answers them.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let out = succeed(
        workshop()
            .args(["load", "--url", &url, "--rate", "20", "--duration", "2s"])
            .args(["--concurrency", "2", "--json", "--quiet"]),
    );
    let s: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(s["sent"], 2, "{s}");
    assert_eq!(s["unsent"], 38);
    assert_eq!(s["completed"], 0);
    assert_eq!(s["transportErrors"], 2);
    drop(listener);
}
