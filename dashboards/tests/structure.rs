//! Every generated dashboard body passes the structural check, for AWS and for the local stack.

use std::collections::HashSet;

use dashboards::check::{MAX_WIDGETS, Problem, check_body};
use dashboards::{Dashboard, Target, alarm_set};
use serde_json::json;

fn alarm_arns(target: Target) -> HashSet<String> {
    let prefix = target.alarm_name("");
    alarm_set(target)
        .iter()
        .map(|a| target.alarm_arn(a.name().strip_prefix(&prefix).unwrap_or(a.name())))
        .collect()
}

#[test]
fn every_dashboard_body_is_well_formed() {
    for target in Target::ALL {
        let arns = alarm_arns(target);
        for d in Dashboard::ALL {
            let body = d.render(target);
            let problems = check_body(&body, &arns);
            assert!(problems.is_empty(), "{d:?} for {target:?}: {problems:#?}");
            let widgets = body["widgets"].as_array().unwrap();
            assert!(!widgets.is_empty() && widgets.len() <= MAX_WIDGETS);
        }
    }
}

#[test]
fn the_operations_dashboard_shows_every_alarm() {
    for target in Target::ALL {
        let body = Dashboard::Operations.render(target);
        let shown: HashSet<String> = body["widgets"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|w| w["type"] == "alarm")
            .flat_map(|w| w["properties"]["alarms"].as_array().unwrap().clone())
            .map(|a| a.as_str().unwrap().to_owned())
            .collect();
        assert_eq!(shown, alarm_arns(target));
    }
}

#[test]
fn local_bodies_hold_no_placeholders() {
    for d in Dashboard::ALL {
        let text = d.render(Target::Local).to_string();
        assert!(!text.contains("${"), "{d:?}");
    }
}

#[test]
fn the_check_catches_what_cloudwatch_would_reject_or_draw_empty() {
    let widget = |x: u64, y: u64, w: u64, metrics: serde_json::Value| {
        json!({ "type": "metric", "x": x, "y": y, "width": w, "height": 6,
                "properties": { "region": "local", "metrics": metrics } })
    };
    let ok = json!([["NS", "Name", "Dim", "v", { "id": "m1" }]]);
    let arns = HashSet::new();
    let count = |body| check_body(&body, &arns).len();
    assert_eq!(
        count(json!({ "widgets": [widget(0, 0, 24, ok.clone())] })),
        0
    );
    // Off the grid, overlapping.
    assert_eq!(
        count(json!({ "widgets": [widget(20, 0, 8, ok.clone())] })),
        1
    );
    assert_eq!(
        check_body(
            &json!({ "widgets": [widget(0, 0, 12, ok.clone()), widget(6, 3, 12, ok.clone())] }),
            &arns
        ),
        vec![Problem::Overlap(0, 1)]
    );
    // A dangling dimension name, a bad id, an expression over a missing id, an unknown alarm.
    assert_eq!(
        count(json!({ "widgets": [widget(0, 0, 24, json!([["NS", "Name", "Dim"]]))] })),
        1
    );
    assert_eq!(
        count(json!({ "widgets": [widget(0, 0, 24, json!([["NS", "N", { "id": "M1" }]]))] })),
        1
    );
    assert_eq!(
        count(json!({ "widgets": [widget(0, 0, 24, json!([
            ["NS", "N", { "id": "m1" }],
            [{ "expression": "m1 + m2", "id": "e1" }],
            [{ "expression": "m1", "id": "e1" }],
        ]))] })),
        2
    );
    let alarm = json!({ "type": "alarm", "x": 0, "y": 0, "width": 24, "height": 3,
                        "properties": { "alarms": ["arn:nope"] } });
    assert_eq!(count(json!({ "widgets": [alarm] })), 1);
    let too_many: Vec<_> = (0..501).map(|i| widget(0, i * 6, 24, ok.clone())).collect();
    assert!(
        check_body(&json!({ "widgets": too_many }), &arns).contains(&Problem::TooManyWidgets(501))
    );
}

/// The log widgets of the operations dashboard on `target`: (title, query).
fn log_queries(target: Target) -> Vec<(String, String)> {
    Dashboard::Operations.render(target)["widgets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["type"] == "log")
        .map(|w| {
            (
                w["properties"]["title"].as_str().unwrap().to_owned(),
                w["properties"]["query"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn the_traces_row_leads_from_a_failure_to_its_trace_on_both_targets() {
    for target in Target::ALL {
        let queries = log_queries(target);
        assert!(
            queries
                .iter()
                .any(|(_, q)| q.contains("trace_id") && q.contains("level = \"ERROR\"")),
            "{target:?}: {queries:#?}"
        );
    }
}

#[test]
fn span_queries_read_transaction_search_on_aws_only_and_keep_the_layout() {
    let spans = format!("SOURCE '{}'", dashboards::operations::SPANS_LOG_GROUP);
    let aws: Vec<_> = log_queries(Target::Aws)
        .into_iter()
        .filter(|(_, q)| q.starts_with(&spans))
        .collect();
    assert_eq!(aws.len(), 2, "{aws:#?}");
    for (title, query) in &aws {
        // aws/spans holds every span of the account and region: only this stack's count.
        assert!(
            query.contains("`resource.attributes.service.namespace` = \"orders\"")
                && query.contains(
                    "`resource.attributes.deployment.environment.name` = \"${Environment}\""
                ),
            "{title}: {query}"
        );
    }
    assert!(aws.iter().any(|(_, q)| q.contains("pct(duration_ms, 99)")));
    // The local console runs no span query (no aws/spans there, no pct()): a note holds
    // the place, so both bodies have the same widgets in the same places.
    assert!(
        log_queries(Target::Local)
            .iter()
            .all(|(_, q)| !q.contains(&spans)),
        "local"
    );
    let places = |target| -> Vec<(u64, u64, u64, u64)> {
        Dashboard::Operations.render(target)["widgets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| {
                let n = |k: &str| w[k].as_u64().unwrap();
                (n("x"), n("y"), n("width"), n("height"))
            })
            .collect()
    };
    assert_eq!(places(Target::Aws), places(Target::Local));
}
