//! The hourly roll-up of payment notifications (`delivery_hours`): moved by the transaction
//! that records an attempt, read by the health page and the log's 24-hour line. Tests are kept
//! out: they say nothing of how payments' notifications fare.

use std::sync::LazyLock;

use sqlx::{Database, Decode, Encode, Executor, FromRow, IntoArguments, Transaction, Type};

use super::delivery_log::HourOutcome;
use super::{Db, Dialect, NewAttempt, on_pool};
use crate::domain::{DeliveryKind, DeliveryStatus, Environment};

pub const HOUR_MS: i64 = 3_600_000;

/// Upper bounds (ms) of the latency buckets `latency_0` to `latency_8`; `latency_9` holds the
/// slower ones.
pub const LATENCY_BOUNDS_MS: [i64; 9] = [50, 100, 200, 300, 500, 1000, 2000, 5000, 10_000];
pub const LATENCY_BUCKETS: usize = LATENCY_BOUNDS_MS.len() + 1;

/// The bucket of an attempt that took `ms`.
pub fn latency_bucket(ms: i64) -> usize {
    LATENCY_BOUNDS_MS
        .iter()
        .position(|&bound| ms <= bound)
        .unwrap_or(LATENCY_BOUNDS_MS.len())
}

/// How a notification stands for the roll-up: `None` until it was tried. Every attempt counts,
/// a user's resend too: one resent by hand after it was delivered was delivered "after a retry".
pub fn hour_outcome(status: DeliveryStatus, attempts: i64) -> Option<HourOutcome> {
    match status {
        DeliveryStatus::Pending => None,
        DeliveryStatus::Delivered if attempts <= 1 => Some(HourOutcome::First),
        DeliveryStatus::Delivered => Some(HourOutcome::Retried),
        DeliveryStatus::Retrying => Some(HourOutcome::Retrying),
        DeliveryStatus::Failed => Some(HourOutcome::Failed),
    }
}

/// A delivery as it stood before an attempt was recorded, read with its row locked.
#[derive(Debug, Clone, FromRow)]
pub(super) struct Before {
    pub merchant_id: i64,
    pub section: String,
    pub channel: String,
    pub environment: Environment,
    pub kind: DeliveryKind,
    pub created_at: i64,
    pub status: DeliveryStatus,
    pub attempts: i64,
}

/// Reads delivery `id` as it stands, locking its row until the transaction ends, so that the
/// counts moved later start from what the update changes. Call it first: the attempt's insert
/// takes a lock on the row too.
pub(super) async fn lock_delivery<DB>(
    tx: &mut Transaction<'_, DB>,
    dialect: Dialect,
    id: i64,
) -> sqlx::Result<Option<Before>>
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    Before: for<'r> FromRow<'r, DB::Row>,
{
    let sql = format!(
        "SELECT merchant_id, section, channel, environment, kind, created_at, status, attempts \
         FROM deliveries WHERE id = $1{}",
        dialect.lock_row
    );
    sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await
}

/// The roll-up's upsert for an attempt in latency bucket `b` (`None`: no latency known).
fn upsert_sql(bucket: Option<usize>) -> &'static str {
    static SQL: LazyLock<Vec<String>> = LazyLock::new(|| {
        (0..=LATENCY_BUCKETS)
            .map(|b| {
                let (column, one, add) = if b < LATENCY_BUCKETS {
                    (
                        format!(", latency_{b}"),
                        ", 1",
                        format!(", latency_{b} = delivery_hours.latency_{b} + 1"),
                    )
                } else {
                    (String::new(), "", String::new())
                };
                format!(
                    "INSERT INTO delivery_hours (merchant_id, hour, section, channel, \
                     environment, first_try, retried, retrying, failed, attempts, \
                     delivered_attempts{column}) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1, $10{one}) \
                     ON CONFLICT (merchant_id, hour, section, channel, environment) DO UPDATE \
                     SET first_try = delivery_hours.first_try + $6, \
                     retried = delivery_hours.retried + $7, \
                     retrying = delivery_hours.retrying + $8, \
                     failed = delivery_hours.failed + $9, \
                     attempts = delivery_hours.attempts + 1, \
                     delivered_attempts = delivery_hours.delivered_attempts + $10{add}"
                )
            })
            .collect()
    });
    &SQL[bucket.unwrap_or(LATENCY_BUCKETS)]
}

/// Counts one attempt of the delivery that stood as `before` and now stands as `after`
/// (status and attempts), in the open transaction `tx`: the attempt and its latency, and the
/// notification moved from its old outcome to its new one. Tests count nothing.
pub(super) async fn roll_up<DB>(
    tx: &mut Transaction<'_, DB>,
    before: &Before,
    after: (DeliveryStatus, i64),
    attempt: &NewAttempt<'_>,
) -> sqlx::Result<()>
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Environment: Encode<'q, DB> + Type<DB>,
{
    if before.kind != DeliveryKind::Payment {
        return Ok(());
    }
    let mut moved = [0_i64; 4];
    let index = |outcome: HourOutcome| HourOutcome::ALL.iter().position(|&o| o == outcome);
    let old = hour_outcome(before.status, before.attempts).and_then(index);
    let new = hour_outcome(after.0, after.1).and_then(index);
    if old != new {
        if let Some(i) = old {
            moved[i] -= 1;
        }
        if let Some(i) = new {
            moved[i] += 1;
        }
    }
    let delivered = i64::from(attempt.outcome == crate::domain::Outcome::Delivered);
    let bucket = attempt.latency_ms.map(latency_bucket);
    sqlx::query(sqlx::AssertSqlSafe(upsert_sql(bucket)))
        .bind(before.merchant_id)
        .bind(before.created_at.div_euclid(HOUR_MS))
        .bind(before.section.as_str())
        .bind(before.channel.as_str())
        .bind(before.environment)
        .bind(moved[0])
        .bind(moved[1])
        .bind(moved[2])
        .bind(moved[3])
        .bind(delivered)
        .execute(&mut **tx)
        .await
        .map(drop)
}

/// One hour of one channel and environment, as the roll-up holds it.
#[derive(Debug, Clone, FromRow)]
pub struct HourRow {
    pub hour: i64,
    pub section: String,
    pub channel: String,
    pub environment: Environment,
    pub first_try: i64,
    pub retried: i64,
    pub retrying: i64,
    pub failed: i64,
    pub attempts: i64,
    pub delivered_attempts: i64,
    #[sqlx(flatten)]
    pub latencies: Latencies,
}

/// Attempts per latency bucket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Latencies(pub [i64; LATENCY_BUCKETS]);

impl<'r, R> FromRow<'r, R> for Latencies
where
    R: sqlx::Row,
    for<'c> &'c str: sqlx::ColumnIndex<R>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
{
    fn from_row(row: &'r R) -> sqlx::Result<Self> {
        const NAMES: [&str; LATENCY_BUCKETS] = [
            "latency_0",
            "latency_1",
            "latency_2",
            "latency_3",
            "latency_4",
            "latency_5",
            "latency_6",
            "latency_7",
            "latency_8",
            "latency_9",
        ];
        let mut counts = [0; LATENCY_BUCKETS];
        for (count, name) in counts.iter_mut().zip(NAMES) {
            *count = row.try_get(name)?;
        }
        Ok(Self(counts))
    }
}

impl Db {
    /// `merchant_id`'s roll-up rows of the hours from `since_hour` on (hours since the epoch),
    /// oldest first: at most one per hour, channel and environment, through the primary key.
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn delivery_hours(
        &self,
        merchant_id: i64,
        since_hour: i64,
    ) -> sqlx::Result<Vec<HourRow>> {
        on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT hour, section, channel, environment, first_try, retried, retrying, \
                 failed, attempts, delivered_attempts, latency_0, latency_1, latency_2, \
                 latency_3, latency_4, latency_5, latency_6, latency_7, latency_8, latency_9 \
                 FROM delivery_hours WHERE merchant_id = $1 AND hour >= $2 ORDER BY hour",
            )
            .bind(merchant_id)
            .bind(since_hour)
            .fetch_all(pool)
            .await
        })
    }

    /// Every roll-up row with its merchant, in key order: what the tests hold against a recount
    /// from the raw rows.
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn all_delivery_hours(&self) -> sqlx::Result<Vec<(i64, HourRow)>> {
        let rows: Vec<MerchantHour> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT merchant_id, hour, section, channel, environment, first_try, retried, \
                 retrying, failed, attempts, delivered_attempts, latency_0, latency_1, \
                 latency_2, latency_3, latency_4, latency_5, latency_6, latency_7, latency_8, \
                 latency_9 FROM delivery_hours \
                 ORDER BY merchant_id, hour, section, channel, environment",
            )
            .fetch_all(pool)
            .await
        })?;
        Ok(rows.into_iter().map(|r| (r.merchant_id, r.row)).collect())
    }
}

#[derive(FromRow)]
struct MerchantHour {
    merchant_id: i64,
    #[sqlx(flatten)]
    row: HourRow,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latencies_fall_in_the_bucket_of_their_upper_bound() {
        assert_eq!(latency_bucket(0), 0);
        assert_eq!(latency_bucket(50), 0);
        assert_eq!(latency_bucket(51), 1);
        assert_eq!(latency_bucket(10_000), 8);
        assert_eq!(latency_bucket(10_001), 9);
    }

    #[test]
    fn outcomes_follow_status_and_attempts() {
        assert_eq!(hour_outcome(DeliveryStatus::Pending, 1), None);
        assert_eq!(
            hour_outcome(DeliveryStatus::Delivered, 1),
            Some(HourOutcome::First)
        );
        assert_eq!(
            hour_outcome(DeliveryStatus::Delivered, 2),
            Some(HourOutcome::Retried)
        );
    }
}
