//! Test harness: the shared moto server ([`moto`]) and clients for the adapters' services.
//! Each test creates its own uniquely named table and queues, so tests run in parallel on
//! the one server.

#![allow(dead_code)] // each test binary uses a different part of the harness

mod moto;

pub use moto::{moto, sdk_config, unique};
use orders_aws::provision::{self, Queues};

pub async fn dynamodb() -> aws_sdk_dynamodb::Client {
    let config = sdk_config().await;
    // The endpoint again at service level, so no AWS_ENDPOINT_URL_DYNAMODB in the
    // environment can redirect a test.
    let conf = aws_sdk_dynamodb::config::Builder::from(&config)
        .endpoint_url(&moto().endpoint)
        .build();
    aws_sdk_dynamodb::Client::from_conf(conf)
}

pub async fn streams() -> aws_sdk_dynamodbstreams::Client {
    let config = sdk_config().await;
    let conf = aws_sdk_dynamodbstreams::config::Builder::from(&config)
        .endpoint_url(&moto().endpoint)
        .build();
    aws_sdk_dynamodbstreams::Client::from_conf(conf)
}

pub async fn sqs() -> aws_sdk_sqs::Client {
    let config = sdk_config().await;
    let conf = aws_sdk_sqs::config::Builder::from(&config)
        .endpoint_url(&moto().endpoint)
        .build();
    aws_sdk_sqs::Client::from_conf(conf)
}

/// A fresh table of its own.
pub async fn fresh_table() -> (aws_sdk_dynamodb::Client, String) {
    let client = dynamodb().await;
    let name = unique("orders");
    provision::create_table(&client, &name)
        .await
        .unwrap_or_else(|e| panic!("create table {name}: {e}"));
    (client, name)
}

/// A fresh queue and DLQ of their own.
pub async fn fresh_queues() -> (aws_sdk_sqs::Client, Queues) {
    let client = sqs().await;
    let name = unique("orders");
    let queues = provision::create_queues(&client, &name, &format!("{name}-dlq"))
        .await
        .unwrap_or_else(|e| panic!("create queues {name}: {e}"));
    (client, queues)
}
