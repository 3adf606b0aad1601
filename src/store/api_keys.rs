//! Merchants' API keys: a Client-Id and a sealed secret per environment.

use super::audit::{AuditAction, AuditRecord, append_events};
use super::outbox::{QueuedEmail, enqueue};
use super::users::AccountContact;
use super::{Actor, Db, now_ms, on_pool};
use crate::domain::Environment;

/// A stored key; the secret is still sealed.
#[derive(Clone, sqlx::FromRow)]
pub struct StoredApiKey {
    pub client_id: String,
    pub secret_sealed: String,
    pub created_at: i64,
    pub rotated_at: Option<i64>,
    /// A scheduled rotation's secret, sealed like the current one.
    pub next_secret_sealed: Option<String>,
    /// When the scheduled secret takes over (ms).
    pub next_takes_over_at: Option<i64>,
}

/// A key whose scheduled rotation is due, as the take-over finds it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DueRotation {
    pub merchant_id: i64,
    pub environment: Environment,
    pub client_id: String,
    pub next_takes_over_at: i64,
    pub merchant_name: String,
}

/// What became of a request to schedule or cancel a rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RotationChange {
    Done,
    /// Scheduling: one is scheduled already. Cancelling: none is waiting to take over.
    Refused,
}

impl std::fmt::Debug for StoredApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredApiKey")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl Db {
    /// The key of one merchant and environment, if generated yet.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn api_key(
        &self,
        merchant_id: i64,
        environment: Environment,
    ) -> sqlx::Result<Option<StoredApiKey>> {
        on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT client_id, secret_sealed, created_at, rotated_at, next_secret_sealed, \
                 next_takes_over_at FROM api_keys WHERE merchant_id = $1 AND environment = $2",
            )
            .bind(merchant_id)
            .bind(environment.as_str())
            .fetch_optional(pool)
            .await
        })
    }

    /// The key with this Client-Id: its merchant, environment, sealed secret and scheduled
    /// rotation.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn api_key_by_client_id(
        &self,
        client_id: &str,
    ) -> sqlx::Result<Option<(i64, Environment, StoredApiKey)>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            merchant_id: i64,
            environment: Environment,
            #[sqlx(flatten)]
            key: StoredApiKey,
        }
        let row: Option<Row> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT merchant_id, environment, client_id, secret_sealed, created_at, \
                 rotated_at, next_secret_sealed, next_takes_over_at FROM api_keys \
                 WHERE client_id = $1",
            )
            .bind(client_id)
            .fetch_optional(pool)
            .await
        })?;
        Ok(row.map(|row| (row.merchant_id, row.environment, row.key)))
    }

    /// Stores a first key unless one exists already (two first views racing keep one), with
    /// its audit event (the Client-Id, never the secret) in the same transaction; returns
    /// whether this one was stored.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn insert_api_key(
        &self,
        merchant_id: i64,
        environment: Environment,
        client_id: &str,
        secret_sealed: &str,
        actor: &Actor,
    ) -> sqlx::Result<bool> {
        on_pool!(self, |pool, dialect| {
            let mut tx = pool.begin_with(dialect.begin).await?;
            let done = sqlx::query(
                "INSERT INTO api_keys (merchant_id, environment, client_id, secret_sealed, \
                 created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            )
            .bind(merchant_id)
            .bind(environment.as_str())
            .bind(client_id)
            .bind(secret_sealed)
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() != 1 {
                return Ok(false);
            }
            let record = AuditRecord {
                merchant_id: Some(merchant_id),
                field: Some(secret_field(environment)),
                new_value: Some(client_id),
                ..AuditRecord::of(AuditAction::ApiKeyCreate)
            };
            append_events(&mut tx, dialect, [(now_ms(), actor, &record)]).await?;
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Replaces the secret at once (a scheduled rotation is dropped) and records the rotation
    /// (without any secret) in one transaction.
    /// Returns false when the merchant has no key for that environment yet.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn rotate_api_key(
        &self,
        merchant_id: i64,
        environment: Environment,
        secret_sealed: &str,
        actor: &Actor,
    ) -> sqlx::Result<bool> {
        on_pool!(self, |pool, dialect| {
            let mut tx = pool.begin_with(dialect.begin).await?;
            let updated = sqlx::query(
                "UPDATE api_keys SET secret_sealed = $1, rotated_at = $2, \
                 next_secret_sealed = NULL, next_takes_over_at = NULL \
                 WHERE merchant_id = $3 AND environment = $4",
            )
            .bind(secret_sealed)
            .bind(now_ms())
            .bind(merchant_id)
            .bind(environment.as_str())
            .execute(&mut *tx)
            .await?;
            if updated.rows_affected() != 1 {
                return Ok(false);
            }
            let record = AuditRecord {
                merchant_id: Some(merchant_id),
                field: Some(secret_field(environment)),
                ..AuditRecord::of(AuditAction::ApiKeyRotate)
            };
            append_events(&mut tx, dialect, [(now_ms(), actor, &record)]).await?;
            tx.commit().await?;
            Ok(true)
        })
    }
}

/// The audit `field` naming which secret an event is about.
pub fn secret_field(environment: Environment) -> &'static str {
    match environment {
        Environment::Sandbox => "sandbox_secret_key",
        Environment::Production => "production_secret_key",
    }
}

impl Db {
    /// The sealed key check, storing `sealed` first when there is none yet.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn secret_key_check(&self, sealed: &str) -> sqlx::Result<String> {
        on_pool!(self, |pool, _dialect| {
            sqlx::query(
                "INSERT INTO secret_key_check (singleton, sealed) VALUES (1, $1) \
                 ON CONFLICT (singleton) DO NOTHING",
            )
            .bind(sealed)
            .execute(pool)
            .await?;
            sqlx::query_scalar("SELECT sealed FROM secret_key_check WHERE singleton = 1")
                .fetch_one(pool)
                .await
        })
    }
}

/// A change to a scheduled rotation, with the owners' emails that tell of it.
pub struct RotationStep<'a> {
    pub merchant_id: i64,
    pub environment: Environment,
    pub emails: &'a [QueuedEmail],
    pub actor: &'a Actor,
    pub now: i64,
}

impl Db {
    /// Schedules a rotation: `sealed` takes over at `takes_over_at`; refused while one is
    /// scheduled. Audited (the time, never a secret) with the owners' emails, in one transaction.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn schedule_rotation(
        &self,
        step: &RotationStep<'_>,
        sealed: &str,
        takes_over_at: i64,
    ) -> sqlx::Result<RotationChange> {
        let at = takes_over_at.to_string();
        on_pool!(self, |pool, dialect| {
            let mut tx = pool.begin_with(dialect.begin).await?;
            let done = sqlx::query(
                "UPDATE api_keys SET next_secret_sealed = $1, next_takes_over_at = $2 \
                 WHERE merchant_id = $3 AND environment = $4 AND next_takes_over_at IS NULL",
            )
            .bind(sealed)
            .bind(takes_over_at)
            .bind(step.merchant_id)
            .bind(step.environment)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() != 1 {
                return Ok(RotationChange::Refused);
            }
            let record = AuditRecord {
                merchant_id: Some(step.merchant_id),
                field: Some(secret_field(step.environment)),
                new_value: Some(&at),
                ..AuditRecord::of(AuditAction::ApiKeyRotationScheduled)
            };
            append_events(&mut tx, dialect, [(step.now, step.actor, &record)]).await?;
            for email in step.emails {
                enqueue(&mut tx, email, step.now).await?;
            }
            tx.commit().await?;
            Ok(RotationChange::Done)
        })
    }

    /// Cancels a scheduled rotation that has not taken over yet, audited with the owners'
    /// emails in one transaction.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn cancel_rotation(&self, step: &RotationStep<'_>) -> sqlx::Result<RotationChange> {
        on_pool!(self, |pool, dialect| {
            let mut tx = pool.begin_with(dialect.begin).await?;
            let done = sqlx::query(
                "UPDATE api_keys SET next_secret_sealed = NULL, next_takes_over_at = NULL \
                 WHERE merchant_id = $1 AND environment = $2 AND next_takes_over_at > $3",
            )
            .bind(step.merchant_id)
            .bind(step.environment)
            .bind(step.now)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() != 1 {
                return Ok(RotationChange::Refused);
            }
            let record = AuditRecord {
                merchant_id: Some(step.merchant_id),
                field: Some(secret_field(step.environment)),
                ..AuditRecord::of(AuditAction::ApiKeyRotationCancelled)
            };
            append_events(&mut tx, dialect, [(step.now, step.actor, &record)]).await?;
            for email in step.emails {
                enqueue(&mut tx, email, step.now).await?;
            }
            tx.commit().await?;
            Ok(RotationChange::Done)
        })
    }

    /// Scheduled rotations whose time has come (at most `limit`).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn due_rotations(&self, now: i64, limit: i64) -> sqlx::Result<Vec<DueRotation>> {
        on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT k.merchant_id, k.environment, k.client_id, k.next_takes_over_at, \
                 m.name AS merchant_name FROM api_keys k JOIN merchants m ON m.id = k.merchant_id \
                 WHERE k.next_takes_over_at <= $1 ORDER BY k.next_takes_over_at LIMIT $2",
            )
            .bind(now)
            .bind(limit)
            .fetch_all(pool)
            .await
        })
    }

    /// Makes a due rotation's secret the current one, audited (by the system, at the time it
    /// took over) with the owners' emails, in one transaction; false when it had taken over
    /// already (another instance) or was cancelled.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn take_over_rotation(
        &self,
        due: &DueRotation,
        step: &RotationStep<'_>,
    ) -> sqlx::Result<bool> {
        on_pool!(self, |pool, dialect| {
            let mut tx = pool.begin_with(dialect.begin).await?;
            let done = sqlx::query(
                "UPDATE api_keys SET secret_sealed = next_secret_sealed, \
                 rotated_at = next_takes_over_at, next_secret_sealed = NULL, \
                 next_takes_over_at = NULL WHERE merchant_id = $1 AND environment = $2 \
                 AND next_takes_over_at = $3 AND next_takes_over_at <= $4",
            )
            .bind(due.merchant_id)
            .bind(due.environment)
            .bind(due.next_takes_over_at)
            .bind(step.now)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() != 1 {
                return Ok(false);
            }
            let at = due.next_takes_over_at.to_string();
            let record = AuditRecord {
                merchant_id: Some(due.merchant_id),
                field: Some(secret_field(due.environment)),
                new_value: Some(&at),
                ..AuditRecord::of(AuditAction::ApiKeyRotationTookOver)
            };
            append_events(&mut tx, dialect, [(step.now, step.actor, &record)]).await?;
            for email in step.emails {
                enqueue(&mut tx, email, step.now).await?;
            }
            tx.commit().await?;
            Ok(true)
        })
    }

    /// The merchant's active owners, as emails to them see them.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn owner_contacts(&self, merchant_id: i64) -> sqlx::Result<Vec<AccountContact>> {
        on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT id, email, disabled, merchant_id, language FROM users \
                 WHERE merchant_id = $1 AND role = 'owner' AND NOT disabled \
                 AND removed_at IS NULL ORDER BY id",
            )
            .bind(merchant_id)
            .fetch_all(pool)
            .await
        })
    }
}
