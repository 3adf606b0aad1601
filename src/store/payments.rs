//! Sandbox payments, and the deliveries their status changes queue.

use super::{Db, now_ms, on_pool};
use crate::domain::{DeliveryKind, DeliveryStatus, Environment, PaymentStatus};

/// A stored payment.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredPayment {
    pub id: String,
    pub merchant_id: i64,
    pub section: String,
    pub channel: String,
    pub invoice_number: String,
    pub amount: i64,
    pub status: PaymentStatus,
    /// JSON array of URLs.
    pub notification_urls: String,
    pub request_hash: String,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A notification to queue for one target of a payment.
#[derive(Debug, Clone)]
pub struct QueuedNotification {
    pub url: String,
    pub request_id: String,
    pub request_body: String,
}

/// What became of a status change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusChange {
    /// Changed, with its notifications queued.
    Changed,
    /// No such payment for this merchant.
    NotFound,
    /// The payment already reached a final status; nothing was changed.
    AlreadyFinal,
}

/// The payments query with the given WHERE clause.
macro_rules! select_payment {
    ($filter:literal) => {
        concat!(
            "SELECT id, merchant_id, section, channel, invoice_number, amount, status, \
             notification_urls, request_hash, created_at, updated_at FROM payments ",
            $filter
        )
    };
}

impl Db {
    /// Stores a new payment unless the merchant already has one with its invoice number;
    /// returns the payment stored under that invoice number either way.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn insert_payment(&self, payment: &StoredPayment) -> sqlx::Result<StoredPayment> {
        const SQL: &str = select_payment!("WHERE merchant_id = $1 AND invoice_number = $2");
        on_pool!(self, |pool, _dialect| {
            sqlx::query(
                "INSERT INTO payments (id, merchant_id, section, channel, invoice_number, \
                 amount, status, notification_urls, request_hash, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) \
                 ON CONFLICT (merchant_id, invoice_number) DO NOTHING",
            )
            .bind(&payment.id)
            .bind(payment.merchant_id)
            .bind(&payment.section)
            .bind(&payment.channel)
            .bind(&payment.invoice_number)
            .bind(payment.amount)
            .bind(payment.status)
            .bind(&payment.notification_urls)
            .bind(&payment.request_hash)
            .bind(payment.created_at)
            .execute(pool)
            .await?;
            sqlx::query_as(SQL)
                .bind(payment.merchant_id)
                .bind(&payment.invoice_number)
                .fetch_one(pool)
                .await
        })
    }

    /// The merchant's payment with this invoice number, if any.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn payment_by_invoice(
        &self,
        merchant_id: i64,
        invoice_number: &str,
    ) -> sqlx::Result<Option<StoredPayment>> {
        const SQL: &str = select_payment!("WHERE merchant_id = $1 AND invoice_number = $2");
        on_pool!(self, |pool| {
            sqlx::query_as(SQL)
                .bind(merchant_id)
                .bind(invoice_number)
                .fetch_optional(pool)
                .await
        })
    }

    /// The merchant's payment with this id; another merchant's is `None`, like a missing one.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn payment(
        &self,
        merchant_id: i64,
        payment_id: &str,
    ) -> sqlx::Result<Option<StoredPayment>> {
        const SQL: &str = select_payment!("WHERE id = $1 AND merchant_id = $2");
        on_pool!(self, |pool| {
            sqlx::query_as(SQL)
                .bind(payment_id)
                .bind(merchant_id)
                .fetch_optional(pool)
                .await
        })
    }

    /// Moves a pending payment to `status` and queues `notifications`, due now, in one
    /// transaction: the change and its deliveries are stored together or not at all.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn change_payment_status(
        &self,
        merchant_id: i64,
        payment_id: &str,
        status: PaymentStatus,
        environment: Environment,
        notifications: &[QueuedNotification],
    ) -> sqlx::Result<StatusChange> {
        let now = now_ms();
        on_pool!(self, |pool, dialect| {
            let mut tx = pool.begin_with(dialect.begin).await?;
            let changed: Option<(String, String)> = sqlx::query_as(
                "UPDATE payments SET status = $1, updated_at = $2 \
                 WHERE id = $3 AND merchant_id = $4 AND status = 'PENDING' \
                 RETURNING section, channel",
            )
            .bind(status)
            .bind(now)
            .bind(payment_id)
            .bind(merchant_id)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((section, channel)) = changed else {
                let exists: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM payments WHERE id = $1 AND merchant_id = $2",
                )
                .bind(payment_id)
                .bind(merchant_id)
                .fetch_one(&mut *tx)
                .await?;
                return Ok(if exists > 0 {
                    StatusChange::AlreadyFinal
                } else {
                    StatusChange::NotFound
                });
            };
            // 13 columns x 1000 rows stays under SQLite's 32766 bound parameters.
            for chunk in notifications.chunks(1000) {
                let mut insert = sqlx::QueryBuilder::new(
                    "INSERT INTO deliveries (merchant_id, section, channel, environment, kind, \
                     payment_id, url, request_id, request_body, status, attempts, \
                     next_attempt_at, created_at) ",
                );
                insert.push_values(chunk, |mut row, n| {
                    row.push_bind(merchant_id)
                        .push_bind(&section)
                        .push_bind(&channel)
                        .push_bind(environment)
                        .push_bind(DeliveryKind::Payment)
                        .push_bind(payment_id)
                        .push_bind(&n.url)
                        .push_bind(&n.request_id)
                        .push_bind(&n.request_body)
                        .push_bind(DeliveryStatus::Pending)
                        .push_bind(0_i64)
                        .push_bind(now)
                        .push_bind(now);
                });
                insert.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(StatusChange::Changed)
        })
    }
}
