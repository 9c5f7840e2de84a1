-- IVR and media (SQLite): the path a caller took through the IVR, the call's recording,
-- self-service lookup tables, and voicemail messages.
ALTER TABLE calls ADD COLUMN ivr_path TEXT;   -- JSON array of steps, set when the call ends
ALTER TABLE calls ADD COLUMN recording TEXT;  -- file under the data dir, relative path

CREATE TABLE self_service (
    table_name TEXT NOT NULL,
    key        TEXT NOT NULL,
    value      TEXT NOT NULL,
    PRIMARY KEY (table_name, key)
);

CREATE TABLE voicemails (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    call_id     TEXT    NOT NULL,
    caller      TEXT    NOT NULL,
    dialled     TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    file        TEXT    NOT NULL
);
