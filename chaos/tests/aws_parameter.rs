//! The live chaos override in SSM Parameter Store, on moto server: what `workshop chaos --aws`
//! writes is what an armed function's injector reads, and a disarmed one never injects.

// The moto harness of the AWS adapters' tests: one launcher for every crate that needs it.
#[path = "../../functions/store-aws/tests/common/moto.rs"]
mod common;

use chaos::aws::ChaosParameter;
use chaos::live::{Live, LiveSource, Override};
use chaos::{Chaos, Faults, Settings};
use orders::ports::SystemClock;
use std::sync::Arc;
use std::time::Duration;

async fn ssm() -> aws_sdk_ssm::Client {
    // Before any SSM call of any test makes a span (see `tracer`).
    tracer();
    let config = common::sdk_config().await;
    // The endpoint again at service level, so no AWS_ENDPOINT_URL_SSM can redirect a test.
    let conf = aws_sdk_ssm::config::Builder::from(&config)
        .endpoint_url(&common::moto().endpoint)
        .build();
    aws_sdk_ssm::Client::from_conf(conf)
}

async fn fresh() -> ChaosParameter {
    let p = ChaosParameter::new(ssm().await, format!("/{}/chaos", common::unique("kit")));
    p.create().await.expect("create the parameter");
    p
}

fn api_errors() -> Live {
    let faults = Faults {
        api_error_rate: 1.0,
        api_error_status: 502,
        ..Faults::default()
    };
    Live::On(
        Override::new(
            faults,
            Some(9),
            chrono::Utc::now(),
            None,
            Some("e-1".into()),
        )
        .unwrap(),
    )
}

#[tokio::test]
async fn a_new_parameter_holds_no_override_and_writes_round_trip() {
    let p = fresh().await;
    assert_eq!(p.read().await.unwrap(), Live::Unset);
    let on = api_errors();
    p.write(&on).await.unwrap();
    assert_eq!(p.read().await.unwrap(), on);
    // Times are kept to the millisecond (chaos::time), so what is read back is what was written.
    let off = Live::Off {
        since: chaos::time::now(),
    };
    p.write(&off).await.unwrap();
    assert_eq!(p.read().await.unwrap(), off);
}

#[tokio::test]
async fn an_armed_function_follows_the_parameter_and_a_disarmed_one_ignores_it() {
    let p = fresh().await;
    p.write(&api_errors()).await.unwrap();
    let source: Arc<dyn LiveSource> = Arc::new(p.clone());
    let settings = Settings {
        armed: true,
        cache: Duration::from_secs(1),
        ..Settings::default()
    };
    let armed = Chaos::new(
        settings.clone(),
        Some(source.clone()),
        Arc::new(SystemClock),
    );
    assert_eq!(armed.api().await, Some(502));

    let disarmed = Chaos::new(
        Settings {
            armed: false,
            ..settings
        },
        Some(source),
        Arc::new(SystemClock),
    );
    assert_eq!(disarmed.api().await, None);

    // The kill switch reaches the armed function once its cache period has passed.
    p.write(&Live::Off {
        since: chrono::Utc::now(),
    })
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(armed.api().await, None);
}

#[tokio::test]
async fn a_missing_or_garbled_parameter_is_named() {
    let missing = ChaosParameter::new(ssm().await, "/no-such/chaos");
    let e = missing.read().await.unwrap_err().to_string();
    assert!(e.contains("SSM parameter /no-such/chaos"), "{e}");
    assert!(e.contains("ParameterNotFound"), "{e}");

    let p = fresh().await;
    ssm()
        .await
        .put_parameter()
        .name(p.name())
        .value("{\"state\":\"sideways\"}")
        .overwrite(true)
        .send()
        .await
        .unwrap();
    let e = p.read().await.unwrap_err().to_string();
    assert!(e.contains("not a chaos override"), "{e}");
}

/// The binary's one tracer, as the global subscriber, installed before any test calls SSM
/// (a subscriber per test thread would race with tracing's callsite interest cache while the
/// other tests run without one).
fn tracer() -> &'static (telemetry::trace::Tracing, telemetry::trace::MemorySink) {
    static TRACER: std::sync::OnceLock<(telemetry::trace::Tracing, telemetry::trace::MemorySink)> =
        std::sync::OnceLock::new();
    TRACER.get_or_init(|| {
        telemetry::trace::MemorySink::install_global("chaos-test")
            .expect("the only subscriber of this test binary")
    })
}

#[tokio::test]
async fn each_call_is_a_client_span_and_a_missing_parameter_fails_it() {
    use opentelemetry::Value;
    use tracing::Instrument;
    let (tracing, spans) = tracer();
    let root = tracing::info_span!("test");
    let (trace_id, _) = telemetry::trace::ids(&root).expect("in a trace");
    let missing = ChaosParameter::new(ssm().await, "/no-such/chaos");
    async {
        let p = fresh().await;
        assert_eq!(p.read().await.unwrap(), Live::Unset);
        assert!(missing.read().await.is_err());
    }
    .instrument(root)
    .await;

    tracing.flush().await;
    let spans = spans.trace(&trace_id);
    let named = |name: &str| spans.iter().filter(|s| s.name == name).collect::<Vec<_>>();
    let attr = |s: &telemetry::trace::SpanData, key: &str| {
        s.attributes
            .iter()
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| kv.value.clone())
    };
    assert_eq!(named("SSM.PutParameter").len(), 1, "{spans:#?}");
    let reads = named("SSM.GetParameter");
    assert_eq!(reads.len(), 2, "{spans:#?}");
    assert_eq!(attr(reads[0], "rpc.service"), Some(Value::from("SSM")));
    assert_eq!(attr(reads[0], "error.type"), None);
    assert_eq!(
        attr(reads[1], "error.type"),
        Some(Value::from("ParameterNotFound"))
    );
    assert!(matches!(
        reads[1].status,
        opentelemetry::trace::Status::Error { .. }
    ));
}
