-- Two-factor sign-in. Each user's TOTP secret, sealed with PAYHOOK_SECRET_KEY, on once its first
-- code was right (`enabled_at`); the newest time step a code was accepted for, so no code works
-- twice; and the recovery codes, each kept as a keyed hash and used once.
CREATE TABLE two_factor (
    user_id INTEGER PRIMARY KEY REFERENCES users (id),
    secret TEXT NOT NULL,
    enabled_at INTEGER,
    last_step INTEGER NOT NULL DEFAULT -1,
    created_at INTEGER NOT NULL
);

CREATE TABLE recovery_codes (
    user_id INTEGER NOT NULL REFERENCES users (id),
    code_hash TEXT NOT NULL,
    used_at INTEGER,
    PRIMARY KEY (user_id, code_hash)
);

-- A merchant may require two-factor sign-in of every one of its users.
ALTER TABLE merchants ADD COLUMN require_two_factor BOOLEAN NOT NULL DEFAULT FALSE;
