-- A refused attempt of (account, client IP) is audited once per window: this row says until when
-- the refusal is already on record.
CREATE TABLE auth_refusals (
    account TEXT NOT NULL,
    ip TEXT NOT NULL,
    until BIGINT NOT NULL,
    PRIMARY KEY (account, ip)
);
