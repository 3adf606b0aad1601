//! Integration > API keys.

use askama::Template;

use super::Layout;
use crate::paths;

/// One environment's credentials as the API keys page lists them (never the secret).
pub struct KeyRow {
    pub environment: &'static str,
    pub title: &'static str,
    pub client_id: String,
    pub created: String,
    pub rotated: Option<String>,
}

/// A secret shown on purpose: after a password check, or once after a rotation.
pub struct ShownSecret {
    pub title: &'static str,
    pub client_id: String,
    pub secret: String,
    pub just_rotated: bool,
}

#[derive(Template)]
#[template(path = "api_keys.html")]
pub struct ApiKeysPage {
    pub layout: Layout,
    pub keys: Vec<KeyRow>,
    pub shown: Option<ShownSecret>,
    pub error: Option<&'static str>,
    /// Owners and developers may see and rotate the secrets; a viewer sees the Client-Ids only.
    pub may_change: bool,
}
