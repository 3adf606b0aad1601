//! Notification deliveries: what was sent where, and what came back.

use super::audit::{AuditAction, AuditRecord, append_events};
use super::{Actor, Db, now_ms, on_pool};
use crate::url_policy::Environment;

/// One delivery attempt to record.
#[derive(Debug, Clone)]
pub struct NewDelivery<'a> {
    pub merchant_id: i64,
    pub section: &'a str,
    pub channel: &'a str,
    pub environment: Environment,
    pub url: &'a str,
    /// JSON array of `[name, value]` pairs.
    pub request_headers: &'a str,
    pub request_body: &'a str,
    pub response_status: Option<i64>,
    pub response_body: Option<&'a str>,
    pub latency_ms: Option<i64>,
    /// `delivered`, `failed`, `timeout` or `refused`.
    pub outcome: &'static str,
    pub error: Option<&'a str>,
}

/// A stored delivery, for the delivery log.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Delivery {
    pub id: i64,
    pub merchant_id: i64,
    pub section: String,
    pub channel: String,
    pub environment: String,
    pub kind: String,
    pub url: String,
    pub request_headers: String,
    pub request_body: String,
    pub response_status: Option<i64>,
    pub response_body: Option<String>,
    pub latency_ms: Option<i64>,
    pub outcome: String,
    pub error: Option<String>,
    pub created_at: i64,
    pub created_by: Option<i64>,
}

impl Db {
    /// Records a test notification and its audit event (outcome and latency, never a secret)
    /// in one transaction; returns the delivery's id.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn record_test_delivery(
        &self,
        delivery: &NewDelivery<'_>,
        summary: &str,
        actor: &Actor,
    ) -> sqlx::Result<i64> {
        on_pool!(self, |pool, dialect| {
            let mut tx = pool.begin_with(dialect.begin).await?;
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO deliveries (merchant_id, section, channel, environment, kind, url, \
                 request_headers, request_body, response_status, response_body, latency_ms, \
                 outcome, error, created_at, created_by) \
                 VALUES ($1, $2, $3, $4, 'test', $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
                 RETURNING id",
            )
            .bind(delivery.merchant_id)
            .bind(delivery.section)
            .bind(delivery.channel)
            .bind(delivery.environment.as_str())
            .bind(delivery.url)
            .bind(delivery.request_headers)
            .bind(delivery.request_body)
            .bind(delivery.response_status)
            .bind(delivery.response_body)
            .bind(delivery.latency_ms)
            .bind(delivery.outcome)
            .bind(delivery.error)
            .bind(now_ms())
            .bind(actor.user_id)
            .fetch_one(&mut *tx)
            .await?;
            let record = AuditRecord {
                action: AuditAction::TestNotification,
                merchant_id: Some(delivery.merchant_id),
                section: Some(delivery.section),
                channel: Some(delivery.channel),
                field: Some(url_field(delivery.environment)),
                old_value: Some(delivery.url),
                new_value: Some(summary),
            };
            append_events!(tx, dialect, [(now_ms(), actor, &record)]).await?;
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
        on_pool!(self, |pool| {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM (SELECT kind, created_at FROM deliveries \
                 WHERE merchant_id = $1 ORDER BY id DESC LIMIT $3) AS newest \
                 WHERE kind = 'test' AND created_at >= $2",
            )
            .bind(merchant_id)
            .bind(since)
            .bind(window)
            .fetch_one(pool)
            .await
        })
    }
}

/// The settings field a test notification was sent to, as the audit log names it.
fn url_field(environment: Environment) -> &'static str {
    match environment {
        Environment::Sandbox => "sandbox_url",
        Environment::Production => "production_url",
    }
}
