//! A damaged file (overwritten, truncated, a page clobbered) is refused when it is opened,
//! with a message that names the file and what to do, never half-used.

use orders::ports::{ManualClock, OrderStore};
use orders_sqlite::{QueueConfig, SqliteError, SqliteOrderStore, SqliteQueue};
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::Arc;

/// An orders.db with a few hundred orders, closed: several pages, so one can be clobbered.
async fn filled_store(path: &Path) {
    let store = SqliteOrderStore::open(path).unwrap();
    for i in 0..300 {
        let order = conformance::sample_order(conformance::at(i));
        store.create(&order, None, "damaged").await.unwrap();
    }
}

fn assert_damaged(result: Result<impl Sized, SqliteError>, path: &Path) {
    let Err(e) = result else {
        panic!("{} opened although it is damaged", path.display())
    };
    assert!(matches!(e, SqliteError::Damaged { .. }), "{e:?}");
    let message = e.to_string();
    for words in [
        path.to_str().unwrap(),
        "is damaged",
        "move the file aside",
        ".damaged",
    ] {
        assert!(
            message.contains(words),
            "{message:?} does not say {words:?}"
        );
    }
}

#[tokio::test]
async fn an_overwritten_or_truncated_store_is_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("orders.db");
    std::fs::write(&garbage, vec![0x5a; 8192]).unwrap();
    assert_damaged(SqliteOrderStore::open(&garbage), &garbage);

    let truncated = dir.path().join("truncated.db");
    filled_store(&truncated).await;
    let len = std::fs::metadata(&truncated).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&truncated)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    assert_damaged(SqliteOrderStore::open(&truncated), &truncated);
}

#[tokio::test]
async fn a_clobbered_page_in_the_middle_is_found_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orders.db");
    filled_store(&path).await;
    let len = std::fs::metadata(&path).unwrap().len();
    assert!(
        len > 8 * 4096,
        "{len} bytes: too small to clobber a middle page"
    );
    let mut f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    f.seek(SeekFrom::Start(4 * 4096)).unwrap();
    f.write_all(&[0xff; 4096]).unwrap();
    drop(f);
    assert_damaged(SqliteOrderStore::open(&path), &path);
}

#[test]
fn a_damaged_queue_is_refused_too() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("queue.db");
    std::fs::write(&path, b"SQLite format 3\0 but then nothing").unwrap();
    let clock = Arc::new(ManualClock::new(conformance::base_time()));
    assert_damaged(
        SqliteQueue::open(&path, QueueConfig::from_settings(), clock),
        &path,
    );
}
