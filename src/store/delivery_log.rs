//! Reading the delivery log: a merchant's deliveries in keyset pages, one delivery with its
//! attempts, and the last week's counts for the health chart and the per-channel table.

use std::fmt;
use std::str::FromStr;

use sqlx::{Database, Encode, QueryBuilder, Type};

use super::{Db, on_pool};
use crate::domain::{DeliveryKind, DeliveryStatus, Environment, Outcome, text_enum};

/// The log's status filter: a delivery's status, or `test` for test notifications.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogStatus {
    Is(DeliveryStatus),
    Test,
}

impl LogStatus {
    /// Every choice of the filter, in the order the form lists them.
    pub const ALL: [LogStatus; 5] = [
        Self::Is(DeliveryStatus::Delivered),
        Self::Is(DeliveryStatus::Retrying),
        Self::Is(DeliveryStatus::Failed),
        Self::Is(DeliveryStatus::Pending),
        Self::Test,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Is(status) => status.as_str(),
            Self::Test => DeliveryKind::Test.as_str(),
        }
    }
}

impl FromStr for LogStatus {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or(())
    }
}

impl fmt::Display for LogStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a page of the log starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Cursor {
    #[default]
    Newest,
    /// Deliveries older than this id.
    Before(i64),
    /// Deliveries newer than this id (the page before, going back).
    After(i64),
}

/// The log's filters; all optional, combined with AND.
#[derive(Debug, Clone, Default)]
pub struct LogFilter {
    pub section: Option<&'static str>,
    pub channel: Option<&'static str>,
    pub environment: Option<Environment>,
    pub status: Option<LogStatus>,
    pub invoice: Option<String>,
    /// Inclusive lower bound on creation time (ms).
    pub from_ms: Option<i64>,
    /// Exclusive upper bound on creation time (ms).
    pub to_ms: Option<i64>,
}

/// A row of the log.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LogRow {
    pub id: i64,
    pub created_at: i64,
    pub section: String,
    pub channel: String,
    pub environment: Environment,
    pub kind: DeliveryKind,
    pub invoice_number: Option<String>,
    pub url: String,
    pub status: DeliveryStatus,
    pub attempts: i64,
    pub last_http_status: Option<i64>,
    pub next_attempt_at: Option<i64>,
    pub last_error: Option<String>,
    pub resend_queued: bool,
}

/// One page of the log, newest first.
#[derive(Debug, Default)]
pub struct LogPage {
    pub rows: Vec<LogRow>,
    /// Older deliveries exist past the last row.
    pub older: bool,
    /// Newer deliveries exist before the first row.
    pub newer: bool,
}

/// A delivery with what every attempt sends.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LoggedDelivery {
    #[sqlx(flatten)]
    pub row: LogRow,
    pub request_id: String,
    pub request_body: String,
}

/// An attempt as the delivery page shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AttemptRow {
    pub id: i64,
    pub at: i64,
    pub request_headers: String,
    pub outcome: Outcome,
    pub http_status: Option<i64>,
    pub latency_ms: Option<i64>,
    pub response_body: Option<String>,
    pub error: Option<String>,
    /// Who asked for it, when it was a resend.
    pub manual_by: Option<String>,
    /// Where it went, when not to its delivery's URL.
    pub url: Option<String>,
}

text_enum! {
    /// How a notification ended so far, as the health chart counts it.
    pub enum HourOutcome {
        /// Delivered at the first attempt.
        First = "first",
        /// Delivered after a retry.
        Retried = "retried",
        /// Not delivered yet; tried again later.
        Retrying = "retrying",
        /// Given up.
        Failed = "failed",
    }
    /// A code that names no chart outcome.
    unknown: UnknownHourOutcome = "unknown chart outcome";
}

/// Deliveries of one hour (`hour` since the epoch) that ended one way.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HourCount {
    pub hour: i64,
    pub outcome: HourOutcome,
    pub count: i64,
}

/// Attempts to one channel with one latency and result.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LatencyCount {
    pub section: String,
    pub channel: String,
    pub delivered: bool,
    pub latency_ms: Option<i64>,
    pub count: i64,
}

/// How many of a merchant's newest notifications the per-channel success rates and latencies
/// are computed from.
pub const LATENCY_SAMPLE: i64 = 10_000;

/// The log's columns, with `$extra` ones, over `deliveries d` and what it joins.
macro_rules! log_query {
    ($extra:literal, $filter:literal) => {
        concat!(
            "SELECT d.id, d.created_at, d.section, d.channel, d.environment, d.kind, \
             p.invoice_number, d.url, d.status, d.attempts, d.last_http_status, \
             d.next_attempt_at, d.last_error, (r.delivery_id IS NOT NULL) AS resend_queued",
            $extra,
            " FROM deliveries d LEFT JOIN payments p ON p.id = d.payment_id \
             LEFT JOIN delivery_resends r ON r.delivery_id = d.id WHERE d.merchant_id = ",
            $filter
        )
    };
}

impl LogFilter {
    /// One page's query: a keyset scan of the merchant's index in the cursor's direction.
    fn query<DB>(&self, merchant_id: i64, cursor: Cursor, limit: i64) -> QueryBuilder<DB>
    where
        DB: Database,
        for<'t> i64: Encode<'t, DB> + Type<DB>,
        for<'t> &'t str: Encode<'t, DB> + Type<DB>,
        for<'t> String: Encode<'t, DB> + Type<DB>,
    {
        let mut query = QueryBuilder::new(log_query!("", ""));
        query.push_bind(merchant_id);
        let texts = [
            (" AND d.section = ", self.section),
            (" AND d.channel = ", self.channel),
        ];
        for (condition, value) in texts {
            if let Some(value) = value {
                query.push(condition).push_bind(value);
            }
        }
        if let Some(environment) = self.environment {
            query.push(" AND d.environment = ").push_bind(environment);
        }
        match self.status {
            // A literal, so the planner can use the partial index of tests.
            Some(LogStatus::Test) => query.push(" AND d.kind = 'test'"),
            Some(LogStatus::Is(status)) => query.push(" AND d.status = ").push_bind(status),
            None => &mut query,
        };
        if let Some(invoice) = &self.invoice {
            query
                .push(" AND d.payment_id IN (SELECT id FROM payments WHERE merchant_id = ")
                .push_bind(merchant_id)
                .push(" AND invoice_number = ")
                .push_bind(invoice.clone())
                .push(")");
        }
        if let Some(from) = self.from_ms {
            query.push(" AND d.created_at >= ").push_bind(from);
        }
        if let Some(to) = self.to_ms {
            query.push(" AND d.created_at < ").push_bind(to);
        }
        match cursor {
            Cursor::Newest => query.push(" ORDER BY d.id DESC LIMIT "),
            Cursor::Before(id) => query
                .push(" AND d.id < ")
                .push_bind(id)
                .push(" ORDER BY d.id DESC LIMIT "),
            Cursor::After(id) => query
                .push(" AND d.id > ")
                .push_bind(id)
                .push(" ORDER BY d.id LIMIT "),
        };
        query.push_bind(limit);
        query
    }
}

impl Db {
    /// One page of `merchant_id`'s log, newest first.
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn delivery_log(
        &self,
        merchant_id: i64,
        filter: &LogFilter,
        cursor: Cursor,
        page_size: i64,
    ) -> sqlx::Result<LogPage> {
        let mut rows: Vec<LogRow> = on_pool!(self, |pool| {
            let mut query = filter.query(merchant_id, cursor, page_size + 1);
            query.build_query_as().fetch_all(pool).await?
        });
        let more = rows.len() as i64 > page_size;
        rows.truncate(usize::try_from(page_size).unwrap_or(0));
        Ok(match cursor {
            Cursor::Newest => LogPage {
                rows,
                older: more,
                newer: false,
            },
            Cursor::Before(_) => LogPage {
                rows,
                older: more,
                newer: true,
            },
            Cursor::After(_) => {
                rows.reverse();
                LogPage {
                    rows,
                    older: true,
                    newer: more,
                }
            }
        })
    }

    /// One of `merchant_id`'s deliveries; another merchant's is `None`, like a missing one.
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn logged_delivery(
        &self,
        merchant_id: i64,
        id: i64,
    ) -> sqlx::Result<Option<LoggedDelivery>> {
        const SQL: &str = log_query!(", d.request_id, d.request_body", "$1 AND d.id = $2");
        on_pool!(self, |pool| {
            sqlx::query_as(SQL)
                .bind(merchant_id)
                .bind(id)
                .fetch_optional(pool)
                .await
        })
    }

    /// A delivery's newest `limit` attempts, newest first, and how many it has in all.
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn delivery_attempts(
        &self,
        delivery_id: i64,
        limit: i64,
    ) -> sqlx::Result<(Vec<AttemptRow>, i64)> {
        on_pool!(self, |pool| {
            let attempts = sqlx::query_as(
                "SELECT a.id, a.at, a.request_headers, a.outcome, a.http_status, a.latency_ms, \
                 a.response_body, a.error, u.email AS manual_by, a.url \
                 FROM delivery_attempts a LEFT JOIN users u ON u.id = a.manual_by \
                 WHERE a.delivery_id = $1 ORDER BY a.id DESC LIMIT $2",
            )
            .bind(delivery_id)
            .bind(limit)
            .fetch_all(pool)
            .await?;
            let total =
                sqlx::query_scalar("SELECT COUNT(*) FROM delivery_attempts WHERE delivery_id = $1")
                    .bind(delivery_id)
                    .fetch_one(pool)
                    .await?;
            Ok((attempts, total))
        })
    }

    /// `merchant_id`'s deliveries created since `since` (ms) by hour and how they ended so far
    /// (pending ones are not counted yet), read from the `(merchant_id, created_at, status,
    /// attempts)` index alone.
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn deliveries_by_hour(
        &self,
        merchant_id: i64,
        since: i64,
    ) -> sqlx::Result<Vec<HourCount>> {
        on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT created_at / 3600000 AS hour, \
                 CASE WHEN status = 'delivered' AND attempts = 1 THEN 'first' \
                      WHEN status = 'delivered' THEN 'retried' \
                      WHEN status = 'retrying' THEN 'retrying' ELSE 'failed' END AS outcome, \
                 COUNT(*) AS count FROM deliveries \
                 WHERE merchant_id = $1 AND created_at >= $2 AND status <> 'pending' \
                 GROUP BY 1, 2 ORDER BY 1",
            )
            .bind(merchant_id)
            .bind(since)
            .fetch_all(pool)
            .await
        })
    }

    /// The attempts of `merchant_id`'s newest [`LATENCY_SAMPLE`] notifications created since
    /// `since` (ms), per channel, result and latency: what the success rates and percentiles
    /// are computed from (one row per distinct latency, so the answer stays small). The sample
    /// bounds the page's work for a merchant sending hundreds of thousands a week.
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn attempt_latencies(
        &self,
        merchant_id: i64,
        since: i64,
    ) -> sqlx::Result<Vec<LatencyCount>> {
        on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT d.section, d.channel, (a.outcome = 'delivered') AS delivered, \
                 a.latency_ms, COUNT(*) AS count \
                 FROM (SELECT id, section, channel FROM deliveries \
                       WHERE merchant_id = $1 AND created_at >= $2 \
                       ORDER BY id DESC LIMIT $3) d \
                 JOIN delivery_attempts a ON a.delivery_id = d.id \
                 GROUP BY d.section, d.channel, (a.outcome = 'delivered'), a.latency_ms",
            )
            .bind(merchant_id)
            .bind(since)
            .bind(LATENCY_SAMPLE)
            .fetch_all(pool)
            .await
        })
    }
}
