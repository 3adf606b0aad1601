//! Reading the log: a channel's history, the count the overview shows, and the walk that
//! verifies the chain (the admin pages' filtered keyset pages are in `page`).

use futures_util::TryStreamExt;

use super::chain::{ChainReport, ChainVerifier, ChainedEvent, RecordedHead, event_columns};
use super::{AuditAction, AuditEntry};
use crate::store::{Db, on_pool};

/// Columns of `AuditEntry`: the event and its merchant's code, over `audit_events e`.
macro_rules! select_entries {
    () => {
        concat!(
            "SELECT ",
            $crate::store::audit::chain::event_columns!(),
            ", (SELECT m.code FROM merchants m WHERE m.id = e.merchant_id) AS merchant_code \
             FROM audit_events e "
        )
    };
}
pub(super) use select_entries;

impl Db {
    /// A channel's settings changes, newest first. Other events about the channel (test
    /// notifications) stay in the audit log but are not changes to show here.
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn channel_history(
        &self,
        merchant_id: i64,
        section: &str,
        channel: &str,
    ) -> sqlx::Result<Vec<AuditEntry>> {
        const SQL: &str = concat!(
            select_entries!(),
            "WHERE e.merchant_id = $1 AND e.section = $2 AND e.channel = $3 \
             AND e.action = $4 ORDER BY e.id DESC LIMIT 200"
        );
        on_pool!(self, |pool| {
            sqlx::query_as(SQL)
                .bind(merchant_id)
                .bind(section)
                .bind(channel)
                .bind(AuditAction::SettingsChange.as_str())
                .fetch_all(pool)
                .await
        })
    }

    /// Events the chain walk reads per query: one query over a million events runs long
    /// enough to be logged as slow, and chunks keep each one short.
    pub const AUDIT_VERIFY_CHUNK: u32 = 10_000;

    /// Walks the whole chain, oldest first, streaming rows in constant memory, up to the end
    /// the chain head records (events appended meanwhile wait for the next walk).
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn verify_audit_chain(&self) -> sqlx::Result<ChainReport> {
        self.verify_audit_chain_in_chunks(Self::AUDIT_VERIFY_CHUNK)
            .await
    }

    /// [`Db::verify_audit_chain`], reading `chunk` events (at least 1) per query: a keyset walk
    /// on `id`, each chunk streamed into the one verifier, so a break between the last event
    /// of a chunk and the first of the next is found as within a chunk. The events up to the
    /// recorded head are committed and append-only, so each chunk reads them as one query did.
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn verify_audit_chain_in_chunks(&self, chunk: u32) -> sqlx::Result<ChainReport> {
        const HEAD: &str = "SELECT last_id, last_hash FROM audit_chain_head WHERE singleton = 1";
        const SQL: &str = concat!(
            "SELECT ",
            event_columns!(),
            " FROM audit_events WHERE id >= $1 AND id <= $2 ORDER BY id LIMIT $3"
        );
        let chunk = chunk.max(1);
        let mut verifier = ChainVerifier::default();
        let recorded: Option<RecordedHead> = on_pool!(self, |pool| {
            let recorded: Option<RecordedHead> = sqlx::query_as(HEAD).fetch_optional(pool).await?;
            let until = recorded.as_ref().map_or(i64::MAX, |head| head.last_id);
            // The first chunk starts below any id, as the single walk did.
            let mut from = i64::MIN;
            loop {
                let mut rows = sqlx::query_as::<_, ChainedEvent>(SQL)
                    .bind(from)
                    .bind(until)
                    .bind(i64::from(chunk))
                    .fetch(pool);
                let mut read = 0_u32;
                let mut last_id = from;
                while let Some(event) = rows.try_next().await? {
                    if let Err(broken) = verifier.check(&event) {
                        return Ok(broken);
                    }
                    read += 1;
                    last_id = event.id;
                }
                // A short chunk is the last; so is one ending at the largest id there can be.
                match last_id.checked_add(1) {
                    Some(next) if read == chunk => from = next,
                    _ => break,
                }
            }
            recorded
        });
        Ok(verifier.finish(recorded))
    }

    /// Settings changes recorded at or after `since` (ms).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn changes_since(&self, since: i64) -> sqlx::Result<i64> {
        on_pool!(self, |pool| {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM audit_events WHERE action = $2 \
                 AND id >= (SELECT id FROM audit_events WHERE at >= $1 ORDER BY at, id LIMIT 1)",
            )
            .bind(since)
            .bind(AuditAction::SettingsChange.as_str())
            .fetch_one(pool)
            .await
        })
    }
}
