//! Self-service lookup tables: key → value rows an IVR reads back to callers (a
//! balance by ID number, an application's status by reference). The configuration
//! names the tables and their CSV files; the engine loads them here at startup.

use crate::error::{self, StoreError};
use crate::store::{Store, on_pool};

impl Store {
    /// Replaces every row of table `name` with `rows`, in one transaction: a reader sees
    /// the old table or the new one, never a mix.
    pub async fn replace_table(
        &self,
        name: &str,
        rows: &[(String, String)],
    ) -> Result<(), StoreError> {
        const DELETE: &str = "DELETE FROM self_service WHERE table_name = $1";
        const INSERT: &str =
            "INSERT INTO self_service (table_name, key, value) VALUES ($1, $2, $3)";
        on_pool!(self, pool => {
            let mut tx = pool.begin().await.map_err(error::query("replace_table"))?;
            sqlx::query(DELETE).bind(name).execute(&mut *tx).await.map_err(error::query("replace_table delete"))?;
            for (key, value) in rows {
                sqlx::query(INSERT)
                    .bind(name)
                    .bind(key.as_str())
                    .bind(value.as_str())
                    .execute(&mut *tx)
                    .await
                    .map_err(error::query("replace_table insert"))?;
            }
            tx.commit().await.map_err(error::query("replace_table commit"))
        })
    }

    /// The value stored under `key` in table `name`.
    pub async fn lookup(&self, name: &str, key: &str) -> Result<Option<String>, StoreError> {
        const SQL: &str = "SELECT value FROM self_service WHERE table_name = $1 AND key = $2";
        on_pool!(self, pool => {
            sqlx::query_scalar::<_, String>(SQL).bind(name).bind(key).fetch_optional(pool).await
        })
        .map_err(error::query("lookup"))
    }
}
