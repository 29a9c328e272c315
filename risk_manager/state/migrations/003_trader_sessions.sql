-- The trader's clock-in / clock-out sessions. An open session has no ended_at; the partial
-- unique index allows at most one of those, so a double clock-in cannot slip through.
CREATE TABLE trader_sessions (
    id         INTEGER PRIMARY KEY,
    started_at TEXT NOT NULL,  -- UTC, ISO 8601 with microseconds (sorts as text)
    ended_at   TEXT
);
CREATE UNIQUE INDEX trader_sessions_one_open ON trader_sessions ((ended_at IS NULL))
    WHERE ended_at IS NULL;
CREATE INDEX trader_sessions_by_start ON trader_sessions (started_at);
