//! Pages of the admin area and of the account page.

use askama::Template;

use super::{ChannelRow, Layout, format_time};
use crate::catalog::Section;
use crate::store::AuditEntry;
use crate::store::admin::{MerchantSummary, SandboxOnly, UserSummary};

#[derive(Template)]
#[template(path = "admin/overview.html")]
pub struct OverviewPage {
    pub layout: Layout,
    pub merchants: i64,
    pub sections: Vec<super::SectionSummary>,
    pub sandbox_only: Vec<SandboxOnly>,
    pub sandbox_only_total: i64,
    pub changes_last_day: i64,
    /// Merchants with failing notification URLs, most failures in the last 24 hours first.
    pub failing: Vec<crate::store::FailingMerchant>,
}

#[derive(Template)]
#[template(path = "admin/merchants.html")]
pub struct MerchantsPage {
    pub layout: Layout,
    pub search: String,
    pub merchants: Vec<MerchantSummary>,
    /// Link to the next page, when there is one.
    pub next: Option<String>,
    pub form_error: Option<String>,
    /// The input `form_error` belongs to.
    pub error_field: &'static str,
    pub code: String,
    pub name: String,
}

#[derive(Template)]
#[template(path = "admin/merchant.html")]
pub struct MerchantPage {
    pub layout: Layout,
    pub code: crate::domain::MerchantCode,
    pub name: String,
    pub sections: Vec<(&'static Section, Vec<ChannelRow>)>,
}

/// The audit page's filter values, as typed.
#[derive(Debug, Default, Clone, serde::Deserialize)]
pub struct AuditQuery {
    pub merchant: Option<String>,
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
        super::query_string(&[
            ("merchant", &self.merchant),
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
    pub actions: &'static [crate::store::AuditAction],
}

impl AuditPage {
    pub fn time(&self, entry: &AuditEntry) -> String {
        format_time(&entry.event.at)
    }
}

#[derive(Template)]
#[template(path = "admin/users.html")]
pub struct UsersPage {
    pub layout: Layout,
    pub search: String,
    pub users: Vec<UserSummary>,
    pub form_error: Option<String>,
    /// The input `form_error` belongs to.
    pub error_field: &'static str,
    pub email: String,
    pub role: String,
    pub merchant: String,
    /// A one-time password just generated, shown once.
    pub issued: Option<IssuedPassword>,
}

/// A generated password and whose it is.
pub struct IssuedPassword {
    pub email: String,
    pub password: String,
}

/// The broken rules of the password form, by the field they belong to.
#[derive(Default)]
pub struct PasswordErrors {
    pub current: Vec<&'static str>,
    pub new: Vec<&'static str>,
    pub confirm: Vec<&'static str>,
}

impl PasswordErrors {
    pub fn is_empty(&self) -> bool {
        self.current.is_empty() && self.new.is_empty() && self.confirm.is_empty()
    }
}

#[derive(Template)]
#[template(path = "account_password.html")]
pub struct PasswordPage {
    pub layout: Layout,
    pub errors: PasswordErrors,
    /// Signed in with a one-time password: say why this page came first.
    pub must_change: bool,
}
