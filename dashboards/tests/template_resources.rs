//! The generated block reads back from template.yaml as what the generator meant: the bodies
//! parse as the rendered JSON, every `${..}` names something the template defines, and the
//! Service dimension matches the functions' SERVICE_NAME.

use std::collections::HashSet;
use std::path::Path;

use dashboards::{Dashboard, Target};
use serde_norway::Value;

fn template() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml");
    serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn dashboard_bodies_read_back_as_rendered() {
    let t = template();
    for d in Dashboard::ALL {
        let r = &t["Resources"][d.logical_id()];
        assert_eq!(r["Type"].as_str(), Some("AWS::CloudWatch::Dashboard"));
        let text = r["Properties"]["DashboardBody"]["Fn::Sub"]
            .as_str()
            .unwrap();
        let body: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(body, d.render(Target::Aws), "{d:?}");
    }
}

#[test]
fn every_placeholder_names_a_resource_parameter_or_pseudo_parameter() {
    let t = template();
    let mut known: HashSet<String> = [
        "AWS::Region",
        "AWS::StackName",
        "AWS::Partition",
        "AWS::AccountId",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    for section in ["Resources", "Parameters"] {
        for (k, _) in t[section].as_mapping().unwrap() {
            known.insert(k.as_str().unwrap().to_owned());
        }
    }
    let mut text = String::new();
    for d in Dashboard::ALL {
        text.push_str(&d.render(Target::Aws).to_string());
    }
    for (_, r) in dashboards::template::resources() {
        text.push_str(&r.to_string());
    }
    for piece in text.split("${").skip(1) {
        let name = piece.split('}').next().unwrap();
        let name = name.split('.').next().unwrap();
        assert!(
            known.contains(name),
            "${{{name}}} is not defined in template.yaml"
        );
    }
}

#[test]
fn alarms_notify_the_topic_and_the_service_dimension_matches_the_functions() {
    let t = template();
    assert_eq!(
        t["Resources"]["AlarmTopic"]["Type"].as_str(),
        Some("AWS::SNS::Topic")
    );
    let service = &t["Globals"]["Function"]["Environment"]["Variables"]["SERVICE_NAME"];
    assert_eq!(service.as_str(), Some(dashboards::names::SERVICE));
    for (id, r) in dashboards::template::resources() {
        if id.ends_with("Alarm") {
            assert_eq!(
                r["Properties"]["AlarmActions"][0]["Ref"], "AlarmTopic",
                "{id}"
            );
        }
    }
}
