//! The audit log: append-only, hash-chained, written in the same transaction as what it records.
//!
//! `append` adds events to the chain, `page` reads the admin pages' filtered pages, `query` reads
//! a channel's history and walks the chain, `chain` holds the hashing rules and `actions` the
//! actions an event may record.

mod actions;
pub(crate) mod append;
pub mod chain;
mod page;
mod query;

pub use actions::{AuditAction, UnknownAction};
pub(crate) use append::append_events;
pub use chain::{ChainReport, ChainedEvent};
pub use page::AuditFilter;

use crate::domain::Role;

/// Who did something, and from where.
#[derive(Debug, Clone, Default)]
pub struct Actor {
    pub user_id: Option<i64>,
    pub email: String,
    pub role: Option<Role>,
    pub client_ip: Option<String>,
}

/// An event to append to the audit log.
#[derive(Debug, Clone)]
pub struct AuditRecord<'a> {
    pub action: AuditAction,
    pub merchant_id: Option<i64>,
    pub section: Option<&'a str>,
    pub channel: Option<&'a str>,
    pub field: Option<&'static str>,
    pub old_value: Option<&'a str>,
    pub new_value: Option<&'a str>,
}

impl AuditRecord<'_> {
    /// An event of `action` with nothing else to say.
    pub fn of(action: AuditAction) -> Self {
        Self {
            action,
            merchant_id: None,
            section: None,
            channel: None,
            field: None,
            old_value: None,
            new_value: None,
        }
    }
}

/// A stored event with the code of the merchant it concerns.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditEntry {
    #[sqlx(flatten)]
    pub event: ChainedEvent,
    pub merchant_code: Option<String>,
}
