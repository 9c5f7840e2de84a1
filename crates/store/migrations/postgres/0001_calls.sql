-- Call records, one row per SIP call handled by Lifeline (PostgreSQL).
-- Times are integer milliseconds since the Unix epoch (UTC).
-- Invariant: a call is unfinished (result 'in_progress') exactly while ended_at is NULL.
CREATE TABLE calls (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    call_id     TEXT   NOT NULL,
    caller      TEXT   NOT NULL,
    callee      TEXT   NOT NULL,
    transport   TEXT   NOT NULL,
    started_at  BIGINT NOT NULL,
    answered_at BIGINT,
    ended_at    BIGINT,
    result      TEXT   NOT NULL CHECK (result IN ('in_progress', 'answered', 'cancelled',
                    'rejected', 'not_found', 'no_answer', 'failed', 'busy')),
    cause       TEXT,
    CHECK ((ended_at IS NULL) = (result = 'in_progress'))
);

-- Startup crash recovery looks for unfinished calls only.
CREATE INDEX calls_unfinished ON calls (id) WHERE ended_at IS NULL;
