//! Hostile input to the data dir: a damaged file stops the start with what to do, and a full
//! disk refuses orders with a clear error while every order answered `201` is kept. No case
//! ends in a panic.

mod common;

use common::{PATIENCE, Stack, outcome, up_args, workshop};
use serde_json::json;
use std::collections::BTreeSet;
use std::process::Command;
use std::time::Instant;

#[test]
fn a_damaged_store_or_queue_stops_the_start_and_says_what_to_do() {
    for file in ["orders.db", "queue.db"] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(file), vec![0x5a; 8192]).unwrap();
        let (ok, _, err) = outcome(workshop().args(up_args("0", "0")).arg(dir.path()));
        assert!(!ok, "{file}: the stack started on a damaged file");
        assert!(!err.contains("panicked"), "{err}");
        for words in [file, "is damaged", "move the file aside"] {
            assert!(
                err.contains(words),
                "{file}: {err:?} does not say {words:?}"
            );
        }
    }
}

#[test]
fn a_data_dir_this_user_cannot_write_is_refused_with_what_to_do() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o555)).unwrap();
    // Root writes anywhere: as root, the stack runs as nobody (setpriv, util-linux), from a
    // copy of the binary that nobody can reach.
    let root = std::fs::metadata(dir.path()).unwrap().uid() == 0;
    let mut cmd = if root {
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let copy = dir.path().join("workshop");
        std::fs::copy(env!("CARGO_BIN_EXE_workshop"), &copy).unwrap();
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(copy);
        c
    } else {
        workshop()
    };
    let (ok, _, err) = outcome(cmd.args(up_args("0", "0")).arg(&data));
    assert!(!ok, "the stack started in a folder it cannot write");
    assert!(!err.contains("panicked"), "{err}");
    for words in [data.to_str().unwrap(), "cannot write there", "--data-dir"] {
        assert!(err.contains(words), "{err:?} does not say {words:?}");
    }
}

#[test]
fn a_damaged_chaos_state_or_journal_starts_with_chaos_off() {
    let dir = tempfile::tempdir().unwrap();
    // A state file cut short and a journal whose last line was cut by a crash.
    std::fs::write(dir.path().join("chaos.json"), r#"{"state":"on","faults":{"#).unwrap();
    std::fs::write(
        dir.path().join("chaos-journal.jsonl"),
        "{\"id\":\"exp-1\",\"sta",
    )
    .unwrap();
    let stack = Stack::start(dir.path(), &["--chaos-armed"]);
    let status = common::chaos_json(&stack, &["status"]);
    assert_eq!(status["live"]["state"], "off", "{status}");
    let journal = common::chaos_json(&stack, &["journal"]);
    assert_eq!(journal, serde_json::json!([]), "{journal}");
    let warned = stack.log("workshop").iter().any(|l| {
        l["message"]
            .as_str()
            .is_some_and(|m| m.contains("saved state is damaged"))
    });
    assert!(warned, "no warning about the damaged state");
    // And a new experiment starts as usual.
    common::chaos_json(&stack, &["on", "--api-error-rate", "0.1", "--for", "1m"]);
}

/// `workshop up` under a file-size limit (`ulimit -f`, in 512-byte blocks): once a file the
/// stack writes reaches it, each write past it fails as on a full disk.
fn up_with_file_size_limit(data_dir: &std::path::Path, blocks: u64) -> Stack {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(r#"ulimit -f "$0" && exec "$@""#)
        .arg(blocks.to_string())
        .arg(env!("CARGO_BIN_EXE_workshop"))
        .args(up_args("0", "0"))
        .arg(data_dir);
    Stack::spawn(cmd, data_dir)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_disk_refuses_orders_and_loses_none_it_accepted() {
    let dir = tempfile::tempdir().unwrap();
    // 1 MiB a file: the logs and the databases' write-ahead logs reach it within a few
    // thousand orders.
    let stack = up_with_file_size_limit(dir.path(), 2048);
    let c = stack.client();
    let mut accepted = BTreeSet::new();
    let mut refused = Vec::new();
    let started = Instant::now();
    while refused.len() < 20 {
        assert!(
            started.elapsed() < PATIENCE * 3,
            "the disk never filled: {} orders accepted",
            accepted.len()
        );
        let r = c.create(&common::order(3, "4.50")).await;
        match r.status {
            201 => {
                accepted.insert(r.body["id"].as_str().unwrap().to_owned());
            }
            _ => refused.push((r.status, r.body)),
        }
    }
    // The refusals say nothing was created, as the API's contract says.
    for (status, body) in &refused {
        assert_eq!(*status, 503, "{body}");
        assert_eq!(body["code"], "DEPENDENCY_FAILED", "{body}");
        assert!(
            body["error"]
                .as_str()
                .unwrap()
                .contains("nothing was created"),
            "{body}"
        );
    }
    // The stack's log names the cause, for the attendee reading the terminal.
    let named = stack.log("create-order").iter().any(|l| {
        l["message"] == "could not write the order"
            && l["error"]
                .as_str()
                .is_some_and(|e| e.contains("disk is full"))
    });
    assert!(named, "no log line says the disk is full");
    // Still up: it answers (unhealthy or not), and stops cleanly.
    assert!(
        [200, 503].contains(&c.get("/health").await.status),
        "the stack stopped answering on a full disk"
    );
    let status = stack.stop();
    assert!(status.success(), "{status}");

    // With room again, every accepted order is there.
    let again = Stack::start(dir.path(), &[]);
    let c = again.client();
    let mut missing = Vec::new();
    for id in &accepted {
        if c.get(&format!("/orders/{id}")).await.status != 200 {
            missing.push(id.clone());
        }
    }
    assert!(
        missing.is_empty(),
        "{} of {} accepted orders lost: {missing:?}",
        missing.len(),
        accepted.len()
    );
    assert!(!accepted.is_empty());
    // And it takes orders again.
    assert_eq!(
        c.create(&json!({"customerName": "after", "items": [{"sku": "A", "qty": 1, "price": 1}]}))
            .await
            .status,
        201
    );
}
