use std::path::PathBuf;

/// What stops a benchmark run. Every variant names the step, so a failed run says where.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("{step}: {message}")]
    Step { step: String, message: String },
    #[error("{what} {}: {source}", path.display())]
    File {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Emulator(#[from] crate::runtime_api::EmulatorError),
}

impl BenchError {
    pub fn step(step: impl Into<String>, message: impl std::fmt::Display) -> BenchError {
        BenchError::Step {
            step: step.into(),
            message: message.to_string(),
        }
    }
}
