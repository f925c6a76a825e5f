//! Rendering to CloudFormation resources, and validation of math alarms.

use std::collections::BTreeMap;

use alarms::cfn::ToCloudFormation;
use alarms::{
    AlarmSource, ComparisonOperator, CompositeAlarm, Metric, MetricAlarm, MetricQuery, MetricStat,
    Statistic, TreatMissingData,
};
use serde_json::json;

fn lambda(name: &str) -> Metric {
    Metric::new("AWS/Lambda", name).dimension("FunctionName", "${OrdersApiFunction}")
}

fn error_rate() -> MetricAlarm {
    MetricAlarm::new(
        "${AWS::StackName}-orders-api-error-rate",
        AlarmSource::Math(vec![
            MetricQuery::metric(
                "invocations",
                MetricStat::new(lambda("Invocations"), 60, Statistic::Sum),
            ),
            MetricQuery::metric(
                "errors",
                MetricStat::new(lambda("Errors"), 60, Statistic::Sum),
            ),
            MetricQuery::expression(
                "rate",
                "IF(invocations >= 10, 100 * errors / invocations, 0)",
            )
            .label("Error rate (%)")
            .returning(),
        ]),
        ComparisonOperator::GreaterThanThreshold,
        5.0,
    )
    .description("More than 5% of orders-api invocations failed")
    .datapoints(2, 3)
    .missing_data(TreatMissingData::NotBreaching)
}

fn subs() -> BTreeMap<String, serde_json::Value> {
    BTreeMap::from([(
        "OrdersApiFunction".to_string(),
        json!({ "Ref": "OrdersApiFunction" }),
    )])
}

#[test]
fn math_alarm_renders_metrics_list() {
    let a = error_rate();
    a.validate().unwrap();
    let r = a.to_cloudformation(&subs());
    assert_eq!(r["Type"], "AWS::CloudWatch::Alarm");
    let p = &r["Properties"];
    assert_eq!(
        p["AlarmName"],
        json!({ "Fn::Sub": "${AWS::StackName}-orders-api-error-rate" })
    );
    assert_eq!(p["EvaluationPeriods"], 3);
    assert_eq!(p["DatapointsToAlarm"], 2);
    assert_eq!(p["TreatMissingData"], "notBreaching");
    assert_eq!(p["ComparisonOperator"], "GreaterThanThreshold");
    assert_eq!(p["Threshold"], 5.0);
    assert!(p.get("Statistic").is_none());
    let metrics = p["Metrics"].as_array().unwrap();
    assert_eq!(metrics.len(), 3);
    assert_eq!(
        metrics[0],
        json!({
            "Id": "invocations",
            "MetricStat": {
                "Metric": {
                    "Namespace": "AWS/Lambda",
                    "MetricName": "Invocations",
                    "Dimensions": [{ "Name": "FunctionName", "Value": { "Ref": "OrdersApiFunction" } }]
                },
                "Period": 60,
                "Stat": "Sum"
            },
            "ReturnData": false
        })
    );
    assert_eq!(
        metrics[2]["Expression"],
        "IF(invocations >= 10, 100 * errors / invocations, 0)"
    );
    assert_eq!(metrics[2]["ReturnData"], true);
    assert_eq!(metrics[2]["Label"], "Error rate (%)");
}

#[test]
fn percentile_goes_to_extended_statistic() {
    let a = MetricAlarm::new(
        "api-p99",
        AlarmSource::Metric(MetricStat::new(
            Metric::new("AWS/ApiGateway", "Latency").dimension("ApiId", "${HttpApi}"),
            60,
            Statistic::Percentile(99.0),
        )),
        ComparisonOperator::GreaterThanThreshold,
        1000.0,
    );
    let p = &a.to_cloudformation(&BTreeMap::new())["Properties"];
    assert_eq!(p["ExtendedStatistic"], "p99");
    assert!(p.get("Statistic").is_none());
    assert_eq!(p["Namespace"], "AWS/ApiGateway");
    assert_eq!(
        p["Dimensions"][0]["Value"],
        json!({ "Fn::Sub": "${HttpApi}" })
    );
    assert_eq!(p["Period"], 60);
    assert_eq!(p["DatapointsToAlarm"], 1);
    assert_eq!(p["TreatMissingData"], "missing");
}

#[test]
fn composite_renders_rule() {
    let c = CompositeAlarm::new("pipeline-unhealthy", "ALARM(a) OR ALARM(b)").description("d");
    let r = c.to_cloudformation(&BTreeMap::new());
    assert_eq!(r["Type"], "AWS::CloudWatch::CompositeAlarm");
    assert_eq!(r["Properties"]["AlarmRule"], "ALARM(a) OR ALARM(b)");
    assert_eq!(r["Properties"]["AlarmDescription"], "d");
}

#[test]
fn math_validation_catches_bad_queries() {
    let mut a = error_rate();
    let AlarmSource::Math(q) = &mut a.source else {
        unreachable!()
    };
    q[2].kind = alarms::QueryKind::Expression("100 * errors / calls".into());
    assert!(a.validate().is_err(), "unknown id");

    let mut a = error_rate();
    let AlarmSource::Math(q) = &mut a.source else {
        unreachable!()
    };
    q[0].return_data = true;
    assert!(a.validate().is_err(), "two ReturnData");

    let mut a = error_rate();
    let AlarmSource::Math(q) = &mut a.source else {
        unreachable!()
    };
    q[1].id = "Errors".into();
    assert!(a.validate().is_err(), "ids start lowercase");

    let mut a = error_rate();
    let AlarmSource::Math(q) = &mut a.source else {
        unreachable!()
    };
    q[1] = MetricQuery::metric(
        "errors",
        MetricStat::new(lambda("Errors"), 300, Statistic::Sum),
    );
    assert!(a.validate().is_err(), "mixed periods");
}

#[test]
fn definitions_round_trip_through_serde() {
    let a = error_rate();
    let json = serde_json::to_string(&a).unwrap();
    let back: MetricAlarm = serde_json::from_str(&json).unwrap();
    assert_eq!(a, back);
}
