-- Times are milliseconds since the Unix epoch on both backends.
CREATE TABLE merchants (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('merchant', 'admin')),
    merchant_id INTEGER REFERENCES merchants (id),
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    -- Bumped when the password changes or the user is disabled: older sessions stop working.
    session_epoch INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    CHECK ((role = 'merchant') = (merchant_id IS NOT NULL))
);
CREATE INDEX users_merchant ON users (merchant_id);

CREATE TABLE channel_settings (
    merchant_id INTEGER NOT NULL REFERENCES merchants (id),
    section TEXT NOT NULL,
    channel TEXT NOT NULL,
    sandbox_url TEXT,
    production_url TEXT,
    version INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    updated_by INTEGER REFERENCES users (id),
    PRIMARY KEY (merchant_id, section, channel)
);

CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    user_id INTEGER REFERENCES users (id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expiry ON sessions (expires_at);

CREATE TABLE login_failures (
    email TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX login_failures_email_at ON login_failures (email, at);

-- The audit log is a hash chain: ids are assigned by the appender (last id + 1) under a lock,
-- and `hash` covers every field plus `prev_hash` (see src/store/audit_chain.rs).
CREATE TABLE audit_events (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    action TEXT NOT NULL,
    actor_user_id INTEGER,
    actor_email TEXT,
    actor_role TEXT,
    merchant_id INTEGER,
    section TEXT,
    channel TEXT,
    field TEXT,
    old_value TEXT,
    new_value TEXT,
    client_ip TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_events_channel ON audit_events (merchant_id, section, channel, id);
