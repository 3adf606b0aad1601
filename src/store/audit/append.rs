//! Appending to the chain: the one way events enter the log.

use super::{Actor, AuditRecord};
use crate::store::{Db, now_ms, on_pool};

/// The newest event, where the next one attaches.
pub(crate) const CHAIN_HEAD: &str =
    "SELECT id, at, hash FROM audit_events ORDER BY id DESC LIMIT 1";

/// Records the newest event as the chain's end, in the transaction that appends it.
pub(crate) const MOVE_CHAIN_HEAD: &str = "INSERT INTO audit_chain_head (singleton, last_id, last_hash) \
     VALUES (1, $1, $2) ON CONFLICT (singleton) \
     DO UPDATE SET last_id = excluded.last_id, last_hash = excluded.last_hash";

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
            sqlx::query($dialect.lock_audit_chain)
                .execute(&mut *$tx)
                .await?;
            let mut head: Option<ChainHead> =
                sqlx::query_as($crate::store::audit::append::CHAIN_HEAD)
                    .fetch_optional(&mut *$tx)
                    .await?;
            let mut chained: Vec<ChainedEvent> = Vec::new();
            for (at, actor, record) in $events {
                let event = ChainedEvent::next(head.take(), at, actor, record);
                head = Some(ChainHead::of(&event));
                chained.push(event);
            }
            for chunk in chained.chunks($crate::store::audit::append::ROWS_PER_INSERT) {
                let mut insert = sqlx::QueryBuilder::new(concat!(
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
                insert.build().execute(&mut *$tx).await?;
            }
            if let Some(last) = chained.last() {
                sqlx::query($crate::store::audit::append::MOVE_CHAIN_HEAD)
                    .bind(last.id)
                    .bind(&last.hash)
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
