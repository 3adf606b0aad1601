//! Leases a stopping process gives back, so the deliveries and emails it claimed but will not
//! try are due again at once rather than when their leases run out.

use super::{Db, on_pool};

impl Db {
    /// Makes due at `now` every delivery (and resend) still leased by `owner`'s claims (claim
    /// tokens `owner:…`), whose leases end by `latest_lease_end`; returns how many. Only this
    /// process's claims: others' leases are left to their owners.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn release_leases(
        &self,
        owner: &str,
        now: i64,
        latest_lease_end: i64,
    ) -> sqlx::Result<u64> {
        // A lease ends within one lease of now, so the queue's index finds the leased rows
        // without reading the deliveries that wait for a retry hours away.
        on_pool!(self, |pool, _dialect| {
            let owned = format!("{owner}:%");
            let deliveries = sqlx::query(
                "UPDATE deliveries SET next_attempt_at = $1, lease_token = NULL \
                 WHERE next_attempt_at > $1 AND next_attempt_at <= $2 AND lease_token LIKE $3",
            )
            .bind(now)
            .bind(latest_lease_end)
            .bind(&owned)
            .execute(pool)
            .await?;
            // Resends are few (a handful per merchant): their table is read whole.
            let resends = sqlx::query(
                "UPDATE delivery_resends SET lease_token = NULL, lease_until = NULL \
                 WHERE lease_token LIKE $1",
            )
            .bind(&owned)
            .execute(pool)
            .await?;
            Ok(deliveries.rows_affected() + resends.rows_affected())
        })
    }

    /// Makes due at `now` every email still leased by `owner`'s claims (tokens `owner:…`) whose
    /// lease ends by `latest_lease_end`: a stopping process gives back what it will not send.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn release_email_leases(
        &self,
        owner: &str,
        now: i64,
        latest_lease_end: i64,
    ) -> sqlx::Result<u64> {
        on_pool!(self, |pool, _dialect| {
            sqlx::query(
                "UPDATE email_outbox SET next_attempt_at = $1, lease_token = NULL \
                 WHERE next_attempt_at > $1 AND next_attempt_at <= $2 AND lease_token LIKE $3",
            )
            .bind(now)
            .bind(latest_lease_end)
            .bind(format!("{owner}:%"))
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
        })
    }
}
