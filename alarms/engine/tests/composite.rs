//! Composite alarm rules over child states.

use std::collections::HashMap;

use alarm_engine::{AlarmError, AlarmState, CompositeAlarm, Rule, evaluate_composite};

use AlarmState::{Alarm as A, InsufficientData as I, Ok as O};

fn states(pairs: &[(&str, AlarmState)]) -> HashMap<String, AlarmState> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

fn run(rule: &str, pairs: &[(&str, AlarmState)]) -> AlarmState {
    let s = states(pairs);
    let c = CompositeAlarm::new("pipeline-unhealthy", rule);
    evaluate_composite(&c, &|n| s.get(n).copied().unwrap_or(I))
        .unwrap()
        .state
}

#[test]
fn or_of_children() {
    let rule = "ALARM(api-5xx) OR ALARM(dlq-depth)";
    assert_eq!(run(rule, &[("api-5xx", O), ("dlq-depth", O)]), O);
    assert_eq!(run(rule, &[("api-5xx", A), ("dlq-depth", O)]), A);
    assert_eq!(run(rule, &[("api-5xx", O), ("dlq-depth", A)]), A);
    // INSUFFICIENT_DATA is not ALARM.
    assert_eq!(run(rule, &[("api-5xx", I), ("dlq-depth", I)]), O);
}

#[test]
fn and_not_and_parentheses() {
    let rule = "(ALARM(a) OR ALARM(b)) AND NOT ALARM(\"deploying\")";
    assert_eq!(run(rule, &[("a", A), ("b", O), ("deploying", O)]), A);
    assert_eq!(run(rule, &[("a", A), ("b", O), ("deploying", A)]), O);
    assert_eq!(run(rule, &[("a", O), ("b", O), ("deploying", O)]), O);
    // Without parentheses AND binds tighter: a OR (b AND NOT deploying).
    let loose = "ALARM(a) OR ALARM(b) AND NOT ALARM(deploying)";
    assert_eq!(run(loose, &[("a", A), ("b", O), ("deploying", A)]), A);
}

#[test]
fn ok_insufficient_data_true_false() {
    assert_eq!(run("OK(a)", &[("a", O)]), A);
    assert_eq!(run("INSUFFICIENT_DATA(a)", &[("a", I)]), A);
    assert_eq!(run("INSUFFICIENT_DATA(a)", &[("a", O)]), O);
    assert_eq!(run("TRUE", &[]), A);
    assert_eq!(run("FALSE", &[]), O);
    assert_eq!(run("NOT NOT TRUE", &[]), A);
}

#[test]
fn names_may_be_quoted_or_arns() {
    let r = Rule::parse(
        "ALARM(\"orders api 5xx\") OR ALARM(arn:aws:cloudwatch:eu-west-1:123456789012:alarm:dlq-depth)",
    )
    .unwrap();
    let refs: Vec<String> = r.references().into_iter().collect();
    assert_eq!(refs, ["dlq-depth", "orders api 5xx"]);
}

#[test]
fn reason_names_each_child_state() {
    let s = states(&[("a", A), ("b", O)]);
    let c = CompositeAlarm::new("c", "ALARM(a) OR ALARM(b)");
    let e = evaluate_composite(&c, &|n| s.get(n).copied().unwrap_or(I)).unwrap();
    assert!(e.reason.contains("TRUE"), "{}", e.reason);
    assert!(e.reason.contains("a is ALARM"), "{}", e.reason);
    assert!(e.reason.contains("b is OK"), "{}", e.reason);
}

#[test]
fn malformed_rules_are_parse_errors() {
    for bad in [
        "",
        "ALARM(a) OR",
        "ALARM()",
        "ALARM(a",
        "(ALARM(a)",
        "ALARMS(a)",
        "ALARM(a) XOR ALARM(b)",
        "ALARM(\"a)",
    ] {
        assert!(
            matches!(Rule::parse(bad), Err(AlarmError::Parse { .. })),
            "{bad:?} parsed"
        );
    }
}
