//! Retention: notifications, their attempts (and their hours in the roll-up) and sent emails
//! past their time are deleted in
//! small transactions (the oldest first, through the age indexes), so saves and deliveries
//! never wait long on them; the audit log is never touched. A job lease keeps the work on one
//! instance at a time.

use super::{Db, on_pool};

/// What one batch deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    pub notifications: u64,
    pub attempts: u64,
    pub emails: u64,
    pub email_attempts: u64,
    /// Rows of the hourly roll-up (`delivery_hours`) of hours past retention.
    pub hours: u64,
}

impl Purged {
    pub fn rows(&self) -> u64 {
        self.notifications + self.attempts + self.emails + self.email_attempts + self.hours
    }
}

impl Db {
    /// Takes (or keeps) the lease of job `name` for `holder` until `until`, unless another
    /// holder's lease runs past `now`; returns whether `holder` has it.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn hold_job(
        &self,
        name: &str,
        holder: &str,
        now: i64,
        until: i64,
    ) -> sqlx::Result<bool> {
        on_pool!(self, |pool, _dialect| {
            sqlx::query(
                "INSERT INTO job_leases (name, holder, held_until) VALUES ($1, $2, $3) \
                 ON CONFLICT (name) DO UPDATE SET holder = $2, held_until = $3 \
                 WHERE job_leases.held_until <= $4 OR job_leases.holder = $2",
            )
            .bind(name)
            .bind(holder)
            .bind(until)
            .bind(now)
            .execute(pool)
            .await
            .map(|done| done.rows_affected() == 1)
        })
    }

    /// Gives the lease of job `name` back, if `holder` has it, so any instance may run it next.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn release_job(&self, name: &str, holder: &str, now: i64) -> sqlx::Result<()> {
        on_pool!(self, |pool, _dialect| {
            sqlx::query("UPDATE job_leases SET held_until = $1 WHERE name = $2 AND holder = $3")
                .bind(now)
                .bind(name)
                .bind(holder)
                .execute(pool)
                .await
                .map(drop)
        })
    }

    /// Deletes, in one transaction, at most `max` rows of notifications created before
    /// `cutoff` that are settled (no attempt due, no resend queued): the attempts of the oldest
    /// ones first, then, once they have none, the notifications themselves.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn purge_notifications(&self, cutoff: i64, max: i64) -> sqlx::Result<Purged> {
        on_pool!(self, |pool, dialect| {
            let mut tx = pool.begin_with(dialect.begin).await?;
            let attempts = sqlx::query(
                "DELETE FROM delivery_attempts WHERE id IN (SELECT a.id FROM delivery_attempts a \
                 WHERE a.delivery_id IN (SELECT d.id FROM deliveries d WHERE d.created_at < $1 \
                 AND d.next_attempt_at IS NULL AND NOT EXISTS (SELECT 1 FROM delivery_resends r \
                 WHERE r.delivery_id = d.id) ORDER BY d.created_at LIMIT $2) LIMIT $2)",
            )
            .bind(cutoff)
            .bind(max)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            let mut purged = Purged {
                attempts,
                ..Purged::default()
            };
            if attempts == 0 {
                purged.notifications = sqlx::query(
                    "DELETE FROM deliveries WHERE id IN (SELECT d.id FROM deliveries d \
                     WHERE d.created_at < $1 AND d.next_attempt_at IS NULL \
                     AND NOT EXISTS (SELECT 1 FROM delivery_resends r \
                     WHERE r.delivery_id = d.id) \
                     AND NOT EXISTS (SELECT 1 FROM delivery_attempts a \
                     WHERE a.delivery_id = d.id) ORDER BY d.created_at LIMIT $2)",
                )
                .bind(cutoff)
                .bind(max)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                // The roll-up's hours go with their notifications (those that began before the
                // cutoff's hour), so it stays a recount of what is kept.
                purged.hours = sqlx::query(
                    "DELETE FROM delivery_hours WHERE (merchant_id, hour, section, channel, \
                     environment) IN (SELECT merchant_id, hour, section, channel, environment \
                     FROM delivery_hours WHERE hour < $1 LIMIT $2)",
                )
                .bind(cutoff.div_euclid(super::delivery_hours::HOUR_MS))
                .bind(max)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            }
            tx.commit().await?;
            Ok(purged)
        })
    }

    /// Deletes, in one transaction, at most `max` rows of emails queued before `cutoff` that
    /// were sent or given up: their tries first, then the emails.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn purge_emails(&self, cutoff: i64, max: i64) -> sqlx::Result<Purged> {
        on_pool!(self, |pool, dialect| {
            let mut tx = pool.begin_with(dialect.begin).await?;
            let tries = sqlx::query(
                "DELETE FROM email_attempts WHERE id IN (SELECT a.id FROM email_attempts a \
                 WHERE a.email_id IN (SELECT e.id FROM email_outbox e WHERE e.created_at < $1 \
                 AND e.next_attempt_at IS NULL ORDER BY e.created_at LIMIT $2) LIMIT $2)",
            )
            .bind(cutoff)
            .bind(max)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            let mut purged = Purged {
                email_attempts: tries,
                ..Purged::default()
            };
            if tries == 0 {
                purged.emails = sqlx::query(
                    "DELETE FROM email_outbox WHERE id IN (SELECT e.id FROM email_outbox e \
                     WHERE e.created_at < $1 AND e.next_attempt_at IS NULL \
                     ORDER BY e.created_at LIMIT $2)",
                )
                .bind(cutoff)
                .bind(max)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            }
            tx.commit().await?;
            Ok(purged)
        })
    }
}
