//! The structural check of a dashboard body, against CloudWatch's documented dashboard body
//! structure: what PutDashboard would reject, and what it would accept but draw empty (a row
//! with a dangling dimension name, an expression over an id that does not exist).

use std::collections::{BTreeSet, HashSet};

use serde_json::Value;

use crate::layout::COLUMNS;

/// CloudWatch's limit of widgets per dashboard.
pub const MAX_WIDGETS: usize = 500;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Problem {
    #[error("body has no widgets array")]
    NoWidgets,
    #[error("{0} widgets, more than CloudWatch's {MAX_WIDGETS}")]
    TooManyWidgets(usize),
    #[error("widget {widget}: {message}")]
    Widget { widget: usize, message: String },
    #[error("widgets {0} and {1} overlap")]
    Overlap(usize, usize),
    #[error("widget {widget}, metrics row {row}: {message}")]
    Row {
        widget: usize,
        row: usize,
        message: String,
    },
}

#[derive(Debug, Clone, Copy)]
struct Rect {
    x: u64,
    y: u64,
    w: u64,
    h: u64,
}

impl Rect {
    fn overlaps(&self, o: &Rect) -> bool {
        self.x < o.x + o.w && o.x < self.x + self.w && self.y < o.y + o.h && o.y < self.y + self.h
    }
}

/// Every problem of `body`; empty when it is well formed. `alarm_arns` are the alarms that
/// exist for the same target (alarm widgets may only list those).
pub fn check_body(body: &Value, alarm_arns: &HashSet<String>) -> Vec<Problem> {
    let mut out = Vec::new();
    let Some(widgets) = body.get("widgets").and_then(Value::as_array) else {
        return vec![Problem::NoWidgets];
    };
    if widgets.len() > MAX_WIDGETS {
        out.push(Problem::TooManyWidgets(widgets.len()));
    }
    let mut rects: Vec<(usize, Rect)> = Vec::new();
    for (i, w) in widgets.iter().enumerate() {
        let bad = |message: String| Problem::Widget { widget: i, message };
        let num = |key: &str| w.get(key).and_then(Value::as_u64);
        match (num("x"), num("y"), num("width"), num("height")) {
            (Some(x), Some(y), Some(w), Some(h)) => {
                if w == 0 || h == 0 || x + w > u64::from(COLUMNS) || h > 1000 {
                    out.push(bad(format!(
                        "x {x} width {w} height {h} is outside the 24-column grid"
                    )));
                }
                rects.push((i, Rect { x, y, w, h }));
            }
            _ => out.push(bad("x, y, width and height must be whole numbers".into())),
        }
        let properties = w.get("properties");
        if !properties.is_some_and(Value::is_object) {
            out.push(bad("no properties object".into()));
            continue;
        }
        let p = |key: &str| properties.and_then(|p| p.get(key));
        match w.get("type").and_then(Value::as_str) {
            Some("metric") => {
                match p("metrics").and_then(Value::as_array) {
                    Some(rows) if !rows.is_empty() => check_rows(i, rows, &mut out),
                    _ => out.push(bad("a metric widget needs a non-empty metrics array".into())),
                }
                if let Some(view) = p("view").and_then(Value::as_str)
                    && !matches!(view, "timeSeries" | "singleValue" | "gauge" | "bar" | "pie")
                {
                    out.push(bad(format!("unknown view {view:?}")));
                }
                if !p("region").is_some_and(Value::is_string) {
                    out.push(bad("a metric widget needs a region".into()));
                }
            }
            Some("text") => {
                if !p("markdown").is_some_and(Value::is_string) {
                    out.push(bad("a text widget needs markdown".into()));
                }
            }
            Some("log") => match p("query").and_then(Value::as_str) {
                Some(q) if q.starts_with("SOURCE '") => {}
                _ => out.push(bad(
                    "a log widget needs a query starting with SOURCE '<log group>'".into(),
                )),
            },
            Some("alarm") => match p("alarms").and_then(Value::as_array) {
                Some(arns) if !arns.is_empty() && arns.len() <= 100 => {
                    for arn in arns {
                        let known = arn.as_str().is_some_and(|a| alarm_arns.contains(a));
                        if !known {
                            out.push(bad(format!("alarm {arn} is not in the alarm set")));
                        }
                    }
                }
                _ => out.push(bad("an alarm widget lists 1 to 100 alarm ARNs".into())),
            },
            other => out.push(bad(format!("unknown widget type {other:?}"))),
        }
    }
    for (a, (i, r)) in rects.iter().enumerate() {
        for (j, s) in &rects[a + 1..] {
            if r.overlaps(s) {
                out.push(Problem::Overlap(*i, *j));
            }
        }
    }
    out
}

/// CloudWatch's metric math ids: a lowercase letter, then letters, digits and underscores.
pub fn valid_id(id: &str) -> bool {
    id.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn check_rows(widget: usize, rows: &[Value], out: &mut Vec<Problem>) {
    let mut ids = HashSet::new();
    let mut expressions: Vec<(usize, String)> = Vec::new();
    for (r, row) in rows.iter().enumerate() {
        let mut bad = |message: String| {
            out.push(Problem::Row {
                widget,
                row: r,
                message,
            })
        };
        let Some(items) = row.as_array().filter(|a| !a.is_empty()) else {
            bad("a row is a non-empty array".into());
            continue;
        };
        let (options, head) = match items.split_last() {
            Some((last, head)) if last.is_object() => (Some(last), head),
            _ => (None, items.as_slice()),
        };
        if let Some(expression) = options.and_then(|o| o.get("expression")) {
            if !head.is_empty() {
                bad("an expression row holds only its options object".into());
            }
            match expression.as_str() {
                Some(text) => expressions.push((r, text.to_owned())),
                None => bad("expression must be a string".into()),
            }
            if options.and_then(|o| o.get("id")).is_none() {
                bad("an expression row needs an id".into());
            }
        } else {
            let strings: Option<Vec<&str>> = head.iter().map(Value::as_str).collect();
            match strings {
                None => bad("namespace, name and dimensions must be strings".into()),
                Some(s) if s.len() < 2 || s[0].is_empty() || s[1].is_empty() => {
                    bad("a metric row starts with a namespace and a metric name".into())
                }
                Some(s) if s.len() % 2 != 0 => bad("dimensions come in name/value pairs".into()),
                Some(s) if s[2..].iter().any(|d| d.is_empty()) => {
                    bad("empty dimension name or value".into())
                }
                Some(_) => {}
            }
        }
        if let Some(id) = options.and_then(|o| o.get("id")) {
            match id.as_str() {
                Some(id) if valid_id(id) => {
                    if !ids.insert(id.to_owned()) {
                        bad(format!("duplicate id {id:?}"));
                    }
                }
                _ => bad(format!("invalid id {id}: lowercase letter first")),
            }
        }
    }
    for (r, text) in expressions {
        let refs: BTreeSet<String> = match alarm_engine::Expr::parse(&text) {
            Ok(e) => e.references(),
            Err(e) => {
                out.push(Problem::Row {
                    widget,
                    row: r,
                    message: e.to_string(),
                });
                continue;
            }
        };
        for id in refs.iter().filter(|id| !ids.contains(*id)) {
            out.push(Problem::Row {
                widget,
                row: r,
                message: format!("expression {text:?} references unknown id {id:?}"),
            });
        }
    }
}
