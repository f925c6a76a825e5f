//! The emulator speaks the Runtime API as a bootstrap expects it: events in order with the
//! headers `lambda_runtime` requires, answers and errors recorded, init errors reported, and a
//! trace header of its own per invocation, sampled or not as asked.

use order_bench::runtime_api::RuntimeApi;
use std::time::Duration;

const BASE: &str = "2018-06-01/runtime";

#[tokio::test]
async fn hands_out_events_in_order_and_records_answers() {
    let api = RuntimeApi::start(false).await.expect("emulator starts");
    let first = api.push(r#"{"n":1}"#);
    let second = api.push(r#"{"n":2}"#);
    let http = reqwest::Client::new();
    let url = format!("http://{}/{BASE}", api.endpoint());

    let next = http
        .get(format!("{url}/invocation/next"))
        .send()
        .await
        .unwrap();
    assert_eq!(next.status(), 200);
    let id = next.headers()["lambda-runtime-aws-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(id, first);
    for required in [
        "lambda-runtime-deadline-ms",
        "lambda-runtime-invoked-function-arn",
    ] {
        assert!(next.headers().contains_key(required), "{required} missing");
    }
    assert_eq!(next.text().await.unwrap(), r#"{"n":1}"#);
    assert!(
        api.first_next().is_some(),
        "the first next call ends the init"
    );
    let posted = http
        .post(format!("{url}/invocation/{id}/response"))
        .body(r#"{"statusCode":201}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 202);

    let next = http
        .get(format!("{url}/invocation/next"))
        .send()
        .await
        .unwrap();
    let id = next.headers()["lambda-runtime-aws-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(id, second);
    http.post(format!("{url}/invocation/{id}/error"))
        .body(r#"{"errorType":"Boom"}"#)
        .send()
        .await
        .unwrap();

    assert!(api.wait_answers(2, Duration::from_secs(10)).await);
    assert_eq!(
        api.after_answer().len(),
        1,
        "the first answer was followed by a next call, the second not yet"
    );
    let answers = api.answers();
    assert_eq!(answers.len(), 2);
    assert!(answers[0].ok && !answers[1].ok);
    assert_eq!(&answers[0].body[..], br#"{"statusCode":201}"#);
    assert!(answers[0].answered_at >= answers[0].handed_at);
}

#[tokio::test]
async fn an_answer_for_an_unknown_request_is_refused() {
    let api = RuntimeApi::start(false).await.expect("emulator starts");
    let url = format!("http://{}/{BASE}", api.endpoint());
    let posted = reqwest::Client::new()
        .post(format!("{url}/invocation/never-handed/response"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 400);
    assert_eq!(api.answered(), 0);
}

#[tokio::test]
async fn an_init_error_wakes_the_waiter_and_is_kept() {
    let api = RuntimeApi::start(false).await.expect("emulator starts");
    let url = format!("http://{}/{BASE}", api.endpoint());
    reqwest::Client::new()
        .post(format!("{url}/init/error"))
        .body(r#"{"errorMessage":"ORDERS_TABLE is not set"}"#)
        .send()
        .await
        .unwrap();
    assert!(api.wait_answers(1, Duration::from_secs(10)).await);
    assert!(api.init_error().unwrap().contains("ORDERS_TABLE"));
}

/// The `lambda-runtime-trace-id` of the next event handed out.
async fn next_trace_header(http: &reqwest::Client, api: &RuntimeApi) -> String {
    let next = http
        .get(format!("http://{}/{BASE}/invocation/next", api.endpoint()))
        .send()
        .await
        .unwrap();
    next.headers()["lambda-runtime-trace-id"]
        .to_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn each_invocation_gets_its_own_trace_sampled_as_asked() {
    let http = reqwest::Client::new();
    for (sampled, flag) in [(false, "Sampled=0"), (true, "Sampled=1")] {
        let api = RuntimeApi::start(sampled).await.expect("emulator starts");
        api.push("{}");
        api.push("{}");
        let first = next_trace_header(&http, &api).await;
        let second = next_trace_header(&http, &api).await;
        for header in [&first, &second] {
            assert!(header.starts_with("Root=1-"), "{header}");
            assert!(header.ends_with(flag), "{header} should end with {flag}");
        }
        let root = |h: &str| h.split(';').next().unwrap().to_owned();
        assert_ne!(root(&first), root(&second), "one trace per invocation");
    }
}
