//! Appending to the chain: the one way events enter the log.

use super::{Actor, AuditRecord};
use crate::store::{Db, now_ms, on_pool};

/// Where the next event attaches: the recorded head, read under the dialect's lock.
pub(crate) const CHAIN_HEAD: &str = "SELECT last_id AS id, last_at AS at, last_hash AS hash \
     FROM audit_chain_head WHERE singleton = 1";

/// Records the newest event as the chain's end, in the transaction that appends it.
macro_rules! move_chain_head {
    () => {
        "INSERT INTO audit_chain_head (singleton, last_id, last_hash, last_at) \
         VALUES (1, $1, $2, $3) ON CONFLICT (singleton) DO UPDATE SET \
         last_id = excluded.last_id, last_hash = excluded.last_hash, last_at = excluded.last_at"
    };
}
pub(crate) use move_chain_head;

/// 15 columns x 1000 rows stays under SQLite's 32766 bound parameters.
pub(crate) const ROWS_PER_INSERT: usize = 1000;

/// Appends `$events` (`(at, &Actor, &AuditRecord)` items, in order) inside the open write
/// transaction `$tx`: takes the chain lock (held until the transaction ends), reads the head,
/// chains each event after it (never earlier in time than the one before), inserts them and
/// moves the recorded head. Yields the last event's id, `None` when there was nothing to add.
macro_rules! append_events {
    ($tx:ident, $dialect:expr, $events:expr) => {
        async {
            use $crate::store::audit::chain::{ChainHead, ChainedEvent};
            // Serialises appenders until the transaction ends: the head row's lock on Postgres,
            // the write lock `BEGIN IMMEDIATE` took on SQLite.
            let head_sql = format!(
                "{}{}",
                $crate::store::audit::append::CHAIN_HEAD,
                $dialect.for_update
            );
            let mut head: Option<ChainHead> = sqlx::query_as(sqlx::AssertSqlSafe(head_sql))
                .fetch_optional(&mut *$tx)
                .await?;
            let mut chained: Vec<ChainedEvent> = Vec::new();
            for (at, actor, record) in $events {
                let event = ChainedEvent::next(head.take(), at, actor, record);
                head = Some(ChainHead::of(&event));
                chained.push(event);
            }
            let chunks = chained.chunks($crate::store::audit::append::ROWS_PER_INSERT);
            let last_chunk = chunks.len().saturating_sub(1);
            for (n, chunk) in chunks.enumerate() {
                // On Postgres the last insert moves the head in the same statement.
                let with_head = n == last_chunk && $dialect.writes_in_with;
                let mut insert = sqlx::QueryBuilder::new(if with_head {
                    "WITH inserted AS ("
                } else {
                    ""
                });
                insert.push(concat!(
                    "INSERT INTO audit_events (",
                    $crate::store::audit::chain::event_columns!(),
                    ") "
                ));
                insert.push_values(chunk, |mut row, e| {
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
                if with_head {
                    let last = chunk.last().expect("chunks are never empty");
                    insert
                        .push(") INSERT INTO audit_chain_head (singleton, last_id, last_hash, last_at) VALUES (1, ")
                        .push_bind(last.id)
                        .push(", ")
                        .push_bind(&last.hash)
                        .push(", ")
                        .push_bind(last.at)
                        .push(") ON CONFLICT (singleton) DO UPDATE SET last_id = excluded.last_id, \
                               last_hash = excluded.last_hash, last_at = excluded.last_at");
                }
                insert.build().execute(&mut *$tx).await?;
            }
            if let Some(last) = chained.last().filter(|_| !$dialect.writes_in_with) {
                sqlx::query($crate::store::audit::append::move_chain_head!())
                    .bind(last.id)
                    .bind(&last.hash)
                    .bind(last.at)
                    .execute(&mut *$tx)
                    .await?;
            }
            Ok::<Option<i64>, sqlx::Error>(chained.last().map(|e| e.id))
        }
    };
}
pub(crate) use append_events;

impl Db {
    /// Records an event that stands alone (sign-in, sign-out, account management).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn record_audit(&self, actor: &Actor, record: &AuditRecord<'_>) -> sqlx::Result<()> {
        on_pool!(self, |pool, dialect| {
            let mut tx = pool.begin_with(dialect.begin).await?;
            append_events!(tx, dialect, [(now_ms(), actor, record)]).await?;
            tx.commit().await
        })
    }

    /// Appends many events in one transaction, each stamped with its own time (never earlier
    /// than the event before it): bulk imports and seeding, without a round trip per event.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn append_audit_batch(
        &self,
        events: &[(i64, Actor, AuditRecord<'_>)],
    ) -> sqlx::Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let items = || {
            events
                .iter()
                .map(|(at, actor, record)| (*at, actor, record))
        };
        on_pool!(self, |pool, dialect| {
            let mut tx = pool.begin_with(dialect.begin).await?;
            append_events!(tx, dialect, items()).await?;
            tx.commit().await
        })
    }
}
