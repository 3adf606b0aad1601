-- The delivery log: resends asked for by hand, each channel's health at a glance, and the
-- indexes the log's chart and the admin's failing-merchants list read by time.

-- Attempts a user asked for; the schedule counts only the others.
ALTER TABLE deliveries ADD COLUMN manual_attempts BIGINT NOT NULL DEFAULT 0;

-- A resend waiting for its one attempt, or making it. The key is the delivery: at most one
-- resend in flight per delivery. A worker claims it with a lease, like a due delivery.
CREATE TABLE delivery_resends (
    delivery_id BIGINT PRIMARY KEY REFERENCES deliveries (id),
    requested_by BIGINT NOT NULL REFERENCES users (id),
    requested_at BIGINT NOT NULL,
    lease_token TEXT,
    lease_until BIGINT
);

-- Per channel: how many of its newest deliveries failed their first attempt with none
-- delivered since, and the last error. Written only when it changes (a delivered attempt on a
-- healthy channel writes nothing), so deliveries to one channel do not queue on this row.
CREATE TABLE channel_health (
    merchant_id BIGINT NOT NULL REFERENCES merchants (id),
    section TEXT NOT NULL,
    channel TEXT NOT NULL,
    failing_streak BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    last_failed_at BIGINT,
    PRIMARY KEY (merchant_id, section, channel)
);
CREATE INDEX channel_health_failing ON channel_health (merchant_id) WHERE failing_streak >= 3;

CREATE INDEX deliveries_created ON deliveries (merchant_id, created_at);
CREATE INDEX delivery_attempts_at ON delivery_attempts (at);
