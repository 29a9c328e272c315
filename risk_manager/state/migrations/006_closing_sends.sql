-- Closing orders the executor sent (written before the request goes out) whose outcome it has
-- not seen yet; a row is deleted once the order's final state and the position reflecting it
-- are known. A restart loads what is left as sends whose outcome is unknown.
CREATE TABLE closing_sends (
    id              INTEGER PRIMARY KEY,
    account_id      TEXT NOT NULL,
    symbol          TEXT NOT NULL,
    side            INTEGER NOT NULL,
    quantity        INTEGER,                     -- NULL: the whole position
    position_before INTEGER NOT NULL,
    sent_at         TEXT NOT NULL,
    seen_before     TEXT NOT NULL DEFAULT '[]',  -- JSON: look-alike orders that cannot be it
    order_id        TEXT,
    acknowledged    INTEGER NOT NULL DEFAULT 0,
    filled_at       TEXT
);
