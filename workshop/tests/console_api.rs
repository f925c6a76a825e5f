//! The console's JSON API on the control plane: every widget of the shipped dashboards can be
//! fed (its metric rows and log queries run without error), and the panels' endpoints answer.

mod common;

use common::{PATIENCE, Stack, eventually, order};
use serde_json::{Value, json};
use std::time::Duration;

async fn get(http: &reqwest::Client, url: String) -> Value {
    let r = http.get(&url).send().await.unwrap();
    assert!(r.status().is_success(), "{url}: {}", r.status());
    r.json().await.unwrap()
}

/// Sends a console API request and reads its JSON answer.
async fn answer(req: reqwest::RequestBuilder) -> Value {
    req.send().await.unwrap().json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_widget_of_the_shipped_dashboards_can_be_fed() {
    let stack = Stack::fresh(&[]);
    let c = stack.client();
    let id = c.place(&order(2, "5.00")).await;
    let http = reqwest::Client::new();
    let console = stack.console.trim_end_matches('/').to_owned();

    let about = get(&http, format!("{console}/api/about")).await;
    assert_eq!(about["api"], stack.url.trim_end_matches('/'));
    let dashboards = get(&http, format!("{console}/api/dashboards")).await;
    let names: Vec<&str> = dashboards
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["operations", "business"]);

    let end = chrono::Utc::now().timestamp_millis();
    let start = end - 15 * 60 * 1000;
    let mut fed = 0;
    for d in dashboards.as_array().unwrap() {
        for w in d["body"]["widgets"].as_array().unwrap() {
            let p = &w["properties"];
            match w["type"].as_str().unwrap() {
                "metric" => {
                    let r = answer(
                        http.post(format!("{console}/api/metric-data"))
                            .json(&json!({"metrics": p["metrics"], "stat": p["stat"], "period": p["period"], "start": start, "end": end})),
                    )
                    .await;
                    assert_eq!(r["errors"], json!([]), "{}: {}", d["name"], p["title"]);
                    assert!(
                        !r["series"].as_array().unwrap().is_empty(),
                        "{}",
                        p["title"]
                    );
                    fed += 1;
                }
                "log" => {
                    let r = http
                        .get(format!("{console}/api/logs"))
                        .query(&[("query", p["query"].as_str().unwrap())])
                        .send()
                        .await
                        .unwrap();
                    assert!(
                        r.status().is_success(),
                        "{}: {}",
                        p["title"],
                        r.text().await.unwrap()
                    );
                    fed += 1;
                }
                _ => {}
            }
        }
    }
    assert!(
        fed >= 40,
        "only {fed} metric and log widgets in the shipped dashboards"
    );

    // The order shows in the business dashboard's orders-created widget and in the logs.
    eventually(PATIENCE, Duration::from_millis(200), async || {
        let r = answer(http
            .post(format!("{console}/api/metric-data"))
            .json(&json!({"metrics": [["OrderKit", "OrdersCreated", "Service", "orders", "Environment", "local"]], "stat": "Sum", "period": 60, "start": start, "end": chrono::Utc::now().timestamp_millis()})))
            .await;
        let total: f64 = r["series"][0]["values"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_f64)
            .sum();
        if total == 1.0 {
            return Ok(());
        }
        Err(format!("OrdersCreated never showed: {r}"))
    })
    .await;
    let logs = answer(http
        .get(format!("{console}/api/logs"))
        .query(&[("query", format!("SOURCE '/aws/lambda/order-processor' | fields @timestamp, order_id, message | filter order_id = \"{id}\" | sort @timestamp desc"))]))
        .await;
    assert!(
        logs["rows"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["message"] == "status updated"),
        "{logs}"
    );
    let bad = http
        .get(format!("{console}/api/logs"))
        .query(&[("query", "parse @message \"*\" as x")])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    assert!(bad.text().await.unwrap().contains("unsupported command"));

    let functions = get(&http, format!("{console}/api/functions")).await;
    let rows = functions.as_array().unwrap();
    assert_eq!(rows.len(), 6);
    let create = rows.iter().find(|r| r["name"] == "create-order").unwrap();
    assert_eq!(
        (
            create["invocations"].as_u64(),
            create["coldStarts"].as_u64(),
            create["limit"].as_u64()
        ),
        (Some(1), Some(1), Some(10))
    );

    assert_eq!(get(&http, format!("{console}/api/dlq")).await, json!([]));
    let redriven = answer(
        http.post(format!("{console}/api/dlq/redrive"))
            .header("content-type", "application/json"),
    )
    .await;
    assert_eq!(redriven["moved"], 0);

    let page = http.get(format!("{console}/")).send().await.unwrap();
    assert!(page.status().is_success());
    assert!(
        page.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let script = http.get(format!("{console}/app.js")).send().await.unwrap();
    assert!(
        script.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("javascript")
    );
    assert_eq!(
        http.get(format!("{console}/no-such-file.js"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}
