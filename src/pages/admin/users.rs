//! Users: the list, creating one, and a one-time password just issued.

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
