//! Each channel's delivery health: whether its newest deliveries keep failing, for the
//! section page's "failing" badge and the admins' list of merchants with failing URLs. A
//! channel is failing once 3 deliveries in a row failed their first attempt: the queries write
//! `failing_streak >= 3` as a literal, as the partial index does, so Postgres can use it.

use sqlx::{Database, Encode, Executor, IntoArguments, Transaction, Type};

use super::{Db, NewAttempt, on_pool};
use crate::domain::{Environment, Outcome};

/// A merchant with failing channels, as the admin overview lists it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FailingMerchant {
    pub code: String,
    pub name: String,
    pub failing_channels: i64,
    /// Attempts that failed since the time asked for.
    pub failures: i64,
}

/// A channel in one environment: whose health an attempt tells (a dead sandbox URL says
/// nothing of production).
#[derive(Debug, Clone, Copy)]
pub struct HealthTarget<'a> {
    pub merchant_id: i64,
    pub section: &'a str,
    pub channel: &'a str,
    pub environment: Environment,
}

/// Notes an attempt's outcome in its channel's health, in the open transaction `tx`: a
/// delivered attempt ends a failing streak (and writes nothing when there is none, so
/// deliveries to a healthy channel never wait for each other on its row); a failed one keeps
/// its error and, when `first` (the delivery's first scheduled attempt), lengthens the streak.
pub(super) async fn note_health<DB>(
    tx: &mut Transaction<'_, DB>,
    target: HealthTarget<'_>,
    attempt: &NewAttempt<'_>,
    first: bool,
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
    let delivered = attempt.outcome == Outcome::Delivered;
    let sql = if delivered {
        "UPDATE channel_health SET failing_streak = 0 WHERE merchant_id = $1 \
         AND section = $2 AND channel = $3 AND environment = $4 AND failing_streak <> 0"
    } else {
        "INSERT INTO channel_health (merchant_id, section, channel, environment, \
         failing_streak, last_error, last_failed_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (merchant_id, section, channel, environment) DO UPDATE SET \
         failing_streak = channel_health.failing_streak + $5, last_error = $6, \
         last_failed_at = $7"
    };
    let mut query = sqlx::query(sql)
        .bind(target.merchant_id)
        .bind(target.section)
        .bind(target.channel)
        .bind(target.environment);
    if !delivered {
        query = query
            .bind(i64::from(first))
            .bind(attempt.error.unwrap_or(attempt.outcome.as_str()))
            .bind(attempt.at);
    }
    query.execute(&mut **tx).await.map(drop)
}

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
