-- The delivery log: resends asked for by hand, each channel's health at a glance, and the
-- indexes the log's filters, its chart and the admins' failing-merchants list read.

-- Attempts a user asked for (the retry schedule counts only the others), and attempts that
-- failed (a delivered notification with none was delivered at once).
ALTER TABLE deliveries ADD COLUMN manual_attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE deliveries ADD COLUMN failures BIGINT NOT NULL DEFAULT 0;
UPDATE deliveries SET failures = (SELECT COUNT(*) FROM delivery_attempts a
    WHERE a.delivery_id = deliveries.id AND a.outcome <> 'delivered');

-- A resend waiting for its one attempt, or making it. The key is the delivery: at most one
-- resend in flight per delivery. A worker claims it with a lease, like a due delivery.
CREATE TABLE delivery_resends (
    delivery_id BIGINT PRIMARY KEY REFERENCES deliveries (id),
    merchant_id BIGINT NOT NULL REFERENCES merchants (id),
    requested_by BIGINT NOT NULL REFERENCES users (id),
    requested_at BIGINT NOT NULL,
    -- Where to send it when not to the delivery's own URL: the URL saved now.
    url TEXT,
    lease_token TEXT,
    lease_until BIGINT
);
-- The URL an attempt went to, when not its delivery's (a resend to the URL saved since).
ALTER TABLE delivery_attempts ADD COLUMN url TEXT;

CREATE INDEX delivery_resends_merchant ON delivery_resends (merchant_id);

-- Per channel and environment: how many of its newest deliveries failed their first attempt
-- with none delivered since, and the last error. Written only when it changes (a delivered
-- attempt on a healthy channel writes nothing), so deliveries to one channel do not queue on
-- this row.
CREATE TABLE channel_health (
    merchant_id BIGINT NOT NULL REFERENCES merchants (id),
    section TEXT NOT NULL,
    channel TEXT NOT NULL,
    environment TEXT NOT NULL CHECK (environment IN ('sandbox', 'production')),
    failing_streak BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    last_failed_at BIGINT,
    PRIMARY KEY (merchant_id, section, channel, environment)
);
CREATE INDEX channel_health_failing ON channel_health (merchant_id) WHERE failing_streak >= 3;

-- The log's filters, each a keyset scan of one merchant's notifications.
CREATE INDEX deliveries_status ON deliveries (merchant_id, status, id);
CREATE INDEX deliveries_environment ON deliveries (merchant_id, environment, id);
CREATE INDEX deliveries_tests ON deliveries (merchant_id, id) WHERE kind = 'test';
-- The week's chart, read from the index alone.
CREATE INDEX deliveries_created ON deliveries (merchant_id, created_at, status, failures);
