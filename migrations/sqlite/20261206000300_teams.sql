-- no-transaction
-- Merchant teams. A merchant's users are owners, developers or viewers (the `merchant` users of
-- before become owners); the gateway's staff are admins or read-only auditors. SQLite cannot
-- change a CHECK, so the users table is rebuilt (its rows, ids and every reference kept) with
-- foreign keys off, inside one transaction of its own.
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;

CREATE TABLE users_with_teams (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('owner', 'developer', 'viewer', 'admin', 'auditor')),
    merchant_id INTEGER REFERENCES merchants (id),
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    -- Bumped when the password changes or the user is disabled: older sessions stop working.
    session_epoch INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    must_change_password BOOLEAN NOT NULL DEFAULT FALSE,
    language TEXT,
    last_sign_in_at INTEGER,
    -- Removed from its team: kept (its changes and events still name it), never signed in again
    -- unless invited anew.
    removed_at INTEGER,
    CHECK ((role IN ('owner', 'developer', 'viewer')) = (merchant_id IS NOT NULL))
);
INSERT INTO users_with_teams (id, email, password_hash, role, merchant_id, disabled,
    session_epoch, created_at, must_change_password, language)
SELECT id, email, password_hash, CASE role WHEN 'merchant' THEN 'owner' ELSE role END,
    merchant_id, disabled, session_epoch, created_at, must_change_password, language
FROM users;
DROP TABLE users;
ALTER TABLE users_with_teams RENAME TO users;
CREATE INDEX users_merchant ON users (merchant_id);

-- An invitation to join a merchant's team: only the SHA-256 of its link's token is kept; it
-- works once, for 7 days, unless revoked or replaced by a newer one for the same address.
CREATE TABLE invitations (
    id INTEGER PRIMARY KEY,
    merchant_id INTEGER NOT NULL REFERENCES merchants (id),
    email TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('owner', 'developer', 'viewer')),
    token_hash TEXT NOT NULL UNIQUE,
    invited_by INTEGER REFERENCES users (id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    -- Set once: accepted, revoked or replaced; the link works only while both are empty.
    accepted_at INTEGER,
    revoked_at INTEGER
);
CREATE INDEX invitations_merchant ON invitations (merchant_id, created_at);

PRAGMA foreign_key_check;
COMMIT;
PRAGMA foreign_keys = ON;
