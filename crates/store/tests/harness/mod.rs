//! Runs one test body against a fresh database of each backend.
//!
//! - SQLite: a new temporary data directory per test.
//! - PostgreSQL (when `LIFELINE_TEST_PG_URL` is set): a new schema per test in that
//!   database, selected for the store's connections with `options[search_path]=…` in the
//!   URL, so tests run in parallel without seeing each other's rows; dropped afterwards,
//!   pass or fail. Without the variable the PostgreSQL tests pass after printing a notice,
//!   unless `LIFELINE_REQUIRE_PG=1` (CI), where they fail.

use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Once};

use lifeline_store::{Backend, Store};
use sqlx::postgres::PgPoolOptions;
use sqlx::{AssertSqlSafe, PgPool};
use tempfile::TempDir;

/// A fresh, empty database for one test; open it (again) with [`Db::open`].
pub struct Db {
    backend: Backend,
    /// The store URL (`None` for SQLite's default file).
    url: Option<String>,
    /// SQLite's data directory (PostgreSQL ignores it).
    data_dir: PathBuf,
    _temp: TempDir,
    /// For PostgreSQL: the admin pool and the test's schema, to drop afterwards.
    schema: Option<(PgPool, String)>,
}

impl Db {
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// SQLite's data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Opens a store on this test's database; every call opens the same data.
    pub async fn open(&self) -> Store {
        let store = Store::open(self.url.as_deref(), &self.data_dir)
            .await
            .unwrap_or_else(|e| panic!("open {}: {}", self.backend, error_chain(&e)));
        assert_eq!(store.backend(), self.backend);
        store
    }
}

/// `error: source: source…`, for panic messages.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}

fn temp_dir() -> TempDir {
    tempfile::Builder::new()
        .prefix("lifeline-store-test")
        .tempdir()
        .expect("temp dir")
}

/// Runs `case` on a fresh SQLite database in a new temporary directory.
pub async fn run_sqlite<F, Fut>(case: F)
where
    F: FnOnce(Arc<Db>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let temp = temp_dir();
    let db = Db {
        backend: Backend::Sqlite,
        url: None,
        data_dir: temp.path().join("data"),
        _temp: temp,
        schema: None,
    };
    case(Arc::new(db)).await;
}

/// Runs `case` in a fresh PostgreSQL schema named after the test, or skips (see the
/// module documentation).
pub async fn run_postgres<F, Fut>(test: &str, case: F)
where
    F: FnOnce(Arc<Db>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(base_url) = postgres_url() else {
        return;
    };
    let schema = format!("lifeline_test_{}_{test}", std::process::id());
    assert!(
        schema.len() <= 63,
        "schema name {schema:?} too long for PostgreSQL"
    );
    let admin = PgPoolOptions::new()
        .max_connections(1)
        .connect(&base_url)
        .await
        .unwrap_or_else(|e| panic!("connect to LIFELINE_TEST_PG_URL: {}", error_chain(&e)));
    for sql in [
        format!("DROP SCHEMA IF EXISTS {schema} CASCADE"),
        format!("CREATE SCHEMA {schema}"),
    ] {
        sqlx::query(AssertSqlSafe(sql))
            .execute(&admin)
            .await
            .expect("create test schema");
    }
    let separator = if base_url.contains('?') { '&' } else { '?' };
    let temp = temp_dir();
    let db = Arc::new(Db {
        backend: Backend::Postgres,
        url: Some(format!(
            "{base_url}{separator}options[search_path]={schema}"
        )),
        data_dir: temp.path().join("unused"),
        _temp: temp,
        schema: Some((admin, schema)),
    });

    // Run the body as its own task so that its panic comes back here as an error, the
    // schema is dropped either way, and then the panic goes on.
    let outcome = tokio::spawn(case(db.clone())).await;
    if let Some((admin, schema)) = &db.schema {
        let sql = format!("DROP SCHEMA {schema} CASCADE");
        sqlx::query(AssertSqlSafe(sql))
            .execute(admin)
            .await
            .expect("drop test schema");
        admin.close().await;
    }
    assert!(
        !db.data_dir.exists(),
        "PostgreSQL store must not touch the data dir"
    );
    if let Err(failed) = outcome {
        std::panic::resume_unwind(failed.into_panic());
    }
}

/// `LIFELINE_TEST_PG_URL`, or `None` after a one-time notice, or a panic when
/// `LIFELINE_REQUIRE_PG=1`.
fn postgres_url() -> Option<String> {
    static NOTICE: Once = Once::new();
    match std::env::var("LIFELINE_TEST_PG_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            if std::env::var("LIFELINE_REQUIRE_PG").is_ok_and(|v| v == "1") {
                panic!("LIFELINE_REQUIRE_PG=1 but LIFELINE_TEST_PG_URL is unset");
            }
            // Straight to stderr, past the test harness's capture, so it shows.
            NOTICE.call_once(|| {
                let _ = writeln!(
                    std::io::stderr(),
                    "skipping PostgreSQL: LIFELINE_TEST_PG_URL unset"
                );
            });
            None
        }
    }
}
