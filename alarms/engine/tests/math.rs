//! Metric math: parsing, precedence, missing values and the rate guard the alarms use.

use std::collections::HashMap;

use alarm_engine::{AlarmError, Expr};

fn eval_with(src: &str, vars: &[(&str, Option<f64>)]) -> Option<f64> {
    let vars: HashMap<String, Option<f64>> =
        vars.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    Expr::parse(src)
        .unwrap()
        .eval(&|id: &str| {
            vars.get(id)
                .copied()
                .ok_or_else(|| AlarmError::UnknownId(id.to_string()))
        })
        .unwrap()
}

fn eval(src: &str) -> Option<f64> {
    eval_with(src, &[])
}

#[test]
fn arithmetic_precedence_and_associativity() {
    assert_eq!(eval("1 + 2 * 3"), Some(7.0));
    assert_eq!(eval("(1 + 2) * 3"), Some(9.0));
    assert_eq!(eval("10 - 4 - 3"), Some(3.0));
    assert_eq!(eval("100 / 10 / 2"), Some(5.0));
    assert_eq!(eval("-2 * 3"), Some(-6.0));
    assert_eq!(eval("2 - -3"), Some(5.0));
    assert_eq!(eval("1.5e2 + .5"), Some(150.5));
}

#[test]
fn comparisons_and_logic_yield_one_or_zero() {
    assert_eq!(eval("3 > 2"), Some(1.0));
    assert_eq!(eval("3 < 2"), Some(0.0));
    assert_eq!(eval("2 >= 2"), Some(1.0));
    assert_eq!(eval("2 <= 1"), Some(0.0));
    assert_eq!(eval("2 == 2"), Some(1.0));
    assert_eq!(eval("2 != 2"), Some(0.0));
    assert_eq!(eval("1 > 0 AND 2 > 3"), Some(0.0));
    assert_eq!(eval("1 > 0 OR 2 > 3"), Some(1.0));
    assert_eq!(eval("1 > 0 && 2 > 1"), Some(1.0));
    assert_eq!(eval("0 || 0"), Some(0.0));
    // AND binds tighter than OR.
    assert_eq!(eval("1 OR 0 AND 0"), Some(1.0));
    // Arithmetic binds tighter than comparison.
    assert_eq!(eval("1 + 1 == 2"), Some(1.0));
}

#[test]
fn guarded_error_rate() {
    let rate = "IF(invocations >= 10, 100 * errors / invocations, 0)";
    assert_eq!(
        eval_with(rate, &[("invocations", Some(20.0)), ("errors", Some(5.0))]),
        Some(25.0)
    );
    // Below the minimum sample count the rate is 0, however many errors.
    assert_eq!(
        eval_with(rate, &[("invocations", Some(4.0)), ("errors", Some(4.0))]),
        Some(0.0)
    );
    // No invocations at all: the condition is missing, so the datapoint is missing.
    assert_eq!(
        eval_with(rate, &[("invocations", None), ("errors", None)]),
        None
    );
    // FILL turns "no errors reported" into 0 so the rate exists.
    let filled = "IF(FILL(invocations, 0) >= 10, 100 * FILL(errors, 0) / invocations, 0)";
    assert_eq!(
        eval_with(filled, &[("invocations", Some(50.0)), ("errors", None)]),
        Some(0.0)
    );
    assert_eq!(
        eval_with(filled, &[("invocations", None), ("errors", None)]),
        Some(0.0)
    );
}

#[test]
fn if_with_two_arguments_and_compound_condition() {
    assert_eq!(eval("IF(0, 5)"), None);
    assert_eq!(eval("IF(1, 5)"), Some(5.0));
    assert_eq!(
        eval_with(
            "IF(a > 1 AND b < 10, a + b, -1)",
            &[("a", Some(2.0)), ("b", Some(3.0))]
        ),
        Some(5.0)
    );
    assert_eq!(eval("ABS(0 - 4)"), Some(4.0));
}

#[test]
fn missing_inputs_and_division_by_zero_are_missing() {
    assert_eq!(eval_with("m1 + 1", &[("m1", None)]), None);
    assert_eq!(eval("1 / 0"), None);
    assert_eq!(eval("0 / 0"), None);
    assert_eq!(eval_with("FILL(m1, 7)", &[("m1", None)]), Some(7.0));
    assert_eq!(eval_with("FILL(m1, 7)", &[("m1", Some(2.0))]), Some(2.0));
}

#[test]
fn references_lists_every_id() {
    let e = Expr::parse("IF(invocations >= 10, 100 * FILL(errors, 0) / invocations, 0)").unwrap();
    let refs: Vec<String> = e.references().into_iter().collect();
    assert_eq!(refs, ["errors", "invocations"]);
}

#[test]
fn parse_errors_are_typed_with_positions() {
    for bad in [
        "1 +", "(1 + 2", "IF(1)", "FILL(a)", "FOO(1)", "1 $ 2", "a b", "",
    ] {
        match Expr::parse(bad) {
            Err(AlarmError::Parse { expression, .. }) => assert_eq!(expression, bad),
            other => panic!("{bad:?} parsed as {other:?}"),
        }
    }
    match Expr::parse("1 + $") {
        Err(AlarmError::Parse { position, .. }) => assert_eq!(position, 4),
        other => panic!("{other:?}"),
    }
}
