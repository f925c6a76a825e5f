//! The data dir (`.workshop` by default): every file the local stack keeps between runs.

use orders::pagination::{MIN_KEY_BYTES, WeakKey};
use orders::ports::Clock;
use orders::settings::QueueSettings;
use orders_sqlite::{QueueConfig, SqliteError, SqliteOrderStore, SqliteQueue};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub const DEFAULT_DATA_DIR: &str = ".workshop";

#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    #[error("cannot use the data dir {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot open {path}: {source}")]
    Sqlite { path: PathBuf, source: SqliteError },
    #[error(
        "the page token key in {0} is damaged; delete it to make a new one (open nextTokens stop working)"
    )]
    BadKey(PathBuf),
    #[error(transparent)]
    WeakKey(#[from] WeakKey),
}

#[derive(Debug, Clone)]
pub struct DataDir(PathBuf);

impl DataDir {
    pub fn new(path: impl Into<PathBuf>) -> Result<Self, DataDirError> {
        let path = path.into();
        std::fs::create_dir_all(&path).map_err(|source| DataDirError::Io {
            path: path.clone(),
            source,
        })?;
        Ok(DataDir(path))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn logs(&self) -> PathBuf {
        self.0.join("logs")
    }

    pub fn store_file(&self) -> PathBuf {
        self.0.join("orders.db")
    }

    /// The local X-Ray's span store.
    pub fn traces_file(&self) -> PathBuf {
        self.0.join("traces.db")
    }

    pub fn queue_file(&self) -> PathBuf {
        self.0.join("queue.db")
    }

    pub fn open_store(&self) -> Result<SqliteOrderStore, DataDirError> {
        let path = self.store_file();
        SqliteOrderStore::open(&path).map_err(|source| DataDirError::Sqlite { path, source })
    }

    pub fn open_queue(
        &self,
        settings: &QueueSettings,
        clock: Arc<dyn Clock>,
    ) -> Result<SqliteQueue, DataDirError> {
        let path = self.queue_file();
        let mut config = QueueConfig::from_settings();
        config.visibility_timeout = settings.visibility_timeout;
        config.max_receive_count = settings.max_receive_count;
        SqliteQueue::open(&path, config, clock)
            .map_err(|source| DataDirError::Sqlite { path, source })
    }

    /// The key that signs `nextToken`s: random, made on first start, kept private to the user.
    pub fn page_token_key(&self) -> Result<Vec<u8>, DataDirError> {
        let path = self.0.join("page-token.key");
        let io = |source| DataDirError::Io {
            path: path.clone(),
            source,
        };
        match std::fs::read_to_string(&path) {
            Ok(hex) => decode_hex(hex.trim())
                .filter(|k| k.len() >= MIN_KEY_BYTES)
                .ok_or(DataDirError::BadKey(path.clone())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key: [u8; 32] = rand::random();
                let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                let mut file = options.open(&path).map_err(io)?;
                file.write_all(hex.as_bytes()).map_err(io)?;
                file.sync_all().map_err(io)?;
                Ok(key.to_vec())
            }
            Err(e) => Err(io(e)),
        }
    }
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}
