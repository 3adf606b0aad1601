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

    /// Adds the rules a new password and its confirmation break: the password rules, and
    /// the two differing.
    pub fn check_new(&mut self, new: &str, confirm: &str) {
        if let Err(error) = crate::accounts::check_password(new) {
            self.new.push(error.local_message().unwrap_or_default());
        }
        if new != confirm {
            self.confirm.push(crate::i18n::t("password.mismatch"));
        }
    }
}

#[derive(Template)]
#[template(path = "account_password.html")]
pub struct PasswordPage {
    pub layout: Layout,
    pub errors: PasswordErrors,
    /// Signed in with a one-time password: say why this page came first.
    pub must_change: bool,
    /// Whether the failure emails are on, for a user who gets them (owners, developers).
    pub failure_alerts: Option<bool>,
    /// The zone the user reads times in.
    pub time_zone: crate::domain::TimeZone,
}
