-- Every non-quote event ever applied, by its stable id: the exactly-once guard.
CREATE TABLE events (
    event_id   TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    kind       TEXT NOT NULL,
    ts         TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE accounts (
    account_id  TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    balance     TEXT NOT NULL,
    can_trade   INTEGER NOT NULL,
    trading_day TEXT NOT NULL
);

CREATE TABLE account_days (
    account_id     TEXT NOT NULL,
    trading_day    TEXT NOT NULL,
    realized_gross TEXT NOT NULL,
    fees           TEXT NOT NULL,
    fills          INTEGER NOT NULL,
    entries        INTEGER NOT NULL,
    PRIMARY KEY (account_id, trading_day)
);

CREATE TABLE positions (
    account_id TEXT NOT NULL,
    symbol     TEXT NOT NULL,
    size       INTEGER NOT NULL,
    avg_price  TEXT NOT NULL,
    opened_at  TEXT NOT NULL,
    last_price TEXT,
    PRIMARY KEY (account_id, symbol)
);

CREATE TABLE fills (
    event_id    TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL,
    trading_day TEXT NOT NULL,
    ts          TEXT NOT NULL,
    symbol      TEXT NOT NULL,
    side        INTEGER NOT NULL,
    quantity    INTEGER NOT NULL,
    price       TEXT NOT NULL,
    fee         TEXT NOT NULL,
    realized    TEXT NOT NULL,
    opened      INTEGER NOT NULL,
    order_id    TEXT NOT NULL
);
CREATE INDEX fills_by_day ON fills (account_id, trading_day, ts);

CREATE TABLE orders (
    account_id  TEXT NOT NULL,
    order_id    TEXT NOT NULL,
    symbol      TEXT NOT NULL,
    side        INTEGER NOT NULL,
    type        TEXT NOT NULL,
    quantity    INTEGER NOT NULL,
    limit_price TEXT,
    stop_price  TEXT,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (account_id, order_id)
);

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
