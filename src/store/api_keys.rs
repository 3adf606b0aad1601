//! Merchants' API keys: a Client-Id and a sealed secret per environment.

use super::audit::{AuditAction, AuditRecord, append_events};
use super::{Actor, Db, now_ms, on_pool};
use crate::domain::Environment;

/// A stored key; the secret is still sealed.
#[derive(Clone, sqlx::FromRow)]
pub struct StoredApiKey {
    pub client_id: String,
    pub secret_sealed: String,
    pub created_at: i64,
    pub rotated_at: Option<i64>,
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
                "SELECT client_id, secret_sealed, created_at, rotated_at FROM api_keys \
                 WHERE merchant_id = $1 AND environment = $2",
            )
            .bind(merchant_id)
            .bind(environment.as_str())
            .fetch_optional(pool)
            .await
        })
    }

    /// The key with this Client-Id: its merchant, environment and sealed secret.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn api_key_by_client_id(
        &self,
        client_id: &str,
    ) -> sqlx::Result<Option<(i64, String, String)>> {
        on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT merchant_id, environment, secret_sealed FROM api_keys \
                 WHERE client_id = $1",
            )
            .bind(client_id)
            .fetch_optional(pool)
            .await
        })
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

    /// Replaces the secret and records the rotation (without any secret) in one transaction.
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
                "UPDATE api_keys SET secret_sealed = $1, rotated_at = $2 \
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
