//! The admin pages' filtered keyset pages of the log (the page and its CSV export).

use sqlx::{Database, Encode, QueryBuilder, Type};

use super::query::select_entries;
use super::{AuditAction, AuditEntry};
use crate::store::{Db, Dialect, on_pool, prefix_end};

/// Merchants a page lists at most by id; past this many the code's prefix is tested against
/// each event's merchant in order (they are then many, so a page fills fast).
const MAX_LISTED_MERCHANTS: usize = 500;

/// The audit page's filters; all optional, combined with AND.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// The start of the merchant's code (codes are stored lower case).
    pub merchant: Option<String>,
    /// The merchant's code is the whole code, not its start.
    pub exact_merchant: bool,
    pub section: Option<String>,
    pub channel: Option<String>,
    /// The start of the actor's email (emails are stored lower case).
    pub actor: Option<String>,
    pub action: Option<AuditAction>,
    /// Inclusive lower bound on `at` (ms).
    pub from_ms: Option<i64>,
    /// Exclusive upper bound on `at` (ms).
    pub to_ms: Option<i64>,
    /// Keyset cursor: only events with a smaller id.
    pub before: Option<i64>,
}

/// How the merchant filter reaches the events.
#[derive(Debug, Clone, Copy)]
enum MerchantMatch<'a> {
    /// No merchant filter.
    Any,
    /// These merchants, few (found through the codes' index).
    Listed(&'a [i64]),
    /// More than [`MAX_LISTED_MERCHANTS`] codes start with this text.
    Many(&'a str),
}

impl AuditFilter {
    /// The page's query, newest first. Dates become id bounds through the `(at, id)` index,
    /// since `at` never decreases along the chain; the page itself is a keyset scan. The
    /// actor's prefix is a byte range, which the byte-ordered index of emails answers.
    fn query<DB>(
        &self,
        dialect: Dialect,
        merchants: MerchantMatch<'_>,
        limit: i64,
    ) -> QueryBuilder<DB>
    where
        DB: Database,
        for<'t> i64: Encode<'t, DB> + Type<DB>,
        for<'t> String: Encode<'t, DB> + Type<DB>,
        for<'t> &'t str: Encode<'t, DB> + Type<DB>,
    {
        let mut query = QueryBuilder::new(concat!(select_entries!(), "WHERE TRUE"));
        let bytes = dialect.bytewise;
        match merchants {
            MerchantMatch::Any => {}
            MerchantMatch::Listed(ids) => {
                query.push(" AND e.merchant_id IN (");
                let mut list = query.separated(", ");
                for id in ids {
                    list.push_bind(*id);
                }
                query.push(")");
            }
            MerchantMatch::Many(prefix) => {
                query.push(" AND e.merchant_id IN (SELECT m.id FROM merchants m WHERE ");
                push_prefix(&mut query, &format!("m.code{bytes}"), prefix);
                query.push(")");
            }
        }
        if let Some(prefix) = &self.actor {
            query.push(" AND ");
            push_prefix(&mut query, &format!("e.actor_email{bytes}"), prefix);
        }
        let texts = [
            (" AND e.section = ", &self.section),
            (" AND e.channel = ", &self.channel),
        ];
        for (condition, value) in texts {
            if let Some(value) = value {
                query.push(condition).push_bind(value.clone());
            }
        }
        if let Some(action) = self.action {
            query.push(" AND e.action = ").push_bind(action.as_str());
        }
        if let Some(from) = self.from_ms {
            query
                .push(" AND e.id >= (SELECT id FROM audit_events WHERE at >= ")
                .push_bind(from)
                .push(" ORDER BY at, id LIMIT 1)");
        }
        if let Some(to) = self.to_ms {
            query
                .push(" AND e.id <= (SELECT id FROM audit_events WHERE at < ")
                .push_bind(to)
                .push(" ORDER BY at DESC, id DESC LIMIT 1)");
        }
        if let Some(before) = self.before {
            query.push(" AND e.id < ").push_bind(before);
        }
        query.push(" ORDER BY e.id DESC LIMIT ").push_bind(limit);
        query
    }
}

/// `column` starts with `prefix`: `column >= prefix AND column < end`, never `LIKE`, so an index
/// answers it and `%` or `_` in the prefix match only themselves.
fn push_prefix<DB>(query: &mut QueryBuilder<DB>, column: &str, prefix: &str)
where
    DB: Database,
    for<'t> String: Encode<'t, DB> + Type<DB>,
{
    query
        .push(format!("{column} >= "))
        .push_bind(prefix.to_owned())
        .push(format!(" AND {column} < "))
        .push_bind(prefix_end(prefix));
}

impl Db {
    /// One page of the audit log, newest first, after the filter's `before` cursor.
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn audit_page(
        &self,
        filter: &AuditFilter,
        limit: i64,
    ) -> sqlx::Result<Vec<AuditEntry>> {
        let listed = match &filter.merchant {
            Some(code) if filter.exact_merchant => Some(self.merchant_with_code(code).await?),
            Some(prefix) => self.merchants_starting(prefix).await?,
            None => None,
        };
        let merchants = match (&filter.merchant, &listed) {
            (None, _) => MerchantMatch::Any,
            (Some(_), Some(ids)) if ids.is_empty() => return Ok(Vec::new()),
            (Some(_), Some(ids)) => MerchantMatch::Listed(ids),
            (Some(prefix), None) => MerchantMatch::Many(prefix),
        };
        let dialect = self.dialect();
        on_pool!(self, |pool| {
            let mut query = filter.query(dialect, merchants, limit);
            // Planned with the values each time: a plan made once for any prefix cannot tell
            // a rare one (its index) from a common one (the newest events first).
            let page = query.build_query_as().persistent(false);
            page.fetch_all(pool).await
        })
    }

    /// The merchant whose code is `code`, if there is one.
    async fn merchant_with_code(&self, code: &str) -> sqlx::Result<Vec<i64>> {
        on_pool!(self, |pool| {
            sqlx::query_scalar("SELECT id FROM merchants WHERE code = $1")
                .bind(code)
                .fetch_all(pool)
                .await
        })
    }

    /// The merchants whose code starts with `prefix`, through the codes' byte-ordered index,
    /// when there are at most [`MAX_LISTED_MERCHANTS`]; `None` when there are more.
    async fn merchants_starting(&self, prefix: &str) -> sqlx::Result<Option<Vec<i64>>> {
        let bytes = self.dialect().bytewise;
        let sql = format!(
            "SELECT id FROM merchants WHERE code{bytes} >= $1 AND code{bytes} < $2 LIMIT $3"
        );
        let ids: Vec<i64> = on_pool!(self, |pool| {
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .bind(prefix)
                .bind(prefix_end(prefix))
                .bind(MAX_LISTED_MERCHANTS as i64 + 1)
                .fetch_all(pool)
                .await?
        });
        Ok((ids.len() <= MAX_LISTED_MERCHANTS).then_some(ids))
    }
}
