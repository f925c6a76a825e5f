//! `template.yaml` (what AWS runs) must agree with `orders::settings` (what the local stack
//! runs): function timeouts, memory and binaries, the queue and its event source, the
//! publisher's stream event source, the routes, the table design and the environment variables. Every
//! comparison reads both sides, so changing either one alone fails here.
//!
//! CloudFormation's short-form tags (`!Ref`, `!Sub`, `!GetAtt`, `!If`) parse as tagged values.

use orders::settings::{CORS, Function, PUBLISHER, QUEUE, ROUTES, env, table};
use serde_norway::{Mapping, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

// ---- reading the template ----------------------------------------------------------------

struct Template {
    root: Value,
}

impl Template {
    fn load() -> Template {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let root: Value = serde_norway::from_str(&text)
            .unwrap_or_else(|e| panic!("{} is not valid YAML: {e}", path.display()));
        Template { root }
    }

    /// The template as CloudFormation reads it with `TableMigrationStage=stage` and every other
    /// parameter at its default: each `!If` decided, each `!Ref AWS::NoValue` gone.
    fn at_stage(&self, stage: &str) -> Template {
        let mut params: BTreeMap<String, String> = BTreeMap::new();
        for (name, p) in self.root["Parameters"].as_mapping().expect("Parameters") {
            let default = match &p["Default"] {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => continue,
            };
            params.insert(name.as_str().expect("parameter name").to_owned(), default);
        }
        params.insert(MIGRATION_PARAMETER.to_owned(), stage.to_owned());
        let sources = self.root["Conditions"].as_mapping().expect("Conditions");
        let conditions: BTreeMap<String, bool> = sources
            .iter()
            .map(|(name, c)| {
                (
                    name.as_str().expect("condition name").to_owned(),
                    condition(c, &params, sources),
                )
            })
            .collect();
        Template {
            root: resolve(&self.root, &conditions).expect("a template"),
        }
    }

    fn resources(&self) -> &Mapping {
        self.root["Resources"]
            .as_mapping()
            .expect("template has Resources")
    }

    fn resource(&self, logical_id: &str) -> &Value {
        let r = &self.root["Resources"][logical_id];
        assert!(!r.is_null(), "template has no resource {logical_id}");
        r
    }

    /// Logical ids and bodies of every resource of one type.
    fn of_type<'a>(&'a self, ty: &'a str) -> impl Iterator<Item = (&'a str, &'a Value)> + 'a {
        self.resources()
            .iter()
            .filter(move |(_, r)| r["Type"].as_str() == Some(ty))
            .map(|(id, r)| (id.as_str().expect("string logical id"), r))
    }

    fn globals(&self) -> &Value {
        &self.root["Globals"]["Function"]
    }

    /// The function resource whose build Metadata names `f`'s binary.
    fn function(&self, f: Function) -> (&str, &Value) {
        let mut found = self
            .of_type("AWS::Serverless::Function")
            .filter(|(_, r)| r["Metadata"]["BuildProperties"]["Binary"].as_str() == Some(f.name()));
        let one = found
            .next()
            .unwrap_or_else(|| panic!("no function in template.yaml builds binary {}", f.name()));
        assert!(
            found.next().is_none(),
            "two functions build binary {}",
            f.name()
        );
        one
    }

    /// A function property, falling back to `Globals.Function` as SAM does.
    fn function_property<'a>(&'a self, function: &'a Value, key: &str) -> &'a Value {
        let own = &function["Properties"][key];
        if own.is_null() {
            &self.globals()[key]
        } else {
            own
        }
    }

    /// Environment variable names a function gets: Globals merged with its own.
    fn env_names(&self, function: &Value) -> BTreeSet<String> {
        let mut names = BTreeSet::new();
        for vars in [
            &self.globals()["Environment"]["Variables"],
            &function["Properties"]["Environment"]["Variables"],
        ] {
            if let Some(map) = vars.as_mapping() {
                names.extend(
                    map.keys()
                        .map(|k| k.as_str().expect("string env name").to_owned()),
                );
            }
        }
        names
    }

    /// The events of one type attached to a function.
    fn events<'a>(&'a self, function: &'a Value, ty: &'a str) -> Vec<&'a Value> {
        function["Properties"]["Events"]
            .as_mapping()
            .map(|events| {
                events
                    .values()
                    .filter(|e| e["Type"].as_str() == Some(ty))
                    .collect()
            })
            .unwrap_or_default()
    }
}

const MIGRATION_PARAMETER: &str = "TableMigrationStage";

/// A condition's value (`!Equals`, `!Or`, `!And`, `!Not`, `!Condition`, as this template
/// writes them) for the given parameters.
fn condition(v: &Value, params: &BTreeMap<String, String>, all: &Mapping) -> bool {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        _ => {
            let name = tagged_str(v, "Ref", format!("a !Ref or a literal, not {v:?}"));
            params
                .get(name)
                .unwrap_or_else(|| panic!("no parameter {name}"))
                .clone()
        }
    };
    let Value::Tagged(t) = v else {
        panic!("a condition function, not {v:?}")
    };
    let args = || t.value.as_sequence().expect("a list of arguments");
    match t.tag.to_string().trim_start_matches('!') {
        "Equals" => text(&args()[0]) == text(&args()[1]),
        "Or" => args().iter().any(|c| condition(c, params, all)),
        "And" => args().iter().all(|c| condition(c, params, all)),
        "Not" => !condition(&args()[0], params, all),
        "Condition" => {
            let name = t.value.as_str().expect("a condition name");
            condition(&all[name], params, all)
        }
        other => panic!("condition function {other} is not read by this test"),
    }
}

/// `v` with each `!If` decided by `conditions`; `None` for `!Ref AWS::NoValue`.
fn resolve(v: &Value, conditions: &BTreeMap<String, bool>) -> Option<Value> {
    match v {
        Value::Tagged(t) if t.tag == "If" => {
            let args = t.value.as_sequence().expect("!If [condition, then, else]");
            let name = args[0].as_str().expect("an !If condition name");
            let chosen = if conditions[name] { &args[1] } else { &args[2] };
            resolve(chosen, conditions)
        }
        Value::Tagged(t) if t.tag == "Ref" && t.value.as_str() == Some("AWS::NoValue") => None,
        Value::Tagged(t) => Some(Value::Tagged(Box::new(serde_norway::value::TaggedValue {
            tag: t.tag.clone(),
            value: resolve(&t.value, conditions)?,
        }))),
        Value::Sequence(items) => Some(Value::Sequence(
            items
                .iter()
                .filter_map(|i| resolve(i, conditions))
                .collect(),
        )),
        Value::Mapping(m) => Some(Value::Mapping(
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), resolve(v, conditions)?)))
                .collect(),
        )),
        other => Some(other.clone()),
    }
}

/// The inside of a short-form tag such as `!Ref X` or `!GetAtt X.Arn`.
fn tagged<'a>(v: &'a Value, tag: &str) -> Option<&'a Value> {
    match v {
        Value::Tagged(t) if t.tag == tag => Some(&t.value),
        _ => None,
    }
}

/// The string inside a short-form tag (`!Ref X`, `!Sub "..."`); fails saying `what` it should
/// have been.
fn tagged_str<'a>(v: &'a Value, tag: &str, what: impl std::fmt::Display) -> &'a str {
    tagged(v, tag)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{what}"))
}

/// The logical id in `!GetAtt Id.Arn`.
fn get_att_arn(v: &Value) -> &str {
    tagged(v, "GetAtt")
        .and_then(Value::as_str)
        .and_then(|s| s.strip_suffix(".Arn"))
        .unwrap_or_else(|| panic!("expected !GetAtt <Id>.Arn, got {v:?}"))
}

/// An event source's `FunctionResponseTypes`.
fn response_types(p: &Value) -> Vec<&str> {
    p["FunctionResponseTypes"]
        .as_sequence()
        .map(|s| s.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

fn number(v: &Value, what: &str) -> u64 {
    v.as_u64()
        .unwrap_or_else(|| panic!("{what}: expected a number, got {v:?}"))
}

fn secs(d: Duration) -> u64 {
    d.as_secs()
}

/// Every name in `orders::settings::env` that the template may set.
const DEPLOYED_ENV: [&str; 7] = [
    env::ORDERS_TABLE,
    env::ORDERS_LISTING,
    env::ORDERS_QUEUE_URL,
    env::ORDERS_DLQ_URL,
    env::SERVICE_NAME,
    env::ENVIRONMENT,
    env::PAGE_TOKEN_SECRET_ARN,
];

/// The chaos flags (`CHAOS_ARMED`, `CHAOS_PARAMETER` and any deploy-time `CHAOS_*` fault)
/// belong to the chaos crate, not to `settings::env`.
const CHAOS_PREFIX: &str = "CHAOS_";

/// What each Lambda binary reads at start-up (functions/lambdas: `store`, `queue`,
/// `page_tokens`), so the template must set it.
fn required_env(f: Function) -> Vec<&'static str> {
    let mut v = vec![
        env::SERVICE_NAME,
        env::ENVIRONMENT,
        env::ORDERS_TABLE,
        "CHAOS_ARMED",
        "CHAOS_PARAMETER",
    ];
    match f {
        Function::Health | Function::OrderPublisher => v.push(env::ORDERS_QUEUE_URL),
        Function::ListOrders => v.push(env::PAGE_TOKEN_SECRET_ARN),
        Function::CreateOrder | Function::GetOrder | Function::OrderProcessor => {}
    }
    v
}

// ---- functions ---------------------------------------------------------------------------

#[test]
fn every_function_is_in_the_template_and_nothing_else() {
    let t = Template::load();
    let in_template: BTreeSet<&str> = t
        .of_type("AWS::Serverless::Function")
        .map(|(id, r)| {
            assert_eq!(
                r["Metadata"]["BuildMethod"].as_str(),
                Some("rust-cargolambda"),
                "{id}: built by cargo-lambda"
            );
            r["Metadata"]["BuildProperties"]["Binary"]
                .as_str()
                .unwrap_or_else(|| panic!("{id}: Metadata.BuildProperties.Binary names its binary"))
        })
        .collect();
    let in_settings: BTreeSet<&str> = Function::ALL.iter().map(|f| f.name()).collect();
    assert_eq!(in_template, in_settings);
}

#[test]
fn timeouts_and_memory_match_settings() {
    let t = Template::load();
    for f in Function::ALL {
        let (id, r) = t.function(f);
        let timeout = number(t.function_property(r, "Timeout"), &format!("{id}.Timeout"));
        assert_eq!(timeout, secs(f.timeout()), "{id} ({}) Timeout", f.name());
        let memory = number(
            t.function_property(r, "MemorySize"),
            &format!("{id}.MemorySize"),
        );
        assert_eq!(
            memory,
            u64::from(f.memory_mb()),
            "{id} ({}) MemorySize",
            f.name()
        );
    }
}

#[test]
fn function_and_log_group_names_carry_the_function_name() {
    let t = Template::load();
    for f in Function::ALL {
        let (id, r) = t.function(f);
        let name = tagged_str(
            &r["Properties"]["FunctionName"],
            "Sub",
            format_args!("{id}: FunctionName is a !Sub"),
        );
        assert!(
            name.ends_with(&format!("-{}", f.name())),
            "{id}: FunctionName {name}"
        );
        let group = tagged_str(
            &r["Properties"]["LoggingConfig"]["LogGroup"],
            "Ref",
            format_args!("{id}: LoggingConfig.LogGroup is a !Ref to its log group"),
        );
        let group_name = tagged_str(
            &t.resource(group)["Properties"]["LogGroupName"],
            "Sub",
            format_args!("{group}: LogGroupName is a !Sub"),
        );
        assert_eq!(
            group_name,
            format!("/aws/lambda/{name}"),
            "{group} is {id}'s own log group"
        );
    }
}

/// On AWS no function reserves concurrency (settings: the API functions share the account's
/// pool; the processor is capped by the event source's MaximumConcurrency).
#[test]
fn no_function_reserves_concurrency() {
    let t = Template::load();
    assert!(t.globals()["ReservedConcurrentExecutions"].is_null());
    for (id, r) in t.of_type("AWS::Serverless::Function") {
        assert!(
            r["Properties"]["ReservedConcurrentExecutions"].is_null(),
            "{id} reserves concurrency"
        );
    }
}

// ---- environment -------------------------------------------------------------------------

#[test]
fn environment_variables_are_the_ones_settings_names() {
    let t = Template::load();
    for f in Function::ALL {
        let (id, r) = t.function(f);
        let names = t.env_names(r);
        for name in &names {
            assert!(
                DEPLOYED_ENV.contains(&name.as_str())
                    || name.starts_with(CHAOS_PREFIX)
                    || name == telemetry::trace::otlp::TRACES_ENDPOINT,
                "{id} sets {name}, which orders::settings::env does not define"
            );
        }
        // Every function's spans leave for X-Ray (telemetry::trace::otlp reads it).
        assert!(
            names
                .iter()
                .any(|n| n == telemetry::trace::otlp::TRACES_ENDPOINT),
            "{id} does not set {}",
            telemetry::trace::otlp::TRACES_ENDPOINT
        );
        for name in required_env(f) {
            assert!(names.contains(name), "{id} ({}) needs {name}", f.name());
        }
        assert!(
            !names.contains(env::AWS_ENDPOINT_URL),
            "{id}: AWS_ENDPOINT_URL is for moto/LocalStack only, never on Lambda"
        );
    }
    // Only list-orders may learn where the page token key is.
    for f in Function::ALL {
        let (id, r) = t.function(f);
        let has = t.env_names(r).contains(env::PAGE_TOKEN_SECRET_ARN);
        assert_eq!(
            has,
            f == Function::ListOrders,
            "{id}: PAGE_TOKEN_SECRET_ARN"
        );
    }
}

#[test]
fn chaos_is_disarmed_by_default() {
    let t = Template::load();
    let armed = &t.globals()["Environment"]["Variables"]["CHAOS_ARMED"];
    let param = tagged_str(armed, "Ref", "CHAOS_ARMED: !Ref <param>");
    assert_eq!(
        t.root["Parameters"][param]["Default"].as_str(),
        Some("false")
    );
}

/// A string or a list of strings (IAM's `Action` and `Resource`), tags kept.
fn one_or_many(v: &Value) -> Vec<&Value> {
    match v {
        Value::Sequence(s) => s.iter().collect(),
        Value::Null => Vec::new(),
        other => vec![other],
    }
}

/// The live override: `CHAOS_PARAMETER` names an SSM parameter the stack creates, holding "no
/// override" until `workshop chaos on --aws` writes it; the functions may read it and nothing
/// else in SSM, and may never write it (the operator does, with their own credentials).
#[test]
fn chaos_parameter_is_created_unset_and_only_readable() {
    let t = Template::load();
    let name = &t.globals()["Environment"]["Variables"]["CHAOS_PARAMETER"];
    let id = tagged_str(name, "Ref", "CHAOS_PARAMETER: !Ref <AWS::SSM::Parameter>");
    let param = t.resource(id);
    assert_eq!(
        param["Type"].as_str(),
        Some("AWS::SSM::Parameter"),
        "{id} (CHAOS_PARAMETER) is an SSM parameter"
    );
    let p = &param["Properties"];
    assert_eq!(
        p["Type"].as_str(),
        Some("String"),
        "{id}: read without decryption"
    );
    assert_eq!(p["Tier"].as_str(), Some("Standard"), "{id}: the free tier");
    let value = p["Value"].as_str().expect("Value is a string");
    let value: serde_json::Value = serde_json::from_str(value)
        .unwrap_or_else(|e| panic!("{id}.Value is not JSON ({e}): {value}"));
    assert_eq!(
        value,
        serde_json::json!({"state": "unset"}),
        "{id} starts with no override"
    );
    // The grants below build the ARN as `parameter${Id}`, right only for a name with a slash.
    let param_name = tagged_str(
        &p["Name"],
        "Sub",
        format_args!("{id}.Name is a !Sub of the stack name"),
    );
    assert!(
        param_name.starts_with('/') && param_name.contains("${AWS::StackName}"),
        "{id}.Name {param_name}: /<stack>/... (a hierarchy, one per stack)"
    );
    let expected_arn = format!(
        "arn:${{AWS::Partition}}:ssm:${{AWS::Region}}:${{AWS::AccountId}}:parameter${{{id}}}"
    );

    for f in Function::ALL {
        let (fid, r) = t.function(f);
        let policies = r["Properties"]["Policies"]
            .as_sequence()
            .unwrap_or_else(|| panic!("{fid}: Policies is a list"));
        let mut reads = 0;
        for policy in policies {
            let statements = policy["Statement"]
                .as_sequence()
                .unwrap_or_else(|| panic!("{fid}: every policy is an inline Statement list"));
            for st in statements {
                let actions: Vec<&str> = one_or_many(&st["Action"])
                    .into_iter()
                    .map(|a| a.as_str().expect("Action is a string"))
                    .collect();
                let ssm: Vec<&str> = actions
                    .iter()
                    .copied()
                    .filter(|a| a.to_ascii_lowercase().starts_with("ssm:") || *a == "*")
                    .collect();
                if ssm.is_empty() {
                    continue;
                }
                assert_eq!(
                    ssm,
                    ["ssm:GetParameter"],
                    "{fid}: the only SSM action a function may have is ssm:GetParameter \
                     (never PutParameter, ssm:* or *)"
                );
                assert_eq!(
                    st["Effect"].as_str(),
                    Some("Allow"),
                    "{fid}: {:?}",
                    st["Sid"]
                );
                let resources: Vec<&str> = one_or_many(&st["Resource"])
                    .into_iter()
                    .map(|r| {
                        tagged(r, "Sub").and_then(Value::as_str).unwrap_or_else(|| {
                            panic!("{fid}: SSM Resource is a !Sub ARN, got {r:?}")
                        })
                    })
                    .collect();
                assert_eq!(
                    resources,
                    [expected_arn.as_str()],
                    "{fid}: ssm:GetParameter on the chaos parameter only"
                );
                reads += 1;
            }
        }
        assert_eq!(reads, 1, "{fid} ({}) reads {id} once", f.name());
    }

    assert_eq!(
        tagged(&t.root["Outputs"]["ChaosParameterName"]["Value"], "Ref").and_then(Value::as_str),
        Some(id),
        "the ChaosParameterName output is what `workshop chaos on --aws --parameter` takes"
    );
}

// ---- queue and event source ----------------------------------------------------------------

/// The orders queue: the one with a redrive policy. Returns it and its DLQ.
fn queues(t: &Template) -> ((&str, &Value), (&str, &Value)) {
    let mut with_redrive = t
        .of_type("AWS::SQS::Queue")
        .filter(|(_, q)| !q["Properties"]["RedrivePolicy"].is_null());
    let queue = with_redrive.next().expect("a queue with a RedrivePolicy");
    assert!(
        with_redrive.next().is_none(),
        "exactly one queue redrives to a DLQ"
    );
    let dlq_id = get_att_arn(&queue.1["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]);
    let dlq = (dlq_id, t.resource(dlq_id));
    (queue, dlq)
}

#[test]
fn queue_matches_settings() {
    let t = Template::load();
    let ((qid, q), (did, dlq)) = queues(&t);
    let p = &q["Properties"];
    assert_eq!(
        number(&p["VisibilityTimeout"], "VisibilityTimeout"),
        secs(QUEUE.visibility_timeout),
        "{qid}.VisibilityTimeout"
    );
    assert_eq!(
        number(&p["RedrivePolicy"]["maxReceiveCount"], "maxReceiveCount"),
        u64::from(QUEUE.max_receive_count),
        "{qid}.RedrivePolicy.maxReceiveCount"
    );
    assert_eq!(
        number(&p["MessageRetentionPeriod"], "MessageRetentionPeriod"),
        secs(QUEUE.retention),
        "{qid}.MessageRetentionPeriod"
    );
    assert_eq!(
        number(
            &dlq["Properties"]["MessageRetentionPeriod"],
            "MessageRetentionPeriod"
        ),
        secs(QUEUE.dlq_retention),
        "{did}.MessageRetentionPeriod"
    );
    // AWS's advice, which settings.rs follows: at least six times the consumer's timeout.
    let (pid, processor) = t.function(Function::OrderProcessor);
    let timeout = number(t.function_property(processor, "Timeout"), "Timeout");
    assert!(
        number(&p["VisibilityTimeout"], "VisibilityTimeout") >= 6 * timeout,
        "{qid}.VisibilityTimeout is under six times {pid}'s timeout"
    );
}

#[test]
fn event_source_matches_settings() {
    let t = Template::load();
    let ((qid, _), _) = queues(&t);
    let (pid, processor) = t.function(Function::OrderProcessor);
    let events = t.events(processor, "SQS");
    assert_eq!(events.len(), 1, "{pid} has one SQS event source");
    let p = &events[0]["Properties"];
    assert_eq!(
        get_att_arn(&p["Queue"]),
        qid,
        "{pid} consumes the orders queue"
    );
    assert_eq!(
        number(&p["BatchSize"], "BatchSize"),
        QUEUE.batch_size as u64,
        "{pid} BatchSize"
    );
    assert_eq!(
        number(
            &p["ScalingConfig"]["MaximumConcurrency"],
            "MaximumConcurrency"
        ),
        QUEUE.max_concurrency as u64,
        "{pid} ScalingConfig.MaximumConcurrency"
    );
    assert_eq!(
        QUEUE.max_concurrency,
        Function::OrderProcessor.local_concurrency(),
        "the local stack caps the processor as the event source does"
    );
    let types = response_types(p);
    assert_eq!(
        types,
        ["ReportBatchItemFailures"],
        "{pid}: partial batch failures"
    );
    // No other function drains the queue.
    for f in Function::ALL
        .into_iter()
        .filter(|f| *f != Function::OrderProcessor)
    {
        let (id, r) = t.function(f);
        assert!(t.events(r, "SQS").is_empty(), "{id} has an SQS event");
    }
}

// ---- publisher -----------------------------------------------------------------------------

/// The publisher reads the table's stream as `settings::PUBLISHER` says, only new orders, and
/// never gives a batch up while its records are on the stream.
#[test]
fn the_publisher_reads_the_tables_stream_as_settings_say() {
    let t = Template::load();
    let (id, publisher) = t.function(Function::OrderPublisher);
    // A mapping of its own rather than a SAM event, so no managed policy widens the role.
    let mappings: Vec<_> = t.of_type("AWS::Lambda::EventSourceMapping").collect();
    assert_eq!(mappings.len(), 1, "one stream mapping: {mappings:?}");
    let p = &mappings[0].1["Properties"];
    assert_eq!(
        tagged(&p["FunctionName"], "Ref").and_then(Value::as_str),
        Some(id),
        "the mapping invokes {id}"
    );
    let stream = tagged_str(
        &p["EventSourceArn"],
        "GetAtt",
        "EventSourceArn is !GetAtt <table>.StreamArn",
    );
    let (table, _) = t
        .of_type("AWS::DynamoDB::Table")
        .next()
        .expect("the orders table");
    assert_eq!(stream, format!("{table}.StreamArn"), "{id} Stream");
    assert_eq!(p["StartingPosition"].as_str(), Some("TRIM_HORIZON"));
    assert_eq!(
        number(&p["BatchSize"], "BatchSize"),
        u64::from(PUBLISHER.batch_size)
    );
    assert_eq!(
        number(&p["ParallelizationFactor"], "ParallelizationFactor"),
        u64::from(PUBLISHER.parallelization)
    );
    let types = response_types(p);
    assert_eq!(
        types,
        ["ReportBatchItemFailures"],
        "{id}: partial batch failures"
    );
    // Retried while on the stream: nothing is skipped because a send failed for a while.
    assert_eq!(p["MaximumRetryAttempts"].as_i64(), Some(-1));
    assert_eq!(
        p["MaximumRecordAgeInSeconds"].as_u64(),
        Some(PUBLISHER.max_record_age.as_secs())
    );
    assert!(
        PUBLISHER.max_record_age < Duration::from_secs(24 * 3600),
        "given up (and named) before the stream trims it"
    );
    assert_eq!(p["BisectBatchOnFunctionError"].as_bool(), Some(true));
    assert!(
        !p["DestinationConfig"]["OnFailure"]["Destination"].is_null(),
        "{id}: what expires is named somewhere"
    );
    // Only inserts of orders reach it: the filter names the table design's order prefix.
    let filters = p["FilterCriteria"]["Filters"]
        .as_sequence()
        .expect("FilterCriteria.Filters");
    assert_eq!(filters.len(), 1);
    let pattern: serde_json::Value =
        serde_json::from_str(filters[0]["Pattern"].as_str().expect("a JSON pattern"))
            .expect("the pattern is JSON");
    assert_eq!(
        pattern,
        serde_json::json!({
            "eventName": ["INSERT"],
            "dynamodb": { "Keys": { (table::PARTITION_KEY): { "S": [{ "prefix": table::ORDER_PREFIX }] } } }
        })
    );
    // No function has a SAM stream event (it would attach AWSLambdaDynamoDBExecutionRole,
    // every stream in the account); the publisher's role reads this table's streams only.
    for f in Function::ALL {
        let (other, r) = t.function(f);
        assert!(
            t.events(r, "DynamoDB").is_empty(),
            "{other} has a SAM stream event"
        );
    }
    let grant = format!("${{{table}.Arn}}/stream/*");
    let statements = publisher["Properties"]["Policies"][0]["Statement"]
        .as_sequence()
        .expect("the publisher's inline statements");
    let reads: Vec<&Value> = statements
        .iter()
        .filter(|st| {
            st["Action"]
                .as_sequence()
                .is_some_and(|a| a.iter().any(|a| a.as_str() == Some("dynamodb:GetRecords")))
        })
        .collect();
    assert_eq!(reads.len(), 1, "one statement reads the stream");
    assert_eq!(
        tagged(&reads[0]["Resource"], "Sub").and_then(Value::as_str),
        Some(grant.as_str())
    );
}

// ---- routes --------------------------------------------------------------------------------

#[test]
fn routes_match_settings() {
    let t = Template::load();
    let mut in_template: BTreeMap<String, &str> = BTreeMap::new();
    let mut apis = BTreeSet::new();
    for f in Function::ALL {
        let (id, r) = t.function(f);
        for event in t.events(r, "HttpApi") {
            let p = &event["Properties"];
            let key = format!(
                "{} {}",
                p["Method"].as_str().expect("HttpApi Method").to_uppercase(),
                p["Path"].as_str().expect("HttpApi Path")
            );
            let api = tagged(&p["ApiId"], "Ref").and_then(Value::as_str);
            apis.insert(
                api.unwrap_or_else(|| panic!("{id} {key}: ApiId is a !Ref"))
                    .to_owned(),
            );
            assert!(
                in_template.insert(key.clone(), f.name()).is_none(),
                "{key} twice"
            );
        }
    }
    let in_settings: BTreeMap<String, &str> = ROUTES
        .iter()
        .map(|r| (r.key(), r.function.name()))
        .collect();
    assert_eq!(in_template, in_settings);
    assert_eq!(
        apis.len(),
        1,
        "every route is on the one HTTP API: {apis:?}"
    );
    let api = apis.first().unwrap();
    assert_eq!(
        t.resource(api)["Type"].as_str(),
        Some("AWS::Serverless::HttpApi")
    );
}

#[test]
fn the_local_gateway_answers_cors_with_the_templates_configuration() {
    let t = Template::load();
    let cors = &t.resource("OrdersApi")["Properties"]["CorsConfiguration"];
    let list = |key: &str| -> Vec<String> {
        cors[key]
            .as_sequence()
            .unwrap_or_else(|| panic!("CorsConfiguration.{key} is a list"))
            .iter()
            .map(|v| v.as_str().expect("a string").to_owned())
            .collect()
    };
    let ours = |v: &[&str]| -> Vec<String> { v.iter().map(|s| (*s).to_owned()).collect() };
    assert_eq!(list("AllowOrigins"), ours(CORS.allow_origins));
    assert_eq!(list("AllowMethods"), ours(CORS.allow_methods));
    assert_eq!(list("AllowHeaders"), ours(CORS.allow_headers));
    assert_eq!(list("ExposeHeaders"), ours(CORS.expose_headers));
    assert_eq!(
        cors["MaxAge"].as_u64(),
        Some(u64::from(CORS.max_age_seconds))
    );
    // Credentials would change what the gateway answers (no `*`); neither side sets them.
    assert!(cors["AllowCredentials"].is_null() || cors["AllowCredentials"] == false);
}

// ---- table ---------------------------------------------------------------------------------

fn key_schema(v: &Value) -> Vec<(String, String)> {
    v.as_sequence()
        .expect("KeySchema is a list")
        .iter()
        .map(|k| {
            (
                k["AttributeName"]
                    .as_str()
                    .expect("AttributeName")
                    .to_owned(),
                k["KeyType"].as_str().expect("KeyType").to_owned(),
            )
        })
        .collect()
}

fn hash_range(hash: &str, range: &str) -> Vec<(String, String)> {
    vec![
        (hash.to_owned(), "HASH".to_owned()),
        (range.to_owned(), "RANGE".to_owned()),
    ]
}

/// The table's indexes are `design`'s, keys and projections, and its AttributeDefinitions
/// declare their key attributes (as strings) and nothing else.
fn assert_indexes(id: &str, p: &Value, design: &[orders::capacity::Index]) {
    let indexes: BTreeMap<&str, &Value> = p["GlobalSecondaryIndexes"]
        .as_sequence()
        .expect("GlobalSecondaryIndexes")
        .iter()
        .map(|i| (i["IndexName"].as_str().expect("IndexName"), i))
        .collect();
    // The indexes of the design, with their projections (CloudFormation's names for them).
    let expected: Vec<(&str, &str, &str, &str)> = design
        .iter()
        .map(|i| {
            let projection = match i.projection {
                orders::capacity::Projection::All => "ALL",
                orders::capacity::Projection::KeysOnly => "KEYS_ONLY",
                orders::capacity::Projection::Include(_) => "INCLUDE",
            };
            (i.name, i.hash, i.range, projection)
        })
        .collect();
    assert_eq!(
        indexes.keys().copied().collect::<BTreeSet<_>>(),
        expected
            .iter()
            .map(|(name, ..)| *name)
            .collect::<BTreeSet<_>>(),
        "{id} index names"
    );
    for (name, hash, range, projection) in expected {
        let index = indexes[name];
        assert_eq!(
            key_schema(&index["KeySchema"]),
            hash_range(hash, range),
            "{id} index {name} keys"
        );
        assert_eq!(
            index["Projection"]["ProjectionType"].as_str(),
            Some(projection),
            "{id} index {name} projection"
        );
    }

    // Every key attribute is declared, as a string, and nothing else is.
    let declared: BTreeMap<&str, &str> = p["AttributeDefinitions"]
        .as_sequence()
        .expect("AttributeDefinitions")
        .iter()
        .map(|a| {
            (
                a["AttributeName"].as_str().expect("AttributeName"),
                a["AttributeType"].as_str().expect("AttributeType"),
            )
        })
        .collect();
    let keys: BTreeMap<&str, &str> = [table::PARTITION_KEY, table::SORT_ATTRIBUTE]
        .into_iter()
        .chain(design.iter().map(|i| i.hash))
        .map(|k| (k, "S"))
        .collect();
    assert_eq!(declared, keys, "{id} AttributeDefinitions");
}

/// A stack deployed before the sharded indexes moves one index per deploy: each stage of
/// `TableMigrationStage` declares the indexes `table::migration` names for it, and its
/// create-order and list-orders read and write the listing of that stage, allowed to query
/// only that listing's indexes.
#[test]
fn each_table_migration_stage_is_the_one_settings_names() {
    use table::migration::{self, Listing, STAGES};
    let t = Template::load();
    let param = &t.root["Parameters"][MIGRATION_PARAMETER];
    let allowed: Vec<&str> = param["AllowedValues"]
        .as_sequence()
        .expect("AllowedValues")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        allowed,
        STAGES.map(|s| s.name).to_vec(),
        "{MIGRATION_PARAMETER} stages, in order"
    );
    assert_eq!(
        param["Default"].as_str(),
        Some(migration::DONE),
        "a fresh stack needs no migration"
    );
    for stage in STAGES {
        let s = t.at_stage(stage.name);
        let (id, tbl) = s.of_type("AWS::DynamoDB::Table").next().expect("a table");
        let design: Vec<orders::capacity::Index> = stage
            .indexes
            .iter()
            .map(|name| {
                *table::INDEXES
                    .iter()
                    .chain(migration::LEGACY_INDEXES.iter())
                    .find(|i| i.name == *name)
                    .expect("a known index")
            })
            .collect();
        assert_indexes(
            &format!("{id} at {}", stage.name),
            &tbl["Properties"],
            &design,
        );
        for f in [Function::CreateOrder, Function::ListOrders] {
            let (fid, r) = s.function(f);
            assert_eq!(
                r["Properties"]["Environment"]["Variables"][env::ORDERS_LISTING].as_str(),
                Some(stage.listing.as_str()),
                "{fid} at {}",
                stage.name
            );
        }
        let reads = match stage.listing {
            Listing::Sharded => [table::STATUS_INDEX, table::LIST_INDEX],
            Listing::Unsharded => [migration::LEGACY_STATUS_INDEX, migration::LEGACY_LIST_INDEX],
        };
        let (fid, r) = s.function(Function::ListOrders);
        let statement = r["Properties"]["Policies"][0]["Statement"]
            .as_sequence()
            .expect("statements")
            .iter()
            .find(|st| st["Sid"].as_str() == Some("QueryListIndexes"))
            .expect("QueryListIndexes");
        let granted: BTreeSet<&str> = statement["Resource"]
            .as_sequence()
            .expect("resources")
            .iter()
            .map(|arn| {
                tagged_str(arn, "Sub", "an index ARN")
                    .split_once("/index/")
                    .expect("an index ARN")
                    .1
            })
            .collect();
        assert_eq!(
            granted,
            reads.into_iter().collect(),
            "{fid} queries at {}",
            stage.name
        );
    }
}

#[test]
fn table_matches_settings() {
    let t = Template::load().at_stage(table::migration::DONE);
    let tables: Vec<_> = t.of_type("AWS::DynamoDB::Table").collect();
    assert_eq!(tables.len(), 1, "one table");
    let (id, tbl) = tables[0];
    let p = &tbl["Properties"];
    assert_eq!(
        p["BillingMode"].as_str(),
        Some("PAY_PER_REQUEST"),
        "{id} is on-demand"
    );
    assert_eq!(
        key_schema(&p["KeySchema"]),
        vec![(table::PARTITION_KEY.to_owned(), "HASH".to_owned())],
        "{id} key"
    );

    assert_indexes(id, p, &table::INDEXES);

    assert_eq!(
        p["StreamSpecification"]["StreamViewType"].as_str(),
        Some(table::STREAM_VIEW),
        "{id} stream: the outbox"
    );
    assert_eq!(
        p["TimeToLiveSpecification"]["AttributeName"].as_str(),
        Some(table::TTL_ATTRIBUTE),
        "{id} TTL attribute"
    );
    assert_eq!(
        p["TimeToLiveSpecification"]["Enabled"].as_bool(),
        Some(true)
    );
}

/// IAM statements name indexes by ARN (`${OrdersTable.Arn}/index/<name>`): each must be one
/// of the table's indexes, so renaming an index in settings cannot leave a dead grant.
#[test]
fn policies_name_only_real_indexes() {
    let t = Template::load().at_stage(table::migration::DONE);
    let indexes = [table::STATUS_INDEX, table::LIST_INDEX];
    let mut seen = BTreeSet::new();
    fn walk<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
        match v {
            Value::String(s) => out.push(s),
            Value::Sequence(s) => s.iter().for_each(|v| walk(v, out)),
            Value::Mapping(m) => m.values().for_each(|v| walk(v, out)),
            Value::Tagged(t) => walk(&t.value, out),
            _ => {}
        }
    }
    for f in Function::ALL {
        let (id, r) = t.function(f);
        let mut strings = Vec::new();
        walk(&r["Properties"]["Policies"], &mut strings);
        for s in strings {
            if let Some((_, index)) = s.split_once("/index/") {
                assert!(
                    indexes.contains(&index),
                    "{id} grants access to unknown index {index}"
                );
                seen.insert((f.name(), index));
            }
        }
    }
    // The readers of each index are the ones the handlers need.
    assert!(seen.contains(&(Function::ListOrders.name(), table::STATUS_INDEX)));
    assert!(seen.contains(&(Function::ListOrders.name(), table::LIST_INDEX)));
}

// ---- the test's own helpers ----------------------------------------------------------------
