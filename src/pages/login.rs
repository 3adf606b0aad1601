//! The sign-in pages: the password, then for an account with two-factor on, a code.

use askama::Template;

use super::Layout;
use crate::paths;

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub layout: Layout,
    pub email: String,
    pub error: Option<String>,
    pub notice: Option<&'static str>,
    /// The page asked for while signed out, where the sign-in returns.
    pub next: Option<crate::domain::ReturnPath>,
}

/// The second step of a sign-in: a code from the authenticator app or a recovery code.
#[derive(Template)]
#[template(path = "login_two_factor.html")]
pub struct SecondStepPage {
    pub layout: Layout,
    pub error: Option<String>,
}
