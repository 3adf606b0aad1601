//! Forgot password: asking for a link, choosing a new password through it, and the page of a
//! link that no longer works.

use askama::Template;

use super::Layout;
use super::account::PasswordErrors;
use crate::paths;

#[derive(Template)]
#[template(path = "forgot.html")]
pub struct ForgotPage {
    pub layout: Layout,
    pub email: String,
    /// Set once a link was asked for: the one answer every address gets.
    pub sent: bool,
}

#[derive(Template)]
#[template(path = "reset.html")]
pub struct ResetPage {
    pub layout: Layout,
    /// Where the form posts: the link's own path.
    pub action: String,
    /// Whose password this sets.
    pub email: String,
    pub errors: PasswordErrors,
}

#[derive(Template)]
#[template(path = "reset_gone.html")]
pub struct ResetGonePage {
    pub layout: Layout,
}
