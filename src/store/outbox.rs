//! The email outbox: emails queued in the transaction of what causes them, claimed by the mail
//! workers with a lease, every try recorded, retried with backoff until they are sent or a day
//! has passed.

use sqlx::{Database, Encode, Executor, IntoArguments, Transaction, Type};

use super::{Db, on_pool};
use crate::domain::{EmailKind, EmailStatus, SendOutcome};

/// An email as it enters the outbox: its content sealed (it may carry a live link).
#[derive(Clone)]
pub struct QueuedEmail {
    /// Its `Message-ID`, the same on every try.
    pub message_id: String,
    pub kind: EmailKind,
    pub recipient: String,
    /// Subject and parts, sealed with the secret key for this message id.
    pub sealed: String,
}

impl std::fmt::Debug for QueuedEmail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueuedEmail")
            .field("message_id", &self.message_id)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// An email a worker claimed: it may make one try until its lease runs out.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClaimedEmail {
    pub id: i64,
    pub message_id: String,
    pub kind: EmailKind,
    pub recipient: String,
    pub sealed: Option<String>,
    pub created_at: i64,
    /// Tries made before this one.
    pub attempts: i64,
    pub lease_token: String,
}

/// What follows a try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterSend {
    Sent,
    /// Try again at this time (ms).
    RetryAt(i64),
    /// A day of tries is over.
    GiveUp,
}

/// Queues `email`, due at once, in the open transaction `tx` of what causes it.
pub(super) async fn enqueue<DB>(
    tx: &mut Transaction<'_, DB>,
    email: &QueuedEmail,
    now: i64,
) -> sqlx::Result<()>
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
{
    sqlx::query(
        "INSERT INTO email_outbox (message_id, kind, recipient, sealed, status, created_at, \
         next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, $6)",
    )
    .bind(email.message_id.as_str())
    .bind(email.kind)
    .bind(email.recipient.as_str())
    .bind(email.sealed.as_str())
    .bind(EmailStatus::Pending)
    .bind(now)
    .execute(&mut **tx)
    .await
    .map(drop)
}

impl Db {
    /// Claims up to `limit` due emails for one try each, like
    /// [`Db::claim_due_deliveries`]: their next try moves to `lease_until`, so if this
    /// process dies they are due again then, and only the claim holding `token` records the
    /// outcome.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn claim_due_emails(
        &self,
        now: i64,
        lease_until: i64,
        token: &str,
        limit: i64,
    ) -> sqlx::Result<Vec<ClaimedEmail>> {
        on_pool!(self, |pool, dialect| {
            let sql = format!(
                "UPDATE email_outbox SET next_attempt_at = $1, lease_token = $2 \
                 WHERE id IN (SELECT id FROM email_outbox WHERE next_attempt_at <= $3 \
                 ORDER BY next_attempt_at LIMIT $4{}) \
                 RETURNING id, message_id, kind, recipient, sealed, created_at, attempts, \
                 lease_token",
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

    /// Records a try of a claimed email and what follows it, in one transaction; an email sent
    /// or given up keeps no content. Returns false when the claim had run out and another took
    /// the email: the try is kept (it was made), the email's state is the new claim's to set.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn record_email_try(
        &self,
        claimed: &ClaimedEmail,
        at: i64,
        error: Option<&str>,
        after: AfterSend,
    ) -> sqlx::Result<bool> {
        let outcome = match after {
            AfterSend::Sent => SendOutcome::Sent,
            AfterSend::RetryAt(_) | AfterSend::GiveUp => SendOutcome::Failed,
        };
        let (status, next) = match after {
            AfterSend::Sent => (EmailStatus::Sent, None),
            AfterSend::RetryAt(next) => (EmailStatus::Pending, Some(next)),
            AfterSend::GiveUp => (EmailStatus::Failed, None),
        };
        let sent_at = (after == AfterSend::Sent).then_some(at);
        on_pool!(self, |pool, dialect| {
            let mut tx = pool.begin_with(dialect.begin).await?;
            sqlx::query(
                "INSERT INTO email_attempts (email_id, at, outcome, error) VALUES ($1, $2, $3, $4)",
            )
            .bind(claimed.id)
            .bind(at)
            .bind(outcome)
            .bind(error)
            .execute(&mut *tx)
            .await?;
            let updated = sqlx::query(
                "UPDATE email_outbox SET status = $1, attempts = attempts + 1, \
                 next_attempt_at = $2, lease_token = NULL, sent_at = $3, last_error = $4, \
                 sealed = CASE WHEN $2 IS NULL THEN NULL ELSE sealed END \
                 WHERE id = $5 AND lease_token = $6",
            )
            .bind(status)
            .bind(next)
            .bind(sent_at)
            .bind(error)
            .bind(claimed.id)
            .bind(&claimed.lease_token)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(updated.rows_affected() == 1)
        })
    }
}
