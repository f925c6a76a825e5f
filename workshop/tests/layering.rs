//! The kit's layering, as written in the root README ("Crates and layers"), checked against
//! what Cargo actually builds (`cargo metadata`): every workspace crate has a row, every row is
//! a crate in the folder it names, and every dependency between the kit's own crates is one the
//! table allows and runs strictly downwards. A new arrow upwards fails here, naming it.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug)]
struct Row {
    layer: u32,
    folder: String,
    allowed: BTreeSet<String>,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// The README's table: `| layer | crate | folder | may depend on |`, names in backticks.
fn table() -> BTreeMap<String, Row> {
    let readme = std::fs::read_to_string(root().join("README.md"))
        .unwrap_or_else(|e| panic!("README.md: {e}"));
    let section = readme
        .split("\n## Crates and layers")
        .nth(1)
        .unwrap_or_else(|| panic!("README.md has no '## Crates and layers' section"));
    let section = section.split("\n## ").next().unwrap_or_default();
    let ticked = |cell: &str| -> BTreeSet<String> {
        cell.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect()
    };
    let mut rows = BTreeMap::new();
    for line in section.lines().filter(|l| l.starts_with('|')) {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        let [layer, name, folder, allowed] = cells[..] else {
            panic!("README layer table: a row needs 4 cells: {line}");
        };
        let Ok(layer) = layer.parse::<u32>() else {
            continue; // the header and its rule
        };
        let name = ticked(name)
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("README layer table: no `crate` in {line}"));
        let folder = folder
            .split(['(', ')'])
            .nth(1)
            .unwrap_or(folder)
            .trim_end_matches('/')
            .to_string();
        let row = Row {
            layer,
            folder,
            allowed: ticked(allowed),
        };
        assert!(
            rows.insert(name.clone(), row).is_none(),
            "README layer table names {name} twice"
        );
    }
    rows
}

/// Each workspace crate's folder (relative to the root) and the kit crates it depends on
/// (normal and build dependencies: what ships; tests may reach sideways).
fn workspace() -> BTreeMap<String, (String, BTreeSet<String>)> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(root())
        .output()
        .unwrap_or_else(|e| panic!("cargo metadata: {e}"));
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"));
    let root = root();
    let mut crates = BTreeMap::new();
    for p in meta["packages"].as_array().into_iter().flatten() {
        let name = p["name"].as_str().unwrap_or_default().to_string();
        let manifest = PathBuf::from(p["manifest_path"].as_str().unwrap_or_default());
        let folder = manifest
            .parent()
            .and_then(|d| d.strip_prefix(&root).ok())
            .map(|d| d.to_string_lossy().into_owned())
            .unwrap_or_default();
        let deps = p["dependencies"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|d| d["path"].is_string() && d["kind"].as_str() != Some("dev"))
            .map(|d| d["name"].as_str().unwrap_or_default().to_string())
            .collect();
        crates.insert(name, (folder, deps));
    }
    crates
}

#[test]
fn every_crate_is_in_the_layer_table_in_its_folder() {
    let table = table();
    let crates = workspace();
    let listed: BTreeSet<_> = table.keys().cloned().collect();
    let built: BTreeSet<_> = crates.keys().cloned().collect();
    assert_eq!(
        listed, built,
        "README's layer table and the workspace list different crates"
    );
    for (name, (folder, _)) in &crates {
        assert_eq!(
            &table[name].folder, folder,
            "README says {name} lives in {}",
            table[name].folder
        );
    }
}

#[test]
fn dependencies_run_downwards_and_only_where_the_table_allows() {
    let table = table();
    let mut wrong = Vec::new();
    for (name, (_, deps)) in workspace() {
        let Some(row) = table.get(&name) else {
            continue; // reported by the other test
        };
        for dep in deps {
            let below = table.get(&dep).is_some_and(|d| d.layer < row.layer);
            if !row.allowed.contains(&dep) || !below {
                wrong.push(format!(
                    "{name} (layer {}) -> {dep} (layer {}){}",
                    row.layer,
                    table.get(&dep).map_or("?".into(), |d| d.layer.to_string()),
                    if row.allowed.contains(&dep) {
                        ": not a lower layer"
                    } else {
                        ": not in its 'may depend on' cell"
                    }
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "dependencies the layer table does not allow:\n{}",
        wrong.join("\n")
    );
}

/// The words of a line of code (comments dropped), for matching whole names.
fn code_words(line: &str) -> Vec<&str> {
    let code = line.split("//").next().unwrap_or_default();
    code.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .collect()
}

#[test]
fn the_domain_names_no_fault_injection() {
    // `orders` may use the metric catalogue, but not chaos, the catalogue's `Fault` enum or
    // the processor's old fault hooks: chaos wraps the ports from outside. (`InjectedFault`
    // stays a word of the API contract, the `INJECTED_FAULT` error code, and of the
    // `ProcessingFailures` dimension; it may not come back as an imported or declared type.)
    const FORBIDDEN: [&str; 4] = ["chaos", "Fault", "ProcessorFaults", "NoFaults"];
    let src = root().join("functions/orders/src");
    let mut hits = Vec::new();
    let mut stack = vec![src];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .flatten()
        {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            for (n, line) in text.lines().enumerate() {
                let words = code_words(line);
                let declares = |w: &[&str]| {
                    w.windows(2).any(|p| {
                        matches!(p[0], "use" | "struct" | "enum" | "trait")
                            && p.contains(&"InjectedFault")
                    }) || (w.first() == Some(&"use") && w.contains(&"InjectedFault"))
                };
                if words.iter().any(|w| FORBIDDEN.contains(w)) || declares(&words) {
                    hits.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        hits.is_empty(),
        "orders reaches fault injection:\n{}",
        hits.join("\n")
    );
}
