//! Owns the schema migrations, embedded in the binary at compile time.
//!
//! Each version has one SQL file per backend (`migrations/sqlite/NNNN_name.sql` and
//! `migrations/postgres/NNNN_name.sql`), listed side by side in [`MIGRATIONS`] so that
//! neither backend can miss a version. Files differ only where the dialects do (identity
//! columns, integer widths); table and column names are the same, so queries are shared.
//! A migration is never edited once released: add a new version instead (sqlx checks the
//! checksum of every applied migration).

use std::borrow::Cow;

use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

use crate::store::Backend;

/// One schema version: its number, description, and SQL for each backend.
struct Version {
    version: i64,
    description: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

/// Every migration, in version order.
const MIGRATIONS: &[Version] = &[
    Version {
        version: 1,
        description: "calls",
        sqlite: include_str!("../migrations/sqlite/0001_calls.sql"),
        postgres: include_str!("../migrations/postgres/0001_calls.sql"),
    },
    Version {
        version: 2,
        description: "ivr",
        sqlite: include_str!("../migrations/sqlite/0002_ivr.sql"),
        postgres: include_str!("../migrations/postgres/0002_ivr.sql"),
    },
    Version {
        version: 3,
        description: "acd",
        sqlite: include_str!("../migrations/sqlite/0003_acd.sql"),
        postgres: include_str!("../migrations/postgres/0003_acd.sql"),
    },
];

/// The migrator for `backend`, holding every embedded migration.
pub(crate) fn migrator(backend: Backend) -> Migrator {
    let migrations = MIGRATIONS
        .iter()
        .map(|v| {
            let sql = match backend {
                Backend::Sqlite => v.sqlite,
                Backend::Postgres => v.postgres,
            };
            Migration::new(
                v.version,
                Cow::Borrowed(v.description),
                MigrationType::Simple,
                sql.into_sql_str(),
                false,
            )
        })
        .collect();
    Migrator::with_migrations(migrations)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_strictly_increasing_from_one() {
        for (i, v) in MIGRATIONS.iter().enumerate() {
            assert_eq!(v.version, i as i64 + 1, "{}", v.description);
            assert!(!v.sqlite.trim().is_empty() && !v.postgres.trim().is_empty());
        }
    }

    #[test]
    fn both_backends_get_every_version() {
        let sqlite: Vec<i64> = migrator(Backend::Sqlite)
            .iter()
            .map(|m| m.version)
            .collect();
        let postgres: Vec<i64> = migrator(Backend::Postgres)
            .iter()
            .map(|m| m.version)
            .collect();
        assert_eq!(sqlite, postgres);
        assert_eq!(sqlite.len(), MIGRATIONS.len());
    }
}
