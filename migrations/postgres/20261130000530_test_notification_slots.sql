-- Test notifications in flight, at most two per merchant: a slot is taken before sending and
-- given back after. One left behind by a server that stopped frees itself at held_until.
CREATE TABLE test_notification_slots (
    merchant_id BIGINT NOT NULL REFERENCES merchants (id),
    slot BIGINT NOT NULL,
    holder TEXT NOT NULL,
    held_until BIGINT NOT NULL,
    PRIMARY KEY (merchant_id, slot)
);
