//! Appending to the chain: the one way events enter the log.

use sqlx::{Database, Encode, Executor, FromRow, IntoArguments, QueryBuilder, Transaction, Type};

use super::chain::{ChainHead, ChainedEvent, event_columns};
use super::{Actor, AuditRecord};
use crate::store::{Db, Dialect, now_ms, on_pool};

/// Where the next event attaches: the recorded head, read under the dialect's lock.
const CHAIN_HEAD: &str = "SELECT last_id AS id, last_at AS at, last_hash AS hash \
     FROM audit_chain_head WHERE singleton = 1";

/// Records the newest event as the chain's end (its values bound after this text).
const MOVE_CHAIN_HEAD: &str = "INSERT INTO audit_chain_head (singleton, last_id, last_hash, \
     last_at) VALUES (1, ";
const MOVE_CHAIN_HEAD_END: &str = ") ON CONFLICT (singleton) DO UPDATE SET \
     last_id = excluded.last_id, last_hash = excluded.last_hash, last_at = excluded.last_at";

/// 15 columns x 1000 rows stays under SQLite's 32766 bound parameters.
const ROWS_PER_INSERT: usize = 1000;

/// An event to append: when, who, what.
pub(crate) type NewEvent<'a> = (i64, &'a Actor, &'a AuditRecord<'a>);

/// Appends `events` (in order) inside the open write transaction `tx`: takes the chain
/// lock (held until the transaction ends), reads the head, chains each event after it (never
/// earlier in time than the one before), inserts them and moves the recorded head. Returns the
/// last event's id, `None` when there was nothing to add.
pub(crate) async fn append_events<'a, DB>(
    tx: &mut Transaction<'_, DB>,
    dialect: Dialect,
    events: impl IntoIterator<Item = NewEvent<'a>>,
) -> sqlx::Result<Option<i64>>
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    for<'r> ChainHead: FromRow<'r, DB::Row>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Option<i64>: Encode<'q, DB>,
    for<'q> Option<&'q str>: Encode<'q, DB>,
{
    // Serialises appenders until the transaction ends: the head row's lock on Postgres, the
    // write lock `BEGIN IMMEDIATE` took on SQLite.
    let head_sql = format!("{CHAIN_HEAD}{}", dialect.for_update);
    let mut head: Option<ChainHead> = sqlx::query_as(sqlx::AssertSqlSafe(head_sql))
        .fetch_optional(&mut **tx)
        .await?;
    let mut chained: Vec<ChainedEvent> = Vec::new();
    for (at, actor, record) in events {
        let event = ChainedEvent::next(head.take(), at, actor, record);
        head = Some(ChainHead::of(&event));
        chained.push(event);
    }
    let Some(last) = chained.last() else {
        return Ok(None);
    };
    let chunks = chained.chunks(ROWS_PER_INSERT);
    let last_chunk = chunks.len() - 1;
    for (n, chunk) in chunks.enumerate() {
        // On Postgres the last insert moves the head in the same statement.
        let with_head = n == last_chunk && dialect.writes_in_with;
        let mut insert = QueryBuilder::<DB>::new(if with_head { "WITH inserted AS (" } else { "" });
        insert.push(concat!(
            "INSERT INTO audit_events (",
            event_columns!(),
            ") "
        ));
        insert.push_values(chunk, |mut row, e| {
            row.push_bind(e.id)
                .push_bind(e.at)
                .push_bind(e.action.as_str())
                .push_bind(e.actor_user_id)
                .push_bind(e.actor_email.as_deref())
                .push_bind(e.actor_role.as_deref())
                .push_bind(e.merchant_id)
                .push_bind(e.section.as_deref())
                .push_bind(e.channel.as_deref())
                .push_bind(e.field.as_deref())
                .push_bind(e.old_value.as_deref())
                .push_bind(e.new_value.as_deref())
                .push_bind(e.client_ip.as_deref())
                .push_bind(e.prev_hash.as_str())
                .push_bind(e.hash.as_str());
        });
        if with_head {
            insert.push(") ");
            push_move_head(&mut insert, last);
        }
        insert.build().execute(&mut **tx).await?;
    }
    if !dialect.writes_in_with {
        let mut move_head = QueryBuilder::<DB>::new("");
        push_move_head(&mut move_head, last);
        move_head.build().execute(&mut **tx).await?;
    }
    Ok(Some(last.id))
}

/// The one statement that records `last` as the chain's end.
fn push_move_head<DB>(query: &mut QueryBuilder<DB>, last: &ChainedEvent)
where
    DB: Database,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Option<i64>: Encode<'q, DB>,
    for<'q> Option<&'q str>: Encode<'q, DB>,
{
    query
        .push(MOVE_CHAIN_HEAD)
        .push_bind(last.id)
        .push(", ")
        .push_bind(last.hash.as_str())
        .push(", ")
        .push_bind(last.at)
        .push(MOVE_CHAIN_HEAD_END);
}

impl Db {
    /// Records an event that stands alone (sign-in, sign-out, account management).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn record_audit(&self, actor: &Actor, record: &AuditRecord<'_>) -> sqlx::Result<()> {
        on_pool!(self, |pool, dialect| {
            let mut tx = pool.begin_with(dialect.begin).await?;
            append_events(&mut tx, dialect, [(now_ms(), actor, record)]).await?;
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
            append_events(&mut tx, dialect, items()).await?;
            tx.commit().await
        })
    }
}
