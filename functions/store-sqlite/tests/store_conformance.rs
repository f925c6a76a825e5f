//! The shared conformance suite, and durability, against `SqliteOrderStore` on real files.

use orders::domain::OrderStatus;
use orders::ports::{CreateOutcome, OrderStore, Outbox, Transition};
use orders_sqlite::{QueueConfig, SqliteError, SqliteOrderStore, SqliteQueue};
use std::sync::Arc;
use tempfile::TempDir;

/// A fresh store in its own temp dir; the dir is the guard that must outlive the store.
async fn fresh() -> (SqliteOrderStore, TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteOrderStore::open(&dir.path().join("orders.db")).unwrap();
    (store, dir)
}

mod checks {
    // One #[tokio::test] per conformance check.
    conformance::store_tests!(super::fresh);
}

/// A fresh store and its outbox, which is the store itself (a table in the same file).
async fn fresh_outbox() -> (Arc<dyn OrderStore>, Arc<dyn Outbox>, TempDir) {
    let (store, dir) = fresh().await;
    (Arc::new(store.clone()), Arc::new(store), dir)
}

mod outbox_checks {
    conformance::outbox_tests!(super::fresh_outbox);
}

#[tokio::test]
async fn run_all_in_memory() {
    conformance::run_all(|| async { (SqliteOrderStore::open_in_memory().unwrap(), ()) }).await;
}

#[tokio::test]
async fn orders_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orders.db");
    let order = conformance::sample_order(conformance::at(7));
    let published = conformance::sample_order(conformance::at(8));
    {
        let store = SqliteOrderStore::open(&path).unwrap();
        store
            .create(&order, None, conformance::CORRELATION_ID)
            .await
            .unwrap();
        store
            .create(&published, None, conformance::CORRELATION_ID)
            .await
            .unwrap();
        let entries = store.pending(10).await.unwrap();
        store
            .acknowledge(&[entries[1].sequence.clone()])
            .await
            .unwrap();
        let t = store
            .transition(&conformance::from_pending(
                order.id,
                OrderStatus::Confirmed,
                None,
                conformance::at(9),
            ))
            .await
            .unwrap();
        assert!(matches!(t, Transition::Applied(_)));
    }
    let store = SqliteOrderStore::open(&path).unwrap();
    let got = store.get(order.id).await.unwrap().unwrap();
    assert_eq!(got.status, OrderStatus::Confirmed);
    assert_eq!(got.updated_at, conformance::at(9));
    let entries = store.pending(10).await.unwrap();
    assert_eq!(
        entries.iter().map(|e| e.order.id).collect::<Vec<_>>(),
        vec![order.id],
        "what was not acknowledged is still to publish after a restart"
    );
}

/// A killed process never closes its connection or checkpoints the WAL. Leaking the
/// connection does the same; a second connection must still see every committed write.
#[tokio::test]
async fn commits_survive_an_unclean_exit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orders.db");
    let order = conformance::sample_order(conformance::at(7));
    let store = SqliteOrderStore::open(&path).unwrap();
    store
        .create(&order, None, conformance::CORRELATION_ID)
        .await
        .unwrap();
    std::mem::forget(store);

    let reopened = SqliteOrderStore::open(&path).unwrap();
    assert_eq!(reopened.get(order.id).await.unwrap(), Some(order));
}

#[tokio::test]
async fn two_handles_on_one_file_see_each_other() {
    let (a, dir) = fresh().await;
    let b = SqliteOrderStore::open(&dir.path().join("orders.db")).unwrap();
    let order = conformance::sample_order(conformance::at(1));
    a.create(&order, None, conformance::CORRELATION_ID)
        .await
        .unwrap();
    assert_eq!(b.get(order.id).await.unwrap(), Some(order));
}

#[tokio::test]
async fn expired_keys_are_purged() {
    let (store, _dir) = fresh().await;
    let key = conformance::fresh_key("h", conformance::at(1_000));
    let order = conformance::sample_order(conformance::at(0));
    store
        .create(&order, Some(&key), conformance::CORRELATION_ID)
        .await
        .unwrap();
    assert_eq!(
        store
            .purge_expired_keys(conformance::at(999))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .purge_expired_keys(conformance::at(1_000))
            .await
            .unwrap(),
        1
    );
    // With the record gone, the key is new again.
    let again = conformance::sample_order(conformance::at(500));
    let outcome = store
        .create(&again, Some(&key), conformance::CORRELATION_ID)
        .await
        .unwrap();
    assert_eq!(outcome, CreateOutcome::Created(again));
}

#[tokio::test]
async fn the_queue_file_is_not_an_order_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("queue.db");
    let clock = Arc::new(orders::ports::ManualClock::new(conformance::base_time()));
    drop(SqliteQueue::open(&path, QueueConfig::from_settings(), clock).unwrap());
    match SqliteOrderStore::open(&path) {
        Err(SqliteError::WrongDatabase { .. }) => {}
        other => panic!("opening the queue's file as a store gave {other:?}"),
    }
}

#[tokio::test]
async fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orders.db");
    drop(SqliteOrderStore::open(&path).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", 4).unwrap();
    drop(conn);
    match SqliteOrderStore::open(&path) {
        Err(SqliteError::SchemaTooNew {
            found: 4,
            supported: 3,
            ..
        }) => {}
        other => panic!("a file from a newer build gave {other:?}"),
    }
}

/// A data dir from the release before `created_in` (schema 1) opens with its orders, and
/// its unpublished ones move into the outbox (with no trace to continue); published ones
/// do not.
#[tokio::test]
async fn a_version_1_store_is_migrated_with_its_orders() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orders.db");
    let order = conformance::sample_order(conformance::at(5));
    let published = conformance::sample_order(conformance::at(4));
    // A schema 1 file, as that release wrote it (its table, comments and all).
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "CREATE TABLE orders (
            id          TEXT PRIMARY KEY,
            status      TEXT NOT NULL,
            created_at  INTEGER NOT NULL,   -- unix ms
            updated_at  INTEGER NOT NULL,   -- unix ms
            body        TEXT NOT NULL,      -- the Order as JSON, the source of truth
            unpublished INTEGER             -- 1 until the order's message is queued, else NULL
        );
        PRAGMA application_id = 1330791507;
        PRAGMA user_version = 1;",
    )
    .unwrap();
    conn.execute(
        "INSERT INTO orders (id, status, created_at, updated_at, body, unpublished)
         VALUES (?1, 'PENDING', 5, 5, ?2, 1)",
        (order.id.to_string(), serde_json::to_string(&order).unwrap()),
    )
    .unwrap();
    conn.execute(
        "INSERT INTO orders (id, status, created_at, updated_at, body, unpublished)
         VALUES (?1, 'PENDING', 4, 4, ?2, NULL)",
        (
            published.id.to_string(),
            serde_json::to_string(&published).unwrap(),
        ),
    )
    .unwrap();
    drop(conn);

    let store = SqliteOrderStore::open(&path).unwrap();
    assert_eq!(store.get(order.id).await.unwrap(), Some(order.clone()));
    assert_eq!(store.get(published.id).await.unwrap(), Some(published));
    let entries = store.pending(10).await.unwrap();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0].order.id, order.id);
    assert!(entries[0].created_in.is_empty());
    assert_eq!(entries[0].correlation_id, None);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let version: i32 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, 3);
}
