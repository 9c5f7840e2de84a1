-- ACD (postgres): what the queue did with each call, and the queue event log
-- (queue_log-style event names), linked to call records by the SIP Call-ID.
ALTER TABLE calls ADD COLUMN queue TEXT;             -- the queue the caller waited in
ALTER TABLE calls ADD COLUMN agent TEXT;             -- the agent who took the call
ALTER TABLE calls ADD COLUMN wait_ms BIGINT;         -- time in queue before an agent answered or the caller left
ALTER TABLE calls ADD COLUMN satisfaction INTEGER;   -- the caller's DTMF rating after the call

CREATE TABLE queue_log (
    id       BIGSERIAL PRIMARY KEY,
    at       BIGINT NOT NULL,   -- unix ms
    call_id  TEXT,               -- the caller leg's SIP Call-ID (calls.call_id)
    queue    TEXT    NOT NULL,   -- queue name, or NONE for agent-only events
    agent    TEXT,
    event    TEXT    NOT NULL,   -- ENTERQUEUE, CONNECT, ABANDON, ...
    data     TEXT    NOT NULL    -- JSON array of the event's fields
);
CREATE INDEX queue_log_call ON queue_log (call_id);
CREATE INDEX queue_log_at ON queue_log (at);
