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
    /// When a scheduled rotation's secret takes over.
    pub scheduled: Option<String>,
}

/// A secret shown on purpose: after a password check, or once after a rotation.
pub struct ShownSecret {
    pub title: &'static str,
    pub client_id: String,
    pub secret: String,
    pub just_rotated: bool,
    /// A scheduled rotation's secret: when it takes over.
    pub takes_over: Option<String>,
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

impl ApiKeysPage {
    pub fn delays(&self) -> [i64; 3] {
        crate::api_keys::ROTATION_DELAYS_HOURS
    }
}
