//! Recover: one resend queued for every failed or retrying notification of a range, in one go,
//! then claimed paced per merchant so a recovering receiver is not flooded.

use super::audit::{AuditAction, AuditRecord, append_events};
use super::deliveries::ClaimedDelivery;
use super::resends::CLAIMED_RESENDS;
use super::{Actor, Db, on_pool};
use crate::domain::Environment;

/// The most notifications one recover queues; a wider range must be narrowed first.
pub const MAX_RECOVER: i64 = 10_000;
/// Resends one merchant's recover may start in any second.
pub const RECOVER_PER_SECOND: i64 = 20;

/// Which notifications a recover is about: a range of creation times and, optionally, one
/// section, channel and environment.
#[derive(Debug, Clone)]
pub struct RecoverFilter {
    pub section: Option<&'static str>,
    pub channel: Option<&'static str>,
    pub environment: Option<Environment>,
    /// Inclusive (ms).
    pub from_ms: i64,
    /// Exclusive (ms).
    pub to_ms: i64,
}

/// The deliveries a recover resends, over `deliveries d`: payments' notifications that failed
/// or wait for a retry, with no resend queued yet. `$1` merchant, `$2` from, `$3` to, `$4`
/// section, `$5` channel, `$6` environment (each NULL for any).
macro_rules! recoverable {
    () => {
        " FROM deliveries d WHERE d.merchant_id = $1 AND d.created_at >= $2 \
          AND d.created_at < $3 AND d.kind = 'payment' \
          AND d.status IN ('failed', 'retrying') \
          AND ($4 IS NULL OR d.section = $4) AND ($5 IS NULL OR d.channel = $5) \
          AND ($6 IS NULL OR d.environment = $6) \
          AND NOT EXISTS (SELECT 1 FROM delivery_resends r WHERE r.delivery_id = d.id)"
    };
}

/// What a recover did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recovered {
    /// This many resends were queued (none when all were queued already).
    Queued(i64),
    /// More than [`MAX_RECOVER`] match (this many, counted up to one past it): nothing was
    /// queued.
    TooMany(i64),
}

/// What the recover workers claimed, and when a merchant's next batch is due.
#[derive(Debug, Default)]
pub struct RecoverClaim {
    pub claimed: Vec<ClaimedDelivery>,
    /// The earliest time (ms) a waiting recover may go on, when one waits.
    pub next_at: Option<i64>,
}

impl Db {
    /// How many notifications a recover over `filter` would queue, counting up to one past
    /// [`MAX_RECOVER`].
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn recoverable(&self, merchant_id: i64, filter: &RecoverFilter) -> sqlx::Result<i64> {
        let environment = filter.environment.map(Environment::as_str);
        on_pool!(self, |pool| {
            sqlx::query_scalar(concat!(
                "SELECT COUNT(*) FROM (SELECT d.id",
                recoverable!(),
                " LIMIT $7) AS matching"
            ))
            .bind(merchant_id)
            .bind(filter.from_ms)
            .bind(filter.to_ms)
            .bind(filter.section)
            .bind(filter.channel)
            .bind(environment)
            .bind(MAX_RECOVER + 1)
            .fetch_one(pool)
            .await
        })
    }

    /// Queues one resend of every notification `filter` matches (none twice), with one audit
    /// event `notifications_recovered` naming the filters and the count, in one transaction.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn recover(
        &self,
        merchant_id: i64,
        filter: &RecoverFilter,
        described: &str,
        actor: &Actor,
        now: i64,
    ) -> sqlx::Result<Recovered> {
        // Counted before the transaction: a few more arriving meanwhile change nothing that
        // matters, and the count keeps its one text.
        let matching = self.recoverable(merchant_id, filter).await?;
        if matching > MAX_RECOVER {
            return Ok(Recovered::TooMany(matching));
        }
        let environment = filter.environment.map(Environment::as_str);
        on_pool!(self, |pool, dialect| {
            let mut tx = pool.begin_with(dialect.begin).await?;
            let queued = sqlx::query(concat!(
                "INSERT INTO delivery_resends (delivery_id, merchant_id, requested_by, \
                 requested_at, recovered) SELECT d.id, d.merchant_id, $7, $8, TRUE",
                recoverable!(),
                " ON CONFLICT (delivery_id) DO NOTHING"
            ))
            .bind(merchant_id)
            .bind(filter.from_ms)
            .bind(filter.to_ms)
            .bind(filter.section)
            .bind(filter.channel)
            .bind(environment)
            .bind(actor.user_id)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected() as i64;
            if queued == 0 {
                return Ok(Recovered::Queued(0));
            }
            let count = queued.to_string();
            let record = AuditRecord {
                merchant_id: Some(merchant_id),
                section: filter.section,
                channel: filter.channel,
                field: Some("notifications"),
                old_value: Some(described),
                new_value: Some(&count),
                ..AuditRecord::of(AuditAction::NotificationsRecovered)
            };
            append_events(&mut tx, dialect, [(now, actor, &record)]).await?;
            tx.commit().await?;
            Ok(Recovered::Queued(queued))
        })
    }

    /// Claims recovered resends, at most `limit`, in batches of at most `batch` per merchant,
    /// one batch a merchant each `batch` × 1/[`RECOVER_PER_SECOND`] s: whatever the number of
    /// instances, no second holds more than [`RECOVER_PER_SECOND`] of a merchant's starts
    /// (`batch` divides it). The merchant's row keeps when its next batch may start, taken by
    /// one claim only.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn claim_recovered(
        &self,
        now: i64,
        lease_until: i64,
        token: &str,
        limit: i64,
        batch: i64,
    ) -> sqlx::Result<RecoverClaim> {
        // A twentieth more than the exact spacing: the few ms a request takes to leave never
        // puts a third batch inside one second at the receiver.
        let spacing = batch * 1000 / RECOVER_PER_SECOND * 21 / 20;
        on_pool!(self, |pool, dialect| {
            let waiting: Vec<(i64, i64)> = sqlx::query_as(
                "SELECT r.merchant_id, m.recover_next_at FROM delivery_resends r \
                 JOIN merchants m ON m.id = r.merchant_id \
                 WHERE r.recovered AND (r.lease_until IS NULL OR r.lease_until <= $1) \
                 GROUP BY r.merchant_id, m.recover_next_at ORDER BY m.recover_next_at LIMIT 32",
            )
            .bind(now)
            .fetch_all(pool)
            .await?;
            let mut left = limit;
            let mut taken = false;
            let mut next_at: Option<i64> = None;
            for (merchant_id, due) in waiting {
                if due > now || left == 0 {
                    next_at = Some(next_at.map_or(due.max(now), |at: i64| at.min(due.max(now))));
                    continue;
                }
                let reserved = sqlx::query(
                    "UPDATE merchants SET recover_next_at = $1 \
                     WHERE id = $2 AND recover_next_at <= $3",
                )
                .bind(now + spacing)
                .bind(merchant_id)
                .bind(now)
                .execute(pool)
                .await?
                .rows_affected()
                    == 1;
                next_at = Some(next_at.map_or(now + spacing, |at: i64| at.min(now + spacing)));
                if !reserved {
                    continue;
                }
                let claim = format!(
                    "UPDATE delivery_resends SET lease_token = $1, lease_until = $2 \
                     WHERE delivery_id IN (SELECT r.delivery_id FROM delivery_resends r \
                     WHERE r.merchant_id = $3 AND r.recovered \
                     AND (r.lease_until IS NULL OR r.lease_until <= $4) \
                     AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.id = r.delivery_id \
                     AND d.lease_token IS NOT NULL AND d.next_attempt_at > $4) \
                     ORDER BY r.delivery_id LIMIT $5{})",
                    dialect.skip_locked
                );
                let claimed = sqlx::query(sqlx::AssertSqlSafe(claim))
                    .bind(token)
                    .bind(lease_until)
                    .bind(merchant_id)
                    .bind(now)
                    .bind(batch.min(left))
                    .execute(pool)
                    .await?
                    .rows_affected() as i64;
                left -= claimed;
                taken |= claimed > 0;
            }
            let claimed = if taken {
                sqlx::query_as(CLAIMED_RESENDS)
                    .bind(token)
                    .fetch_all(pool)
                    .await?
            } else {
                Vec::new()
            };
            Ok(RecoverClaim { claimed, next_at })
        })
    }
}
