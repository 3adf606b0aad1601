-- A merchant's signing credentials per environment. The secret is sealed with the server's
-- key (XChaCha20-Poly1305, see src/secrets.rs): never stored in the clear.
CREATE TABLE api_keys (
    merchant_id INTEGER NOT NULL REFERENCES merchants (id),
    environment TEXT NOT NULL CHECK (environment IN ('sandbox', 'production')),
    client_id TEXT NOT NULL UNIQUE,
    secret_sealed TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    rotated_at INTEGER,
    PRIMARY KEY (merchant_id, environment)
);

-- Every notification sent (test notifications now, payment notifications later) with exactly
-- what was sent and what came back, for the delivery log.
CREATE TABLE deliveries (
    id INTEGER PRIMARY KEY,
    merchant_id INTEGER NOT NULL REFERENCES merchants (id),
    section TEXT NOT NULL,
    channel TEXT NOT NULL,
    environment TEXT NOT NULL CHECK (environment IN ('sandbox', 'production')),
    kind TEXT NOT NULL CHECK (kind IN ('test', 'payment')),
    url TEXT NOT NULL,
    -- JSON array of [name, value] pairs, in the order sent.
    request_headers TEXT NOT NULL,
    request_body TEXT NOT NULL,
    response_status INTEGER,
    -- The start of the answer (at most 4 KiB of text).
    response_body TEXT,
    latency_ms INTEGER,
    outcome TEXT NOT NULL CHECK (outcome IN ('delivered', 'failed', 'timeout', 'refused')),
    error TEXT,
    created_at INTEGER NOT NULL,
    created_by INTEGER REFERENCES users (id)
);
CREATE INDEX deliveries_merchant ON deliveries (merchant_id, id);
CREATE INDEX deliveries_channel ON deliveries (merchant_id, section, channel, id);
CREATE INDEX deliveries_outcome ON deliveries (merchant_id, outcome, id);
