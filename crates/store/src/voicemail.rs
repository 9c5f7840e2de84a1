//! Voice messages left by callers (after hours, or when they choose to), listed for
//! staff with a link to the audio.

use serde::Serialize;

use crate::error::{self, StoreError};
use crate::store::{Store, on_pool};
use crate::time::Timestamp;

/// A voice message as listed: serialized with these field names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Voicemail {
    /// Message id.
    pub id: i64,
    /// SIP Call-ID of the call that left it.
    pub call_id: String,
    /// The caller, as in the From header.
    pub caller: String,
    /// The number that was dialled.
    pub dialled: String,
    /// When the message was recorded.
    pub created_at: Timestamp,
    /// Its length in milliseconds.
    pub duration_ms: i64,
    /// Where to fetch the audio (`/api/v1/voicemails/{id}/audio`).
    pub audio: String,
    /// The WAV file, relative to the data directory (never serialized).
    #[serde(skip)]
    pub file: String,
}

/// A message to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewVoicemail {
    /// SIP Call-ID of the call.
    pub call_id: String,
    /// The caller.
    pub caller: String,
    /// The dialled number.
    pub dialled: String,
    /// When it was recorded.
    pub created_at: Timestamp,
    /// Length in milliseconds.
    pub duration_ms: i64,
    /// The WAV file, relative to the data directory.
    pub file: String,
}

type Row = (i64, String, String, String, i64, i64, String);

/// `SELECT <every column of a message> FROM voicemails <rest>`.
macro_rules! select_voicemails {
    ($rest:literal) => {
        concat!(
            "SELECT id, call_id, caller, dialled, created_at, duration_ms, file FROM voicemails ",
            $rest
        )
    };
}

fn from_row((id, call_id, caller, dialled, created_at, duration_ms, file): Row) -> Voicemail {
    Voicemail {
        id,
        call_id,
        caller,
        dialled,
        created_at: Timestamp::from_unix_ms(created_at),
        duration_ms,
        audio: format!("/api/v1/voicemails/{id}/audio"),
        file,
    }
}

impl Store {
    /// Stores a voice message and returns its id.
    pub async fn add_voicemail(&self, v: &NewVoicemail) -> Result<i64, StoreError> {
        const SQL: &str = "INSERT INTO voicemails (call_id, caller, dialled, created_at, duration_ms, file) \
                           VALUES ($1, $2, $3, $4, $5, $6) RETURNING id";
        on_pool!(self, pool => {
            sqlx::query_scalar::<_, i64>(SQL)
                .bind(v.call_id.as_str())
                .bind(v.caller.as_str())
                .bind(v.dialled.as_str())
                .bind(v.created_at.unix_ms())
                .bind(v.duration_ms)
                .bind(v.file.as_str())
                .fetch_one(pool)
                .await
        })
        .map_err(error::query("add_voicemail"))
    }

    /// Voice messages, newest first, paged like [`Store::list_calls`].
    pub async fn list_voicemails(
        &self,
        limit: u32,
        before_id: Option<i64>,
    ) -> Result<Vec<Voicemail>, StoreError> {
        const SQL: &str = select_voicemails!("WHERE id < $1 ORDER BY id DESC LIMIT $2");
        let rows = on_pool!(self, pool => {
            sqlx::query_as::<_, Row>(SQL)
                .bind(before_id.unwrap_or(i64::MAX))
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await
        })
        .map_err(error::query("list_voicemails"))?;
        Ok(rows.into_iter().map(from_row).collect())
    }

    /// One voice message.
    pub async fn get_voicemail(&self, id: i64) -> Result<Option<Voicemail>, StoreError> {
        const SQL: &str = select_voicemails!("WHERE id = $1");
        let row = on_pool!(self, pool => {
            sqlx::query_as::<_, Row>(SQL).bind(id).fetch_optional(pool).await
        })
        .map_err(error::query("get_voicemail"))?;
        Ok(row.map(from_row))
    }
}
