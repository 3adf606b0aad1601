-- The zone a user reads times in (WIB, WITA, WIT or UTC); stored times stay UTC.
ALTER TABLE users ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'WIB'
    CHECK (time_zone IN ('WIB', 'WITA', 'WIT', 'UTC'));
