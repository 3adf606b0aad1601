//! Integration > API keys.

use askama::Template;

use super::Layout;
use crate::domain::Environment;
use crate::paths;

/// One environment's credentials as the API keys page lists them, with its secret only when
/// it is shown on purpose.
pub struct KeyRow {
    pub environment: Environment,
    pub title: &'static str,
    pub client_id: String,
    pub created: i64,
    pub rotated: Option<i64>,
    /// When a scheduled rotation's secret takes over.
    pub scheduled: Option<i64>,
    pub shown: Option<ShownSecret>,
}

/// A secret shown on purpose: after a password check, or once after a rotation.
pub struct ShownSecret {
    pub environment: Environment,
    pub secret: String,
    pub just_rotated: bool,
    /// A scheduled rotation's secret: when it takes over.
    pub takes_over: Option<i64>,
}

#[derive(Template)]
#[template(path = "api_keys.html")]
pub struct ApiKeysPage {
    pub layout: Layout,
    pub keys: Vec<KeyRow>,
    pub error: Option<&'static str>,
    /// Owners and developers may see and rotate the secrets; a viewer sees the Client-Ids only.
    pub may_change: bool,
}

impl ApiKeysPage {
    pub fn delays(&self) -> [i64; 3] {
        crate::api_keys::ROTATION_DELAYS_HOURS
    }
}
