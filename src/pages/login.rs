//! The sign-in page.

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
}
