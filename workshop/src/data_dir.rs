//! The data dir (`.workshop` by default): every file the local stack keeps between runs.

use orders::pagination::{MIN_KEY_BYTES, WeakKey};
use orders::ports::Clock;
use orders::settings::QueueSettings;
use orders_sqlite::{QueueConfig, SqliteError, SqliteOrderStore, SqliteQueue};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub const DEFAULT_DATA_DIR: &str = ".workshop";

/// What to do about the I/O errors a person can fix.
fn io_hint(e: &std::io::Error) -> &'static str {
    match e.kind() {
        std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem => {
            " (this user cannot write there: give the stack a folder it can write with \
             --data-dir or WORKSHOP_DATA_DIR, or change the folder's permissions)"
        }
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => {
            " (the disk is full: free space there, or give another folder with --data-dir)"
        }
        _ => "",
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DataDirError {
    #[error("cannot use the data dir {path}: {source}{hint}", hint = io_hint(source))]
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
    #[error("the data dir {0} is a file, not a folder: pass --data-dir a folder")]
    NotAFolder(PathBuf),
    #[error(
        "no local stack has run in {0} (it has no stack.lock, orders.db or queue.db): pass the \
         --data-dir that `workshop up` was given (or set WORKSHOP_DATA_DIR), or start one there \
         with `workshop up --data-dir {0}`"
    )]
    NoStack(PathBuf),
    #[error(
        "another local stack is running on the data dir {path} ({holder}); stop it (Ctrl-C in \
         its terminal) or give this one another --data-dir"
    )]
    InUse { path: PathBuf, holder: String },
}

/// The file `workshop up` holds an exclusive lock on while it runs, naming its pid and ports.
const LOCK_FILE: &str = "stack.lock";

/// The data dir's lock, held for the life of a stack: the OS releases it when the process
/// ends, however it ends (SIGKILL included), so a stale file never blocks a start.
#[derive(Debug)]
pub struct StackLock {
    file: std::fs::File,
    path: PathBuf,
}

impl StackLock {
    /// Writes who holds the lock, for the message a second start shows.
    pub fn announce(&self, api: &str, console: &str) -> Result<(), DataDirError> {
        let io = |source| DataDirError::Io {
            path: self.path.clone(),
            source,
        };
        let mut f = &self.file;
        f.set_len(0).map_err(io)?;
        std::io::Seek::seek(&mut f, std::io::SeekFrom::Start(0)).map_err(io)?;
        writeln!(
            f,
            "pid {}, API {api}, console {console}",
            std::process::id()
        )
        .map_err(io)
    }
}

#[derive(Debug, Clone)]
pub struct DataDir(PathBuf);

impl DataDir {
    /// The data dir of a stack that may start there: made if missing.
    pub fn new(path: impl Into<PathBuf>) -> Result<Self, DataDirError> {
        let path = path.into();
        if path.is_file() {
            return Err(DataDirError::NotAFolder(path));
        }
        std::fs::create_dir_all(&path).map_err(|source| DataDirError::Io {
            path: path.clone(),
            source,
        })?;
        Ok(DataDir(path))
    }

    /// The data dir of a stack that has run: a command that reads one refuses a folder that
    /// holds none (a typo, another folder) instead of answering from an empty new one.
    pub fn existing(path: impl Into<PathBuf>) -> Result<Self, DataDirError> {
        let path = path.into();
        if path.is_file() {
            return Err(DataDirError::NotAFolder(path));
        }
        let dir = DataDir(path);
        // Every `workshop up` leaves its lock file (any backend); stacks from before it, their
        // SQLite files.
        let marks = [dir.0.join(LOCK_FILE), dir.store_file(), dir.queue_file()];
        if !marks.iter().any(|m| m.is_file()) {
            let shown = std::path::absolute(&dir.0).unwrap_or(dir.0);
            return Err(DataDirError::NoStack(shown));
        }
        Ok(dir)
    }

    /// Takes the data dir for one stack, or names the stack that has it.
    pub fn lock(&self) -> Result<StackLock, DataDirError> {
        let path = self.0.join(LOCK_FILE);
        let io = |source| DataDirError::Io {
            path: path.clone(),
            source,
        };
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {
                let lock = StackLock { file, path };
                lock.announce("starting", "starting")?;
                Ok(lock)
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                let holder = std::fs::read_to_string(&path).unwrap_or_default();
                let holder = holder.trim();
                Err(DataDirError::InUse {
                    path: self.0.clone(),
                    holder: if holder.is_empty() {
                        "its pid and ports are not written yet".to_owned()
                    } else {
                        holder.to_owned()
                    },
                })
            }
            Err(std::fs::TryLockError::Error(e)) => Err(io(e)),
        }
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

    /// The local CloudWatch's datapoints and alarm history.
    pub fn cloudwatch_file(&self) -> PathBuf {
        self.0.join("cloudwatch.db")
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
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}
