//! Failed password attempts, counted by the throttle when its counters live in the database.
//! `ip` is `''` for attempts counted without an address (password re-checks in a session).

use super::{Db, on_pool};

/// Failures counted in one window, each count stopped at its cap (no scan runs longer than it
/// needs to, however many failures an attack piles up).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureCounts {
    /// For this account from this address.
    pub account_ip: i64,
    /// From this address, over every account.
    pub ip: i64,
    /// For this account, from every address.
    pub account: i64,
}

impl Db {
    /// How many failures since `since`, each count capped at its entry in `caps` (account and
    /// address, address, account).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn auth_failure_counts(
        &self,
        account: &str,
        ip: &str,
        since: i64,
        caps: [i64; 3],
    ) -> sqlx::Result<FailureCounts> {
        let (account_ip, by_ip, by_account): (i64, i64, i64) = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT \
                 (SELECT COUNT(*) FROM (SELECT 1 FROM auth_failures \
                   WHERE account = $1 AND ip = $2 AND at > $3 LIMIT $4) AS pair), \
                 (SELECT COUNT(*) FROM (SELECT 1 FROM auth_failures \
                   WHERE ip = $2 AND ip <> '' AND at > $3 LIMIT $5) AS by_ip), \
                 (SELECT COUNT(*) FROM (SELECT 1 FROM auth_failures \
                   WHERE account = $1 AND at > $3 LIMIT $6) AS by_account)",
            )
            .bind(account)
            .bind(ip)
            .bind(since)
            .bind(caps[0])
            .bind(caps[1])
            .bind(caps[2])
            .fetch_one(pool)
            .await
        })?;
        Ok(FailureCounts {
            account_ip,
            ip: by_ip,
            account: by_account,
        })
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn record_auth_failure(&self, account: &str, ip: &str, at: i64) -> sqlx::Result<()> {
        on_pool!(self, |pool, _dialect| {
            sqlx::query("INSERT INTO auth_failures (account, ip, at) VALUES ($1, $2, $3)")
                .bind(account)
                .bind(ip)
                .bind(at)
                .execute(pool)
                .await
                .map(drop)
        })
    }

    /// Forgets the failures of one account from one address (its owner got in from there).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn clear_auth_failures(&self, account: &str, ip: &str) -> sqlx::Result<()> {
        on_pool!(self, |pool, _dialect| {
            sqlx::query("DELETE FROM auth_failures WHERE account = $1 AND ip = $2")
                .bind(account)
                .bind(ip)
                .execute(pool)
                .await
                .map(drop)
        })
    }

    /// Notes a refusal of (account, address) until `until`; false when one is noted already
    /// and has not ended by `now`, so a refused attempt is audited once per window.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn note_auth_refusal(
        &self,
        account: &str,
        ip: &str,
        now: i64,
        until: i64,
    ) -> sqlx::Result<bool> {
        let done = on_pool!(self, |pool, _dialect| {
            sqlx::query(
                "INSERT INTO auth_refusals (account, ip, until) VALUES ($1, $2, $3) \
                 ON CONFLICT (account, ip) DO UPDATE SET until = excluded.until \
                 WHERE auth_refusals.until <= $4",
            )
            .bind(account)
            .bind(ip)
            .bind(until)
            .bind(now)
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
        })?;
        Ok(done == 1)
    }

    /// Forgets failures and refusal notes that ended before `before`.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn prune_auth_failures(&self, before: i64) -> sqlx::Result<()> {
        on_pool!(self, |pool, _dialect| {
            sqlx::query("DELETE FROM auth_failures WHERE at < $1")
                .bind(before)
                .execute(pool)
                .await?;
            sqlx::query("DELETE FROM auth_refusals WHERE until < $1")
                .bind(before)
                .execute(pool)
                .await
                .map(drop)
        })
    }
}
