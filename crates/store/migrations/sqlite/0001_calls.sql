-- Call records, one row per SIP call handled by Lifeline (SQLite).
-- Times are integer milliseconds since the Unix epoch (UTC).
-- Invariant: a call is unfinished (result 'in_progress') exactly while ended_at is NULL.
CREATE TABLE calls (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    call_id     TEXT    NOT NULL,
    caller      TEXT    NOT NULL,
    callee      TEXT    NOT NULL,
    transport   TEXT    NOT NULL,
    started_at  INTEGER NOT NULL,
    answered_at INTEGER,
    ended_at    INTEGER,
    result      TEXT    NOT NULL CHECK (result IN ('in_progress', 'answered', 'cancelled',
                    'rejected', 'not_found', 'no_answer', 'failed', 'busy')),
    cause       TEXT,
    CHECK ((ended_at IS NULL) = (result = 'in_progress'))
);

-- Startup crash recovery looks for unfinished calls only.
CREATE INDEX calls_unfinished ON calls (id) WHERE ended_at IS NULL;
