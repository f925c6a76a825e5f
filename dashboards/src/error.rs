use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "template has no generated block: add the lines `{begin}` and `{end}` inside Resources"
    )]
    MissingMarkers { begin: String, end: String },
    #[error("template has more than one generated block")]
    DuplicateMarkers,
}

pub type Result<T> = std::result::Result<T, Error>;
