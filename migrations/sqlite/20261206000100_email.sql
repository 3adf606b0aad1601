-- Email: a durable outbox sent by workers over SMTP, the password-reset links it carries, and
-- the language each user last chose (emails are written in it).

-- One email to send. Its subject and parts are sealed with PAYHOOK_SECRET_KEY (they may carry a
-- live link) and dropped once it is sent or given up; the recipient and kind stay on record.
-- `message_id` is its Message-ID header, the same on every try, so a copy sent twice after a
-- crash is the same message to the recipient's mail program.
CREATE TABLE email_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    recipient TEXT NOT NULL,
    sealed TEXT,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    -- When it is due (a claim moves it to the lease's end); NULL once sent or given up.
    next_attempt_at INTEGER,
    lease_token TEXT,
    sent_at INTEGER,
    last_error TEXT
);
CREATE INDEX email_outbox_due ON email_outbox (next_attempt_at) WHERE next_attempt_at IS NOT NULL;

-- Every try to hand an email to the relay.
CREATE TABLE email_attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    email_id INTEGER NOT NULL REFERENCES email_outbox (id),
    at INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    error TEXT
);
CREATE INDEX email_attempts_email ON email_attempts (email_id, id);

-- A password-reset link: only the SHA-256 of its token is kept. An account has at most one (a
-- newer request replaces it); it works once (its row is deleted when used) and until
-- `expires_at`; a sign-in or a password change deletes it.
CREATE TABLE password_resets (
    token_hash TEXT NOT NULL UNIQUE,
    user_id INTEGER PRIMARY KEY REFERENCES users (id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);

ALTER TABLE users ADD COLUMN language TEXT;
