-- Deliveries become a durable queue: one row per (notification, target URL) with its state and
-- schedule, and one row per attempt with exactly what was sent and what came back. Test
-- notifications are deliveries of one attempt.
ALTER TABLE deliveries RENAME TO deliveries_v1;

CREATE TABLE deliveries (
    id INTEGER PRIMARY KEY,
    merchant_id INTEGER NOT NULL REFERENCES merchants (id),
    section TEXT NOT NULL,
    channel TEXT NOT NULL,
    environment TEXT NOT NULL CHECK (environment IN ('sandbox', 'production')),
    kind TEXT NOT NULL CHECK (kind IN ('test', 'payment')),
    payment_id TEXT REFERENCES payments (id),
    url TEXT NOT NULL,
    -- Request-Id (non-SNAP) or X-EXTERNAL-ID (SNAP): one per delivery, repeated on every retry.
    request_id TEXT NOT NULL,
    -- The exact body of every attempt.
    request_body TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'retrying', 'delivered', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    -- When the next attempt is due; NULL once delivered or failed. Claiming a delivery moves
    -- this to the end of the claim's lease, so a worker that dies mid-attempt loses nothing.
    next_attempt_at INTEGER,
    -- The claim that may record the attempt in flight.
    lease_token TEXT,
    first_attempt_at INTEGER,
    last_attempt_at INTEGER,
    last_http_status INTEGER,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    created_by INTEGER REFERENCES users (id)
);

CREATE TABLE delivery_attempts (
    id INTEGER PRIMARY KEY,
    delivery_id INTEGER NOT NULL REFERENCES deliveries (id),
    at INTEGER NOT NULL,
    -- JSON array of [name, value] pairs, in the order sent (each attempt is signed anew).
    request_headers TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('delivered', 'failed', 'timeout', 'refused')),
    http_status INTEGER,
    latency_ms INTEGER,
    -- The start of the answer (at most 4 KiB of text).
    response_body TEXT,
    error TEXT,
    -- The user who asked for this attempt by hand, if one did.
    manual_by INTEGER REFERENCES users (id)
);

INSERT INTO deliveries (id, merchant_id, section, channel, environment, kind, url, request_id,
    request_body, status, attempts, first_attempt_at, last_attempt_at, last_http_status,
    last_error, created_at, created_by)
SELECT id, merchant_id, section, channel, environment, kind, url, '', request_body,
    CASE outcome WHEN 'delivered' THEN 'delivered' ELSE 'failed' END, 1, created_at,
    created_at, response_status, error, created_at, created_by
FROM deliveries_v1;

INSERT INTO delivery_attempts (delivery_id, at, request_headers, outcome, http_status,
    latency_ms, response_body, error)
SELECT id, created_at, request_headers, outcome, response_status, latency_ms, response_body, error
FROM deliveries_v1 ORDER BY id;

DROP TABLE deliveries_v1;

CREATE INDEX deliveries_merchant ON deliveries (merchant_id, id);
CREATE INDEX deliveries_channel ON deliveries (merchant_id, section, channel, id);
CREATE INDEX deliveries_payment ON deliveries (payment_id);
-- The queue: only undone deliveries are in it.
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE next_attempt_at IS NOT NULL;
CREATE INDEX delivery_attempts_delivery ON delivery_attempts (delivery_id, id);
