-- Failure alerts, recovering failed notifications in one go, secret rotation with an overlap,
-- and retention.

-- A failing episode of a channel and environment: when it began (NULL while healthy) and when
-- its team was last alerted, so an episode is alerted once, and a channel that flaps at most
-- once in 6 hours; a recovery is told only of an episode that was alerted.
ALTER TABLE channel_health ADD COLUMN failing_since BIGINT;
ALTER TABLE channel_health ADD COLUMN alerted_at BIGINT;

-- Each user may turn the failure emails off.
ALTER TABLE users ADD COLUMN failure_alerts BOOLEAN NOT NULL DEFAULT TRUE;

-- A resend queued by "recover" rather than by hand: paced per merchant (at most 20 a second,
-- the merchant's next free moment kept on its row) and never more than half the workers.
ALTER TABLE delivery_resends ADD COLUMN recovered BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE merchants ADD COLUMN recover_next_at BIGINT NOT NULL DEFAULT 0;

-- A scheduled rotation: the next secret (sealed like the current one) and when it takes over;
-- until then the current one signs and the payment API accepts both.
ALTER TABLE api_keys ADD COLUMN next_secret_sealed TEXT;
ALTER TABLE api_keys ADD COLUMN next_takes_over_at BIGINT;
CREATE INDEX api_keys_takeover ON api_keys (next_takes_over_at) WHERE next_takes_over_at IS NOT NULL;

-- Retention reads the oldest notifications and emails first.
CREATE INDEX deliveries_age ON deliveries (created_at);
CREATE INDEX email_outbox_age ON email_outbox (created_at);

-- A background job one instance at a time: whoever holds the row until `held_until`.
CREATE TABLE job_leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    held_until BIGINT NOT NULL
);

-- A recover queues up to 10,000 resends: the workers find hand-made and recovered ones apart.
CREATE INDEX delivery_resends_manual ON delivery_resends (requested_at) WHERE NOT recovered;
CREATE INDEX delivery_resends_recovered ON delivery_resends (merchant_id, delivery_id) WHERE recovered;
