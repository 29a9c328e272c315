-- Critical notifications waiting for delivery, one row per channel. A row is deleted once the
-- channel accepted it (or its retry window ran out), so what is here survives a kill -9.
CREATE TABLE notification_outbox (
    id              INTEGER PRIMARY KEY,
    channel         TEXT NOT NULL,
    created_at      TEXT NOT NULL,  -- UTC ISO 8601
    notice          TEXT NOT NULL,  -- the message as JSON
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT
);
CREATE INDEX notification_outbox_by_channel ON notification_outbox (channel, id);

-- Loss warnings already sent: once per account, rule gauge, level and trading day.
CREATE TABLE loss_warnings (
    account_id  TEXT NOT NULL,
    trading_day TEXT NOT NULL,
    gauge       TEXT NOT NULL,  -- rule name and what it measures
    percent     INTEGER NOT NULL,
    sent_at     TEXT NOT NULL,
    PRIMARY KEY (account_id, trading_day, gauge, percent)
);
