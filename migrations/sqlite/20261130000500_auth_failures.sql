-- Failed password attempts, counted per (account, client IP), per client IP and per account
-- over a sliding window (src/throttle.rs). `ip` is '' when no address applies.
CREATE TABLE auth_failures (
    account TEXT NOT NULL,
    ip TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX auth_failures_account_ip_at ON auth_failures (account, ip, at);
CREATE INDEX auth_failures_ip_at ON auth_failures (ip, at);
CREATE INDEX auth_failures_account_at ON auth_failures (account, at);
