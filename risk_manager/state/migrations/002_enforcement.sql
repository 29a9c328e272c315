-- Lockouts are rows, not flags: ended ones stay, stamped with how and when they ended.
CREATE TABLE lockouts (
    id          INTEGER PRIMARY KEY,
    account_id  TEXT NOT NULL,
    rule        TEXT NOT NULL,
    symbol      TEXT,
    reason      TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    end_kind    TEXT NOT NULL,
    until       TEXT,
    ended_at    TEXT,
    end_reason  TEXT
);
CREATE INDEX lockouts_active ON lockouts (account_id) WHERE ended_at IS NULL;

-- One row per enforcement batch (the merged actions of one event), written as 'pending' in the
-- same transaction as the event that caused it, then completed by the executor.
CREATE TABLE enforcement (
    id             INTEGER PRIMARY KEY,
    created_at     TEXT NOT NULL,
    account_id     TEXT NOT NULL,
    rule           TEXT NOT NULL,
    rules          TEXT NOT NULL,
    reason         TEXT NOT NULL,
    trigger        TEXT NOT NULL,
    steps          TEXT NOT NULL,
    status         TEXT NOT NULL,
    responses      TEXT NOT NULL DEFAULT '[]',
    outcome        TEXT NOT NULL DEFAULT '',
    first_action_ms REAL,
    latency_ms     REAL,
    completed_at   TEXT
);
CREATE INDEX enforcement_by_account ON enforcement (account_id, id);
CREATE INDEX enforcement_pending ON enforcement (status) WHERE status = 'pending';

CREATE TABLE rule_state (
    account_id TEXT NOT NULL,
    rule       TEXT NOT NULL,
    state      TEXT NOT NULL,
    PRIMARY KEY (account_id, rule)
);
