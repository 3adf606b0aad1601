//! One's own account: changing the password.

use askama::Template;

use super::Layout;
use crate::paths;

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
