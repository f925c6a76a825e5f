//! Outcome: SIGKILL the stack while 1,000 orders are in flight, start it again, and every
//! accepted order reaches its final status: none lost, none in a wrong state.

mod common;

use common::{PATIENCE, Stack, eventually, order};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::Mutex;

const ORDERS: usize = 1000;
/// Below create-order's concurrency limit, so requests are not throttled.
const CLIENTS: usize = 8;
/// Kill once this many orders have been accepted.
const KILL_AFTER: usize = 400;
/// Fast recovery settings so the test does not wait out the production timeouts.
const FAST: [&str; 2] = ["--visibility-timeout", "2"];

fn kind(i: usize) -> (Value, &'static str) {
    match i % 10 {
        0 => (order(11, "1.00"), "PENDING_REVIEW"),
        1 => (order(1, "20000.00"), "PENDING_APPROVAL"),
        _ => (order(1 + i % 4, "12.34"), "CONFIRMED"),
    }
}

/// Sends orders `next..ORDERS` from CLIENTS tasks; records each accepted one with its
/// expected final status. Stops sending at the first connection error (the stack died).
async fn send(
    c: common::Client,
    next: Arc<AtomicUsize>,
    accepted: Arc<Mutex<HashMap<String, &'static str>>>,
) {
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (c, next, accepted) = (c.clone(), next.clone(), accepted.clone());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= ORDERS {
                        return;
                    }
                    let (body, expected) = kind(i);
                    let sent = c
                        .http
                        .post(format!("{}/orders", c.url))
                        .json(&body)
                        .send()
                        .await;
                    let Ok(resp) = sent else { return };
                    if resp.status().as_u16() == 201
                        && let Ok(v) = resp.json::<Value>().await
                    {
                        accepted
                            .lock()
                            .await
                            .insert(v["id"].as_str().unwrap().to_owned(), expected);
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        let _ = t.await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_with_orders_in_flight_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let stack = Stack::start(dir.path(), &FAST);
    let next = Arc::new(AtomicUsize::new(0));
    let accepted = Arc::new(Mutex::new(HashMap::new()));
    let sender = tokio::spawn(send(stack.client(), next.clone(), accepted.clone()));
    while accepted.lock().await.len() < KILL_AFTER {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    stack.kill();
    sender.await.unwrap();
    let before_restart = accepted.lock().await.len();
    assert!(before_restart >= KILL_AFTER);

    // Start again on the same data dir and send the rest.
    let stack = Stack::start(dir.path(), &FAST);
    next.store(next.load(Ordering::SeqCst).min(ORDERS), Ordering::SeqCst);
    send(stack.client(), next.clone(), accepted.clone()).await;
    let accepted = accepted.lock().await.clone();
    assert!(
        accepted.len() > before_restart,
        "the restarted stack accepts orders"
    );

    let c = stack.client();
    let mut pending: Vec<_> = accepted.keys().cloned().collect();
    eventually(PATIENCE, Duration::from_millis(250), async || {
        let mut still = Vec::new();
        for id in std::mem::take(&mut pending) {
            let r = c.get(&format!("/orders/{id}")).await;
            assert_eq!(r.status, 200, "accepted order {id} was lost: {}", r.text);
            match r.body["status"].as_str().unwrap() {
                "PENDING" => still.push(id),
                status => assert_eq!(status, accepted[&id], "order {id} ended in the wrong state"),
            }
        }
        pending = still;
        if pending.is_empty() {
            return Ok(());
        }
        Err(format!("{} accepted orders still PENDING", pending.len()))
    })
    .await;
    eprintln!(
        "{} orders accepted ({} before the kill), all final",
        accepted.len(),
        before_restart
    );
}
