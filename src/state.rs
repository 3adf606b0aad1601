//! What every handler can reach: the database and the validated settings.

use std::sync::Arc;

use crate::config::Settings;
use crate::store::Db;

/// Shared by every worker of the server, read-only.
pub struct AppState {
    pub db: Db,
    pub settings: Arc<Settings>,
}
