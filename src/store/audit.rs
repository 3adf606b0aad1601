//! The audit log: one row per action, written in the same transaction as what it records.

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

/// A stored audit event.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditEntry {
    pub id: i64,
    pub at: i64,
    pub action: String,
    pub actor_email: Option<String>,
    pub actor_role: Option<String>,
    pub field: Option<String>,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    pub client_ip: Option<String>,
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
}

/// Appends one event through any executor (a pool or an open transaction).
macro_rules! insert_audit {
    ($executor:expr, $actor:expr, $record:expr, $at:expr) => {{
        let actor: &$crate::store::Actor = $actor;
        let record: &$crate::store::AuditRecord<'_> = $record;
        sqlx::query(
            "INSERT INTO audit_events (at, action, actor_user_id, actor_email, actor_role, \
             merchant_id, section, channel, field, old_value, new_value, client_ip) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind($at)
        .bind(record.action)
        .bind(actor.user_id)
        .bind(actor.email.as_str())
        .bind(actor.role)
        .bind(record.merchant_id)
        .bind(record.section)
        .bind(record.channel)
        .bind(record.field)
        .bind(record.old_value)
        .bind(record.new_value)
        .bind(actor.client_ip.as_deref())
        .execute($executor)
    }};
}
pub(crate) use insert_audit;

impl Db {
    /// Records an event that stands alone (sign-in, sign-out, account management).
    pub async fn record_audit(&self, actor: &Actor, record: &AuditRecord<'_>) -> sqlx::Result<()> {
        let at = super::now_ms();
        on_pool!(self, |pool| insert_audit!(pool, actor, record, at).await.map(drop))
    }

    /// A channel's settings changes, newest first.
    pub async fn channel_history(
        &self,
        merchant_id: i64,
        section: &str,
        channel: &str,
    ) -> sqlx::Result<Vec<AuditEntry>> {
        on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT id, at, action, actor_email, actor_role, field, old_value, new_value, \
                        client_ip \
                 FROM audit_events \
                 WHERE merchant_id = $1 AND section = $2 AND channel = $3 \
                 ORDER BY id DESC LIMIT 200",
            )
            .bind(merchant_id)
            .bind(section)
            .bind(channel)
            .fetch_all(pool)
            .await
        })
    }

    /// Every event of one action, oldest first (used by tests and tools).
    pub async fn audit_events_by_action(&self, action: &str) -> sqlx::Result<Vec<AuditEntry>> {
        on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT id, at, action, actor_email, actor_role, field, old_value, new_value, \
                        client_ip \
                 FROM audit_events WHERE action = $1 ORDER BY id LIMIT 10000",
            )
            .bind(action)
            .fetch_all(pool)
            .await
        })
    }
}
