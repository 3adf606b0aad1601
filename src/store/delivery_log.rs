//! Reading the delivery log: a merchant's deliveries in keyset pages, one delivery with its
//! attempts, and the last week's counts for the health chart and the per-channel table.

use std::fmt;
use std::str::FromStr;

use sqlx::{Database, Encode, QueryBuilder, Type};

use super::{Db, Dialect, on_pool, prefix_end};
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
    /// Deliveries older than this log position.
    Before(i64),
    /// Deliveries newer than this log position (the page before, going back).
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
    /// The notification's place in the log (what the page links' cursors name).
    #[sqlx(default)]
    pub position: i64,
    /// The payment it tells of; `None` for a test.
    #[sqlx(default)]
    pub payment_id: Option<String>,
    #[sqlx(default)]
    pub last_attempt_at: Option<i64>,
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

/// Payments a page lists at most by id; past this many the invoice filter is tested against
/// each of the merchant's notifications in order (they are then many, so a page fills fast).
const MAX_LISTED_PAYMENTS: usize = 500;

/// How the invoice filter reaches the notifications.
#[derive(Debug, Clone, Copy)]
enum PaymentMatch<'a> {
    /// No invoice filter.
    Any,
    /// These payments, few.
    Listed(&'a [String]),
    /// More than [`MAX_LISTED_PAYMENTS`] invoice numbers start with this text.
    Many(&'a str),
}

impl<'a> PaymentMatch<'a> {
    /// How `filter` reaches the notifications, given the payments it lists (see
    /// [`Db::payments_matching`]); `None` when it names no payment at all.
    fn of(filter: &'a LogFilter, listed: &'a Option<Vec<String>>) -> Option<Self> {
        match (&filter.invoice, listed) {
            (None, _) => Some(Self::Any),
            (Some(_), Some(ids)) if ids.is_empty() => None,
            (Some(_), Some(ids)) => Some(Self::Listed(ids)),
            (Some(text), None) => Some(Self::Many(text)),
        }
    }
}

impl LogFilter {
    /// One page's query: a keyset scan of the merchant's index, on the notifications' log
    /// positions, in the cursor's direction.
    fn query<DB>(
        &self,
        dialect: Dialect,
        merchant_id: i64,
        payments: PaymentMatch<'_>,
        cursor: Cursor,
        limit: i64,
    ) -> QueryBuilder<DB>
    where
        DB: Database,
        for<'t> i64: Encode<'t, DB> + Type<DB>,
        for<'t> &'t str: Encode<'t, DB> + Type<DB>,
        for<'t> String: Encode<'t, DB> + Type<DB>,
    {
        let position = dialect.log_position;
        const COLUMNS: &str = log_query!(", d.payment_id, d.last_attempt_at", "");
        let columns = COLUMNS.strip_prefix("SELECT ").unwrap_or(COLUMNS);
        let mut query = QueryBuilder::new(format!("SELECT d.{position} AS position, {columns}"));
        self.push_conditions(&mut query, dialect, merchant_id, payments);
        // A few listed payments are found through the payment index and their notifications
        // sorted after: ordering by an expression keeps the planner off the merchant's index.
        let order = match payments {
            PaymentMatch::Listed(_) => " + 0",
            PaymentMatch::Any | PaymentMatch::Many(_) => "",
        };
        match cursor {
            Cursor::Newest => query.push(format!(" ORDER BY d.{position}{order} DESC LIMIT ")),
            Cursor::Before(at) => query
                .push(format!(" AND d.{position} < "))
                .push_bind(at)
                .push(format!(" ORDER BY d.{position}{order} DESC LIMIT ")),
            Cursor::After(at) => query
                .push(format!(" AND d.{position} > "))
                .push_bind(at)
                .push(format!(" ORDER BY d.{position}{order} LIMIT ")),
        };
        query.push_bind(limit);
        query
    }

    /// `merchant_id` and the filters, after `WHERE d.merchant_id = `.
    fn push_conditions<DB>(
        &self,
        query: &mut QueryBuilder<DB>,
        dialect: Dialect,
        merchant_id: i64,
        payments: PaymentMatch<'_>,
    ) where
        DB: Database,
        for<'t> i64: Encode<'t, DB> + Type<DB>,
        for<'t> &'t str: Encode<'t, DB> + Type<DB>,
        for<'t> String: Encode<'t, DB> + Type<DB>,
    {
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
            None => query,
        };
        match payments {
            PaymentMatch::Any => {}
            PaymentMatch::Listed(ids) => {
                query.push(" AND d.payment_id IN (");
                let mut list = query.separated(", ");
                for id in ids {
                    list.push_bind(id.clone());
                }
                query.push(")");
            }
            PaymentMatch::Many(text) => {
                let bytes = dialect.bytewise;
                query
                    .push(" AND d.payment_id IN (SELECT id FROM payments WHERE merchant_id = ")
                    .push_bind(merchant_id)
                    .push(" AND (id = ")
                    .push_bind(text.to_owned())
                    .push(format!(" OR (invoice_number{bytes} >= "))
                    .push_bind(text.to_owned())
                    .push(format!(" AND invoice_number{bytes} < "))
                    .push_bind(prefix_end(text))
                    .push(")))");
            }
        }
        if let Some(from) = self.from_ms {
            query.push(" AND d.created_at >= ").push_bind(from);
        }
        if let Some(to) = self.to_ms {
            query.push(" AND d.created_at < ").push_bind(to);
        }
    }

    /// How many notifications match, counting no further than `cap`.
    fn count_query<DB>(
        &self,
        dialect: Dialect,
        merchant_id: i64,
        payments: PaymentMatch<'_>,
        below: i64,
        cap: i64,
    ) -> QueryBuilder<DB>
    where
        DB: Database,
        for<'t> i64: Encode<'t, DB> + Type<DB>,
        for<'t> &'t str: Encode<'t, DB> + Type<DB>,
        for<'t> String: Encode<'t, DB> + Type<DB>,
    {
        let mut query = QueryBuilder::new(
            "SELECT COUNT(*) FROM (SELECT 1 FROM deliveries d WHERE d.merchant_id = ",
        );
        self.push_conditions(&mut query, dialect, merchant_id, payments);
        query
            .push(format!(" AND d.{} < ", dialect.log_position))
            .push_bind(below)
            .push(" LIMIT ")
            .push_bind(cap)
            .push(") AS capped");
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
        let dialect = self.dialect();
        let listed = self.payments_matching(merchant_id, filter).await?;
        let Some(payments) = PaymentMatch::of(filter, &listed) else {
            return Ok(LogPage::default());
        };
        let mut rows: Vec<LogRow> = on_pool!(self, |pool| {
            let mut query = filter.query(dialect, merchant_id, payments, cursor, page_size + 1);
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

    /// How many of `merchant_id`'s notifications below log position `below` the filter
    /// matches, counting no further than `cap` (a bounded walk of one index).
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn count_log(
        &self,
        merchant_id: i64,
        filter: &LogFilter,
        below: i64,
        cap: i64,
    ) -> sqlx::Result<i64> {
        let dialect = self.dialect();
        let listed = self.payments_matching(merchant_id, filter).await?;
        let Some(payments) = PaymentMatch::of(filter, &listed) else {
            return Ok(0);
        };
        on_pool!(self, |pool| {
            let mut query = filter.count_query(dialect, merchant_id, payments, below, cap);
            query.build_query_scalar().fetch_one(pool).await
        })
    }

    /// The merchant's payments the invoice filter names (its whole id, or invoice numbers
    /// starting with the text, through the primary key and the merchant's invoice index), when
    /// there are at most [`MAX_LISTED_PAYMENTS`]; `None` when there are more, or no filter.
    async fn payments_matching(
        &self,
        merchant_id: i64,
        filter: &LogFilter,
    ) -> sqlx::Result<Option<Vec<String>>> {
        let Some(text) = &filter.invoice else {
            return Ok(None);
        };
        let bytes = self.dialect().bytewise;
        let sql = format!(
            "SELECT id FROM payments WHERE id = $2 AND merchant_id = $1 UNION \
             SELECT id FROM payments WHERE merchant_id = $1 AND invoice_number{bytes} >= $2 \
             AND invoice_number{bytes} < $3 LIMIT $4"
        );
        let ids: Vec<String> = on_pool!(self, |pool| {
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .bind(merchant_id)
                .bind(text)
                .bind(prefix_end(text))
                .bind(MAX_LISTED_PAYMENTS as i64 + 1)
                .fetch_all(pool)
                .await?
        });
        Ok((ids.len() <= MAX_LISTED_PAYMENTS).then_some(ids))
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
}
