//! Owns the [`Store`] handle: choosing the backend from the URL, opening the connection
//! pool (SQLite file in WAL mode, or PostgreSQL), running the migrations, the readiness
//! ping, and the `on_pool!` macro through which every query runs on either backend.

use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::error::{self, StoreError};
use crate::migrations;

/// File name of the SQLite database inside the data directory.
pub const SQLITE_FILE_NAME: &str = "lifeline.db";

/// How long a SQLite connection waits for another writer before failing.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// SQLite allows one writer at a time; a few connections serve concurrent readers.
const SQLITE_MAX_CONNECTIONS: u32 = 4;
const POSTGRES_MAX_CONNECTIONS: u32 = 10;
/// How long a query waits for a free pooled connection.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// The database engine behind a [`Store`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// A SQLite file (the default).
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        })
    }
}

/// The connection pool of one backend.
#[derive(Debug, Clone)]
pub(crate) enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the store's pool, whichever backend it is. The body
/// is compiled once per backend, so it must yield the same type for both (map driver
/// specific results, e.g. `rows_affected()`, inside it). SQL is shared: `$n` placeholders
/// work in SQLite and PostgreSQL alike.
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.pool {
            $crate::store::Pool::Sqlite($pool) => $body,
            $crate::store::Pool::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

/// A handle to the database: cheap to clone (all clones share one connection pool) and
/// safe to use from many tasks at once.
#[derive(Debug, Clone)]
pub struct Store {
    pub(crate) pool: Pool,
}

impl Store {
    /// Opens the database and applies any pending migrations.
    ///
    /// - `url` `None`: the SQLite file `<data_dir>/lifeline.db`, creating the directory and
    ///   the file if needed (WAL journal, 5 s busy timeout).
    /// - `postgres://…` or `postgresql://…`: that PostgreSQL database (`data_dir` unused).
    ///   Connection parameters in the URL apply, e.g. `?options[search_path]=myschema`.
    /// - `sqlite:…`: that SQLite file, with the same settings as the default.
    pub async fn open(url: Option<&str>, data_dir: &Path) -> Result<Self, StoreError> {
        match url {
            None => {
                tokio::fs::create_dir_all(data_dir)
                    .await
                    .map_err(|source| StoreError::CreateDataDir {
                        path: data_dir.to_path_buf(),
                        source,
                    })?;
                let options = SqliteConnectOptions::new().filename(data_dir.join(SQLITE_FILE_NAME));
                Self::open_sqlite(options).await
            }
            Some(url) => {
                let scheme = url.split_once(':').map_or(url, |(scheme, _)| scheme);
                match scheme.to_ascii_lowercase().as_str() {
                    "postgres" | "postgresql" => {
                        let options = PgConnectOptions::from_str(url).map_err(|source| {
                            StoreError::InvalidUrl {
                                backend: Backend::Postgres,
                                source,
                            }
                        })?;
                        Self::open_postgres(options).await
                    }
                    "sqlite" => {
                        let options = SqliteConnectOptions::from_str(url).map_err(|source| {
                            StoreError::InvalidUrl {
                                backend: Backend::Sqlite,
                                source,
                            }
                        })?;
                        Self::open_sqlite(options).await
                    }
                    _ => Err(StoreError::UnsupportedUrl {
                        scheme: scheme.to_owned(),
                    }),
                }
            }
        }
    }

    async fn open_sqlite(options: SqliteConnectOptions) -> Result<Self, StoreError> {
        let backend = Backend::Sqlite;
        let target = options.get_filename().display().to_string();
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // With WAL, NORMAL loses no committed data on a process crash (only, at worst,
            // the last transactions on a power loss) and avoids an fsync per commit.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(SQLITE_BUSY_TIMEOUT)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(SQLITE_MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(|source| StoreError::Open {
                backend,
                target: target.clone(),
                source,
            })?;
        migrations::migrator(backend)
            .run(&pool)
            .await
            .map_err(|source| StoreError::Migrate {
                backend,
                target,
                source,
            })?;
        Ok(Self {
            pool: Pool::Sqlite(pool),
        })
    }

    async fn open_postgres(options: PgConnectOptions) -> Result<Self, StoreError> {
        let backend = Backend::Postgres;
        let target = format!(
            "{}:{}/{}",
            options.get_host(),
            options.get_port(),
            options.get_database().unwrap_or_default()
        );
        let pool = PgPoolOptions::new()
            .max_connections(POSTGRES_MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(|source| StoreError::Open {
                backend,
                target: target.clone(),
                source,
            })?;
        migrations::migrator(backend)
            .run(&pool)
            .await
            .map_err(|source| StoreError::Migrate {
                backend,
                target,
                source,
            })?;
        Ok(Self {
            pool: Pool::Postgres(pool),
        })
    }

    /// The backend this store runs on.
    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// Checks that the database answers a trivial query (readiness, e.g. `/healthz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        on_pool!(self, pool => sqlx::query("SELECT 1").execute(pool).await.map(|_| ()))
            .map_err(error::query("ping"))
    }

    /// Closes every connection, waiting for queries in flight (graceful shutdown). Later
    /// calls on this store or its clones fail.
    pub async fn close(&self) {
        on_pool!(self, pool => pool.close().await);
    }
}
