//! Users: the list, creating one, a one-time password just issued, and the question before a
//! user is disabled.

use askama::Template;

use crate::pages::Layout;
use crate::paths;
use crate::store::admin::UserSummary;

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
    /// Admins change users; auditors only read.
    pub may_change: bool,
    /// A one-time password just generated, shown once.
    pub issued: Option<IssuedPassword>,
}

/// A generated password and whose it is.
pub struct IssuedPassword {
    pub email: String,
    pub password: String,
}

/// Asks before `target` is disabled, saying what follows; confirming POSTs again, confirmed.
#[derive(Template)]
#[template(path = "admin/user_disable.html")]
pub struct DisableUserPage {
    pub layout: Layout,
    pub target: UserSummary,
}

impl DisableUserPage {
    /// The user's role in words, with the merchant of a team member.
    pub fn role(&self) -> String {
        let role = self.layout.t(self.target.role.label_key());
        match &self.target.merchant_code {
            Some(code) => format!("{role} · {code}"),
            None => role.to_owned(),
        }
    }
}
