-- What a lockout leaves allowed: 'reducing' (no new exposure) or 'halted' (no exposure at all).
ALTER TABLE lockouts ADD COLUMN state TEXT NOT NULL DEFAULT 'reducing';
-- Lockouts from before this column: the ones whose rule flattened the account kept it flat.
UPDATE lockouts SET state = 'halted'
    WHERE symbol IS NULL AND end_kind IN ('daily_reset', 'next_session', 'never');
UPDATE lockouts SET state = 'halted' WHERE rule = 'symbol_blocks';
