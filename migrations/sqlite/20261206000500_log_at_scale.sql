-- The notification log at scale.

-- Hourly counts of payment notifications (tests are kept out) per merchant, channel and
-- environment, by the hour each was created: how they ended so far (delivered at the first
-- attempt, after a retry, still retrying, failed), every attempt made, the delivered ones, and
-- the attempts' latencies in buckets (`latency_0` up to 50 ms, then 100, 200, 300, 500, 1000,
-- 2000, 5000, 10000 ms, `latency_9` above). The transaction that records an attempt moves the
-- counts, so they are never behind and never counted twice; the health page reads only this.
CREATE TABLE delivery_hours (
    merchant_id BIGINT NOT NULL REFERENCES merchants (id),
    hour BIGINT NOT NULL,
    section TEXT NOT NULL,
    channel TEXT NOT NULL,
    environment TEXT NOT NULL,
    first_try BIGINT NOT NULL DEFAULT 0,
    retried BIGINT NOT NULL DEFAULT 0,
    retrying BIGINT NOT NULL DEFAULT 0,
    failed BIGINT NOT NULL DEFAULT 0,
    attempts BIGINT NOT NULL DEFAULT 0,
    delivered_attempts BIGINT NOT NULL DEFAULT 0,
    latency_0 BIGINT NOT NULL DEFAULT 0,
    latency_1 BIGINT NOT NULL DEFAULT 0,
    latency_2 BIGINT NOT NULL DEFAULT 0,
    latency_3 BIGINT NOT NULL DEFAULT 0,
    latency_4 BIGINT NOT NULL DEFAULT 0,
    latency_5 BIGINT NOT NULL DEFAULT 0,
    latency_6 BIGINT NOT NULL DEFAULT 0,
    latency_7 BIGINT NOT NULL DEFAULT 0,
    latency_8 BIGINT NOT NULL DEFAULT 0,
    latency_9 BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (merchant_id, hour, section, channel, environment)
) WITHOUT ROWID;
-- Retention deletes the hours past it, oldest first.
CREATE INDEX delivery_hours_age ON delivery_hours (hour);

-- Invoice search matches prefixes through the (merchant_id, invoice_number) unique index,
-- which SQLite keeps in byte order already.
