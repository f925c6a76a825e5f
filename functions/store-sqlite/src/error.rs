//! The one error type of this crate. Every variant names the operation that failed, so a
//! message read in a log says what was being done, not only what went wrong.

use orders::ports::DependencyError;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum SqliteError {
    #[error("cannot open SQLite database {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },

    /// The file is not a whole SQLite database any more (truncated, overwritten, a damaged
    /// page): nothing in it can be trusted, and the stack must not start on it.
    #[error(
        "{path} is damaged ({problem}); the stack will not start on it. Stop the stack, then \
         move the file aside (mv {path} {path}.damaged) to start with an empty one, or put back \
         a copy you trust"
    )]
    Damaged { path: PathBuf, problem: String },

    /// The file belongs to another component (e.g. the queue's file given to the store).
    #[error("{path} is not a {expected} database (application_id {found:#x})")]
    WrongDatabase {
        path: PathBuf,
        expected: &'static str,
        found: i32,
    },

    /// Written by a newer build; opening it could corrupt data this build does not know.
    #[error("{path} has schema version {found}, newer than the {supported} this build knows")]
    SchemaTooNew {
        path: PathBuf,
        found: i32,
        supported: i32,
    },

    #[error("{operation} failed: {source}{hint}", hint = disk_hint(.source))]
    Sqlite {
        operation: &'static str,
        #[source]
        source: rusqlite::Error,
    },

    #[error("{operation} read data that could not be understood: {message}")]
    Corrupt {
        operation: &'static str,
        message: String,
    },

    #[error("{operation} rejected its input: {message}")]
    InvalidInput {
        operation: &'static str,
        message: String,
    },

    #[error("{operation} failed: order {id} already exists")]
    DuplicateOrder {
        operation: &'static str,
        id: uuid::Uuid,
    },

    #[error("{operation} failed: the blocking database task did not complete: {message}")]
    Join {
        operation: &'static str,
        message: String,
    },
}

impl SqliteError {
    pub(crate) fn corrupt(operation: &'static str, cause: impl std::fmt::Display) -> Self {
        SqliteError::Corrupt {
            operation,
            message: cause.to_string(),
        }
    }

    pub(crate) fn invalid(operation: &'static str, cause: impl std::fmt::Display) -> Self {
        SqliteError::InvalidInput {
            operation,
            message: cause.to_string(),
        }
    }

    /// The operation the error happened in, for the port's error.
    pub fn operation(&self) -> &'static str {
        match self {
            SqliteError::Open { .. }
            | SqliteError::Damaged { .. }
            | SqliteError::WrongDatabase { .. }
            | SqliteError::SchemaTooNew { .. } => "open database",
            SqliteError::Sqlite { operation, .. }
            | SqliteError::Corrupt { operation, .. }
            | SqliteError::InvalidInput { operation, .. }
            | SqliteError::DuplicateOrder { operation, .. }
            | SqliteError::Join { operation, .. } => operation,
        }
    }
}

impl From<SqliteError> for DependencyError {
    fn from(e: SqliteError) -> Self {
        let operation = e.operation();
        match e {
            SqliteError::Corrupt { message, .. } => DependencyError::Corrupt { operation, message },
            // The port's message already starts with the operation; keep only the cause.
            SqliteError::Sqlite { source, .. } => {
                let hint = disk_hint(&source);
                DependencyError::failed(operation, format!("{source}{hint}"))
            }
            SqliteError::InvalidInput { message, .. } | SqliteError::Join { message, .. } => {
                DependencyError::failed(operation, message)
            }
            SqliteError::DuplicateOrder { id, .. } => {
                DependencyError::failed(operation, format!("order {id} already exists"))
            }
            other => DependencyError::failed(operation, other),
        }
    }
}

/// What a write the disk refused means for the person reading the log: SQLite says "database
/// or disk is full" for a full disk, and "disk I/O error" when a write past a file-size limit
/// fails (EFBIG), which reads like broken hardware.
fn disk_hint(e: &rusqlite::Error) -> &'static str {
    let refused_write = match e {
        rusqlite::Error::SqliteFailure(f, _) => {
            f.code == rusqlite::ErrorCode::DiskFull
                || f.extended_code == rusqlite::ffi::SQLITE_IOERR_WRITE
        }
        _ => false,
    };
    if refused_write {
        " (the disk is full, or a file-size limit was reached: free space where the data dir is)"
    } else {
        ""
    }
}

/// Attaches the operation name to rusqlite errors: `.ctx("get order")?`.
pub(crate) trait Ctx<T> {
    fn ctx(self, operation: &'static str) -> Result<T, SqliteError>;
}

impl<T> Ctx<T> for Result<T, rusqlite::Error> {
    fn ctx(self, operation: &'static str) -> Result<T, SqliteError> {
        self.map_err(|source| SqliteError::Sqlite { operation, source })
    }
}
