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
);
-- Retention deletes the hours past it, oldest first.
CREATE INDEX delivery_hours_age ON delivery_hours (hour);

-- Keyset pages must never skip a notification. On Postgres an id is taken when a row is
-- inserted but the row shows when its transaction commits, so a reader could pass an id whose
-- row appears later. So each notification takes its place in the log (`seq`) in a trigger,
-- after taking a lock on its merchant held until the transaction ends: one merchant's
-- inserting transactions run one after another from there, and their places become visible in
-- order. The lock is an advisory one (class 0x7061796c, "payl", and a hash of the merchant's
-- id: two merchants sharing one only wait for each other), so no row is updated per
-- notification. SQLite has one writer at a time, so its ids are already in
-- that order.
CREATE SEQUENCE delivery_log_seq;
ALTER TABLE deliveries ADD COLUMN seq BIGINT;
UPDATE deliveries SET seq = numbered.seq
FROM (SELECT id, row_number() OVER (ORDER BY id) AS seq FROM deliveries) AS numbered
WHERE numbered.id = deliveries.id;
SELECT setval('delivery_log_seq', COALESCE((SELECT MAX(seq) FROM deliveries), 0) + 1, false);
ALTER TABLE deliveries ALTER COLUMN seq SET NOT NULL;

CREATE FUNCTION deliveries_take_position() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(1885436268, hashint8(NEW.merchant_id));
    NEW.seq := nextval('delivery_log_seq');
    RETURN NEW;
END
$$;
CREATE TRIGGER deliveries_position BEFORE INSERT ON deliveries
FOR EACH ROW EXECUTE FUNCTION deliveries_take_position();

DROP INDEX deliveries_merchant;
DROP INDEX deliveries_channel;
DROP INDEX deliveries_status;
DROP INDEX deliveries_environment;
DROP INDEX deliveries_tests;
CREATE UNIQUE INDEX deliveries_merchant ON deliveries (merchant_id, seq);
CREATE INDEX deliveries_channel ON deliveries (merchant_id, section, channel, seq);
CREATE INDEX deliveries_status ON deliveries (merchant_id, status, seq);
CREATE INDEX deliveries_environment ON deliveries (merchant_id, environment, seq);
CREATE INDEX deliveries_tests ON deliveries (merchant_id, seq) WHERE kind = 'test';

-- Invoice search matches prefixes by bytes, whatever the database's collation.
CREATE INDEX payments_invoice_prefix ON payments (merchant_id, invoice_number COLLATE "C");
