//! Each channel's delivery health: whether its newest deliveries keep failing, for the
//! section page's "failing" badge and the admins' list of merchants with failing URLs. A
//! channel is failing once 3 deliveries in a row failed their first attempt: the queries write
//! `failing_streak >= 3` as a literal, as the partial index does, so Postgres can use it.

use sqlx::{Database, Decode, Encode, Executor, FromRow, IntoArguments, Transaction, Type};

use super::outbox::{QueuedEmail, enqueue};
use super::users::AccountContact;
use super::{Db, Dialect, NewAttempt, on_pool};
use crate::domain::{Environment, Outcome, Role};

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

/// How long after one alert of a channel and environment the next may follow, however it flaps.
pub const ALERT_QUIET_MS: i64 = 6 * 60 * 60 * 1000;

/// A turn in a channel's health that its team hears of by email.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthTurn {
    /// It began failing: 3 notifications in a row failed their first attempt.
    Failing,
    /// A notification was delivered again after an alerted episode.
    Recovered,
}

/// Everything an alert email says, read in the transaction that decided it.
#[derive(Debug, Clone)]
pub struct ChannelAlert<'a> {
    pub turn: HealthTurn,
    pub merchant_code: String,
    pub merchant_name: String,
    pub section: &'a str,
    pub channel: &'a str,
    pub environment: Environment,
    pub url: &'a str,
    /// The attempt that turned it: its HTTP status, its error and the start of the answer.
    pub http_status: Option<i64>,
    pub error: Option<&'a str>,
    pub answer: Option<&'a str>,
    /// Notifications of this channel and environment waiting for a retry.
    pub waiting: i64,
    pub at: i64,
    /// The owners and developers who keep failure emails on.
    pub recipients: Vec<AccountContact>,
}

/// Writes (and seals) the emails of an alert. The store calls it inside the transaction that
/// records the attempt, so the outbox rows commit with the decision or not at all.
pub trait AlertMail: Sync {
    fn write(&self, alert: &ChannelAlert<'_>) -> Vec<QueuedEmail>;
}

/// An attempt as the channel's health sees it.
#[derive(Clone, Copy)]
pub(super) struct Seen<'a> {
    pub target: HealthTarget<'a>,
    /// Where it went.
    pub url: &'a str,
    pub attempt: &'a NewAttempt<'a>,
    /// The delivery's first scheduled attempt: only those lengthen a streak.
    pub first: bool,
}

/// The state of an episode as its row holds it.
type Episode = (Option<i64>, Option<i64>);

/// Notes an attempt's outcome in its channel's health, in the open transaction `tx`: a
/// delivered attempt ends a failing streak (and writes nothing when there is none, so
/// deliveries to a healthy channel never wait for each other on its row); a failed one keeps
/// its error and, when `first`, lengthens the streak. When the channel turns failing, or
/// recovers from an episode its team was alerted of, `alerts` writes the emails and they are
/// queued here: the row is locked meanwhile, so two workers never both decide the same turn.
pub(super) async fn note_health<DB>(
    tx: &mut Transaction<'_, DB>,
    dialect: Dialect,
    seen: Seen<'_>,
    alerts: Option<&dyn AlertMail>,
) -> sqlx::Result<()>
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB> + Decode<'q, DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Option<i64>: Encode<'q, DB> + Decode<'q, DB>,
    for<'q> Option<&'q str>: Encode<'q, DB>,
    for<'q> Environment: Encode<'q, DB> + Type<DB>,
    for<'q> bool: Encode<'q, DB> + Type<DB>,
    (i64, Option<i64>, Option<i64>): for<'r> FromRow<'r, DB::Row>,
    Episode: for<'r> FromRow<'r, DB::Row>,
    (String, String): for<'r> FromRow<'r, DB::Row>,
    (i64,): for<'r> FromRow<'r, DB::Row>,
    AccountContact: for<'r> FromRow<'r, DB::Row>,
{
    let Seen {
        target, attempt, ..
    } = seen;
    let turn = if attempt.outcome == Outcome::Delivered {
        let sql = format!(
            "SELECT failing_since, alerted_at FROM channel_health WHERE merchant_id = $1 \
             AND section = $2 AND channel = $3 AND environment = $4 AND failing_streak <> 0{}",
            dialect.for_update
        );
        let episode: Option<Episode> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(target.merchant_id)
            .bind(target.section)
            .bind(target.channel)
            .bind(target.environment)
            .fetch_optional(&mut **tx)
            .await?;
        let Some((since, alerted)) = episode else {
            return Ok(());
        };
        sqlx::query(
            "UPDATE channel_health SET failing_streak = 0, failing_since = NULL \
             WHERE merchant_id = $1 AND section = $2 AND channel = $3 AND environment = $4",
        )
        .bind(target.merchant_id)
        .bind(target.section)
        .bind(target.channel)
        .bind(target.environment)
        .execute(&mut **tx)
        .await?;
        let told = matches!((since, alerted), (Some(since), Some(at)) if at >= since);
        told.then_some(HealthTurn::Recovered)
    } else {
        // The upsert locks the row until the transaction ends: a second worker waits here and
        // then sees the episode this one began.
        let (streak, since, alerted): (i64, Option<i64>, Option<i64>) = sqlx::query_as(
            "INSERT INTO channel_health (merchant_id, section, channel, environment, \
             failing_streak, last_error, last_failed_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (merchant_id, section, channel, environment) DO UPDATE SET \
             failing_streak = channel_health.failing_streak + $5, last_error = $6, \
             last_failed_at = $7 RETURNING failing_streak, failing_since, alerted_at",
        )
        .bind(target.merchant_id)
        .bind(target.section)
        .bind(target.channel)
        .bind(target.environment)
        .bind(i64::from(seen.first))
        .bind(attempt.error.unwrap_or(attempt.outcome.as_str()))
        .bind(attempt.at)
        .fetch_one(&mut **tx)
        .await?;
        // Alerted already in this episode, or not failing: nothing to decide.
        let told = matches!((since, alerted), (Some(since), Some(at)) if at >= since);
        if told || streak < FAILING_STREAK {
            return Ok(());
        }
        // An episode that began within 6 hours of the last alert is alerted once they pass.
        let alert = alerted.is_none_or(|at| attempt.at - at >= ALERT_QUIET_MS);
        if since.is_some() && !alert {
            return Ok(());
        }
        sqlx::query(
            "UPDATE channel_health SET failing_since = COALESCE(failing_since, $1), \
             alerted_at = CASE WHEN $2 THEN $1 ELSE alerted_at END \
             WHERE merchant_id = $3 AND section = $4 AND channel = $5 AND environment = $6",
        )
        .bind(attempt.at)
        .bind(alert)
        .bind(target.merchant_id)
        .bind(target.section)
        .bind(target.channel)
        .bind(target.environment)
        .execute(&mut **tx)
        .await?;
        alert.then_some(HealthTurn::Failing)
    };
    match (turn, alerts) {
        (Some(turn), Some(alerts)) => alert_team(tx, seen, turn, alerts).await,
        _ => Ok(()),
    }
}

/// Streak at which a channel is failing (the literal `3` in the queries says the same).
const FAILING_STREAK: i64 = 3;

/// Reads what the alert of `turn` says and queues its emails, in the open transaction `tx`.
async fn alert_team<DB>(
    tx: &mut Transaction<'_, DB>,
    seen: Seen<'_>,
    turn: HealthTurn,
    alerts: &dyn AlertMail,
) -> sqlx::Result<()>
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB> + Decode<'q, DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Environment: Encode<'q, DB> + Type<DB>,
    for<'q> Role: Encode<'q, DB> + Type<DB>,
    (String, String): for<'r> FromRow<'r, DB::Row>,
    (i64,): for<'r> FromRow<'r, DB::Row>,
    AccountContact: for<'r> FromRow<'r, DB::Row>,
{
    let Seen {
        target,
        url,
        attempt,
        ..
    } = seen;
    let (merchant_code, merchant_name): (String, String) =
        sqlx::query_as("SELECT code, name FROM merchants WHERE id = $1")
            .bind(target.merchant_id)
            .fetch_one(&mut **tx)
            .await?;
    let recipients: Vec<AccountContact> = sqlx::query_as(
        "SELECT id, email, disabled, merchant_id, language FROM users \
         WHERE merchant_id = $1 AND role IN ($2, $3) AND NOT disabled \
         AND removed_at IS NULL AND failure_alerts ORDER BY id",
    )
    .bind(target.merchant_id)
    .bind(Role::Owner)
    .bind(Role::Developer)
    .fetch_all(&mut **tx)
    .await?;
    if recipients.is_empty() {
        return Ok(());
    }
    // Through the merchant's status index: the retrying ones are few.
    let (waiting,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM deliveries WHERE merchant_id = $1 AND status = 'retrying' \
         AND section = $2 AND channel = $3 AND environment = $4",
    )
    .bind(target.merchant_id)
    .bind(target.section)
    .bind(target.channel)
    .bind(target.environment)
    .fetch_one(&mut **tx)
    .await?;
    let alert = ChannelAlert {
        turn,
        merchant_code,
        merchant_name,
        section: target.section,
        channel: target.channel,
        environment: target.environment,
        url,
        http_status: attempt.http_status,
        error: attempt.error,
        answer: attempt.response_body,
        waiting,
        at: attempt.at,
        recipients,
    };
    for email in alerts.write(&alert) {
        enqueue(tx, &email, attempt.at).await?;
    }
    Ok(())
}

/// A failing channel and environment, as the banner on every merchant page names it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FailingChannel {
    pub section: String,
    pub channel: String,
    pub environment: Environment,
}

impl Db {
    /// The merchant's failing channels and environments, in the catalogue's order of codes.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn failing_channels(&self, merchant_id: i64) -> sqlx::Result<Vec<FailingChannel>> {
        on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT section, channel, environment FROM channel_health \
                 WHERE merchant_id = $1 AND failing_streak >= 3 \
                 ORDER BY section, channel, environment",
            )
            .bind(merchant_id)
            .fetch_all(pool)
            .await
        })
    }

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
