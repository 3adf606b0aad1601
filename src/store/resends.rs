//! Resends: one attempt of a delivery asked for by a user, queued beside the retry schedule
//! (whatever the delivery's state) and claimed by the workers like a due delivery.

use super::audit::{AuditAction, AuditRecord, append_events};
use super::deliveries::{ClaimedDelivery, NewAttempt, insert_attempt};
use super::delivery_hours::{lock_delivery, roll_up};
use super::health::{AlertMail, Seen, note_health};
use super::{Actor, Db, now_ms, on_pool};
use crate::domain::{DeliveryStatus, Outcome};

/// Resends one merchant may have waiting at once: each is a request to a receiver the merchant
/// names, so a script pressing Resend on every notification cannot crowd the workers.
pub const MAX_PENDING_RESENDS: i64 = 10;

/// The resends a claim holding token `$1` took, each with its delivery.
pub(super) const CLAIMED_RESENDS: &str = "SELECT d.id, d.merchant_id, d.section, d.channel, \
     d.environment, COALESCE(r.url, d.url) AS url, d.request_id, d.request_body, d.attempts, \
     d.manual_attempts, d.first_attempt_at, r.lease_token, r.requested_by AS manual_by, \
     r.url AS resend_url FROM delivery_resends r JOIN deliveries d ON d.id = r.delivery_id \
     WHERE r.lease_token = $1";

/// What became of a request to resend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResendRequest {
    Queued,
    /// A resend of this delivery is already queued or on its way; nothing was added.
    AlreadyQueued,
    /// The merchant has [`MAX_PENDING_RESENDS`] waiting already; nothing was added.
    TooMany,
    /// The merchant has no such delivery.
    NotFound,
    /// A resend to the saved URL was asked for, but none is saved for that environment.
    NoSavedUrl,
}

impl Db {
    /// Queues one attempt of `delivery_id` now, if it is `merchant_id`'s, no resend of it is in
    /// flight and the merchant has fewer than [`MAX_PENDING_RESENDS`] waiting, with its audit
    /// event in the same transaction (`notification_resend`: the notification's id as the old
    /// value, its URL as the new one).
    ///
    /// With `to_saved`, it goes to the URL saved now for the channel and environment (the
    /// merchant fixed it since), signed for that URL's path.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn request_resend(
        &self,
        merchant_id: i64,
        delivery_id: i64,
        to_saved: bool,
        actor: &Actor,
    ) -> sqlx::Result<ResendRequest> {
        let now = now_ms();
        on_pool!(self, |pool, dialect| {
            let mut tx = pool.begin_with(dialect.begin).await?;
            let found: Option<(String, String, String, Option<String>)> = sqlx::query_as(
                "SELECT d.section, d.channel, d.url, \
                 CASE d.environment WHEN 'production' THEN c.production_url \
                 ELSE c.sandbox_url END \
                 FROM deliveries d LEFT JOIN channel_settings c ON c.merchant_id = d.merchant_id \
                 AND c.section = d.section AND c.channel = d.channel \
                 WHERE d.id = $1 AND d.merchant_id = $2",
            )
            .bind(delivery_id)
            .bind(merchant_id)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((section, channel, sent_to, saved)) = found else {
                return Ok(ResendRequest::NotFound);
            };
            let elsewhere = match (to_saved, saved) {
                (false, _) => None,
                (true, Some(saved)) => Some(saved).filter(|saved| *saved != sent_to),
                (true, None) => return Ok(ResendRequest::NoSavedUrl),
            };
            let url = elsewhere.as_deref().unwrap_or(&sent_to);
            let waiting: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM delivery_resends WHERE merchant_id = $1 AND NOT recovered",
            )
            .bind(merchant_id)
            .fetch_one(&mut *tx)
            .await?;
            if waiting >= MAX_PENDING_RESENDS {
                return Ok(ResendRequest::TooMany);
            }
            // The key is the delivery: a second request while one is in flight adds nothing.
            let queued = sqlx::query(
                "INSERT INTO delivery_resends (delivery_id, merchant_id, requested_by, \
                 requested_at, url) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (delivery_id) DO NOTHING",
            )
            .bind(delivery_id)
            .bind(merchant_id)
            .bind(actor.user_id)
            .bind(now)
            .bind(elsewhere.as_deref())
            .execute(&mut *tx)
            .await?;
            if queued.rows_affected() == 0 {
                return Ok(ResendRequest::AlreadyQueued);
            }
            let id = delivery_id.to_string();
            let record = AuditRecord {
                merchant_id: Some(merchant_id),
                section: Some(&section),
                channel: Some(&channel),
                field: Some("delivery"),
                old_value: Some(&id),
                new_value: Some(url),
                ..AuditRecord::of(AuditAction::NotificationResend)
            };
            append_events(&mut tx, dialect, [(now, actor, &record)]).await?;
            tx.commit().await?;
            Ok(ResendRequest::Queued)
        })
    }

    /// Claims up to `limit` resends not claimed by a live lease, like
    /// [`Db::claim_due_deliveries`]: a process that dies leaves them to the next claim. One
    /// whose delivery has a scheduled attempt on its way waits for it.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn claim_resends(
        &self,
        now: i64,
        lease_until: i64,
        token: &str,
        limit: i64,
    ) -> sqlx::Result<Vec<ClaimedDelivery>> {
        on_pool!(self, |pool, dialect| {
            let claim = format!(
                "UPDATE delivery_resends SET lease_token = $1, lease_until = $2 \
                 WHERE delivery_id IN (SELECT r.delivery_id FROM delivery_resends r \
                 WHERE NOT r.recovered AND (r.lease_until IS NULL OR r.lease_until <= $3) \
                 AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.id = r.delivery_id \
                 AND d.lease_token IS NOT NULL AND d.next_attempt_at > $3) \
                 ORDER BY r.requested_at LIMIT $4{})",
                dialect.skip_locked
            );
            let claimed = sqlx::query(sqlx::AssertSqlSafe(claim))
                .bind(token)
                .bind(lease_until)
                .bind(now)
                .bind(limit)
                .execute(pool)
                .await?;
            if claimed.rows_affected() == 0 {
                return Ok(Vec::new());
            }
            sqlx::query_as(CLAIMED_RESENDS)
                .bind(token)
                .fetch_all(pool)
                .await
        })
    }

    /// Records a resend's attempt, made for the user who asked. A delivered one settles the
    /// delivery (no more retries); one that failed leaves its state and schedule as they were
    /// (and a delivered notification's last answer too). Returns false when the resend's lease
    /// had run out and another claim took it: the attempt is kept and counted (it was sent),
    /// the rest is that claim's.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn record_resend(
        &self,
        claimed: &ClaimedDelivery,
        attempt: &NewAttempt<'_>,
        alerts: Option<&dyn AlertMail>,
    ) -> sqlx::Result<bool> {
        let delivered = attempt.outcome == Outcome::Delivered;
        on_pool!(self, |pool, dialect| {
            let mut tx = pool.begin_with(dialect.begin).await?;
            let before = lock_delivery(&mut tx, dialect, claimed.id).await?;
            let elsewhere = claimed.resend_url.as_deref();
            insert_attempt(&mut tx, claimed.id, attempt, claimed.manual_by, elsewhere).await?;
            let ours = sqlx::query(
                "DELETE FROM delivery_resends WHERE delivery_id = $1 AND lease_token = $2",
            )
            .bind(claimed.id)
            .bind(&claimed.lease_token)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            let settles = ours && delivered;
            sqlx::query(
                "UPDATE deliveries SET attempts = attempts + 1, \
                 manual_attempts = manual_attempts + 1, \
                 first_attempt_at = COALESCE(first_attempt_at, $1), last_attempt_at = $1, \
                 last_http_status = CASE WHEN status = 'delivered' AND NOT $4 \
                     THEN last_http_status ELSE $2 END, \
                 last_error = CASE WHEN status = 'delivered' AND NOT $4 \
                     THEN last_error ELSE $3 END, \
                 status = CASE WHEN $4 THEN 'delivered' ELSE status END, \
                 next_attempt_at = CASE WHEN $4 THEN NULL ELSE next_attempt_at END, \
                 lease_token = CASE WHEN $4 THEN NULL ELSE lease_token END \
                 WHERE id = $5",
            )
            .bind(attempt.at)
            .bind(attempt.http_status)
            .bind(attempt.error)
            .bind(settles)
            .bind(claimed.id)
            .execute(&mut *tx)
            .await?;
            if ours {
                let seen = Seen {
                    target: claimed.target(),
                    url: &claimed.url,
                    attempt,
                    first: false,
                };
                note_health(&mut tx, dialect, seen, alerts).await?;
            }
            if let Some(before) = before {
                let status = if settles {
                    DeliveryStatus::Delivered
                } else {
                    before.status
                };
                // Counted whether or not the lease was still ours, as the UPDATE above does.
                roll_up(&mut tx, &before, (status, before.attempts + 1), attempt).await?;
            }
            tx.commit().await?;
            Ok(ours)
        })
    }
}
