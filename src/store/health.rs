//! Each channel's delivery health: whether its newest deliveries keep failing, for the
//! section page's "failing" badge and the admins' list of merchants with failing URLs. A
//! channel is failing once 3 deliveries in a row failed their first attempt: the queries write
//! `failing_streak >= 3` as a literal, as the partial index does, so Postgres can use it.

use super::{Db, on_pool};

/// A merchant with failing channels, as the admin overview lists it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FailingMerchant {
    pub code: String,
    pub name: String,
    pub failing_channels: i64,
    /// Attempts that failed since the time asked for.
    pub failures: i64,
}

/// Notes an attempt's outcome in its channel's health (per environment: a dead sandbox URL
/// says nothing of production), in the open transaction `$tx`: a
/// delivered attempt ends a failing streak (and writes nothing when there is none, so
/// deliveries to a healthy channel never wait for each other on its row); a failed one keeps
/// its error and, when `$first` (the delivery's first scheduled attempt), lengthens the streak.
macro_rules! note_health {
    ($tx:ident, $target:expr, $attempt:expr, $first:expr) => {
        async {
            let attempt: &$crate::store::NewAttempt = $attempt;
            let (merchant, section, channel, environment): (i64, &str, &str, &str) = $target;
            if attempt.outcome == "delivered" {
                sqlx::query(
                    "UPDATE channel_health SET failing_streak = 0 WHERE merchant_id = $1 \
                     AND section = $2 AND channel = $3 AND environment = $4 \
                     AND failing_streak <> 0",
                )
                .bind(merchant)
                .bind(section)
                .bind(channel)
                .bind(environment)
                .execute(&mut *$tx)
                .await
                .map(drop)
            } else {
                sqlx::query(
                    "INSERT INTO channel_health (merchant_id, section, channel, environment, \
                     failing_streak, last_error, last_failed_at) \
                     VALUES ($1, $2, $3, $7, $4, $5, $6) \
                     ON CONFLICT (merchant_id, section, channel, environment) DO UPDATE SET \
                     failing_streak = channel_health.failing_streak + $4, last_error = $5, \
                     last_failed_at = $6",
                )
                .bind(merchant)
                .bind(section)
                .bind(channel)
                .bind(i64::from($first))
                .bind(attempt.error.unwrap_or(attempt.outcome))
                .bind(attempt.at)
                .bind(environment)
                .execute(&mut *$tx)
                .await
                .map(drop)
            }
        }
    };
}
pub(super) use note_health;

impl Db {
    /// Merchants with a failing channel, most failed attempts since `since` (ms) first. The
    /// attempts counted are those of notifications created in the day before `since` or
    /// after (every scheduled attempt of one, by default): read through each merchant's own
    /// index, so the cost is that merchant's recent notifications, not the whole site's.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn failing_merchants(
        &self,
        since: i64,
        limit: i64,
    ) -> sqlx::Result<Vec<FailingMerchant>> {
        on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT m.code, m.name, f.failing_channels, \
                 (SELECT COUNT(*) FROM deliveries d \
                  JOIN delivery_attempts a ON a.delivery_id = d.id \
                  WHERE d.merchant_id = m.id AND d.created_at >= $2 AND a.at >= $1 \
                  AND a.outcome <> 'delivered') AS failures \
                 FROM (SELECT merchant_id, COUNT(*) AS failing_channels FROM channel_health \
                       WHERE failing_streak >= 3 GROUP BY merchant_id) f \
                 JOIN merchants m ON m.id = f.merchant_id \
                 ORDER BY failures DESC, m.code LIMIT $3",
            )
            .bind(since)
            .bind(since - crate::domain::DAY_MS)
            .bind(limit)
            .fetch_all(pool)
            .await
        })
    }
}
