//! The audit log with its filters, and how an event reads on every page that lists events.

use askama::Template;

mod sentence;

pub use sentence::Sentence;

use crate::pages::{Layout, query_string, time_html};
use crate::paths;
use crate::store::{AuditAction, AuditEntry};

/// The audit page's filter values, as typed.
#[derive(Debug, Default, Clone, serde::Deserialize)]
pub struct AuditQuery {
    pub merchant: Option<String>,
    /// `1`: the merchant code exactly (a merchant's own page links so), not its start.
    pub exact: Option<String>,
    pub section: Option<String>,
    pub channel: Option<String>,
    pub actor: Option<String>,
    pub action: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub before: Option<String>,
}

impl AuditQuery {
    /// The filters (not the cursor) as a query string, for links to other pages and the CSV.
    pub fn filters_query(&self) -> String {
        query_string(&[
            ("merchant", &self.merchant),
            ("exact", &self.exact),
            ("section", &self.section),
            ("channel", &self.channel),
            ("actor", &self.actor),
            ("action", &self.action),
            ("from", &self.from),
            ("to", &self.to),
        ])
    }
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
pub struct AuditPage {
    pub layout: Layout,
    pub query: AuditQuery,
    pub entries: Vec<AuditEntry>,
    pub next: Option<String>,
    pub actions: &'static [AuditAction],
}

impl AuditPage {
    /// When the event happened, as HTML: the reader's zone, UTC in its title.
    pub fn time(&self, entry: &AuditEntry) -> crate::i18n::TimeHtml {
        time_html(&entry.event.at)
    }
}
