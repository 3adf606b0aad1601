//! Notification deliveries: a durable queue of (notification, URL) pairs with their state and
//! schedule, and every attempt with exactly what was sent and what came back.

use sqlx::{Database, Encode, Executor, IntoArguments, Transaction, Type};

use super::audit::{AuditAction, AuditRecord, append_events};
use super::delivery_hours::{lock_delivery, roll_up};
use super::health::{AlertMail, HealthTarget, Seen, note_health};
use super::{Actor, Db, now_ms, on_pool};
use crate::domain::{DeliveryKind, DeliveryStatus, Environment, Outcome};

/// One attempt, as it is recorded.
#[derive(Debug, Clone)]
pub struct NewAttempt<'a> {
    pub at: i64,
    /// JSON array of `[name, value]` pairs, as sent.
    pub request_headers: &'a str,
    pub outcome: Outcome,
    pub http_status: Option<i64>,
    pub latency_ms: Option<i64>,
    /// The start of the answer.
    pub response_body: Option<&'a str>,
    pub error: Option<&'a str>,
}

/// A test notification: a delivery of exactly one attempt, sent while the merchant waited.
#[derive(Debug, Clone)]
pub struct TestDelivery<'a> {
    pub merchant_id: i64,
    pub section: &'a str,
    pub channel: &'a str,
    pub environment: Environment,
    pub url: &'a str,
    pub request_id: &'a str,
    pub request_body: &'a str,
    pub attempt: NewAttempt<'a>,
}

impl TestDelivery<'_> {
    /// Whose health its attempt tells.
    pub fn target(&self) -> HealthTarget<'_> {
        HealthTarget {
            merchant_id: self.merchant_id,
            section: self.section,
            channel: self.channel,
            environment: self.environment,
        }
    }
}

/// A delivery a worker claimed: it may send one attempt until its lease runs out.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClaimedDelivery {
    pub id: i64,
    pub merchant_id: i64,
    pub section: String,
    pub channel: String,
    pub environment: Environment,
    pub url: String,
    pub request_id: String,
    pub request_body: String,
    /// Attempts made before this one.
    pub attempts: i64,
    /// Of those, the ones users asked for (the retry schedule counts only the others).
    pub manual_attempts: i64,
    pub first_attempt_at: Option<i64>,
    pub lease_token: String,
    /// Set on a resend: the user who asked for this attempt.
    #[sqlx(default)]
    pub manual_by: Option<i64>,
    /// Set on a resend to the URL saved since: where it goes instead (it is also `url`).
    #[sqlx(default)]
    pub resend_url: Option<String>,
}

impl ClaimedDelivery {
    /// Whose health its attempts tell.
    pub fn target(&self) -> HealthTarget<'_> {
        HealthTarget {
            merchant_id: self.merchant_id,
            section: &self.section,
            channel: &self.channel,
            environment: self.environment,
        }
    }

    /// Attempts the retry schedule has made so far.
    pub fn scheduled_attempts(&self) -> i64 {
        self.attempts - self.manual_attempts
    }
}

/// How the delivery queue and the email outbox stand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueDepth {
    /// Deliveries due for an attempt.
    pub due: i64,
    /// How long the oldest due delivery has waited (0 when none is due).
    pub oldest_due_ms: i64,
    /// Emails not sent yet (waiting for a try, or on their way).
    pub unsent_emails: i64,
    /// How long the oldest of them has waited since it was queued.
    pub oldest_unsent_email_ms: i64,
}

/// What follows an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterAttempt {
    Delivered,
    /// Try again at this time (ms).
    RetryAt(i64),
    /// No attempt is left.
    Failed,
}

/// A delivery as the payment API shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeliveryState {
    pub id: i64,
    pub url: String,
    pub status: DeliveryStatus,
    pub attempts: i64,
    pub next_attempt_at: Option<i64>,
}

/// An attempt as the payment API shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AttemptSummary {
    pub delivery_id: i64,
    pub at: i64,
    pub outcome: Outcome,
    pub http_status: Option<i64>,
    pub latency_ms: Option<i64>,
    pub error: Option<String>,
}

/// Inserts one attempt of delivery `delivery_id` in the open transaction `tx`; `url` when
/// it went elsewhere than the delivery's own URL, `manual_by` when a user asked for it.
pub(super) async fn insert_attempt<DB>(
    tx: &mut Transaction<'_, DB>,
    delivery_id: i64,
    attempt: &NewAttempt<'_>,
    manual_by: Option<i64>,
    url: Option<&str>,
) -> sqlx::Result<()>
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Option<i64>: Encode<'q, DB>,
    for<'q> Option<&'q str>: Encode<'q, DB>,
{
    sqlx::query(
        "INSERT INTO delivery_attempts (delivery_id, at, request_headers, outcome, \
         http_status, latency_ms, response_body, error, manual_by, url) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(delivery_id)
    .bind(attempt.at)
    .bind(attempt.request_headers)
    .bind(attempt.outcome)
    .bind(attempt.http_status)
    .bind(attempt.latency_ms)
    .bind(attempt.response_body)
    .bind(attempt.error)
    .bind(manual_by)
    .bind(url)
    .execute(&mut **tx)
    .await
    .map(drop)
}

impl Db {
    /// Records a test notification, its one attempt and its audit event (outcome and latency,
    /// never a secret) in one transaction; returns the delivery's id.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn record_test_delivery(
        &self,
        delivery: &TestDelivery<'_>,
        summary: &str,
        actor: &Actor,
        alerts: Option<&dyn AlertMail>,
    ) -> sqlx::Result<i64> {
        let attempt = &delivery.attempt;
        let status = DeliveryStatus::after_only_attempt(attempt.outcome);
        on_pool!(self, |pool, dialect| {
            let mut tx = pool.begin_with(dialect.begin).await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO deliveries (merchant_id, section, channel, environment, kind, url, \
                 request_id, request_body, status, attempts, first_attempt_at, last_attempt_at, \
                 last_http_status, last_error, created_at, created_by) \
                 VALUES ($1, $2, $3, $4, $13, $5, $6, $7, $8, 1, $9, $9, $10, $11, $9, $12) \
                 RETURNING id",
            )
            .bind(delivery.merchant_id)
            .bind(delivery.section)
            .bind(delivery.channel)
            .bind(delivery.environment)
            .bind(delivery.url)
            .bind(delivery.request_id)
            .bind(delivery.request_body)
            .bind(status)
            .bind(attempt.at)
            .bind(attempt.http_status)
            .bind(attempt.error)
            .bind(actor.user_id)
            .bind(DeliveryKind::Test)
            .fetch_one(&mut *tx)
            .await?;
            insert_attempt(&mut tx, id, attempt, None, None).await?;
            let seen = Seen {
                target: delivery.target(),
                url: delivery.url,
                attempt,
                first: true,
            };
            note_health(&mut tx, dialect, seen, alerts).await?;
            let record = AuditRecord {
                merchant_id: Some(delivery.merchant_id),
                section: Some(delivery.section),
                channel: Some(delivery.channel),
                field: Some(settings_field(delivery.environment)),
                old_value: Some(delivery.url),
                new_value: Some(summary),
                ..AuditRecord::of(AuditAction::TestNotification)
            };
            append_events(&mut tx, dialect, [(now_ms(), actor, &record)]).await?;
            tx.commit().await?;
            Ok(id)
        })
    }

    /// How many of a merchant's newest `window` deliveries are tests sent at or after `since`
    /// (a bounded scan of the merchant's index, whatever the log's size).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn recent_tests(
        &self,
        merchant_id: i64,
        since: i64,
        window: i64,
    ) -> sqlx::Result<i64> {
        let sql = format!(
            "SELECT COUNT(*) FROM (SELECT kind, created_at FROM deliveries \
             WHERE merchant_id = $1 ORDER BY {} DESC LIMIT $3) AS newest \
             WHERE kind = 'test' AND created_at >= $2",
            self.dialect().log_position
        );
        on_pool!(self, |pool| {
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .bind(merchant_id)
                .bind(since)
                .bind(window)
                .fetch_one(pool)
                .await
        })
    }

    /// Claims up to `limit` due deliveries for one attempt each: their next attempt moves to
    /// `lease_until`, so if this process dies they are due again then, and only a claim holding
    /// `token` may record the outcome. Two processes never claim the same delivery at once:
    /// Postgres skips rows another claim has locked, SQLite runs one writer at a time. A
    /// delivery whose resend is on its way waits for it, so a receiver gets one at a time.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn claim_due_deliveries(
        &self,
        now: i64,
        lease_until: i64,
        token: &str,
        limit: i64,
    ) -> sqlx::Result<Vec<ClaimedDelivery>> {
        on_pool!(self, |pool, dialect| {
            let sql = format!(
                "UPDATE deliveries SET next_attempt_at = $1, lease_token = $2 \
                 WHERE id IN (SELECT id FROM deliveries WHERE next_attempt_at <= $3 \
                 AND NOT EXISTS (SELECT 1 FROM delivery_resends r \
                 WHERE r.delivery_id = deliveries.id AND r.lease_until > $3) \
                 ORDER BY next_attempt_at LIMIT $4{}) \
                 RETURNING id, merchant_id, section, channel, environment, url, request_id, \
                 request_body, attempts, manual_attempts, first_attempt_at, lease_token",
                dialect.skip_locked
            );
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(lease_until)
                .bind(token)
                .bind(now)
                .bind(limit)
                .fetch_all(pool)
                .await
        })
    }

    /// Records the attempt of a claimed delivery and what follows it, in one transaction, with
    /// the emails `alerts` writes when the channel turns failing or recovers.
    /// Returns false when the claim had run out and another took the delivery: the attempt is
    /// kept (it was sent) but the delivery's state is the new claim's to set.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn record_attempt(
        &self,
        claimed: &ClaimedDelivery,
        attempt: &NewAttempt<'_>,
        after: AfterAttempt,
        alerts: Option<&dyn AlertMail>,
    ) -> sqlx::Result<bool> {
        let (status, next) = match after {
            AfterAttempt::Delivered => (DeliveryStatus::Delivered, None),
            AfterAttempt::RetryAt(at) => (DeliveryStatus::Retrying, Some(at)),
            AfterAttempt::Failed => (DeliveryStatus::Failed, None),
        };
        on_pool!(self, |pool, dialect| {
            let mut tx = pool.begin_with(dialect.begin).await?;
            let before = lock_delivery(&mut tx, dialect, claimed.id).await?;
            insert_attempt(&mut tx, claimed.id, attempt, None, None).await?;
            let updated = sqlx::query(
                "UPDATE deliveries SET status = $1, attempts = attempts + 1, \
                 next_attempt_at = $2, lease_token = NULL, \
                 first_attempt_at = COALESCE(first_attempt_at, $3), last_attempt_at = $3, \
                 last_http_status = $4, last_error = $5 \
                 WHERE id = $6 AND lease_token = $7",
            )
            .bind(status)
            .bind(next)
            .bind(attempt.at)
            .bind(attempt.http_status)
            .bind(attempt.error)
            .bind(claimed.id)
            .bind(&claimed.lease_token)
            .execute(&mut *tx)
            .await?;
            let ours = updated.rows_affected() == 1;
            if ours {
                let seen = Seen {
                    target: claimed.target(),
                    url: &claimed.url,
                    attempt,
                    first: claimed.scheduled_attempts() == 0,
                };
                note_health(&mut tx, dialect, seen, alerts).await?;
            }
            // Last, so the roll-up's row (shared by the channel's hour) is held the least.
            if let Some(before) = before {
                let after = if ours {
                    (status, before.attempts + 1)
                } else {
                    (before.status, before.attempts)
                };
                roll_up(&mut tx, &before, after, attempt).await?;
            }
            tx.commit().await?;
            Ok(ours)
        })
    }

    /// The deliveries of one payment, oldest first, and all their attempts.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn payment_deliveries(
        &self,
        payment_id: &str,
    ) -> sqlx::Result<(Vec<DeliveryState>, Vec<AttemptSummary>)> {
        on_pool!(self, |pool| {
            let deliveries = sqlx::query_as(
                "SELECT id, url, status, attempts, next_attempt_at FROM deliveries \
                 WHERE payment_id = $1 ORDER BY id",
            )
            .bind(payment_id)
            .fetch_all(pool)
            .await?;
            let attempts = sqlx::query_as(
                "SELECT a.delivery_id, a.at, a.outcome, a.http_status, a.latency_ms, a.error \
                 FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id \
                 WHERE d.payment_id = $1 ORDER BY a.id",
            )
            .bind(payment_id)
            .fetch_all(pool)
            .await?;
            Ok((deliveries, attempts))
        })
    }

    /// How the queues stand at `now`: deliveries due and how long (ms) the oldest has waited,
    /// emails not sent yet and how long (ms) the oldest has waited; one read.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn queue_depth(&self, now: i64) -> sqlx::Result<QueueDepth> {
        let (due, oldest_due, unsent, oldest_unsent): (i64, Option<i64>, i64, Option<i64>) =
            on_pool!(self, |pool| {
                sqlx::query_as(
                    "SELECT (SELECT COUNT(*) FROM deliveries WHERE next_attempt_at <= $1), \
                     (SELECT MIN(next_attempt_at) FROM deliveries WHERE next_attempt_at <= $1), \
                     (SELECT COUNT(*) FROM email_outbox WHERE next_attempt_at IS NOT NULL), \
                     (SELECT MIN(created_at) FROM email_outbox WHERE next_attempt_at IS NOT NULL)",
                )
                .bind(now)
                .fetch_one(pool)
                .await
            })?;
        let waited = |since: Option<i64>| since.map_or(0, |at| (now - at).max(0));
        Ok(QueueDepth {
            due,
            oldest_due_ms: waited(oldest_due),
            unsent_emails: unsent,
            oldest_unsent_email_ms: waited(oldest_unsent),
        })
    }
}

/// The settings field a test notification was sent to, as the audit log names it.
fn settings_field(environment: Environment) -> &'static str {
    match environment {
        Environment::Sandbox => "sandbox_url",
        Environment::Production => "production_url",
    }
}
