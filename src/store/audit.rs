//! The audit log: append-only, hash-chained, written in the same transaction as what it records.

use futures_util::TryStreamExt;

use super::audit_chain::{ChainHead, ChainReport, ChainVerifier, ChainedEvent, RecordedHead};
use super::{Db, on_pool};

/// Who did something, and from where.
#[derive(Debug, Clone, Default)]
pub struct Actor {
    pub user_id: Option<i64>,
    pub email: String,
    pub role: Option<&'static str>,
    pub client_ip: Option<String>,
}

/// An event to append to the audit log.
#[derive(Debug, Clone, Default)]
pub struct AuditRecord<'a> {
    pub action: &'static str,
    pub merchant_id: Option<i64>,
    pub section: Option<&'a str>,
    pub channel: Option<&'a str>,
    pub field: Option<&'static str>,
    pub old_value: Option<&'a str>,
    pub new_value: Option<&'a str>,
}

/// A stored event with the code of the merchant it concerns.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditEntry {
    #[sqlx(flatten)]
    pub event: ChainedEvent,
    pub merchant_code: Option<String>,
}

/// Audit actions, as stored.
pub mod action {
    pub const SIGN_IN: &str = "sign_in";
    pub const SIGN_IN_FAILED: &str = "sign_in_failed";
    pub const SIGN_IN_LOCKED: &str = "sign_in_locked";
    pub const SIGN_OUT: &str = "sign_out";
    pub const SETTINGS_CHANGE: &str = "settings_change";
    pub const MERCHANT_CREATE: &str = "merchant_create";
    pub const USER_CREATE: &str = "user_create";
    pub const USER_DISABLE: &str = "user_disable";
    pub const USER_ENABLE: &str = "user_enable";
    pub const PASSWORD_RESET: &str = "password_reset";
    pub const PASSWORD_CHANGE: &str = "password_change";
    pub const TEST_NOTIFICATION: &str = "test_notification";
    pub const API_KEY_ROTATE: &str = "api_key_rotate";
    pub const API_KEY_REVEAL: &str = "api_key_reveal";
    pub const API_KEY_REVEAL_FAILED: &str = "api_key_reveal_failed";
    pub const AUDIT_EXPORT: &str = "audit_export";

    /// Every action, for the audit page's filter.
    pub const ALL: &[&str] = &[
        SIGN_IN,
        SIGN_IN_FAILED,
        SIGN_IN_LOCKED,
        SIGN_OUT,
        SETTINGS_CHANGE,
        MERCHANT_CREATE,
        USER_CREATE,
        USER_DISABLE,
        USER_ENABLE,
        PASSWORD_RESET,
        PASSWORD_CHANGE,
        TEST_NOTIFICATION,
        API_KEY_ROTATE,
        API_KEY_REVEAL,
        API_KEY_REVEAL_FAILED,
        AUDIT_EXPORT,
    ];
}

/// The newest event, where the next one attaches.
pub(crate) const CHAIN_HEAD: &str =
    "SELECT id, at, hash FROM audit_events ORDER BY id DESC LIMIT 1";

/// Records the newest event as the chain's end, in the transaction that appends it.
pub(crate) const MOVE_CHAIN_HEAD: &str = "INSERT INTO audit_chain_head (singleton, last_id, last_hash) \
     VALUES (1, $1, $2) ON CONFLICT (singleton) \
     DO UPDATE SET last_id = excluded.last_id, last_hash = excluded.last_hash";

/// The stored columns of an event, in insert order.
macro_rules! audit_columns {
    () => {
        "(id, at, action, actor_user_id, actor_email, actor_role, merchant_id, section, channel, \
         field, old_value, new_value, client_ip, prev_hash, hash)"
    };
}
pub(crate) use audit_columns;

/// Takes the chain lock inside the open write transaction `$tx` (held until it ends) and
/// reads the newest event, where the next one attaches.
macro_rules! lock_chain_head {
    ($tx:ident, $dialect:expr) => {
        async {
            sqlx::query($dialect.lock_audit_chain)
                .execute(&mut *$tx)
                .await?;
            sqlx::query_as::<_, $crate::store::audit_chain::ChainHead>(
                $crate::store::audit::CHAIN_HEAD,
            )
            .fetch_optional(&mut *$tx)
            .await
        }
    };
}
pub(crate) use lock_chain_head;

/// Inserts `$events` (consecutive, following the head) in one statement and moves the
/// recorded chain head to the last of them.
macro_rules! insert_events {
    ($tx:ident, $events:expr) => {
        async {
            let events: &[$crate::store::audit_chain::ChainedEvent] = $events;
            let mut insert = sqlx::QueryBuilder::new(concat!(
                "INSERT INTO audit_events ",
                $crate::store::audit::audit_columns!(),
                " "
            ));
            insert.push_values(events, |mut row, e| {
                row.push_bind(e.id)
                    .push_bind(e.at)
                    .push_bind(&e.action)
                    .push_bind(e.actor_user_id)
                    .push_bind(&e.actor_email)
                    .push_bind(&e.actor_role)
                    .push_bind(e.merchant_id)
                    .push_bind(&e.section)
                    .push_bind(&e.channel)
                    .push_bind(&e.field)
                    .push_bind(&e.old_value)
                    .push_bind(&e.new_value)
                    .push_bind(&e.client_ip)
                    .push_bind(&e.prev_hash)
                    .push_bind(&e.hash);
            });
            insert.build().execute(&mut *$tx).await?;
            if let Some(last) = events.last() {
                sqlx::query($crate::store::audit::MOVE_CHAIN_HEAD)
                    .bind(last.id)
                    .bind(&last.hash)
                    .execute(&mut *$tx)
                    .await?;
            }
            Ok::<(), sqlx::Error>(())
        }
    };
}
pub(crate) use insert_events;

/// Appends one event to the chain inside the open write transaction `$tx`: takes the chain
/// lock, reads the head, and inserts the event that follows it.
macro_rules! append_audit {
    ($tx:ident, $dialect:expr, $actor:expr, $record:expr) => {
        async {
            let head = $crate::store::audit::lock_chain_head!($tx, $dialect).await?;
            let now = $crate::store::now_ms();
            let event = $crate::store::audit_chain::ChainedEvent::next(head, now, $actor, $record);
            $crate::store::audit::insert_events!($tx, std::slice::from_ref(&event)).await?;
            Ok::<i64, sqlx::Error>(event.id)
        }
    };
}
pub(crate) use append_audit;

/// Columns of `AuditEntry`, for queries over `audit_events e LEFT JOIN merchants m`.
macro_rules! select_entries {
    ($rest:literal) => {
        concat!(
            "SELECT e.id, e.at, e.action, e.actor_user_id, e.actor_email, e.actor_role, \
             e.merchant_id, e.section, e.channel, e.field, e.old_value, e.new_value, \
             e.client_ip, e.prev_hash, e.hash, m.code AS merchant_code \
             FROM audit_events e LEFT JOIN merchants m ON m.id = e.merchant_id ",
            $rest
        )
    };
}

impl Db {
    /// Records an event that stands alone (sign-in, sign-out, account management).
    pub async fn record_audit(&self, actor: &Actor, record: &AuditRecord<'_>) -> sqlx::Result<()> {
        on_pool!(self, |pool, dialect| {
            let mut tx = pool.begin_with(dialect.begin).await?;
            append_audit!(tx, dialect, actor, record).await?;
            tx.commit().await
        })
    }

    /// Appends many events in one transaction, each stamped with its own time (never earlier
    /// than the event before it): bulk imports and seeding, without a round trip per event.
    pub async fn append_audit_batch(
        &self,
        events: &[(i64, Actor, AuditRecord<'_>)],
    ) -> sqlx::Result<()> {
        // 15 columns x 1000 rows stays under SQLite's 32766 bound parameters.
        const ROWS_PER_INSERT: usize = 1000;
        if events.is_empty() {
            return Ok(());
        }
        on_pool!(self, |pool, dialect| {
            let mut tx = pool.begin_with(dialect.begin).await?;
            let mut head = lock_chain_head!(tx, dialect).await?;
            for chunk in events.chunks(ROWS_PER_INSERT) {
                let mut chained = Vec::with_capacity(chunk.len());
                for (at, actor, record) in chunk {
                    let event = ChainedEvent::next(head.take(), *at, actor, record);
                    head = Some(ChainHead {
                        id: event.id,
                        at: event.at,
                        hash: event.hash.clone(),
                    });
                    chained.push(event);
                }
                insert_events!(tx, &chained).await?;
            }
            tx.commit().await
        })
    }

    /// A channel's settings changes, newest first. Other events about the channel (test
    /// notifications) stay in the audit log but are not changes to show here.
    pub async fn channel_history(
        &self,
        merchant_id: i64,
        section: &str,
        channel: &str,
    ) -> sqlx::Result<Vec<AuditEntry>> {
        const SQL: &str = select_entries!(
            "WHERE e.merchant_id = $1 AND e.section = $2 AND e.channel = $3 \
             AND e.action = 'settings_change' ORDER BY e.id DESC LIMIT 200"
        );
        on_pool!(self, |pool| {
            sqlx::query_as(SQL)
                .bind(merchant_id)
                .bind(section)
                .bind(channel)
                .fetch_all(pool)
                .await
        })
    }

    /// Every event of one action, oldest first (for tools and tests).
    pub async fn audit_events_by_action(&self, action: &str) -> sqlx::Result<Vec<ChainedEvent>> {
        on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT id, at, action, actor_user_id, actor_email, actor_role, merchant_id, \
                 section, channel, field, old_value, new_value, client_ip, prev_hash, hash \
                 FROM audit_events WHERE action = $1 ORDER BY id LIMIT 10000",
            )
            .bind(action)
            .fetch_all(pool)
            .await
        })
    }

    /// Walks the whole chain, oldest first, streaming rows in constant memory, up to the end
    /// the chain head records (events appended meanwhile wait for the next walk).
    pub async fn verify_audit_chain(&self) -> sqlx::Result<ChainReport> {
        const HEAD: &str = "SELECT last_id, last_hash FROM audit_chain_head WHERE singleton = 1";
        const SQL: &str = "SELECT id, at, action, actor_user_id, actor_email, actor_role, \
             merchant_id, section, channel, field, old_value, new_value, client_ip, prev_hash, \
             hash FROM audit_events WHERE id <= $1 ORDER BY id";
        let mut verifier = ChainVerifier::default();
        let recorded: Option<RecordedHead> = on_pool!(self, |pool| {
            let recorded: Option<RecordedHead> = sqlx::query_as(HEAD).fetch_optional(pool).await?;
            let until = recorded.as_ref().map_or(i64::MAX, |head| head.last_id);
            let mut rows = sqlx::query_as::<_, ChainedEvent>(SQL)
                .bind(until)
                .fetch(pool);
            while let Some(event) = rows.try_next().await? {
                if let Err(broken) = verifier.check(&event) {
                    return Ok(broken);
                }
            }
            recorded
        });
        Ok(verifier.finish(recorded))
    }

    /// One page of the audit log, newest first, after the filter's `before` cursor.
    pub async fn audit_page(
        &self,
        filter: &AuditFilter,
        limit: i64,
    ) -> sqlx::Result<Vec<AuditEntry>> {
        let (sql, params) = filter.to_sql(limit);
        on_pool!(self, |pool| {
            let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql));
            for param in params {
                query = match param {
                    Param::Int(value) => query.bind(value),
                    Param::Text(value) => query.bind(value),
                };
            }
            query.fetch_all(pool).await
        })
    }
}

/// The audit page's filters; all optional, combined with AND.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub merchant_id: Option<i64>,
    pub section: Option<String>,
    pub channel: Option<String>,
    pub actor: Option<String>,
    pub action: Option<String>,
    /// Inclusive lower bound on `at` (ms).
    pub from_ms: Option<i64>,
    /// Exclusive upper bound on `at` (ms).
    pub to_ms: Option<i64>,
    /// Keyset cursor: only events with a smaller id.
    pub before: Option<i64>,
}

enum Param {
    Int(i64),
    Text(String),
}

impl AuditFilter {
    /// Builds the query with `$N` placeholders. Dates become id bounds through the `(at, id)`
    /// index, since `at` never decreases along the chain; the page itself is a keyset scan.
    fn to_sql(&self, limit: i64) -> (String, Vec<Param>) {
        let mut sql = String::from(select_entries!("WHERE TRUE"));
        let mut params = Vec::new();
        let mut condition = |sql: &mut String, template: &str, param: Param| {
            params.push(param);
            sql.push_str(&template.replace('?', &format!("${}", params.len())));
        };
        if let Some(id) = self.merchant_id {
            condition(&mut sql, " AND e.merchant_id = ?", Param::Int(id));
        }
        let texts = [
            (&self.section, " AND e.section = ?"),
            (&self.channel, " AND e.channel = ?"),
            (&self.actor, " AND e.actor_email = ?"),
            (&self.action, " AND e.action = ?"),
        ];
        for (value, template) in texts {
            if let Some(value) = value {
                condition(&mut sql, template, Param::Text(value.clone()));
            }
        }
        if let Some(from) = self.from_ms {
            let bound = " AND e.id >= (SELECT id FROM audit_events WHERE at >= ? \
                         ORDER BY at, id LIMIT 1)";
            condition(&mut sql, bound, Param::Int(from));
        }
        if let Some(to) = self.to_ms {
            let bound = " AND e.id <= (SELECT id FROM audit_events WHERE at < ? \
                         ORDER BY at DESC, id DESC LIMIT 1)";
            condition(&mut sql, bound, Param::Int(to));
        }
        if let Some(before) = self.before {
            condition(&mut sql, " AND e.id < ?", Param::Int(before));
        }
        condition(&mut sql, " ORDER BY e.id DESC LIMIT ?", Param::Int(limit));
        (sql, params)
    }
}
