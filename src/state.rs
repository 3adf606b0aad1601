//! What every handler can reach: the database, the validated settings, and the delivery queue.

use std::sync::Arc;

use crate::config::Settings;
use crate::notify::worker::DeliveryQueue;
use crate::store::Db;

/// Shared by every worker of the server, read-only.
pub struct AppState {
    pub db: Db,
    pub settings: Arc<Settings>,
    /// Wakes the delivery workers when notifications are queued.
    pub deliveries: DeliveryQueue,
}
