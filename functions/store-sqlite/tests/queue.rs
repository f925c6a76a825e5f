//! SQS semantics of `SqliteQueue`, driven by a manual clock: no test sleeps.

use orders::ports::{ManualClock, OrderQueue};
use orders_sqlite::{QueueConfig, SqliteError, SqliteQueue};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tempfile::TempDir;

const MS: Duration = Duration::from_millis(1);

struct Fixture {
    queue: SqliteQueue,
    clock: Arc<ManualClock>,
    dir: TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(conformance::base_time()));
        let queue = open(dir.path(), &clock);
        Fixture { queue, clock, dir }
    }

    fn vt(&self) -> Duration {
        self.queue.config().visibility_timeout
    }
}

fn open(dir: &Path, clock: &Arc<ManualClock>) -> SqliteQueue {
    SqliteQueue::open(
        &dir.join("queue.db"),
        QueueConfig::from_settings(),
        clock.clone(),
    )
    .unwrap()
}

fn no_attrs() -> BTreeMap<String, String> {
    BTreeMap::new()
}

async fn send_n(q: &SqliteQueue, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        ids.push(q.send(&format!("m{i}"), &no_attrs()).await.unwrap());
    }
    ids
}

fn bodies(msgs: &[orders::ports::ReceivedMessage]) -> Vec<String> {
    msgs.iter().map(|m| m.body.clone()).collect()
}

#[test]
fn config_matches_the_settings() {
    let c = QueueConfig::from_settings();
    let s = orders::settings::QUEUE;
    assert_eq!(
        (c.name.as_str(), c.dlq_name.as_str()),
        ("orders", "orders-dlq")
    );
    assert_eq!(c.visibility_timeout, s.visibility_timeout);
    assert_eq!(c.max_receive_count, s.max_receive_count);
    assert_eq!(
        (c.retention, c.dlq_retention),
        (s.retention, s.dlq_retention)
    );
}

#[test]
fn invalid_configs_are_refused() {
    let clock = Arc::new(ManualClock::new(conformance::base_time()));
    let bad = [
        QueueConfig {
            max_receive_count: 0,
            ..QueueConfig::from_settings()
        },
        QueueConfig {
            dlq_name: "orders".into(),
            ..QueueConfig::from_settings()
        },
        QueueConfig {
            visibility_timeout: Duration::from_secs(13 * 3600),
            ..QueueConfig::from_settings()
        },
    ];
    for config in bad {
        let result = SqliteQueue::open_in_memory(config.clone(), clock.clone());
        assert!(
            matches!(result, Err(SqliteError::InvalidInput { .. })),
            "{config:?}"
        );
    }
}

#[tokio::test]
async fn batches_respect_max_and_send_order() {
    let f = Fixture::new();
    send_n(&f.queue, 25).await;
    let mut seen = Vec::new();
    for want in [10, 10, 5, 0] {
        let batch = f.queue.receive(10).await.unwrap();
        assert_eq!(batch.len(), want);
        seen.extend(bodies(&batch));
    }
    let expected: Vec<String> = (0..25).map(|i| format!("m{i}")).collect();
    assert_eq!(seen, expected, "each message once, in send order");
    assert!(f.queue.receive(0).await.unwrap().is_empty());
}

#[tokio::test]
async fn received_messages_are_invisible_until_the_timeout_then_redelivered() {
    let f = Fixture::new();
    let mut attrs = BTreeMap::new();
    attrs.insert("correlationId".to_owned(), "c-1".to_owned());
    let id = f.queue.send("hello", &attrs).await.unwrap();
    let sent_at = conformance::base_time();

    f.clock.advance(Duration::from_secs(2));
    let first = f.queue.receive(10).await.unwrap();
    assert_eq!(first.len(), 1);
    let m1 = &first[0];
    assert_eq!(
        (m1.message_id.as_str(), m1.body.as_str()),
        (id.as_str(), "hello")
    );
    assert_eq!(m1.attributes, attrs);
    assert_eq!(m1.receive_count, 1);
    assert_eq!(m1.sent_at, sent_at);
    assert_eq!(m1.first_received_at, conformance::at(2_000));

    assert!(f.queue.receive(10).await.unwrap().is_empty(), "in flight");
    f.clock.advance(f.vt() - MS);
    assert!(
        f.queue.receive(10).await.unwrap().is_empty(),
        "one millisecond before the timeout"
    );
    f.clock.advance(MS);
    let second = f.queue.receive(10).await.unwrap();
    assert_eq!(second.len(), 1, "redelivered once the timeout has passed");
    let m2 = &second[0];
    assert_eq!(m2.message_id, id);
    assert_eq!(m2.receive_count, 2);
    assert_ne!(
        m2.receipt_handle, m1.receipt_handle,
        "a new receive has a new handle"
    );
    assert_eq!(
        m2.first_received_at, m1.first_received_at,
        "first receive time is kept"
    );
    assert_eq!(m2.sent_at, sent_at);

    assert!(
        !f.queue.delete(&m1.receipt_handle).await.unwrap(),
        "a stale handle deletes nothing"
    );
    assert!(f.queue.delete(&m2.receipt_handle).await.unwrap());
    assert!(
        !f.queue.delete(&m2.receipt_handle).await.unwrap(),
        "already deleted"
    );
    assert!(!f.queue.delete("no-such-handle").await.unwrap());
    f.clock.advance(f.vt() * 2);
    assert!(
        f.queue.receive(10).await.unwrap().is_empty(),
        "a deleted message never returns"
    );
}

#[tokio::test]
async fn visibility_can_be_changed_while_in_flight() {
    let f = Fixture::new();
    f.queue.send("a", &no_attrs()).await.unwrap();
    let m = f.queue.receive(1).await.unwrap().remove(0);

    // Back to visible at once (what a consumer does to retry without waiting).
    assert!(
        f.queue
            .change_visibility(&m.receipt_handle, Duration::ZERO)
            .await
            .unwrap()
    );
    let m2 = f.queue.receive(1).await.unwrap().remove(0);
    assert_eq!(m2.receive_count, 2);
    assert!(
        !f.queue
            .change_visibility(&m.receipt_handle, Duration::ZERO)
            .await
            .unwrap(),
        "stale handle"
    );

    // Extended past the queue's timeout.
    assert!(
        f.queue
            .change_visibility(&m2.receipt_handle, f.vt() * 2)
            .await
            .unwrap()
    );
    f.clock.advance(f.vt());
    assert!(
        f.queue.receive(1).await.unwrap().is_empty(),
        "the extension holds"
    );
    f.clock.advance(f.vt());
    let m3 = f.queue.receive(1).await.unwrap().remove(0);
    assert_eq!(m3.receive_count, 3);

    // Once the timeout has passed the message is no longer in flight.
    f.clock.advance(f.vt());
    assert!(
        !f.queue
            .change_visibility(&m3.receipt_handle, f.vt())
            .await
            .unwrap(),
        "not in flight"
    );
    assert!(
        f.queue
            .change_visibility(&m3.receipt_handle, Duration::from_secs(13 * 3600))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_message_that_always_fails_is_dead_lettered_after_max_receives() {
    let f = Fixture::new();
    let max = f.queue.config().max_receive_count;
    let id = f.queue.send("poison", &no_attrs()).await.unwrap();
    for attempt in 1..=max {
        let batch = f.queue.receive(10).await.unwrap();
        assert_eq!(batch.len(), 1, "attempt {attempt}");
        assert_eq!(batch[0].receive_count, attempt);
        f.clock.advance(f.vt()); // the consumer fails: never deletes
    }
    assert!(
        f.queue.dlq_list(10).await.unwrap().is_empty(),
        "moved on the next receive, not before"
    );
    let moved_at = conformance::at(i64::from(max) * 30_000);
    assert!(
        f.queue.receive(10).await.unwrap().is_empty(),
        "never delivered a 4th time"
    );

    let dead = f.queue.dlq_list(10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].message_id, id);
    assert_eq!(dead[0].body, "poison");
    assert_eq!(dead[0].receive_count, max);
    assert_eq!(dead[0].sent_at, conformance::base_time());
    assert_eq!(dead[0].moved_at, moved_at);
    assert_eq!(
        f.queue.dlq_list(10).await.unwrap(),
        dead,
        "listing changes nothing"
    );

    f.clock.advance(Duration::from_secs(3600));
    assert!(
        f.queue.receive(10).await.unwrap().is_empty(),
        "stays out of the source queue"
    );

    let stats = f.queue.stats().await.unwrap();
    assert_eq!((stats.source.visible, stats.source.in_flight), (0, 0));
    assert_eq!(
        (stats.dlq.visible, stats.dlq.moved_in, stats.dlq.sent),
        (1, 1, 0)
    );
    assert_eq!(stats.source.received, u64::from(max));

    // Redrive: back in the source queue as new, then processed normally.
    assert_eq!(f.queue.redrive().await.unwrap(), 1);
    assert!(f.queue.dlq_list(10).await.unwrap().is_empty());
    assert_eq!(
        f.queue.redrive().await.unwrap(),
        0,
        "nothing left to redrive"
    );
    let again = f.queue.receive(10).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(
        (again[0].message_id.as_str(), again[0].receive_count),
        (id.as_str(), 1)
    );
    assert!(f.queue.delete(&again[0].receipt_handle).await.unwrap());

    let stats = f.queue.stats().await.unwrap();
    assert_eq!(
        (
            stats.source.visible,
            stats.source.in_flight,
            stats.dlq.visible
        ),
        (0, 0, 0)
    );
    assert_eq!((stats.source.moved_in, stats.source.deleted), (1, 1));
}

#[tokio::test]
async fn dead_lettering_does_not_shrink_the_batch() {
    let f = Fixture::new();
    let max = f.queue.config().max_receive_count;
    f.queue.send("poison", &no_attrs()).await.unwrap();
    for _ in 0..max {
        assert_eq!(f.queue.receive(1).await.unwrap().len(), 1);
        f.clock.advance(f.vt());
    }
    send_n(&f.queue, 3).await;
    let batch = f.queue.receive(3).await.unwrap();
    assert_eq!(
        bodies(&batch),
        ["m0", "m1", "m2"],
        "the moved message's place is refilled"
    );
    assert_eq!(f.queue.dlq_list(10).await.unwrap().len(), 1);
}

#[tokio::test]
async fn messages_survive_reopening_and_in_flight_ones_come_back() {
    let f = Fixture::new();
    send_n(&f.queue, 3).await;
    let in_flight = f.queue.receive(1).await.unwrap().remove(0);
    assert_eq!(in_flight.body, "m0");
    let Fixture { queue, clock, dir } = f;
    drop(queue); // closes the file

    let f = Fixture {
        queue: open(dir.path(), &clock),
        clock,
        dir,
    };
    let visible = f.queue.receive(10).await.unwrap();
    assert_eq!(bodies(&visible), ["m1", "m2"], "the visible ones are there");
    f.clock.advance(f.vt());
    let back = f.queue.receive(10).await.unwrap();
    assert_eq!(
        bodies(&back),
        ["m0", "m1", "m2"],
        "and after the timeout, every one again"
    );
    assert_eq!(back[0].receive_count, 2);
    assert!(
        !f.queue.delete(&in_flight.receipt_handle).await.unwrap(),
        "its old handle is stale"
    );
}

/// A killed process neither closes the file nor checkpoints the WAL; leaking the queue does
/// the same. Every committed send and receive must still be there for the next process.
#[tokio::test]
async fn commits_survive_an_unclean_exit() {
    let f = Fixture::new();
    send_n(&f.queue, 2).await;
    let got = f.queue.receive(1).await.unwrap().remove(0);
    let vt = f.vt();
    let Fixture { queue, clock, dir } = f;
    std::mem::forget(queue);

    let reopened = open(dir.path(), &clock);
    assert_eq!(bodies(&reopened.receive(10).await.unwrap()), ["m1"]);
    clock.advance(vt);
    let back = reopened.receive(10).await.unwrap();
    assert_eq!(
        (back[0].body.as_str(), back[0].receive_count),
        ("m0", got.receive_count + 1)
    );
}

#[tokio::test]
async fn stats_count_what_happened() {
    let f = Fixture::new();
    let empty = f.queue.stats().await.unwrap();
    assert_eq!(
        (empty.source.name.as_str(), empty.dlq.name.as_str()),
        ("orders", "orders-dlq")
    );
    assert_eq!(
        (
            empty.source.visible,
            empty.source.sent,
            empty.source.oldest_age
        ),
        (0, 0, None)
    );

    send_n(&f.queue, 4).await;
    f.clock.advance(Duration::from_secs(5));
    let batch = f.queue.receive(3).await.unwrap();
    assert!(f.queue.delete(&batch[0].receipt_handle).await.unwrap());

    let s = f.queue.stats().await.unwrap().source;
    assert_eq!((s.visible, s.in_flight), (1, 2));
    assert_eq!((s.sent, s.received, s.deleted), (4, 3, 1));
    assert_eq!(s.oldest_age, Some(Duration::from_secs(5)));

    f.clock.advance(f.vt());
    f.queue.receive(10).await.unwrap();
    let s = f.queue.stats().await.unwrap().source;
    assert_eq!(
        (s.visible, s.in_flight, s.received),
        (0, 3, 6),
        "redeliveries count as receives"
    );
}

#[tokio::test]
async fn messages_past_retention_are_dropped() {
    let f = Fixture::new();
    let retention = f.queue.config().retention;
    f.queue.send("old", &no_attrs()).await.unwrap();
    f.clock.advance(retention - MS);
    f.queue.send("new", &no_attrs()).await.unwrap();
    assert_eq!(f.queue.purge_expired().await.unwrap(), 0);
    f.clock.advance(MS);
    assert_eq!(
        f.queue.stats().await.unwrap().source.visible,
        1,
        "expired messages are not counted"
    );
    assert_eq!(bodies(&f.queue.receive(10).await.unwrap()), ["new"]);
    assert_eq!(f.queue.purge_expired().await.unwrap(), 1);
}

#[tokio::test]
async fn concurrent_consumers_never_share_a_message() {
    let f = Fixture::new();
    send_n(&f.queue, 40).await;
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let q = f.queue.clone();
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            loop {
                let batch = q.receive(3).await.unwrap();
                if batch.is_empty() {
                    return got;
                }
                got.extend(batch.into_iter().map(|m| m.message_id));
            }
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let distinct: BTreeSet<_> = all.iter().collect();
    assert_eq!((all.len(), distinct.len()), (40, 40));
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let f = Fixture::new();
    let big = "x".repeat(orders_sqlite::queue::MAX_BODY_BYTES + 1);
    assert!(matches!(
        f.queue.send(&big, &no_attrs()).await,
        Err(SqliteError::InvalidInput { .. })
    ));
}

#[tokio::test]
async fn conforms_to_the_order_queue_port() {
    let f = Fixture::new();
    let q = f.queue.clone();
    let drain = || async move {
        let mut out = Vec::new();
        loop {
            let batch = q.receive(10).await.unwrap();
            if batch.is_empty() {
                return out;
            }
            for m in batch {
                assert!(q.delete(&m.receipt_handle).await.unwrap());
                out.push(conformance::Delivered {
                    body: m.body,
                    attributes: m.attributes,
                });
            }
        }
    };
    conformance::run_queue_all(&f.queue, drain).await;
}

#[tokio::test]
async fn ping_answers() {
    let f = Fixture::new();
    f.queue.ping().await.unwrap();
}
