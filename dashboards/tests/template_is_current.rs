//! template.yaml's generated block is exactly what the generator writes today.

use std::path::Path;

#[test]
fn template_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml");
    let current = std::fs::read_to_string(&path).unwrap();
    let fresh = dashboards::template::regenerate(&current).unwrap();
    assert!(
        fresh == current,
        "template.yaml's dashboards and alarms block is stale: run `{}` and commit the result",
        dashboards::template::COMMAND
    );
}

#[test]
fn regenerating_replaces_only_the_block() {
    let begin = dashboards::template::BEGIN;
    let end = dashboards::template::END;
    let text = format!("Resources:\n  A: 1\n  {begin}\n  Old: x\n  {end}\n  B: 2\n");
    let out = dashboards::template::regenerate(&text).unwrap();
    assert!(out.starts_with("Resources:\n  A: 1\n  # BEGIN"));
    assert!(out.ends_with(&format!("  {end}\n  B: 2\n")));
    assert!(!out.contains("Old: x"));
    assert_eq!(dashboards::template::regenerate(&out).unwrap(), out);
    assert!(dashboards::template::regenerate("Resources:\n").is_err());
}
