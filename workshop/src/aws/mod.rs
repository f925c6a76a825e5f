//! The AWS side of the CLI: `up --backend aws`, `dlq --backend aws` and every `--aws`. Built
//! with the `aws` feature (`clients`); without it (the default, so the local stack's first
//! build compiles no AWS SDK) the same functions answer [`NotBuilt`] (`absent`).

#[cfg(not(feature = "aws"))]
mod absent;
#[cfg(feature = "aws")]
mod clients;

#[cfg(not(feature = "aws"))]
pub use absent::*;
#[cfg(feature = "aws")]
pub use clients::*;

pub(crate) type Error = Box<dyn std::error::Error + Send + Sync>;

/// An AWS option of a build without the `aws` feature; names the option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0} talks to AWS, and this build of workshop has no AWS SDK: build it with the aws \
     feature (`cargo run -p workshop --features aws -- ...`), or use a release binary"
)]
pub struct NotBuilt(pub &'static str);

#[cfg(all(test, not(feature = "aws")))]
mod tests {
    #[tokio::test]
    async fn an_aws_option_of_a_local_build_says_how_to_get_it() {
        let e = super::cloudwatch_alarms().await.unwrap_err().to_string();
        assert!(e.starts_with("--aws talks to AWS"), "{e}");
        assert!(e.contains("--features aws"), "{e}");
        let e = super::wiring()
            .await
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.starts_with("--backend aws talks to AWS"), "{e}");
        let e = super::migrate_table().await.unwrap_err().to_string();
        assert!(e.starts_with("migrate-table talks to AWS"), "{e}");
    }
}
