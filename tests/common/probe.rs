//! Reads and writes straight on the database, as someone with database access would: what the
//! tests need to see or break and the product never does.

use payhook::store::{ChainedEvent, Db};

use super::{Backend, TestApp};

impl TestApp {
    /// The one value a query answers (a count, a text), read straight from the database.
    pub async fn scalar<T>(&self, sql: &str) -> T
    where
        T: for<'r> sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
        T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
        T: Send + Unpin,
    {
        let query = sqlx::AssertSqlSafe(sql.to_owned());
        match &self.db {
            Db::Sqlite(pools) => sqlx::query_scalar(query).fetch_one(&pools.write).await,
            Db::Postgres(pool) => sqlx::query_scalar(query).fetch_one(pool).await,
        }
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// Runs one statement straight on the database, as someone with database access would.
    pub async fn execute_sql(&self, sql: &str) -> Result<u64, sqlx::Error> {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match &self.db {
            Db::Sqlite(pools) => sqlx::Executor::execute(&pools.write, sql)
                .await
                .map(|r| r.rows_affected()),
            Db::Postgres(pool) => sqlx::Executor::execute(pool, sql)
                .await
                .map(|r| r.rows_affected()),
        }
    }

    /// Makes the database refuse any audit event whose `new_value` contains `marker`, so the
    /// write it belongs to fails midway.
    pub async fn refuse_audit_events_containing(&self, marker: &str) {
        self.refuse_audit_events_where(&format!("NEW.new_value LIKE '%{marker}%'"))
            .await;
    }

    /// Makes the database refuse any audit event for which the SQL `condition` on `NEW` holds.
    pub async fn refuse_audit_events_where(&self, condition: &str) {
        self.refuse_writes_where("audit_events", &["INSERT"], condition)
            .await;
    }

    /// Makes the database refuse each of `events` (`INSERT`, `UPDATE`) on `table` for which
    /// the SQL `condition` on `NEW` holds, until [`Self::allow_writes`].
    pub async fn refuse_writes_where(&self, table: &str, events: &[&str], condition: &str) {
        let refusal = format!("refuse_{table}");
        let statements = match self.backend {
            // SQLite's triggers fire on one event each.
            Backend::Sqlite => events
                .iter()
                .map(|event| {
                    format!(
                        "CREATE TRIGGER {refusal}_{event} BEFORE {event} ON {table} \
                         WHEN {condition} BEGIN SELECT RAISE(ABORT, '{table} refused'); END"
                    )
                })
                .collect(),
            Backend::Postgres => vec![
                format!(
                    "CREATE FUNCTION {refusal}() RETURNS trigger AS $$ BEGIN \
                     IF {condition} THEN RAISE EXCEPTION '{table} refused'; END IF; \
                     RETURN NEW; END $$ LANGUAGE plpgsql"
                ),
                format!(
                    "CREATE TRIGGER {refusal} BEFORE {} ON {table} \
                     FOR EACH ROW EXECUTE FUNCTION {refusal}()",
                    events.join(" OR ")
                ),
            ],
        };
        for sql in statements {
            self.execute_sql(&sql)
                .await
                .expect("install the refusing trigger");
        }
    }

    /// Takes back [`Self::refuse_writes_where`] on `table` for `events`.
    pub async fn allow_writes(&self, table: &str, events: &[&str]) {
        let refusal = format!("refuse_{table}");
        let statements: Vec<String> = match self.backend {
            Backend::Sqlite => events
                .iter()
                .map(|event| format!("DROP TRIGGER {refusal}_{event}"))
                .collect(),
            Backend::Postgres => vec![
                format!("DROP TRIGGER {refusal} ON {table}"),
                format!("DROP FUNCTION {refusal}()"),
            ],
        };
        for sql in statements {
            self.execute_sql(&sql)
                .await
                .expect("drop the refusing trigger");
        }
    }
}

/// A delivery with its latest attempt, as the tests read it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Delivery {
    pub section: String,
    pub channel: String,
    pub environment: String,
    pub kind: String,
    pub url: String,
    pub request_id: String,
    pub status: String,
    pub attempts: i64,
    pub request_headers: String,
    pub request_body: String,
    pub response_status: Option<i64>,
    pub response_body: Option<String>,
    pub latency_ms: Option<i64>,
    pub outcome: String,
    pub error: Option<String>,
}

/// Reads the tests need and the product does not: every event of one action, a merchant's
/// deliveries.
#[allow(async_fn_in_trait)]
pub trait Probe {
    /// Every audit event of one action, oldest first.
    async fn audit_events_by_action(&self, action: &str) -> sqlx::Result<Vec<ChainedEvent>>;
    /// A merchant's deliveries, newest first.
    async fn deliveries(&self, merchant_id: i64, limit: i64) -> sqlx::Result<Vec<Delivery>>;
}

impl Probe for Db {
    async fn audit_events_by_action(&self, action: &str) -> sqlx::Result<Vec<ChainedEvent>> {
        const SQL: &str = "SELECT id, at, action, actor_user_id, actor_email, actor_role, \
             merchant_id, section, channel, field, old_value, new_value, client_ip, prev_hash, \
             hash FROM audit_events WHERE action = $1 ORDER BY id LIMIT 10000";
        match self {
            Db::Sqlite(pools) => {
                sqlx::query_as(SQL)
                    .bind(action)
                    .fetch_all(&pools.write)
                    .await
            }
            Db::Postgres(pool) => sqlx::query_as(SQL).bind(action).fetch_all(pool).await,
        }
    }

    async fn deliveries(&self, merchant_id: i64, limit: i64) -> sqlx::Result<Vec<Delivery>> {
        const SQL: &str = "SELECT d.section, d.channel, d.environment, d.kind, d.url, d.request_id, d.status, d.attempts, a.request_headers, \
             d.request_body, a.http_status AS response_status, a.response_body, a.latency_ms, \
             a.outcome, a.error \
             FROM deliveries d JOIN delivery_attempts a ON a.id = \
             (SELECT MAX(id) FROM delivery_attempts WHERE delivery_id = d.id) \
             WHERE d.merchant_id = $1 ORDER BY d.id DESC LIMIT $2";
        match self {
            Db::Sqlite(pools) => {
                sqlx::query_as(SQL)
                    .bind(merchant_id)
                    .bind(limit)
                    .fetch_all(&pools.write)
                    .await
            }
            Db::Postgres(pool) => {
                sqlx::query_as(SQL)
                    .bind(merchant_id)
                    .bind(limit)
                    .fetch_all(pool)
                    .await
            }
        }
    }
}
